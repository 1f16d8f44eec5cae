import { describe, expect, it } from "vitest";
import type { RetryStrategy } from "#shared/domain/job.ts";
import {
  type AttemptOutcome,
  decideAfterAttempt,
  type RetryDecision,
  validateRetryStrategy,
} from "#shared/domain/job-retry.ts";

const exit = (exitCode: number | undefined, more: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
  ...(exitCode === undefined ? {} : { exitCode }),
  attemptNumber: 1,
  cause: "exit",
  ...more,
});

/** The strategy from Batch's retry blog post: 1 and 2 retry, 3 fails at once, 10 attempts. */
const RANDOM_EXIT_CODE: RetryStrategy = {
  attempts: 10,
  evaluateOnExit: [
    { onExitCode: "1", action: "RETRY" },
    { onExitCode: "2", action: "RETRY" },
    { onExitCode: "3", action: "EXIT" },
  ],
};

/** The blog's Spot strategy: retry host terminations, exit on anything else. */
const SPOT: RetryStrategy = {
  attempts: 5,
  evaluateOnExit: [
    { onStatusReason: "Host EC2*", action: "RETRY" },
    { onReason: "*", action: "EXIT" },
  ],
};

const CASES: ReadonlyArray<readonly [string, RetryStrategy | undefined, AttemptOutcome, RetryDecision]> = [
  // Exit code 0 wins before any rule.
  ["exit 0 succeeds without a strategy", undefined, exit(0), "SUCCEED"],
  [
    "exit 0 succeeds even when a catch-all EXIT rule exists",
    { attempts: 3, evaluateOnExit: [{ onReason: "*", action: "EXIT" }] },
    exit(0),
    "SUCCEED",
  ],
  ["exit 0 succeeds on the last attempt", { attempts: 2 }, exit(0, { attemptNumber: 2 }), "SUCCEED"],
  // No strategy, or no rules: retry while attempts remain.
  ["a failure without a strategy is not retried (1 attempt)", undefined, exit(1), "FAIL"],
  ["a failure under attempts 1 is not retried", { attempts: 1 }, exit(1), "FAIL"],
  [
    "attempts 1 fails even when a RETRY rule matches",
    { attempts: 1, evaluateOnExit: [{ onExitCode: "1", action: "RETRY" }] },
    exit(1),
    "FAIL",
  ],
  ["a failure with attempts left and no rules is retried", { attempts: 3 }, exit(1), "RETRY"],
  ["the second of three attempts is retried", { attempts: 3 }, exit(1, { attemptNumber: 2 }), "RETRY"],
  ["the last attempt fails", { attempts: 3 }, exit(1, { attemptNumber: 3 }), "FAIL"],
  ["a process with no exit code is retried while attempts remain", { attempts: 2 }, exit(undefined), "RETRY"],
  // Rules: the first matching one decides.
  ["exit 1 retries under the blog's strategy", RANDOM_EXIT_CODE, exit(1), "RETRY"],
  ["exit 3 fails at once under the blog's strategy", RANDOM_EXIT_CODE, exit(3), "FAIL"],
  ["an unmatched exit code retries while attempts remain", RANDOM_EXIT_CODE, exit(4), "RETRY"],
  [
    "a matching RETRY rule on the last attempt fails",
    RANDOM_EXIT_CODE,
    exit(1, { attemptNumber: 10 }),
    "FAIL",
  ],
  [
    "the first matching rule wins over a later one",
    {
      attempts: 3,
      evaluateOnExit: [
        { onExitCode: "3", action: "RETRY" },
        { onExitCode: "3", action: "EXIT" },
      ],
    },
    exit(3),
    "RETRY",
  ],
  [
    "an earlier EXIT rule wins over a later RETRY rule",
    {
      attempts: 3,
      evaluateOnExit: [
        { onExitCode: "3*", action: "EXIT" },
        { onExitCode: "3", action: "RETRY" },
      ],
    },
    exit(3),
    "FAIL",
  ],
  [
    "a rule with no condition matches everything",
    { attempts: 3, evaluateOnExit: [{ action: "EXIT" }] },
    exit(7),
    "FAIL",
  ],
  [
    "the action is not case sensitive",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "2", action: "exit" as "EXIT" }] },
    exit(2),
    "FAIL",
  ],
  // Wildcards: a trailing * is a prefix match; nothing else is a wildcard.
  [
    "a trailing * matches exit codes by prefix",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "1*", action: "EXIT" }] },
    exit(137),
    "FAIL",
  ],
  [
    "a prefix pattern does not match another prefix",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "1*", action: "EXIT" }] },
    exit(255),
    "RETRY",
  ],
  [
    "a trailing * matches the prefix itself",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "13*", action: "EXIT" }] },
    exit(13),
    "FAIL",
  ],
  [
    "without a * the exit code must match exactly",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "1", action: "EXIT" }] },
    exit(137),
    "RETRY",
  ],
  [
    "a * alone matches any exit code",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "*", action: "EXIT" }] },
    exit(42),
    "FAIL",
  ],
  [
    "an exit code pattern does not match an attempt that has no exit code",
    { attempts: 3, evaluateOnExit: [{ onExitCode: "1", action: "EXIT" }] },
    exit(undefined),
    "RETRY",
  ],
  [
    "reason prefixes match the container reason",
    { attempts: 10, evaluateOnExit: [{ onReason: "CannotPullContainerError:*", action: "EXIT" }] },
    exit(undefined, { reason: "CannotPullContainerError: pull access denied for no-container-image" }),
    "FAIL",
  ],
  [
    "reason matching is case sensitive",
    { attempts: 10, evaluateOnExit: [{ onReason: "cannotpullcontainererror:*", action: "EXIT" }] },
    exit(undefined, { reason: "CannotPullContainerError: pull access denied" }),
    "RETRY",
  ],
  [
    "a * inside a pattern is a literal character, not a wildcard",
    { attempts: 3, evaluateOnExit: [{ onReason: "Out*Error", action: "EXIT" }] },
    exit(137, { reason: "OutOfMemoryError" }),
    "RETRY",
  ],
  // onReason and onStatusReason look at different fields.
  [
    "onStatusReason matches the status reason",
    SPOT,
    exit(undefined, { statusReason: "Host EC2 (instance i-0123456789abcdef0) terminated." }),
    "RETRY",
  ],
  [
    "onStatusReason does not look at the container reason",
    { attempts: 5, evaluateOnExit: [{ onStatusReason: "Host EC2*", action: "EXIT" }] },
    exit(undefined, { reason: "Host EC2 (instance i-0123456789abcdef0) terminated." }),
    "RETRY",
  ],
  [
    "onReason does not look at the status reason",
    { attempts: 5, evaluateOnExit: [{ onReason: "Essential*", action: "EXIT" }] },
    exit(1, { statusReason: "Essential container in task exited" }),
    "RETRY",
  ],
  [
    "the catch-all onReason * matches an exit that has no reason",
    SPOT,
    exit(1, { statusReason: "Essential container in task exited" }),
    "FAIL",
  ],
  // Conditions combined: all must match.
  [
    "combined conditions match when all of them match",
    {
      attempts: 3,
      evaluateOnExit: [{ onExitCode: "137", onReason: "OutOfMemoryError*", action: "EXIT" }],
    },
    exit(137, { reason: "OutOfMemoryError: Container killed due to memory usage" }),
    "FAIL",
  ],
  [
    "combined conditions do not match when one of them differs",
    {
      attempts: 3,
      evaluateOnExit: [{ onExitCode: "137", onReason: "OutOfMemoryError*", action: "EXIT" }],
    },
    exit(137, { reason: "Killed by signal SIGKILL" }),
    "RETRY",
  ],
  [
    "combined conditions do not match when the exit code differs",
    {
      attempts: 3,
      evaluateOnExit: [{ onExitCode: "137", onStatusReason: "Essential*", action: "EXIT" }],
    },
    exit(1, { statusReason: "Essential container in task exited" }),
    "RETRY",
  ],
  // Timeouts and cancels are never retried.
  [
    "a timeout is not retried even with attempts left and a RETRY rule",
    { attempts: 5, evaluateOnExit: [{ action: "RETRY" }] },
    exit(143, { cause: "timeout", statusReason: "Job attempt duration exceeded timeout" }),
    "FAIL",
  ],
  [
    "a cancel is not retried even with attempts left",
    { attempts: 5 },
    exit(143, { cause: "cancel" }),
    "FAIL",
  ],
  ["a cancelled attempt that exited 0 does not succeed", undefined, exit(0, { cause: "cancel" }), "FAIL"],
];

