import type { Cluster } from "../domain/cluster.ts";
import { isTerminalJob, type Job, type JobObservation } from "../domain/job.ts";
import type { JobObservationOutcome } from "./apply-job-observation.ts";
import type { JobDeps } from "./deps.ts";
import { mutateJob } from "./mutate-job.ts";
import type { SettleReport } from "./waiting-jobs.ts";

/** The youngest record without a scheduler id that may be declared abandoned. */
export const MIN_SUBMISSION_SECONDS = 120;

/** What one pass over the active jobs did. */
export interface JobReconcileReport {
  readonly examined: number;
  readonly refreshed: number;
  readonly abandoned: number;
  readonly failed: number;
}

/**
 * Refreshes jobs that are not finished from their scheduler (`describe`, batched): how status moves
 * where no events arrive (the local server with the AWS backend) and how missed events are repaired.
 * A record whose submission never reached the scheduler (a crash between the two) is failed with a
 * reason after the threshold, rather than resubmitted: Batch has no client token, and a second job is
 * worse than a clear failure the user can resubmit.
 */
export function makeReconcileJobs(
  deps: Pick<JobDeps, "store" | "jobs" | "schedulers" | "clock" | "settings">,
  applyJobObservation: (clusterName: string, observation: JobObservation) => Promise<JobObservationOutcome>,
  /** Submits or fails the jobs waiting for a cluster that has settled (a missed stack event). */
  settleWaitingJobs: (cluster: Cluster) => Promise<SettleReport> = async () => ({ released: 0, failed: 0 }),
) {
  return async function reconcileJobs(): Promise<JobReconcileReport> {
    const report = { examined: 0, refreshed: 0, abandoned: 0, failed: 0 };
    const byCluster = new Map<string, Job[]>();
    let nextToken: string | undefined;
    do {
      const page = await deps.jobs.listActive({ limit: 100, ...(nextToken ? { nextToken } : {}) });
      for (const ref of page.items) {
        const job = await deps.jobs.get(ref.clusterName, ref.jobId);
        if (!job) continue;
        report.examined++;
        byCluster.set(job.clusterName, [...(byCluster.get(job.clusterName) ?? []), job]);
      }
      nextToken = page.nextToken;
    } while (nextToken);

    // A submission in flight has no scheduler id yet and may take up to API Gateway's 29 s: whatever
    // the reconcile threshold, never give up on one younger than this.
    const abandonAfterSeconds = Math.max(deps.settings.reconcileAfterSeconds, MIN_SUBMISSION_SECONDS);
    const abandonBefore = new Date(deps.clock.now().getTime() - abandonAfterSeconds * 1000).toISOString();
    for (const [clusterName, jobs] of byCluster) {
      const cluster: Cluster | undefined = await deps.store.get(clusterName);
      try {
        // Jobs whose cluster is gone (deleted, or replaced by a new cluster of the same name) can never
        // be reported on again: end them, saying why, instead of leaving them active forever.
        const orphaned = jobs.filter(
          (job) => !cluster || cluster.status === "DELETE_COMPLETE" || cluster.clusterId !== job.clusterId,
        );
        for (const job of orphaned) {
          let ended = false;
          await mutateJob(deps.jobs, clusterName, job.jobId, (current) => {
            ended = !isTerminalJob(current.status);
            return ended
              ? {
                  status: "FAILED",
                  statusReason: "The cluster the job ran on was deleted before the job finished.",
                  stoppedAt: deps.clock.now().toISOString(),
                  updatedAt: deps.clock.now().toISOString(),
                }
              : undefined;
          });
          if (ended) report.abandoned++;
        }
        const live = jobs.filter((job) => !orphaned.includes(job));
        if (cluster && live.some((job) => job.waitingForCluster)) {
          const settled = await settleWaitingJobs(cluster);
          report.refreshed += settled.released + settled.failed;
        }
        const submitted = live.filter((job) => job.externalId);
        // A job waiting for its cluster has no scheduler id by design: it is not an interrupted submission.
        // Judged by the last change, not creation: a job that waited long for its cluster was handed over
        // only at its last update.
        const stalled = live.filter(
          (job) => !job.externalId && !job.waitingForCluster && job.updatedAt <= abandonBefore,
        );
        for (const job of stalled) {
          let abandoned = false;
          await mutateJob(deps.jobs, clusterName, job.jobId, (current) => {
            abandoned = !current.externalId && !current.waitingForCluster && current.status === "SUBMITTED";
            return abandoned
              ? {
                  status: "FAILED",
                  statusReason:
                    "The submission never reached the scheduler (interrupted); submit the job again.",
                  updatedAt: deps.clock.now().toISOString(),
                }
              : undefined;
          });
          if (abandoned) report.abandoned++;
        }
        if (!cluster || submitted.length === 0) continue;
        for (const observation of await deps.schedulers.forCluster(cluster).describe(submitted)) {
          const outcome = await applyJobObservation(clusterName, observation);
          if (outcome.kind === "applied") report.refreshed++;
        }
      } catch {
        report.failed++; // the next pass tries again
      }
    }
    return report;
  };
}
