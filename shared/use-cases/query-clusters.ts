import { CLUSTER_STATUSES, type Cluster, type ClusterEvent, type ClusterStatus } from "../domain/cluster.ts";
import { ClusterNotFoundError } from "../domain/errors.ts";
import type { ClusterStore, ClusterSummary } from "../ports/cluster-store.ts";
import type { Page } from "../ports/page.ts";
import type { StackEvent, StackProvisioner } from "../ports/stack-provisioner.ts";

/** Reads one cluster; a name nobody holds is `ClusterNotFoundError`. */
export function makeGetCluster(deps: { readonly store: ClusterStore }) {
  return async function getCluster(name: string): Promise<Cluster> {
    const cluster = await deps.store.get(name);
    if (!cluster) throw new ClusterNotFoundError(name);
    return cluster;
  };
}

/** Lists clusters by name; live ones by default, or those with one status (DELETE_COMPLETE included). */
export function makeListClusters(deps: { readonly store: ClusterStore }) {
  return function listClusters(query: {
    readonly limit: number;
    readonly nextToken?: string;
    readonly status?: ClusterStatus;
  }): Promise<Page<ClusterSummary>> {
    return deps.store.list(query);
  };
}

/**
 * A cluster's history, newest first: its status changes (`source` "status", from our store) or the
 * events of its stack (`source` "stack", from CloudFormation: which resource did what, and why it failed).
 */
export function makeListClusterEvents(deps: {
  readonly store: ClusterStore;
  readonly provisioner: StackProvisioner;
}) {
  function listClusterEvents(
    name: string,
    query: { readonly limit: number; readonly nextToken?: string; readonly source?: "status" },
  ): Promise<Page<ClusterEvent>>;
  function listClusterEvents(
    name: string,
    query: { readonly limit: number; readonly nextToken?: string; readonly source: "stack" },
  ): Promise<Page<StackEvent>>;
  async function listClusterEvents(
    name: string,
    query: { readonly limit: number; readonly nextToken?: string; readonly source?: "status" | "stack" },
  ): Promise<Page<ClusterEvent | StackEvent>> {
    const { source = "status", ...page } = query;
    if (source === "status") return deps.store.listEvents(name, page);
    const cluster = await deps.store.get(name);
    if (!cluster) throw new ClusterNotFoundError(name);
    return deps.provisioner.listStackEvents(cluster.stackId ?? cluster.stackName, page);
  }
  return listClusterEvents;
}

/** How many clusters are in each status, for the dashboard's gauge. */
export function makeCountClustersByStatus(deps: { readonly store: ClusterStore }) {
  return async function countClustersByStatus(): Promise<Record<ClusterStatus, number>> {
    const counts = await Promise.all(CLUSTER_STATUSES.map((status) => deps.store.countByStatus(status)));
    return Object.fromEntries(CLUSTER_STATUSES.map((status, i) => [status, counts[i] ?? 0])) as Record<
      ClusterStatus,
      number
    >;
  };
}
