import type { Cluster } from "../domain/cluster.ts";
import type { Job, JobObservation, JobSpec } from "../domain/job.ts";

/** One line of a job's output. */
export interface LogLine {
  readonly at?: string;
  readonly message: string;
}

/**
 * Runs jobs on a cluster: AWS Batch, Slurm on a ParallelCluster head node, or the local runner. Status
 * changes come back as observations (events, or `describe` when polling).
 */
export interface JobScheduler {
  /**
   * Throws `RequestValidationError` naming the field when this scheduler cannot take the job (its own
   * limits: name rules, tag counts, sizes), so a refused job is refused before anything is recorded.
   */
  validate?(name: string, spec: JobSpec, cluster: Cluster): void;

  /**
   * Submits the job (already recorded, with its id) to the cluster's scheduler; returns the scheduler's
   * id. Called once per job id: the record's conditional write is the idempotency.
   */
  submit(job: Job, cluster: Cluster): Promise<{ readonly externalId: string }>;
  /** Cancels a waiting job or terminates a running one; a finished job is left alone. */
  cancel(job: Job, reason: string): Promise<void>;
  /** The scheduler's view of these jobs now (those it no longer knows are left out). */
  describe(jobs: readonly Job[]): Promise<JobObservation[]>;
  /** Lines of an attempt's output (the latest attempt by default), oldest first, paged. */
  logs(
    job: Job,
    request: { readonly attempt?: number; readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly lines: readonly LogLine[]; readonly nextToken?: string }>;
}
