import { randomBytes } from "node:crypto";
import { ConcurrentModificationError, JobExistsError, JobNotFoundError } from "../../domain/errors.ts";
import { isTerminalJob, type Job } from "../../domain/job.ts";
import type { Clock } from "../../ports/clock.ts";
import {
  JOB_CHANGE_FIELDS,
  JOB_SUMMARY_FIELDS,
  type JobChanges,
  type JobListRequest,
  type JobStore,
  type JobSummary,
} from "../../ports/job-store.ts";
import type { Page, PageRequest } from "../../ports/page.ts";
import {
  ACTIVE_JOBS_SCOPE,
  ActiveJobsPositionSchema,
  assertRetentionDays,
  JobListPositionSchema,
  jobExpiresAt,
  jobListScope,
} from "../aws/dynamodb-job-store.ts";
import {
  assertPageLimit,
  assertPageTokenSecret,
  decodePageToken,
  encodePageToken,
} from "../aws/page-token.ts";
import { jobIdRange } from "../aws/table-schema.ts";
import { systemClock } from "../system.ts";
import { compareKeys } from "./key-order.ts";

/** Retention of finished jobs when none is given: 30 days. */
export const DEFAULT_MEMORY_JOB_RETENTION_DAYS = 30;

/** Construction options for {@link MemoryJobStore}. */
export interface MemoryJobStoreOptions {
  /** Signs pagination tokens; a random one per store when omitted. */
  readonly pageTokenSecret?: string;
  /** Days a finished job keeps its record (its recorded expiry); {@link DEFAULT_MEMORY_JOB_RETENTION_DAYS} by default. */
  readonly retentionDays?: number;
  /** Defaults to the system clock; it dates expiries. */
  readonly clock?: Clock;
}

interface StoredJob {
  job: Job;
  /** Epoch seconds, as the DynamoDB store's TTL attribute; set while the job is finished. */
  expiresAt?: number;
}

/** The order of the active-jobs index: by job id, then (for equal ids) by cluster. */
function compareActive(
  a: { readonly jobId: string; readonly clusterName: string },
  b: { readonly jobId: string; readonly clusterName: string },
): number {
  return compareKeys(a.jobId, b.jobId) || compareKeys(a.clusterName, b.clusterName);
}

function withoutUndefined<T>(value: T): T {
  // Mirrors the DynamoDB store, which never writes undefined.
  return JSON.parse(JSON.stringify(value)) as T;
}

function toSummary(job: Job): JobSummary {
  return withoutUndefined(
    Object.fromEntries(JOB_SUMMARY_FIELDS.map((field) => [field, job[field]])) as JobSummary,
  );
}

/**
 * `JobStore` in process memory, for unit tests and benchmarks. Same semantics as the DynamoDB store
 * (conditions, expiry, listing order, ranges, tokens), checked by one shared test suite. Every value going
 * in or out is copied, so callers cannot change stored state by mutating what they hold. Expired jobs are
 * kept (as DynamoDB keeps them until its TTL sweep); {@link MemoryJobStore.expiresAt} tells the expiry.
 */
export class MemoryJobStore implements JobStore {
  /** Cluster name -> job id -> record. */
  readonly #clusters = new Map<string, Map<string, StoredJob>>();
  readonly #secret: string;
  readonly #retentionDays: number;
  readonly #clock: Clock;

  constructor(options: MemoryJobStoreOptions = {}) {
    this.#secret = options.pageTokenSecret ?? randomBytes(32).toString("base64url");
    assertPageTokenSecret(this.#secret);
    this.#retentionDays = options.retentionDays ?? DEFAULT_MEMORY_JOB_RETENTION_DAYS;
    assertRetentionDays(this.#retentionDays);
    this.#clock = options.clock ?? systemClock;
  }

  async create(job: Job): Promise<void> {
    let jobs = this.#clusters.get(job.clusterName);
    if (jobs === undefined) {
      jobs = new Map();
      this.#clusters.set(job.clusterName, jobs);
    }
    if (jobs.has(job.jobId)) {
      throw new JobExistsError(`A job '${job.jobId}' already exists on cluster '${job.clusterName}'.`);
    }
    jobs.set(job.jobId, { job: withoutUndefined(job), expiresAt: this.#expiryFor(job) });
  }

  async get(clusterName: string, jobId: string): Promise<Job | undefined> {
    const record = this.#clusters.get(clusterName)?.get(jobId);
    return record === undefined ? undefined : structuredClone(record.job);
  }

  async update(
    clusterName: string,
    jobId: string,
    expectedVersion: number,
    changes: JobChanges,
  ): Promise<Job> {
    const record = this.#clusters.get(clusterName)?.get(jobId);
    if (record === undefined) throw new JobNotFoundError(clusterName, jobId);
    if (record.job.version !== expectedVersion) {
      throw new ConcurrentModificationError(
        `Job '${jobId}' on cluster '${clusterName}' was changed by another request; read it again.`,
      );
    }
    const given: Record<string, unknown> = {};
    for (const field of JOB_CHANGE_FIELDS) given[field] = changes[field];
    record.job = { ...record.job, ...withoutUndefined(given), version: record.job.version + 1 };
    if (changes.status !== undefined) record.expiresAt = this.#expiryFor(record.job);
    return structuredClone(record.job);
  }

  async list(clusterName: string, request: JobListRequest): Promise<Page<JobSummary>> {
    assertPageLimit(request.limit);
    const range = jobIdRange(request);
    const scope = jobListScope(clusterName, request.status, range);
    const before =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, scope, this.#secret, JobListPositionSchema).before;
    const { from, to } = range;
    const matching = [...(this.#clusters.get(clusterName)?.values() ?? [])]
      .map((record) => record.job)
      .filter(
        (job) =>
          (request.status === undefined || job.status === request.status) &&
          (from === undefined || compareKeys(job.jobId, from) >= 0) &&
          (to === undefined || compareKeys(job.jobId, to) < 0) &&
          (before === undefined || compareKeys(job.jobId, before) < 0),
      )
      .sort((a, b) => compareKeys(b.jobId, a.jobId));
    const page = matching.slice(0, request.limit).map(toSummary);
    const last = page.at(-1);
    if (matching.length <= request.limit || last === undefined) return { items: page };
    return { items: page, nextToken: encodePageToken({ before: last.jobId }, scope, this.#secret) };
  }

  async listActive(request: PageRequest): Promise<Page<Pick<Job, "clusterName" | "jobId">>> {
    assertPageLimit(request.limit);
    const after =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, ACTIVE_JOBS_SCOPE, this.#secret, ActiveJobsPositionSchema);
    const matching = [...this.#clusters.values()]
      .flatMap((jobs) => [...jobs.values()])
      .filter((record) => !isTerminalJob(record.job.status))
      .map(({ job }) => ({ clusterName: job.clusterName, jobId: job.jobId }))
      .filter((ref) => after === undefined || compareActive(ref, after) > 0)
      .sort(compareActive);
    const page = matching.slice(0, request.limit);
    const last = page.at(-1);
    if (matching.length <= request.limit || last === undefined) return { items: page };
    return { items: page, nextToken: encodePageToken(last, ACTIVE_JOBS_SCOPE, this.#secret) };
  }

  /** The job's expiry (epoch seconds) once it has finished; undefined while it runs or when there is none. */
  expiresAt(clusterName: string, jobId: string): number | undefined {
    return this.#clusters.get(clusterName)?.get(jobId)?.expiresAt;
  }

  #expiryFor(job: Job): number | undefined {
    return isTerminalJob(job.status) ? jobExpiresAt(this.#clock.now(), this.#retentionDays) : undefined;
  }
}