describe("decideAfterAttempt", () => {
  it.each(CASES)("%s", (_name, strategy, outcome, expected) => {
    expect(decideAfterAttempt(strategy, outcome)).toBe(expected);
  });

  it("retries a job that exits 1, 1, 0 under 3 attempts and succeeds on the third", () => {
    const decisions = [1, 1, 0].map((exitCode, index) =>
      decideAfterAttempt({ attempts: 3 }, exit(exitCode, { attemptNumber: index + 1 })),
    );

    expect(decisions).toEqual(["RETRY", "RETRY", "SUCCEED"]);
  });
});

describe("validateRetryStrategy", () => {
  it("accepts the strategies from Batch's retry blog post", () => {
    expect(validateRetryStrategy(RANDOM_EXIT_CODE)).toEqual([]);
    expect(validateRetryStrategy(SPOT)).toEqual([]);
    expect(
      validateRetryStrategy({
        attempts: 10,
        evaluateOnExit: [{ onReason: "CannotPullContainerError:*", action: "EXIT" }],
      }),
    ).toEqual([]);
  });

  it.each([1, 10])("accepts %i attempts", (attempts) => {
    expect(validateRetryStrategy({ attempts })).toEqual([]);
  });

  it.each([0, 11, -1, 2.5])("rejects %d attempts, naming the field", (attempts) => {
    expect(validateRetryStrategy({ attempts })).toEqual([
      { path: "retryStrategy.attempts", message: expect.stringContaining("1 to 10") },
    ]);
  });

  it("accepts five rules and rejects six", () => {
    const rule = { onExitCode: "1", action: "RETRY" } as const;

    expect(validateRetryStrategy({ attempts: 2, evaluateOnExit: Array(5).fill(rule) })).toEqual([]);
    expect(validateRetryStrategy({ attempts: 2, evaluateOnExit: Array(6).fill(rule) })).toEqual([
      { path: "retryStrategy.evaluateOnExit", message: expect.stringContaining("at most 5") },
    ]);
  });

  it.each([
    ["onExitCode", "1*3", "'*' is only allowed as the last character"],
    ["onExitCode", "*1", "'*' is only allowed as the last character"],
    ["onExitCode", "1**", "'*' is only allowed as the last character"],
    ["onExitCode", "-1", "only digits"],
    ["onExitCode", "1 ", "only digits"],
    ["onExitCode", "", "must not be empty"],
    ["onReason", "Cannot*Error", "'*' is only allowed as the last character"],
    ["onReason", "Error; rm -rf", "only letters, digits"],
    ["onReason", "x".repeat(513), "at most 512"],
    ["onStatusReason", "Host*EC2", "'*' is only allowed as the last character"],
    ["onStatusReason", "Host EC2 (instance)", "only letters, digits"],
  ] as const)("rejects the %s pattern %j, naming the field", (field, pattern, message) => {
    const strategy: RetryStrategy = {
      attempts: 3,
      evaluateOnExit: [
        { onExitCode: "1", action: "RETRY" },
        { onExitCode: "2", action: "RETRY" },
        { [field]: pattern, action: "EXIT" },
      ],
    };

    expect(validateRetryStrategy(strategy)).toEqual([
      { path: `retryStrategy.evaluateOnExit[2].${field}`, message: expect.stringContaining(message) },
    ]);
  });

  it.each([
    ["onExitCode", "137"],
    ["onExitCode", "13*"],
    ["onExitCode", "*"],
    ["onReason", "OutOfMemoryError: Container killed*"],
    ["onReason", "x".repeat(512)],
    ["onStatusReason", "Host EC2*"],
    ["onStatusReason", "Job attempt duration exceeded timeout"],
  ] as const)("accepts the %s pattern %j", (field, pattern) => {
    expect(
      validateRetryStrategy({ attempts: 2, evaluateOnExit: [{ [field]: pattern, action: "EXIT" }] }),
    ).toEqual([]);
  });

  it("rejects an action other than RETRY or EXIT", () => {
    const strategy = { attempts: 2, evaluateOnExit: [{ action: "IGNORE" as "EXIT" }] };

    expect(validateRetryStrategy(strategy)).toEqual([
      { path: "retryStrategy.evaluateOnExit[0].action", message: "action must be RETRY or EXIT." },
    ]);
  });

  it("reports every problem at once, under the caller's path", () => {
    const strategy: RetryStrategy = {
      attempts: 0,
      evaluateOnExit: [{ onExitCode: "1*2", onStatusReason: "a*b", action: "EXIT" }],
    };

    expect(validateRetryStrategy(strategy, "body.retryStrategy").map((issue) => issue.path)).toEqual([
      "body.retryStrategy.attempts",
      "body.retryStrategy.evaluateOnExit[0].onExitCode",
      "body.retryStrategy.evaluateOnExit[0].onStatusReason",
    ]);
  });
});
