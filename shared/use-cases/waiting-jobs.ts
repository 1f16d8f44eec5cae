import type { Cluster, ClusterStatus } from "../domain/cluster.ts";
import { isTerminalJob, type Job } from "../domain/job.ts";
import type { JobDeps } from "./deps.ts";
import { dispatchJob, isFinalRefusal } from "./dispatch-job.ts";
import { mutateJob } from "./mutate-job.ts";
import { runConcurrently } from "./run-concurrently.ts";

/** Cluster statuses in which a cluster takes jobs (as job submission has them). */
export const READY_CLUSTER_STATUSES: ReadonlySet<ClusterStatus> = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "UPDATE_IN_PROGRESS",
  "UPDATE_FAILED",
]);

/** Waiting jobs handed over (or failed) at the same time. */
const SETTLE_CONCURRENCY = 8;

/** What settling a cluster's waiting jobs did. */
export interface SettleReport {
  readonly released: number;
  readonly failed: number;
}

/**
 * Hands a job that waited for its cluster to the scheduler. Exactly one caller wins the job (the
 * stack-status path, the event path that recorded it, the reconciler): the waiting flag is cleared by a
 * conditional write first. A refusal leaves the job FAILED with the scheduler's reason; a temporary one
 * puts the job back to waiting and is rethrown, for the caller's retry.
 * @returns the job after the attempt, or undefined when another caller had taken it (or it was cancelled).
 */
export async function releaseWaitingJob(
  deps: Pick<JobDeps, "jobs" | "schedulers" | "clock">,
  job: Job,
  cluster: Cluster,
): Promise<Job | undefined> {
  let won = false;
  const taken = await mutateJob(
    deps.jobs,
    job.clusterName,
    job.jobId,
    (current) => {
      won = current.waitingForCluster === true && !isTerminalJob(current.status);
      if (!won) return undefined;
      return {
        waitingForCluster: false,
        statusReason: `Cluster ${cluster.name} is ${cluster.status}: submitted to its scheduler.`,
        updatedAt: deps.clock.now().toISOString(),
      };
    },
    job,
  );
  if (!won) return undefined;
  try {
    return await dispatchJob(deps, taken, cluster, { isRefusal: isFinalRefusal });
  } catch (error) {
    // A refusal is on the record (FAILED, with the scheduler's reason): nothing to retry.
    if (isFinalRefusal(error)) return deps.jobs.get(job.clusterName, job.jobId);
    // The scheduler could not take it just now: the job waits again, for the next delivery or the
    // reconciler to hand it over.
    await mutateJob(deps.jobs, job.clusterName, job.jobId, (current) =>
      isTerminalJob(current.status) || current.externalId
        ? undefined
        : {
            waitingForCluster: true,
            statusReason: `The scheduler was busy (${(error as Error).message}); the job will be submitted again.`,
            updatedAt: deps.clock.now().toISOString(),
          },
    );
    throw error;
  }
}

/** Fails a job that waited for a cluster that will not come; true when this call failed it. */
export async function failWaitingJob(
  deps: Pick<JobDeps, "jobs" | "clock">,
  job: Pick<Job, "clusterName" | "jobId">,
  reason: string,
): Promise<Job | undefined> {
  let failed = false;
  const after = await mutateJob(deps.jobs, job.clusterName, job.jobId, (current) => {
    failed = current.waitingForCluster === true && !isTerminalJob(current.status);
    if (!failed) return undefined;
    const at = deps.clock.now().toISOString();
    return { status: "FAILED", statusReason: reason, waitingForCluster: false, stoppedAt: at, updatedAt: at };
  });
  return failed ? after : undefined;
}

/** The jobs of `cluster` (this incarnation of the name) that wait for it. */
export async function waitingJobsOf(deps: Pick<JobDeps, "jobs">, cluster: Cluster): Promise<Job[]> {
  const waiting: Job[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.jobs.list(cluster.name, {
      status: "SUBMITTED",
      limit: 100,
      ...(nextToken ? { nextToken } : {}),
    });
    for (const summary of page.items) {
      const job = await deps.jobs.get(cluster.name, summary.jobId);
      if (job?.waitingForCluster && job.clusterId === cluster.clusterId) waiting.push(job);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return waiting;
}

/** The reason a job gives when its cluster failed to create. */
export function clusterFailedReason(cluster: Cluster): string {
  return `Cluster ${cluster.name} failed to create${cluster.failureReason ? `: ${cluster.failureReason}` : "."}`;
}

/**
 * Settles the jobs waiting for a cluster once the cluster has settled: submits them when it is ready,
 * fails them with the cluster's reason when it failed to create or went away. Safe to call any number of
 * times, from any path (stack events come at least once; the reconciler repeats it).
 * `onFailed` runs for each job this call failed (the rule's whenDone).
 */
export function makeSettleWaitingJobs(
  deps: Pick<JobDeps, "jobs" | "schedulers" | "clock">,
  onFailed: (job: Job) => Promise<void> = async () => {},
) {
  return async function settleWaitingJobs(
    cluster: Cluster,
    options: {
      /** Asked before each job: true stops taking new ones (the Lambda's time is running out). */
      readonly shouldStop?: () => boolean;
    } = {},
  ): Promise<SettleReport> {
    // A draining cluster may be about to go: its jobs wait until that is decided, one way or the other.
    const ready = READY_CLUSTER_STATUSES.has(cluster.status) && !cluster.draining;
    const gone = !READY_CLUSTER_STATUSES.has(cluster.status) && cluster.status !== "CREATE_IN_PROGRESS";
    if (!ready && !gone) return { released: 0, failed: 0 };
    let released = 0;
    let failed = 0;
    const settle = async (job: Job): Promise<void> => {
      if (ready) {
        try {
          const after = await releaseWaitingJob(deps, job, cluster);
          if (after) released++;
          if (after?.status === "FAILED") await onFailed(after);
        } catch {
          // The scheduler was busy: the job waits again, and the reconciler's next pass hands it over.
        }
        return;
      }
      const reason =
        cluster.status === "CREATE_FAILED"
          ? clusterFailedReason(cluster)
          : `Cluster ${cluster.name} is ${cluster.status}: it will not run the jobs that waited for it.`;
      const after = await failWaitingJob(deps, job, reason);
      if (after) {
        failed++;
        await onFailed(after);
      }
    };
    // A few at a time: a Slurm hand-over can take seconds, and a cluster may have many jobs waiting. What
    // is left when told to stop waits for the next stack event's redelivery or the reconciler.
    await runConcurrently(await waitingJobsOf(deps, cluster), SETTLE_CONCURRENCY, settle, options);
    return { released, failed };
  };
}
