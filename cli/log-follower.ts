/**
 * Following a job: its status and its output as it is written, attempt after attempt, for `jobs logs
 * --follow` and `jobs run`. The logs endpoint pages by `nextToken`; at the end of what exists so far the
 * page carries no token, so the follower keeps the token of the page it is on and how many of its lines
 * were printed, and asks for that page again on the next poll (a page may also be empty).
 */
import { isTerminalJob } from "#shared/domain/job.ts";
import type { ApiClient } from "./api-client.ts";
import { type Job, JobLogPageSchema, JobSchema, type LogLine } from "./api-types.ts";
import { Backoff, sleep } from "./progress.ts";

/** The most lines one logs page may hold (the API's maximum). */
const PAGE_LIMIT = 1000;

/** The API path of a job. */
export function jobPath(cluster: string, jobId: string): string {
  return `/v1/clusters/${encodeURIComponent(cluster)}/jobs/${encodeURIComponent(jobId)}`;
}

/** Where reading one job's output stands: the attempt, the page being read, and how much of it was printed. */
export class LogCursor {
  #attempt: number;
  #token: string | undefined;
  #seen = 0;

  constructor(
    readonly client: ApiClient,
    readonly path: string,
    attempt: number,
  ) {
    this.#attempt = attempt;
  }

  /** The attempt being read, counting from 1. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Passes every line of the current attempt not passed yet to `onLine`; resolves with how many there were. */
  async drain(onLine: (line: LogLine) => void): Promise<number> {
    let passed = 0;
    for (;;) {
      const page = await this.client.get(this.path, JobLogPageSchema, {
        query: { attempt: this.#attempt, limit: PAGE_LIMIT, nextToken: this.#token },
      });
      const fresh = page.lines.slice(this.#seen);
      for (const line of fresh) onLine(line);
      passed += fresh.length;
      if (page.nextToken !== undefined && page.nextToken !== this.#token) {
        this.#token = page.nextToken;
        this.#seen = 0;
        // An empty page that moves the token on (CloudWatch Logs does that): look again at the next poll.
        if (page.lines.length === 0) return passed;
        continue;
      }
      this.#seen = page.lines.length;
      return passed;
    }
  }

  /** Moves on to the next attempt's output. */
  nextAttempt(): void {
    this.#attempt += 1;
    this.#token = undefined;
    this.#seen = 0;
  }
}

/** The attempt a job is on: its finished attempts, plus the one in flight unless the job is over. */
export function currentAttempt(job: Job): number {
  const ended = job.attempts?.length ?? 0;
  return isTerminalJob(job.status) ? Math.max(1, ended) : ended + 1;
}

/** What `followJob` reports as it goes. */
export interface FollowHandlers {
  /** Each line of output, in order. */
  readonly onLine: (line: LogLine) => void;
  /** The job each time it was read. */
  readonly onJob?: (job: Job) => void;
  /** A new attempt's output begins (a retry). */
  readonly onAttempt?: (attempt: number) => void;
}

/**
 * Streams a job's output from `startAttempt` on, polling with backoff (500 ms up to 5 s, back to 500 ms
 * whenever something changed), until the job is over and its last attempt's output was read. Resolves
 * with the finished job; rejects with the signal's reason when `signal` is aborted.
 */
export async function followJob(
  client: ApiClient,
  target: { readonly cluster: string; readonly jobId: string; readonly startAttempt: number },
  handlers: FollowHandlers,
  signal?: AbortSignal,
): Promise<Job> {
  const path = jobPath(target.cluster, target.jobId);
  const cursor = new LogCursor(client, `${path}/logs`, target.startAttempt);
  const backoff = new Backoff();
  let lastStatus: string | undefined;
  for (;;) {
    const job = await client.get(path, JobSchema);
    if (job.status !== lastStatus) backoff.reset();
    lastStatus = job.status;
    handlers.onJob?.(job);
    // The job was read before its output: when it says an attempt has ended, that attempt's output is complete.
    const passed = await cursor.drain(handlers.onLine);
    const ended = job.attempts?.length ?? 0;
    if (ended >= cursor.attempt) {
      if (ended > cursor.attempt || !isTerminalJob(job.status)) {
        cursor.nextAttempt();
        handlers.onAttempt?.(cursor.attempt);
        backoff.reset();
        continue;
      }
      if (job.scheduler !== "local") {
        // CloudWatch Logs may still be ingesting the last lines of an attempt that just ended.
        await sleep(1000, signal);
        await cursor.drain(handlers.onLine);
      }
      return job;
    }
    if (isTerminalJob(job.status)) return job;
    if (passed > 0) backoff.reset();
    await sleep(backoff.next(), signal);
  }
}
