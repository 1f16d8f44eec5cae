import { describe, expect, it } from "vitest";
import * as errors from "#shared/domain/errors.ts";
import {
  ClusterExistsError,
  ClusterNotFoundError,
  ClusterNotReadyError,
  DomainError,
  InvalidTransitionError,
  JobNotFoundError,
  MethodNotAllowedError,
  RequestValidationError,
  ServiceUnavailableError,
} from "#shared/domain/errors.ts";
import { problemType, toProblem } from "#shared/http/problem.ts";

type AnyErrorClass = abstract new (...args: never[]) => DomainError;

/** Every concrete `DomainError` the module exports: a new one shows up here by itself. */
const ERROR_CLASSES = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, AnyErrorClass] =>
    typeof entry[1] === "function" && entry[1] !== DomainError && entry[1].prototype instanceof DomainError,
);

/** The status each error must answer, by HTTP's meaning of the codes. */
const EXPECTED_STATUS: Readonly<Record<string, number>> = {
  RequestValidationError: 400,
  InvalidNextTokenError: 400,
  UnauthorizedError: 401,
  ClusterNotFoundError: 404,
  JobNotFoundError: 404,
  TriggerNotFoundError: 404,
  RouteNotFoundError: 404,
  MethodNotAllowedError: 405,
  ClusterExistsError: 409,
  ClusterNotReadyError: 409,
  JobExistsError: 409,
  TriggerExistsError: 409,
  IdempotencyConflictError: 409,
  InvalidTransitionError: 409,
  ConcurrentModificationError: 409,
  PayloadTooLargeError: 413,
  UnsupportedMediaTypeError: 415,
  ConfigInvalidError: 422,
  UpstreamError: 502,
  ServiceUnavailableError: 503,
};

/** An instance of any error class; the constructors that take more than (message, issues) get theirs. */
function instanceOf(name: string, cls: AnyErrorClass): DomainError {
  switch (name) {
    case "ClusterNotFoundError":
      return new ClusterNotFoundError("alpha");
    case "ClusterExistsError":
      return new ClusterExistsError("alpha", "CREATE_COMPLETE");
    case "ClusterNotReadyError":
      return new ClusterNotReadyError("alpha", "CREATE_IN_PROGRESS");
    case "JobNotFoundError":
      return new JobNotFoundError("alpha", "job-1");
    case "InvalidTransitionError":
      return new InvalidTransitionError("DELETE_COMPLETE", "DELETE_IN_PROGRESS");
    case "MethodNotAllowedError":
      return new MethodNotAllowedError("PUT is not allowed here", ["GET", "POST"]);
    default:
      return Reflect.construct(cls, [`a ${name} happened`]) as DomainError;
  }
}

const CONTEXT = { requestId: "req-123", instance: "/v1/clusters/alpha" };

describe("toProblem for domain errors", () => {
  it("finds the error classes to check", () => {
    expect(ERROR_CLASSES.length).toBeGreaterThanOrEqual(Object.keys(EXPECTED_STATUS).length);
  });

  it.each(ERROR_CLASSES)("maps %s to its status, type, title and detail", (name, cls) => {
    const error = instanceOf(name, cls);

    const { problem } = toProblem(error, CONTEXT);

    expect(
      EXPECTED_STATUS[name],
      `no expected status for ${name}: map it in problem.ts and here`,
    ).toBeDefined();
    expect(problem.status).toBe(EXPECTED_STATUS[name]);
    expect(problem.type).toBe(problemType(error.code));
    expect(problem.type).not.toBe(problemType("internal"));
    expect(problem.title.length).toBeGreaterThan(0);
    expect(problem.detail).toBe(error.message);
    expect(problem.requestId).toBe("req-123");
    expect(problem.instance).toBe("/v1/clusters/alpha");
  });

  it("gives every error class its own code", () => {
    const codes = ERROR_CLASSES.map(([name, cls]) => instanceOf(name, cls).code);

    expect(new Set(codes).size).toBe(codes.length);
  });

  it("lists the field issues of a validation error as errors", () => {
    const issues = [
      { path: "body.name", message: "must start with a letter" },
      { path: "Scheduling.SlurmQueues[0].Name", message: "too long", line: 12 },
    ];

    const { problem } = toProblem(new RequestValidationError("bad", issues), CONTEXT);

    expect(problem.errors).toEqual(issues);
  });

  it("leaves errors out when the error has no issues", () => {
    const { problem } = toProblem(new ClusterNotFoundError("alpha"), CONTEXT);

    expect(problem).not.toHaveProperty("errors");
  });

  it("sends the allowed methods in an Allow header for 405", () => {
    const { problem, headers } = toProblem(new MethodNotAllowedError("no PUT", ["GET", "DELETE"]), CONTEXT);

    expect(problem.status).toBe(405);
    expect(headers).toEqual({ Allow: "GET, DELETE" });
  });

  it("sends Retry-After for 503, with the default and with a given delay", () => {
    expect(toProblem(new ServiceUnavailableError("throttled"), CONTEXT).headers).toEqual({
      "Retry-After": "5",
    });
    expect(toProblem(new ServiceUnavailableError("throttled", 30), CONTEXT).headers).toEqual({
      "Retry-After": "30",
    });
  });

  it("sends no extra headers for other errors", () => {
    expect(toProblem(new ClusterExistsError("alpha", "CREATE_COMPLETE"), CONTEXT).headers).toEqual({});
  });
});

describe("toProblem for anything else", () => {
  const secret = "password=hunter2 at arn:aws:iam::123456789012:role/secret-role";

  class Unmapped extends DomainError {
    readonly code = "unmapped";
  }

  const unknowns: [string, unknown][] = [
    ["an Error", new Error(secret)],
    ["a TypeError", new TypeError(secret)],
    ["a thrown string", secret],
    ["undefined", undefined],
    ["null", null],
    [
      "a plain object that looks like a domain error",
      { code: "cluster-not-found", message: secret, issues: [] },
    ],
    ["a DomainError subclass missing from the table", new Unmapped(secret, [{ path: "x", message: secret }])],
  ];

  it.each(unknowns)("answers %s with a bare 500 that reveals nothing", (_what, thrown) => {
    const { problem, headers } = toProblem(thrown, CONTEXT);

    const json = JSON.stringify(problem);
    expect(problem.status).toBe(500);
    expect(Object.keys(problem).sort()).toEqual([
      "detail",
      "instance",
      "requestId",
      "status",
      "title",
      "type",
    ]);
    expect(problem.type).toBe(problemType("internal"));
    expect(problem.detail).toContain("internal error");
    expect(problem.detail).toContain("req-123");
    expect(json).not.toContain("hunter2");
    expect(json).not.toContain("secret-role");
    expect(json).not.toContain("stack");
    const frame = thrown instanceof Error ? thrown.stack?.split("\n")[1]?.trim() : undefined;
    if (frame) expect(json).not.toContain(frame);
    expect(headers).toEqual({});
  });

  it("says 'unknown' when there is no request id to quote", () => {
    const { problem } = toProblem(new Error(secret), {});

    expect(problem.detail).toContain("unknown");
    expect(JSON.stringify(problem)).not.toContain("hunter2");
  });
});
