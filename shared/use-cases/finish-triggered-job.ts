import type { Cluster } from "../domain/cluster.ts";
import { ClusterNotFoundError, InvalidTransitionError } from "../domain/errors.ts";
import { isTerminalJob, type Job, type JobStatus } from "../domain/job.ts";
import type { ClusterDeps, JobDeps } from "./deps.ts";

/** Statuses of a job that still uses its cluster. */
const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"];

/** What finishing a triggered job did to its cluster. */
export type FinishOutcome =
  | { readonly kind: "kept"; readonly reason: string }
  | { readonly kind: "deleted"; readonly cluster: Cluster };

/**
 * A rule's `whenDone: delete`: once a job a rule made has finished, deletes its cluster when no job at
 * all (the rule's or anyone's) still uses it. Called each time such a job ends, so the last one to end
 * deletes the cluster; a new event arriving meanwhile finds the cluster deleting and is redelivered until
 * the rule can create a fresh one.
 */
export function makeFinishTriggeredJob(
  deps: Pick<ClusterDeps, "store"> & Pick<JobDeps, "jobs">,
  deleteCluster: (name: string) => Promise<Cluster>,
) {
  /**
   * Whether a job other than `finished` still uses the cluster. The listing by status comes from an
   * index that may lag (the job that just finished can still show as RUNNING): each hit is read again,
   * consistently, before it counts.
   */
  async function inUse(finished: Job): Promise<boolean> {
    for (const status of ACTIVE_JOB_STATUSES) {
      let nextToken: string | undefined;
      do {
        const page = await deps.jobs.list(finished.clusterName, {
          status,
          limit: 10,
          ...(nextToken ? { nextToken } : {}),
        });
        for (const summary of page.items) {
          if (summary.jobId === finished.jobId) continue;
          const current = await deps.jobs.get(finished.clusterName, summary.jobId);
          if (current && !isTerminalJob(current.status)) return true;
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return false;
  }

  return async function finishTriggeredJob(job: Job): Promise<FinishOutcome> {
    if (job.origin?.whenDone !== "delete") return { kind: "kept", reason: "the rule keeps its cluster" };
    if (!isTerminalJob(job.status)) return { kind: "kept", reason: "the job has not finished" };
    const cluster = await deps.store.get(job.clusterName);
    if (!cluster || cluster.clusterId !== job.clusterId)
      return { kind: "kept", reason: "the job's cluster is gone already" };
    if (cluster.status === "DELETE_IN_PROGRESS" || cluster.status === "DELETE_COMPLETE")
      return { kind: "kept", reason: "the cluster is being deleted already" };
    if (cluster.status === "CREATE_IN_PROGRESS")
      return { kind: "kept", reason: "the cluster is still being created" };
    if (await inUse(job)) return { kind: "kept", reason: "other jobs still use the cluster" };
    try {
      return { kind: "deleted", cluster: await deleteCluster(cluster.name) };
    } catch (error) {
      if (error instanceof ClusterNotFoundError || error instanceof InvalidTransitionError)
        return { kind: "kept", reason: error.message };
      throw error;
    }
  };
}
