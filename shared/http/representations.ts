import type { Cluster } from "../domain/cluster.ts";
import type { ConfigWarning } from "../domain/cluster-spec.ts";
import type { Job } from "../domain/job.ts";
import type { JobOrigin, JobTemplate, TriggerRule } from "../domain/trigger.ts";
import type { ClusterSummary } from "../ports/cluster-store.ts";
import type { JobSummary } from "../ports/job-store.ts";
import type { TriggerSummary } from "../ports/trigger-store.ts";

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
    ...(job.origin ? { origin: originResource(job.origin) } : {}),
    ...(job.waitingForCluster ? { waitingForCluster: true } : {}),
  };
}

/** Where a triggered job came from: the rule, the event's input (each field by name), the cluster's fate. */
function originResource(origin: JobOrigin) {
  const { uri, bucket, key, prefix, size } = origin.input;
  return {
    triggerName: origin.triggerName,
    input: { uri, bucket, key, prefix, size },
    whenDone: origin.whenDone,
  };
}

function triggerLinks(rule: Pick<TriggerRule, "name" | "clusterName">) {
  return {
    self: `/v1/triggers/${encodeURIComponent(rule.name)}`,
    cluster: `/v1/clusters/${encodeURIComponent(rule.clusterName)}`,
  };
}

/** A trigger rule in a listing: what it watches and where its jobs run, without its templates. */
export function triggerSummaryResource(summary: TriggerSummary) {
  return {
    name: summary.name,
    bucket: summary.bucket,
    ...(summary.prefix !== undefined ? { prefix: summary.prefix } : {}),
    ...(summary.suffix !== undefined ? { suffix: summary.suffix } : {}),
    clusterName: summary.clusterName,
    mode: summary.mode,
    whenDone: summary.whenDone,
    createdAt: summary.createdAt,
    links: triggerLinks(summary),
  };
}

/** A rule's job template, in the fields of a job submission (the script as text). */
function jobTemplateResource(job: JobTemplate) {
  const { spec } = job;
  return {
    name: job.name,
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.script !== undefined ? { script: spec.script } : {}),
    ...(spec.image ? { image: spec.image } : {}),
    ...(spec.vcpus !== undefined ? { vcpus: spec.vcpus } : {}),
    ...(spec.memoryMiB !== undefined ? { memoryMiB: spec.memoryMiB } : {}),
    environment: spec.environment,
    ...(spec.arraySize !== undefined ? { arraySize: spec.arraySize } : {}),
    ...(spec.retryStrategy ? { retryStrategy: spec.retryStrategy } : {}),
    ...(spec.timeoutSeconds !== undefined ? { timeoutSeconds: spec.timeoutSeconds } : {}),
    ...(spec.nodes !== undefined ? { nodes: spec.nodes } : {}),
    ...(spec.logGroup ? { logGroup: spec.logGroup } : {}),
  };
}

/**
 * A trigger rule in full, as `GET /v1/triggers/{name}` answers it. `warnings` (the create's answer only)
 * says what will not work as the rule stands, though nothing stopped it being created.
 */
export function triggerResource(rule: TriggerRule, warnings?: readonly ConfigWarning[]) {
  return {
    ...triggerSummaryResource(rule),
    ...(rule.clusterTemplate
      ? { clusterTemplate: { configuration: rule.clusterTemplate.configuration } }
      : {}),
    job: jobTemplateResource(rule.job),
    createdBy: rule.createdBy,
    recentFailures: rule.recentFailures.map(({ at, bucket, key, reason }) => ({ at, bucket, key, reason })),
    ...(warnings ? { warnings } : {}),
  };
}
