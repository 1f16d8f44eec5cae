import type { Job, JobAttempt, JobStatus } from "../domain/job.ts";
import type { Page, PageRequest } from "./page.ts";

/** The fields of a job that an observation or a cancel may set. */
export interface JobChanges {
  readonly status?: JobStatus;
  readonly statusReason?: string;
  readonly externalId?: string;
  readonly attempts?: readonly JobAttempt[];
  readonly arrayProgress?: Job["arrayProgress"];
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly lastEventAt?: string;
  readonly waitingForCluster?: boolean;
  readonly updatedAt: string;
}

/** What a job listing returns per job: no spec, so pages stay small. */
export type JobSummary = Pick<
  Job,
  | "jobId"
  | "clusterName"
  | "name"
  | "status"
  | "statusReason"
  | "createdAt"
  | "updatedAt"
  | "startedAt"
  | "stoppedAt"
>;

/** A listing of one cluster's jobs. */
export interface JobListRequest extends PageRequest {
  readonly status?: JobStatus;
  /** Only jobs created at or after / before these times (ISO 8601): accounting by time range. */
  readonly createdAfter?: string;
  readonly createdBefore?: string;
}

/**
 * Where jobs live, beside their cluster in the same table. Every write is one conditional write. Finished
 * jobs get an expiry (the operator's retention) and stay queryable until then.
 */
export interface JobStore {
  /** Stores a new job. Throws `JobExistsError` if the id is taken (a retried submit). */
  create(job: Job): Promise<void>;
  /** The job, or undefined. */
  get(clusterName: string, jobId: string): Promise<Job | undefined>;
  /**
   * Applies `changes` if the stored version is still `expectedVersion`; returns the new record. A change
   * to a terminal status sets the record's expiry. Throws `ConcurrentModificationError` / `JobNotFoundError`.
   */
  update(clusterName: string, jobId: string, expectedVersion: number, changes: JobChanges): Promise<Job>;
  /** A cluster's jobs, newest first, optionally by status and creation time. */
  list(clusterName: string, request: JobListRequest): Promise<Page<JobSummary>>;
  /** Jobs not yet finished, across clusters, for the reconciler (oldest first). */
  listActive(request: PageRequest): Promise<Page<Pick<Job, "clusterName" | "jobId">>>;
}

/**
 * The fields `update` may set; every store writes exactly these and ignores anything else a caller slips
 * in. The `satisfies` makes a field added to `JobChanges` but not here a compile error.
 */
export const JOB_CHANGE_FIELDS = Object.keys({
  status: true,
  statusReason: true,
  externalId: true,
  attempts: true,
  arrayProgress: true,
  startedAt: true,
  stoppedAt: true,
  lastEventAt: true,
  waitingForCluster: true,
  updatedAt: true,
} satisfies Record<keyof JobChanges, true>) as (keyof JobChanges)[];

/** The fields of a `JobSummary` (the DynamoDB indexes project them); complete by the same `satisfies`. */
export const JOB_SUMMARY_FIELDS = Object.keys({
  jobId: true,
  clusterName: true,
  name: true,
  status: true,
  statusReason: true,
  createdAt: true,
  updatedAt: true,
  startedAt: true,
  stoppedAt: true,
} satisfies Record<keyof JobSummary, true>) as (keyof JobSummary)[];
