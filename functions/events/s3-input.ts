import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { ingestDeps } from "#shared/composition/ingest-deps.ts";
import { logger } from "#shared/http/logger.ts";
import { putMetric } from "#shared/http/metrics.ts";
import { type IngestReport, makeIngestObjectEvents } from "#shared/use-cases/ingest-object-events.ts";

const ingest = makeIngestObjectEvents({
  ...ingestDeps(),
  onFailureNotRecorded: (ruleName, reason, error) =>
    logger.warn("s3 input: a failure could not be kept on its rule", {
      ruleName,
      reason,
      error: (error as Error)?.message,
    }),
  onItemFailed: (itemId, object, error) =>
    logger.warn("s3 input item failed; it will be delivered again", {
      itemId,
      bucket: object.bucket,
      key: object.key,
      error: (error as Error)?.message,
    }),
});

/**
 * S3 object-created events (S3 notifications, EventBridge "Object Created", either inside SQS messages)
 * -> jobs on the rules' clusters. Never throws for what a redelivery cannot fix: unreadable records and
 * objects no rule wants are logged, counted and skipped; the items that failed are listed for SQS to
 * deliver again (and only those).
 */
export async function s3Input(event: unknown): Promise<IngestReport> {
  return (await ingestWithOutcome(event)).report;
}

async function ingestWithOutcome(event: unknown) {
  const outcome = await ingest(event);
  const { counts } = outcome.report;
  for (const [name, value] of Object.entries(counts)) {
    if (name !== "objects" && value > 0) putMetric("S3InputEvents", value, { outcome: name });
  }
  // Each unreadable record says why (the reasons are short and never echo the input).
  if (counts.malformed > 0)
    logger.warn("s3 input: unreadable records skipped", {
      ...counts,
      malformed: outcome.malformed.slice(0, 20),
    });
  else if (counts.objects === 0 && counts.failed === 0)
    logger.warn("s3 input: nothing to take", { ...counts });
  else logger.info("s3 input", { ...counts });
  return outcome;
}

/**
 * The Lambda entry: through SQS it answers a partial batch response; invoked directly (S3 or EventBridge
 * to Lambda) it throws when an item failed, so that the event is retried — what succeeded is then a
 * duplicate in the ledger and changes nothing.
 */
export const handler = middy<unknown, IngestReport, Error, Context>().handler(async (event) => {
  const outcome = await ingestWithOutcome(event);
  if (!outcome.sqs && outcome.report.batchItemFailures.length > 0)
    throw new Error(`${outcome.report.batchItemFailures.length} S3 input item(s) failed; retry the event`);
  return outcome.report;
});
