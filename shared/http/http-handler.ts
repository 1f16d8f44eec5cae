import { randomUUID } from "node:crypto";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { logger } from "./logger.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "./problem.ts";

/** What a handler sees of an API Gateway REST (v1) proxy event: normalized and decoded once. */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly pathParams: Readonly<Record<string, string>>;
  /** The body as text (API Gateway's base64 flag already undone); undefined when there is none. */
  readonly body: string | undefined;
  readonly requestId: string;
  /** Who is calling: the IAM principal on AWS, the local user in local mode. */
  readonly principal: string;
}

/** What a handler answers: JSON (`json`) or plain text (`text`), with optional extra headers. */
export interface HttpResult {
  readonly statusCode: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The inner function of an HTTP Lambda: exported on its own so unit tests call it without middy. */
export type HttpFunction = (request: HttpRequest) => Promise<HttpResult>;

// Names come from the client: `Object.fromEntries` makes each one an own property, so `__proto__` stays
// a (refusable) parameter instead of being swallowed by the prototype setter of `out[key] = value`.
function lowerCaseHeaders(headers: APIGatewayProxyEvent["headers"] | null): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).flatMap(([key, value]) =>
      value === undefined ? [] : [[key.toLowerCase(), value] as const],
    ),
  );
}

function definedOnly(record: Record<string, string | undefined> | null): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record ?? {}).flatMap(([key, value]) =>
      value === undefined ? [] : [[key, value] as const],
    ),
  );
}

/** Converts the proxy event into an `HttpRequest`. */
export function toHttpRequest(
  event: APIGatewayProxyEvent,
  context: Pick<Context, "awsRequestId">,
): HttpRequest {
  const identity = event.requestContext?.identity;
  return {
    method: event.httpMethod,
    path: event.path,
    headers: lowerCaseHeaders(event.headers),
    query: definedOnly(event.queryStringParameters),
    pathParams: definedOnly(event.pathParameters),
    body:
      event.body === null || event.body === undefined
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, "base64").toString("utf8")
          : event.body,
    requestId: event.requestContext?.requestId ?? context.awsRequestId ?? randomUUID(),
    principal: identity?.userArn ?? identity?.user ?? identity?.caller ?? "anonymous",
  };
}

/** Serializes an `HttpResult` into the API Gateway proxy response contract. */
export function toProxyResult(result: HttpResult, requestId: string): APIGatewayProxyResult {
  const isText = result.text !== undefined;
  const headers: Record<string, string> = {
    "Content-Type": result.contentType ?? (isText ? "text/plain; charset=utf-8" : "application/json"),
    "X-Request-Id": requestId,
    ...result.headers,
  };
  if (result.json === undefined && !isText) return { statusCode: result.statusCode, headers, body: "" };
  return {
    statusCode: result.statusCode,
    headers,
    body: isText ? (result.text ?? "") : JSON.stringify(result.json),
  };
}

/** Turns any thrown value into a problem+json response; 5xx are logged with the error, 4xx briefly. */
export function errorToProxyResult(
  error: unknown,
  request: { requestId: string; path?: string },
): APIGatewayProxyResult {
  const { problem, headers } = toProblem(error, { requestId: request.requestId, instance: request.path });
  if (problem.status >= 500)
    logger.error("request failed", { requestId: request.requestId, error: error as Error });
  else
    logger.info("request rejected", {
      requestId: request.requestId,
      status: problem.status,
      type: problem.type,
    });
  return {
    statusCode: problem.status,
    headers: { "Content-Type": PROBLEM_CONTENT_TYPE, "X-Request-Id": request.requestId, ...headers },
    body: JSON.stringify(problem),
  };
}

/**
 * Middleware: maps any error the handler throws to problem+json. It is the only error handler, so no
 * raw error ever reaches API Gateway (which would answer a bare 502).
 */
export function problemJsonErrors(): middy.MiddlewareObj<
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Error,
  Context
> {
  return {
    onError: (request) => {
      request.response = errorToProxyResult(request.error, {
        requestId: request.event?.requestContext?.requestId ?? request.context.awsRequestId ?? randomUUID(),
        path: request.event?.path,
      });
    },
  };
}

/**
 * Wraps an `HttpFunction` as a Lambda handler: the event is decoded once, the result serialized, and
 * every error mapped to problem+json in one place. Built once, at module init.
 */
export function httpHandler(fn: HttpFunction) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(problemJsonErrors())
    .handler(async (event, context) => {
      const request = toHttpRequest(event, context);
      return toProxyResult(await fn(request), request.requestId);
    });
}
