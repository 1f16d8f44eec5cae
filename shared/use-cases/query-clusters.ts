import type { Cluster, ClusterEvent, ClusterStatus } from "../domain/cluster.ts";
import { ClusterNotFoundError } from "../domain/errors.ts";
import type { ClusterStore, ClusterSummary } from "../ports/cluster-store.ts";
import type { Page } from "../ports/page.ts";

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

/** A cluster's status history, newest first. */
export function makeListClusterEvents(deps: { readonly store: ClusterStore }) {
  return function listClusterEvents(
    name: string,
    query: { readonly limit: number; readonly nextToken?: string },
  ): Promise<Page<ClusterEvent>> {
    return deps.store.listEvents(name, query);
  };
}
