import type { Cluster } from "../domain/cluster.ts";
import { ClusterNotFoundError, JobNotFoundError } from "../domain/errors.ts";
import type { Job } from "../domain/job.ts";
import type { LogLine } from "../ports/job-scheduler.ts";
import type { JobListRequest, JobSummary } from "../ports/job-store.ts";
import type { Page } from "../ports/page.ts";
import type { JobDeps } from "./deps.ts";

type Readers = Pick<JobDeps, "store" | "jobs">;

/** The live cluster of that name (a deleted one still answers for its jobs' history). */
async function clusterOf(deps: Readers, name: string): Promise<Cluster> {
  const cluster = await deps.store.get(name);
  if (!cluster) throw new ClusterNotFoundError(name);
  return cluster;
}

/** A job of this cluster's current incarnation, or `JobNotFoundError`. */
export async function jobOf(
  deps: Readers,
  clusterName: string,
  jobId: string,
): Promise<{ cluster: Cluster; job: Job }> {
  const cluster = await clusterOf(deps, clusterName);
  const job = await deps.jobs.get(clusterName, jobId);
  if (!job || job.clusterId !== cluster.clusterId) throw new JobNotFoundError(clusterName, jobId);
  return { cluster, job };
}

/** GET .../jobs/{jobId}: the job with every attempt. */
export function makeGetJob(deps: Readers) {
  return async function getJob(clusterName: string, jobId: string): Promise<Job> {
    return (await jobOf(deps, clusterName, jobId)).job;
  };
}

/** GET .../jobs: newest first, by status and creation time (accounting), paged. */
export function makeListJobs(deps: Readers) {
  return async function listJobs(clusterName: string, request: JobListRequest): Promise<Page<JobSummary>> {
    const cluster = await clusterOf(deps, clusterName);
    // Jobs of an earlier cluster that had this name are not this cluster's. Compared as instants: the
    // caller's time may carry a UTC offset, so its text does not sort like the cluster's.
    const createdAfter =
      request.createdAfter && Date.parse(request.createdAfter) > Date.parse(cluster.createdAt)
        ? request.createdAfter
        : cluster.createdAt;
    return deps.jobs.list(clusterName, { ...request, createdAfter });
  };
}

/** GET .../jobs/{jobId}/logs: an attempt's output lines, oldest first, paged. */
export function makeGetJobLogs(deps: Pick<JobDeps, "store" | "jobs" | "schedulers">) {
  return async function getJobLogs(
    clusterName: string,
    jobId: string,
    request: { readonly attempt?: number; readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly lines: readonly LogLine[]; readonly nextToken?: string }> {
    const { cluster, job } = await jobOf(deps, clusterName, jobId);
    // Not yet at the scheduler: no output anywhere. A running first attempt has output already.
    if (!job.externalId) return { lines: [] };
    return deps.schedulers.forCluster(cluster).logs(job, request);
  };
}
