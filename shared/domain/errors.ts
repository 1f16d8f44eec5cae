/**
 * The domain's error taxonomy. These errors know nothing of HTTP: `shared/http/problem.ts` maps each one
 * to a status code and an RFC 9457 problem body, in one table.
 */

/** One field-level problem: where it is (a dotted path or a header/query name), what is wrong, how to fix it. */
export interface FieldIssue {
  /** Where the problem is, e.g. `Scheduling.SlurmQueues[0].ComputeResources[0].InstanceType` or `body.name`. */
  readonly path: string;
  /** What is wrong and, where it helps, what to do instead. */
  readonly message: string;
  /** 1-based line in the configuration document, for YAML and INI inputs. */
  readonly line?: number;
}

/** Base class: every error the API answers with a 4xx is a `DomainError`. */
export abstract class DomainError extends Error {
  /** Stable machine-readable code; also the last part of the problem `type`. */
  abstract readonly code: string;
  readonly issues: readonly FieldIssue[];

  constructor(message: string, issues: readonly FieldIssue[] = []) {
    super(message);
    this.name = new.target.name;
    this.issues = issues;
  }
}

/** The request envelope is malformed: a body that is not JSON or not base64, a bad query parameter. */
export class RequestValidationError extends DomainError {
  readonly code = "request-invalid";
}

/** The cluster configuration was read but is not a valid cluster configuration. */
export class ConfigInvalidError extends DomainError {
  readonly code = "config-invalid";
}

/** No cluster (or no live cluster) has this name. */
export class ClusterNotFoundError extends DomainError {
  readonly code = "cluster-not-found";
  constructor(readonly clusterName: string) {
    super(`No cluster named '${clusterName}' exists.`);
  }
}

/** A live cluster already has this name. */
export class ClusterExistsError extends DomainError {
  readonly code = "cluster-exists";
  constructor(
    readonly clusterName: string,
    readonly status: string,
  ) {
    super(
      `A cluster named '${clusterName}' already exists (status ${status}). Delete it first or choose another name.`,
    );
  }
}

/** A status change that the cluster state machine does not allow (e.g. deleting a cluster already deleted). */
export class InvalidTransitionError extends DomainError {
  readonly code = "invalid-transition";
  constructor(
    readonly from: string,
    readonly to: string,
    detail?: string,
  ) {
    super(detail ?? `A cluster cannot move from ${from} to ${to}.`);
  }
}

/** Someone else changed the record between our read and our write, more times than we retry. */
export class ConcurrentModificationError extends DomainError {
  readonly code = "concurrent-modification";
}

/** The same `clientToken` was sent before with a different request body, or that request is still running. */
export class IdempotencyConflictError extends DomainError {
  readonly code = "idempotency-conflict";
}

/** The request body is larger than this API accepts. */
export class PayloadTooLargeError extends DomainError {
  readonly code = "payload-too-large";
}

/** The pagination token was not issued by this API (or not for this listing). */
export class InvalidNextTokenError extends DomainError {
  readonly code = "invalid-next-token";
  constructor() {
    super("nextToken is not a token this API issued for this listing: start again without it.", [
      { path: "query.nextToken", message: "unknown or tampered pagination token" },
    ]);
  }
}

/** No route matches the path. */
export class RouteNotFoundError extends DomainError {
  readonly code = "route-not-found";
}

/** The path exists but not with this method. */
export class MethodNotAllowedError extends DomainError {
  readonly code = "method-not-allowed";
  constructor(
    message: string,
    readonly allowed: readonly string[],
  ) {
    super(message);
  }
}

/** Missing or wrong credentials. */
export class UnauthorizedError extends DomainError {
  readonly code = "unauthorized";
}

/** A dependency is throttling or unavailable beyond our retries; the caller should retry later. */
export class ServiceUnavailableError extends DomainError {
  readonly code = "service-unavailable";
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    /**
     * True only when the request surely did nothing (it was throttled, or refused before it started):
     * then an automatic retry is safe. Otherwise (a timeout, a 5xx, a head node that has not answered)
     * it may have taken effect all the same, and a retry may act twice: a person may retry, knowing it.
     */
    readonly notApplied = false,
  ) {
    super(message);
  }
}

/** A dependency refused us for a reason the operator must fix (e.g. a missing IAM permission). */
export class UpstreamError extends DomainError {
  readonly code = "upstream-error";
}

/** The request body's media type is not one the operation accepts. */
export class UnsupportedMediaTypeError extends DomainError {
  readonly code = "unsupported-media-type";
}

/** No job with this id on this cluster. */
export class JobNotFoundError extends DomainError {
  readonly code = "job-not-found";
  constructor(
    readonly clusterName: string,
    readonly jobId: string,
  ) {
    super(`No job '${jobId}' on cluster '${clusterName}'.`);
  }
}

/** A job record with this id already exists (a retried submit with the same client token). */
export class JobExistsError extends DomainError {
  readonly code = "job-exists";
}

/** The cluster exists but cannot take jobs in its current status. */
export class ClusterNotReadyError extends DomainError {
  readonly code = "cluster-not-ready";
  constructor(
    readonly clusterName: string,
    readonly status: string,
  ) {
    super(`Cluster '${clusterName}' is ${status}; jobs can be submitted once it is CREATE_COMPLETE.`);
  }
}

/** No trigger rule with this name. */
export class TriggerNotFoundError extends DomainError {
  readonly code = "trigger-not-found";
  constructor(readonly triggerName: string) {
    super(`No trigger rule '${triggerName}'. List them with GET /v1/triggers.`);
  }
}

/** A trigger rule with this name already exists. */
export class TriggerExistsError extends DomainError {
  readonly code = "trigger-exists";
  constructor(readonly triggerName: string) {
    super(
      `A trigger rule named '${triggerName}' already exists; rules are immutable: delete it first or pick another name.`,
      [{ path: "body.name", message: "already taken by another rule" }],
    );
  }
}
