import { isTerminalJob, type Job } from "../domain/job.ts";
import type { JobDeps } from "./deps.ts";
import { mutateJob } from "./mutate-job.ts";
import { jobOf } from "./query-jobs.ts";

/** The status reason a cancel gives the scheduler, recognised when its report comes back. */
export const CANCEL_REASON_PREFIX = "Cancelled through hpc-cluster-api";

/**
 * DELETE .../jobs/{jobId}: cancels a waiting job, terminates a running one. The record turns CANCELLED
 * when the scheduler reports it; a job that already finished is answered as it is.
 */
export function makeCancelJob(deps: Pick<JobDeps, "store" | "jobs" | "schedulers" | "clock">) {
  return async function cancelJob(clusterName: string, jobId: string, principal: string): Promise<Job> {
    const { cluster, job } = await jobOf(deps, clusterName, jobId);
    if (isTerminalJob(job.status)) return job;
    const reason = `${CANCEL_REASON_PREFIX} by ${principal}`.slice(0, 255);
    let target = job;
    if (!job.externalId) {
      // Never reached the scheduler: nothing runs that could be stopped. One just reaching it is stopped by
      // the submit, which sees the CANCELLED record when it adds the scheduler's id.
      target = await mutateJob(deps.jobs, clusterName, jobId, (current) =>
        isTerminalJob(current.status) || current.externalId
          ? undefined
          : { status: "CANCELLED", statusReason: reason, updatedAt: deps.clock.now().toISOString() },
      );
      // The submit finished between our read and our write: the job is at the scheduler after all.
      if (isTerminalJob(target.status) || !target.externalId) return target;
    }
    await deps.schedulers.forCluster(cluster).cancel(target, reason);
    return target;
  };
}
