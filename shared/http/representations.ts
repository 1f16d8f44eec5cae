import type { Cluster } from "../domain/cluster.ts";
import type { Job } from "../domain/job.ts";
import type { ClusterSummary } from "../ports/cluster-store.ts";
import type { JobSummary } from "../ports/job-store.ts";

function links(name: string) {
  const self = `/v1/clusters/${encodeURIComponent(name)}`;
  return { self, events: `${self}/events` };
}

/** A cluster in a listing. */
export function clusterSummaryResource(summary: ClusterSummary) {
  return {
    name: summary.name,
    clusterId: summary.clusterId,
    status: summary.status,
    scheduler: summary.scheduler,
    stackName: summary.stackName,
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    ...(summary.failureReason ? { failureReason: summary.failureReason } : {}),
    ...(summary.headNode ? { headNode: summary.headNode } : {}),
    links: links(summary.name),
  };
}

/** A cluster in full, as `GET /v1/clusters/{name}` answers it. */
export function clusterResource(cluster: Cluster) {
  return {
    ...clusterSummaryResource(cluster),
    ...(cluster.stackId ? { stackId: cluster.stackId } : {}),
    createdBy: cluster.createdBy,
    tags: cluster.tags,
    configuration: cluster.config,
    warnings: cluster.warnings,
    ...(cluster.outputs ? { outputs: cluster.outputs } : {}),
    rollbackOnFailure: cluster.options.rollbackOnFailure,
  };
}

function jobLinks(clusterName: string, jobId: string) {
  const cluster = `/v1/clusters/${encodeURIComponent(clusterName)}`;
  const self = `${cluster}/jobs/${jobId}`;
  return { self, logs: `${self}/logs`, cluster };
}

/** A job in a listing. */
export function jobSummaryResource(job: JobSummary) {
  return {
    jobId: job.jobId,
    clusterName: job.clusterName,
    name: job.name,
    status: job.status,
    ...(job.statusReason ? { statusReason: job.statusReason } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    ...(job.stoppedAt ? { stoppedAt: job.stoppedAt } : {}),
    links: jobLinks(job.clusterName, job.jobId),
  };
}

/** A job in full: every attempt, what it runs, where its output is. */
export function jobResource(job: Job) {
  return {
    ...jobSummaryResource(job),
    scheduler: job.scheduler,
    ...(job.externalId ? { externalId: job.externalId } : {}),
    createdBy: job.createdBy,
    attempts: job.attempts,
    ...(job.arrayProgress ? { arrayProgress: job.arrayProgress } : {}),
    spec: job.spec,
  };
}
