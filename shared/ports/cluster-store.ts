import type { Cluster, ClusterEvent, ClusterStatus, HeadNodeInfo } from "../domain/cluster.ts";
import type { Page, PageRequest } from "./page.ts";

/** The fields of a cluster that a status change may set. */
export interface ClusterChanges {
  readonly status?: ClusterStatus;
  readonly stackId?: string;
  readonly headNode?: HeadNodeInfo;
  readonly failureReason?: string;
  readonly outputs?: Readonly<Record<string, string>>;
  readonly lastEventAt?: string;
  readonly draining?: boolean;
  readonly updatedAt: string;
}

/**
 * The fields `update` may set; every store writes exactly these and ignores anything else a caller slips
 * in. The `satisfies` makes a field added to `ClusterChanges` but not here a compile error.
 */
export const CLUSTER_CHANGE_FIELDS = Object.keys({
  status: true,
  stackId: true,
  headNode: true,
  failureReason: true,
  outputs: true,
  lastEventAt: true,
  draining: true,
  updatedAt: true,
} satisfies Record<keyof ClusterChanges, true>) as (keyof ClusterChanges)[];

/** The fields of a `ClusterSummary` (the DynamoDB indexes project exactly these). */
export const CLUSTER_SUMMARY_FIELDS = [
  "name",
  "clusterId",
  "status",
  "scheduler",
  "stackName",
  "createdAt",
  "updatedAt",
  "failureReason",
  "headNode",
] as const satisfies readonly (keyof Cluster)[];

/** What a listing returns per cluster: no configuration, so pages stay small. */
export type ClusterSummary = Pick<Cluster, (typeof CLUSTER_SUMMARY_FIELDS)[number]>;

/**
 * Where clusters live (DynamoDB on AWS and in local mode). Every write is a single conditional write:
 * a failed condition means nothing was written.
 */
export interface ClusterStore {
  /**
   * Stores a new cluster with its first history entry. Succeeds only if no record holds the name or the
   * record there is DELETE_COMPLETE (which it replaces). Throws `ClusterExistsError` otherwise.
   */
  create(cluster: Cluster, firstEvent: ClusterEvent): Promise<void>;

  /** The cluster with this name, including a DELETE_COMPLETE one; undefined when there is none. */
  get(name: string): Promise<Cluster | undefined>;

  /**
   * Applies `changes` if the stored version is still `expectedVersion` (and, when given, the cluster id
   * matches), appends `event` to the history when given, and returns the new record with version + 1.
   * Throws `ConcurrentModificationError` when the version (or id) moved on; `ClusterNotFoundError` when
   * no record exists.
   */
  update(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
    changes: ClusterChanges,
    event?: ClusterEvent,
  ): Promise<Cluster>;

  /**
   * Deletes the record only if it is still at `expected` (used to undo a create whose stack could not
   * even be requested, so a failed request leaves nothing behind).
   */
  remove(name: string, expected: { readonly version: number; readonly clusterId: string }): Promise<void>;

  /** Clusters by name order, optionally only those with `status` (through an index, never a scan). */
  list(request: PageRequest & { readonly status?: ClusterStatus }): Promise<Page<ClusterSummary>>;

  /** How many clusters have this status (through the status index: a count, not a read of the items). */
  countByStatus(status: ClusterStatus): Promise<number>;

  /** The cluster's status history, newest first. Throws `ClusterNotFoundError` when there is no such cluster. */
  listEvents(name: string, request: PageRequest): Promise<Page<ClusterEvent>>;
}
