import type { FieldIssue } from "./errors.ts";
import type { EvaluateOnExit, RetryStrategy } from "./job.ts";

/** What ended an attempt: the process exited by itself, ran past its timeout, or was cancelled. */
export type AttemptCause = "exit" | "timeout" | "cancel";

/** The facts of a finished attempt that a retry strategy is evaluated against. */
export interface AttemptOutcome {
  /** The exit code; absent when the process never started or no code was reported. */
  readonly exitCode?: number;
  /** Batch's `container.reason` (e.g. `CannotPullContainerError: ...`), matched by `onReason`. */
  readonly reason?: string;
  /** Batch's attempt `statusReason` (e.g. `Host EC2 (instance i-...) terminated.`), matched by `onStatusReason`. */
  readonly statusReason?: string;
  /** 1-based number of the attempt that just ended. */
  readonly attemptNumber: number;
  readonly cause: AttemptCause;
}

/** What happens after an attempt. */
export type RetryDecision = "SUCCEED" | "RETRY" | "FAIL";

/** Batch's bounds on a retry strategy. */
export const MIN_ATTEMPTS = 1;
export const MAX_ATTEMPTS = 10;
export const MAX_EVALUATE_ON_EXIT = 5;
const MAX_PATTERN_LENGTH = 512;

/** Batch's reason for an attempt stopped by the job timeout. */
export const TIMEOUT_STATUS_REASON = "Job attempt duration exceeded timeout";

/**
 * AWS Batch's retry evaluation. Exit code 0 succeeds without evaluating anything; a timeout or a cancel
 * is never retried; otherwise the first `evaluateOnExit` rule whose given conditions all match decides,
 * and when none matches the job is retried while attempts remain. A RETRY on the last attempt fails.
 */
export function decideAfterAttempt(
  strategy: RetryStrategy | undefined,
  outcome: AttemptOutcome,
): RetryDecision {
  if (outcome.cause !== "exit") return "FAIL";
  if (outcome.exitCode === 0) return "SUCCEED";
  const rule = strategy?.evaluateOnExit?.find((candidate) => ruleMatches(candidate, outcome));
  if (rule && rule.action.toUpperCase() === "EXIT") return "FAIL";
  const attempts = strategy?.attempts ?? 1;
  return outcome.attemptNumber < attempts ? "RETRY" : "FAIL";
}

/** All the conditions a rule gives must match; a rule with none matches every outcome. */
function ruleMatches(rule: EvaluateOnExit, outcome: AttemptOutcome): boolean {
  return (
    globMatches(rule.onExitCode, outcome.exitCode === undefined ? undefined : String(outcome.exitCode)) &&
    globMatches(rule.onReason, outcome.reason) &&
    globMatches(rule.onStatusReason, outcome.statusReason)
  );
}

/**
 * Batch's glob: exact, or a prefix when the pattern ends with `*`. A missing value is matched as the
 * empty string, so `*` matches it (Batch's documented catch-all is `onReason: "*"`, and most exits have
 * no reason) while any other pattern does not. An empty pattern is no condition, as Batch shows it.
 */
function globMatches(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined || pattern === "") return true;
  const text = value ?? "";
  return pattern.endsWith("*") ? text.startsWith(pattern.slice(0, -1)) : text === pattern;
}

const EXIT_CODE_CHARS = /^[0-9]*$/;
const REASON_CHARS = /^[A-Za-z0-9 \t.:]*$/;

/**
 * Batch's limits on a retry strategy, checked before any call: 1-10 attempts, at most 5 rules, an action
 * of RETRY or EXIT, and patterns of the allowed characters with `*` only at the end. Each issue names
 * its field under `path` (e.g. `retryStrategy.evaluateOnExit[2].onExitCode`).
 */
export function validateRetryStrategy(strategy: RetryStrategy, path = "retryStrategy"): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { attempts, evaluateOnExit = [] } = strategy;
  if (!Number.isInteger(attempts) || attempts < MIN_ATTEMPTS || attempts > MAX_ATTEMPTS) {
    issues.push({
      path: `${path}.attempts`,
      message: `attempts must be a whole number from ${MIN_ATTEMPTS} to ${MAX_ATTEMPTS}.`,
    });
  }
  if (evaluateOnExit.length > MAX_EVALUATE_ON_EXIT) {
    issues.push({
      path: `${path}.evaluateOnExit`,
      message: `at most ${MAX_EVALUATE_ON_EXIT} evaluateOnExit rules are allowed (got ${evaluateOnExit.length}).`,
    });
  }
  evaluateOnExit.forEach((rule, index) => {
    const at = `${path}.evaluateOnExit[${index}]`;
    const action = String(rule.action).toUpperCase();
    if (action !== "RETRY" && action !== "EXIT") {
      issues.push({ path: `${at}.action`, message: "action must be RETRY or EXIT." });
    }
    const exitCode = patternIssue(rule.onExitCode, EXIT_CODE_CHARS, "digits");
    if (exitCode) issues.push({ path: `${at}.onExitCode`, message: exitCode });
    const reason = patternIssue(rule.onReason, REASON_CHARS, "letters, digits, spaces, '.' and ':'");
    if (reason) issues.push({ path: `${at}.onReason`, message: reason });
    const statusReason = patternIssue(
      rule.onStatusReason,
      REASON_CHARS,
      "letters, digits, spaces, '.' and ':'",
    );
    if (statusReason) issues.push({ path: `${at}.onStatusReason`, message: statusReason });
  });
  return issues;
}

function patternIssue(pattern: string | undefined, allowed: RegExp, what: string): string | undefined {
  if (pattern === undefined) return undefined;
  if (pattern.length === 0) return "the pattern must not be empty: leave the field out instead.";
  if (pattern.length > MAX_PATTERN_LENGTH)
    return `the pattern must be at most ${MAX_PATTERN_LENGTH} characters.`;
  const body = pattern.endsWith("*") ? pattern.slice(0, -1) : pattern;
  if (body.includes("*")) return "'*' is only allowed as the last character (a prefix match).";
  if (!allowed.test(body)) return `the pattern may contain only ${what}, optionally ending with '*'.`;
  return undefined;
}
