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
  [RouteNotFoundError, 404, "Not found"],
  [MethodNotAllowedError, 405, "Method not allowed"],
  [ClusterExistsError, 409, "Cluster already exists"],
  [ClusterNotReadyError, 409, "Cluster not ready"],
  [JobExistsError, 409, "Job already exists"],
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

/** Maps any thrown value to a problem. Unknown errors get a bare 500 with the request id only. */
export function toProblem(
  error: unknown,
  context: { requestId?: string; instance?: string },
): ProblemResponse {
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
  return {
    problem: {
      type: problemType(domainError.code),
      title,
      status,
      detail: domainError.message,
      ...context,
      ...(domainError.issues.length > 0 ? { errors: domainError.issues } : {}),
    },
    headers,
  };
}
