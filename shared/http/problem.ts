import {
  ClusterExistsError,
  ClusterNotFoundError,
  ClusterNotReadyError,
  ConcurrentModificationError,
  ConfigInvalidError,
  type DomainError,
  IdempotencyConflictError,
  InvalidNextTokenError,
  InvalidTransitionError,
  JobExistsError,
  JobNotFoundError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RequestValidationError,
  RouteNotFoundError,
  ServiceUnavailableError,
  TriggerExistsError,
  TriggerNotFoundError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  UpstreamError,
} from "../domain/errors.ts";

/** An RFC 9457 problem document, as this API writes it. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly requestId?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string; readonly line?: number }[];
}

/** The media type of every error body. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

type ErrorClass = abstract new (...args: never[]) => DomainError;

/**
 * The one place where domain errors meet HTTP. Order matters only for subclasses (none today); an error
 * not in this table is a bug and becomes a 500 that reveals nothing but the request id.
 */
const STATUS_BY_ERROR: ReadonlyArray<readonly [ErrorClass, number, string]> = [
  [RequestValidationError, 400, "Invalid request"],
  [InvalidNextTokenError, 400, "Invalid pagination token"],
  [UnauthorizedError, 401, "Unauthorized"],
  [ClusterNotFoundError, 404, "Cluster not found"],
  [JobNotFoundError, 404, "Job not found"],
  [TriggerNotFoundError, 404, "Trigger rule not found"],
  [RouteNotFoundError, 404, "Not found"],
  [MethodNotAllowedError, 405, "Method not allowed"],
  [ClusterExistsError, 409, "Cluster already exists"],
  [ClusterNotReadyError, 409, "Cluster not ready"],
  [JobExistsError, 409, "Job already exists"],
  [TriggerExistsError, 409, "Trigger rule already exists"],
  [IdempotencyConflictError, 409, "Client token already used"],
  [InvalidTransitionError, 409, "Cluster is not in a state that allows this"],
  [ConcurrentModificationError, 409, "Concurrent modification"],
  [PayloadTooLargeError, 413, "Payload too large"],
  [UnsupportedMediaTypeError, 415, "Unsupported media type"],
  [ConfigInvalidError, 422, "Invalid cluster configuration"],
  [UpstreamError, 502, "Upstream service refused the request"],
  [ServiceUnavailableError, 503, "Service unavailable"],
];

/** The problem `type` URI for an error code. */
export function problemType(code: string): string {
  return `urn:hpc-cluster-api:problem:${code}`;
}

/** A problem plus the headers that go with it (`Allow`, `Retry-After`). */
export interface ProblemResponse {
  readonly problem: Problem;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The request path as a valid URI reference for `instance`: the path is the client's, so it may carry a
 * stray `%`, spaces, raw unicode or control characters. Valid escapes are kept as they are; everything
 * else outside RFC 3986's path characters is percent-encoded (a lone surrogate as U+FFFD).
 */
export function uriReference(path: string): string {
  return path.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (char) =>
    char === "%" ? "%25" : encodeURIComponent(/^[\uD800-\uDFFF]$/u.test(char) ? "\uFFFD" : char),
  );
}

/** Maps any thrown value to a problem. Unknown errors get a bare 500 with the request id only. */
export function toProblem(
  error: unknown,
  request: { requestId?: string; instance?: string },
): ProblemResponse {
  const context = {
    ...(request.requestId !== undefined ? { requestId: request.requestId } : {}),
    ...(request.instance !== undefined ? { instance: uriReference(request.instance) } : {}),
  };
  const match = STATUS_BY_ERROR.find(([cls]) => error instanceof cls);
  if (!match) {
    return {
      problem: {
        type: problemType("internal"),
        title: "Internal error",
        status: 500,
        detail: `internal error; quote request id ${context.requestId ?? "unknown"} to the operator`,
        ...context,
      },
      headers: {},
    };
  }
  const domainError = error as DomainError;
  const [, status, title] = match;
  const headers: Record<string, string> = {};
  if (domainError instanceof MethodNotAllowedError) headers.Allow = domainError.allowed.join(", ");
  if (domainError instanceof ServiceUnavailableError) {
    headers["Retry-After"] = String(domainError.retryAfterSeconds);
  }
  const { issues } = domainError;
  const listed = issues.slice(0, MAX_PROBLEM_ISSUES).map((issue) => ({
    ...issue,
    path: clip(issue.path),
    message: clip(issue.message),
  }));
  const omitted =
    issues.length > listed.length
      ? ` Only the first ${listed.length} of ${issues.length} issues are listed.`
      : "";
  return {
    problem: {
      type: problemType(domainError.code),
      title,
      status,
      detail: `${clip(domainError.message)}${omitted}`,
      ...context,
      ...(listed.length > 0 ? { errors: listed } : {}),
    },
    headers,
  };
}

/**
 * Most issues a problem lists. A 250 KiB configuration can hold 40,000 mistakes: listed in full they made
 * a 7 MB answer, past Lambda's 6 MB response limit (so a 502 from API Gateway instead of the 422). A
 * hundred is more than anyone fixes in one round.
 */
export const MAX_PROBLEM_ISSUES = 100;

/** Longest text of a detail, issue path or issue message: what echoes client input stays bounded. */
const MAX_TEXT_LENGTH = 1000;

function clip(text: string): string {
  return text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH - 1)}…` : text;
}
