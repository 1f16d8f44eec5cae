import { s3Input } from "#functions/events/s3-input.ts";
import * as z from "#shared/domain/zod.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { parseJsonBody } from "#shared/http/request-parsing.ts";

/**
 * Any JSON object: the S3 input handler reads every shape S3, EventBridge and SQS deliver (and reports
 * what it cannot read), so the envelope is all this route checks.
 */
export const LocalS3EventsBodySchema = z.record(z.string(), z.unknown());

/** SQS delivers at most 256 KiB per message and 10 per batch; a hand-made event needs no more. */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * POST /local/s3-events (local server only): hands a raw S3 event (a notification, an EventBridge
 * "Object Created" event, or an SQS batch of either) to the S3 input handler, once, and answers its report.
 */
export async function localS3Events(request: HttpRequest): Promise<HttpResult> {
  const event = parseJsonBody(request, LocalS3EventsBodySchema, { maxBytes: MAX_EVENT_BYTES });
  return { statusCode: 200, json: await s3Input(event) };
}

export const handler = httpHandler(localS3Events);
