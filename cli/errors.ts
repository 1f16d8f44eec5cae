/**
 * What can go wrong in hpcctl, and the one table that turns it into an exit code. Commands throw these;
 * `main.ts` prints them and exits, so no command decides an exit code of its own (except `jobs run`,
 * whose code is the job's).
 */

/** The documented exit codes. A job's own code (from `jobs run`) is not listed: it is whatever the job said. */
export const EXIT_CODES = {
  success: 0,
  /** A cluster or job ended failed (`CREATE_FAILED` under `--wait`, a failed or cancelled `jobs run`). */
  failed: 1,
  /** The command line is wrong: unknown option, missing argument, unreadable file. */
  usage: 2,
  /** The API answered with a problem, or could not be reached. */
  api: 3,
  /** Interrupted by SIGINT (128 + 2). */
  sigint: 130,
  /** Interrupted by SIGTERM (128 + 15). */
  sigterm: 143,
} as const;

/** The command line cannot be run as given. `usage` is the command's usage text, printed after the message. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** One field-level issue of an RFC 9457 problem (`errors[]` in the API's problems). */
export interface ProblemIssue {
  readonly path?: string;
  readonly message: string;
  readonly line?: number;
}

/**
 * The API answered with an error (an RFC 9457 problem, or API Gateway's own `{ message }`), or could not
 * be reached at all (`status` is then undefined). Printed as `title: detail`.
 */
export class ApiError extends Error {
  readonly title: string;
  readonly detail: string;
  readonly status?: number;
  /** The problem `type`, e.g. `urn:hpc-cluster-api:problem:cluster-exists`. */
  readonly type?: string;
  readonly issues: readonly ProblemIssue[];
  readonly requestId?: string;
  /** True when trying the same request again later may work (connection errors, 429, 503, 504). */
  readonly transient: boolean;

  constructor(init: {
    readonly title: string;
    readonly detail: string;
    readonly status?: number;
    readonly type?: string;
    readonly issues?: readonly ProblemIssue[];
    readonly requestId?: string;
    readonly transient?: boolean;
  }) {
    super(`${init.title}: ${init.detail}`);
    this.name = "ApiError";
    this.title = init.title;
    this.detail = init.detail;
    if (init.status !== undefined) this.status = init.status;
    if (init.type !== undefined) this.type = init.type;
    this.issues = init.issues ?? [];
    if (init.requestId !== undefined) this.requestId = init.requestId;
    this.transient = init.transient ?? false;
  }

  /** True for the problem with this code (the last part of its `type`, e.g. `cluster-exists`). */
  is(code: string): boolean {
    return this.type === `urn:hpc-cluster-api:problem:${code}`;
  }
}

/** A cluster or a job ended in a failed state; `message` says which and why (`cluster X: CREATE_FAILED: ...`). */
export class OutcomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutcomeError";
  }
}

/** The user (or a scheduler) sent SIGINT or SIGTERM; the command stopped what it was doing. */
export class InterruptedError extends Error {
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}`);
    this.name = "InterruptedError";
  }
}

/** The exit code for anything a command threw. Unexpected errors count as API errors: the answer was not what we expected. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT_CODES.usage;
  if (error instanceof OutcomeError) return EXIT_CODES.failed;
  if (error instanceof InterruptedError)
    return error.signal === "SIGINT" ? EXIT_CODES.sigint : EXIT_CODES.sigterm;
  return EXIT_CODES.api;
}

/** The lines to print on stderr for an error (without the usage text of a `UsageError`). */
export function errorLines(error: unknown): string[] {
  if (error instanceof ApiError) {
    const lines = [`${error.title}: ${error.detail}`];
    for (const issue of error.issues) {
      const where = issue.path ? `${issue.path}${issue.line ? ` (line ${issue.line})` : ""}: ` : "";
      lines.push(`  ${where}${issue.message}`);
    }
    if (error.requestId && (error.status ?? 0) >= 500) lines.push(`  request id: ${error.requestId}`);
    return lines;
  }
  if (error instanceof UsageError) return [`hpcctl: ${error.message}`];
  if (error instanceof OutcomeError) return [error.message];
  if (error instanceof InterruptedError) return [];
  const message = error instanceof Error ? error.message : String(error);
  return [`Internal error: ${message}`];
}
