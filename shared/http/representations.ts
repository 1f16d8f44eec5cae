import type { Cluster } from "../domain/cluster.ts";
import type { ClusterSummary } from "../ports/cluster-store.ts";

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
