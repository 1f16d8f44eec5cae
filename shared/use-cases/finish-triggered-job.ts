import type { Cluster } from "../domain/cluster.ts";
import {
  ClusterNotFoundError,
  ConcurrentModificationError,
  InvalidTransitionError,
} from "../domain/errors.ts";
import { isTerminalJob, type Job, type JobStatus } from "../domain/job.ts";
import { TRIGGER_TAG } from "../domain/trigger.ts";
import type { TriggerStore } from "../ports/trigger-store.ts";
import type { ClusterDeps, JobDeps } from "./deps.ts";

/** Cluster statuses the sweep may delete from: up and idle, failed to create, or failed to delete. */
const SWEEPABLE: ReadonlySet<string> = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "UPDATE_FAILED",
  "CREATE_FAILED",
  // A deletion that failed (a CloudFormation hiccup) is asked for again, or the rule stays broken.
  "DELETE_FAILED",
]);

/** Statuses of a job that still uses its cluster. */
const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"];

/**
 * Whether a job (other than `finishedJobId`, one that just finished) still uses the cluster. The listing
 * by status comes from an index that may lag (the job that just finished can still show as RUNNING):
 * each hit is read again, consistently, before it counts.
 */
function clusterInUse(deps: Pick<JobDeps, "jobs" | "store">) {
  return async function inUse(clusterName: string, finishedJobId?: string): Promise<boolean> {
    for (const status of ACTIVE_JOB_STATUSES) {
      let nextToken: string | undefined;
      do {
        const page = await deps.jobs.list(clusterName, {
          status,
          limit: 10,
          ...(nextToken ? { nextToken } : {}),
        });
        for (const summary of page.items) {
          if (summary.jobId === finishedJobId) continue;
          const current = await deps.jobs.get(clusterName, summary.jobId);
          if (current && !isTerminalJob(current.status)) return true;
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    // The index found no job; it may lag behind one just recorded. Before a cluster is deleted, ask the
    // table itself, consistently: every job of this cluster was made after it was.
    const cluster = await deps.store.get(clusterName);
    if (!cluster) return false;
    let nextToken: string | undefined;
    do {
      const page = await deps.jobs.list(clusterName, {
        limit: 100,
        createdAfter: cluster.createdAt,
        ...(nextToken ? { nextToken } : {}),
      });
      if (page.items.some((job) => job.jobId !== finishedJobId && !isTerminalJob(job.status))) return true;
      nextToken = page.nextToken;
    } while (nextToken);
    return false;
  };
}

/** What finishing a triggered job did to its cluster. */
export type FinishOutcome =
  | { readonly kind: "kept"; readonly reason: string }
  | { readonly kind: "deleted"; readonly cluster: Cluster };

/**
 * Deletes a cluster no job uses, fenced against a triggered job arriving meanwhile: the cluster is first
 * marked draining (one conditional write; trigger hand-overs wait while it is), then asked again, on the
 * table, whether a job uses it. A job recorded before the mark is seen by that second look and keeps the
 * cluster; one recorded after sees the mark and waits, then moves to the next cluster of the name.
 */
async function drainThenDelete(
  deps: Pick<ClusterDeps, "store" | "clock">,
  cluster: Cluster,
  stillInUse: () => Promise<boolean>,
  deleteCluster: (name: string) => Promise<Cluster>,
): Promise<FinishOutcome> {
  let drained: Cluster;
  try {
    drained = cluster.draining
      ? cluster
      : await deps.store.update(
          cluster.name,
          { version: cluster.version, clusterId: cluster.clusterId },
          { draining: true, updatedAt: deps.clock.now().toISOString() },
        );
  } catch (error) {
    if (error instanceof ConcurrentModificationError || error instanceof ClusterNotFoundError)
      return { kind: "kept", reason: "the cluster changed meanwhile" };
    throw error;
  }
  if (await stillInUse()) {
    await deps.store
      .update(
        drained.name,
        { version: drained.version, clusterId: drained.clusterId },
        { draining: false, updatedAt: deps.clock.now().toISOString() },
      )
      .catch(() => undefined); // a cluster that moved on meanwhile has no mark to clear
    return { kind: "kept", reason: "a job came while the cluster was being drained" };
  }
  try {
    return { kind: "deleted", cluster: await deleteCluster(drained.name) };
  } catch (error) {
    if (error instanceof ClusterNotFoundError || error instanceof InvalidTransitionError)
      return { kind: "kept", reason: error.message };
    throw error;
  }
}

/**
 * A rule's `whenDone: delete`: once a job a rule made has finished, deletes its cluster when no job at
 * all (the rule's or anyone's) still uses it. Called each time such a job ends, so the last one to end
 * deletes the cluster; a new event arriving meanwhile finds the cluster deleting and is redelivered until
 * the rule can create a fresh one.
 */
export function makeFinishTriggeredJob(
  deps: Pick<ClusterDeps, "store" | "clock"> & Pick<JobDeps, "jobs">,
  deleteCluster: (name: string) => Promise<Cluster>,
) {
  const inUse = clusterInUse(deps);
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
    if (await inUse(job.clusterName, job.jobId))
      return { kind: "kept", reason: "other jobs still use the cluster" };
    return drainThenDelete(deps, cluster, () => inUse(job.clusterName, job.jobId), deleteCluster);
  };
}

/**
 * The reconciler's side of `whenDone: delete`: a cluster a rule created (it carries the rule's tag) and
 * that no job has used for `idleSeconds` is deleted, should the job end that was to delete it have been
 * missed (a failed delete, an event that never came).
 */
export function makeSweepIdleTriggerClusters(
  deps: Pick<ClusterDeps, "store" | "clock"> & Pick<JobDeps, "jobs"> & { readonly triggers: TriggerStore },
  deleteCluster: (name: string) => Promise<Cluster>,
  idleSeconds: number,
) {
  const inUse = clusterInUse(deps);
  return async function sweepIdleTriggerClusters(): Promise<string[]> {
    const deleted: string[] = [];
    const idleBefore = new Date(deps.clock.now().getTime() - idleSeconds * 1000).toISOString();
    let nextToken: string | undefined;
    do {
      const page = await deps.triggers.list({ limit: 100, ...(nextToken ? { nextToken } : {}) });
      for (const summary of page.items) {
        if (summary.whenDone !== "delete") continue;
        const cluster = await deps.store.get(summary.clusterName);
        if (!cluster || cluster.tags[TRIGGER_TAG] !== summary.name) continue;
        if (!SWEEPABLE.has(cluster.status) || cluster.updatedAt > idleBefore) continue;
        if (await inUse(cluster.name)) {
          // Marked draining by a whenDone that never finished its decision: let its jobs be handed over.
          if (cluster.draining) {
            await deps.store
              .update(
                cluster.name,
                { version: cluster.version, clusterId: cluster.clusterId },
                { draining: false, updatedAt: deps.clock.now().toISOString() },
              )
              .catch(() => undefined);
          }
          continue;
        }
        // The newest job must have been left alone for the whole period too (it may have just ended).
        const [newest] = (await deps.jobs.list(cluster.name, { limit: 1 })).items;
        if (newest && (newest.updatedAt > idleBefore || newest.createdAt > idleBefore)) continue;
        const outcome = await drainThenDelete(deps, cluster, () => inUse(cluster.name), deleteCluster);
        if (outcome.kind === "deleted") deleted.push(cluster.name);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return deleted;
  };
}
