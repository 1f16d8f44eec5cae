import type { ClusterSpec, ConfigWarning } from "./cluster-spec.ts";
import { InvalidTransitionError } from "./errors.ts";
import * as z from "./zod.ts";

/** Cluster statuses, in ParallelCluster's (CloudFormation's) vocabulary. */
export const CLUSTER_STATUSES = [
  "CREATE_IN_PROGRESS",
  "CREATE_COMPLETE",
  "CREATE_FAILED",
  "UPDATE_IN_PROGRESS",
  "UPDATE_COMPLETE",
  "UPDATE_FAILED",
  "DELETE_IN_PROGRESS",
  "DELETE_COMPLETE",
  "DELETE_FAILED",
] as const;

export const ClusterStatusSchema = z.enum(CLUSTER_STATUSES);
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>;

/**
 * The legal moves. A status never moves backwards: once a cluster is deleting it cannot become
 * CREATE_COMPLETE again, whatever order events arrive in. DELETE_COMPLETE is terminal; the name is then
 * free for a new cluster (a new record, not a transition).
 */
const TRANSITIONS: Readonly<Record<ClusterStatus, readonly ClusterStatus[]>> = {
  CREATE_IN_PROGRESS: ["CREATE_COMPLETE", "CREATE_FAILED", "DELETE_IN_PROGRESS"],
  CREATE_COMPLETE: ["UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"],
  CREATE_FAILED: ["DELETE_IN_PROGRESS"],
  UPDATE_IN_PROGRESS: ["UPDATE_COMPLETE", "UPDATE_FAILED", "DELETE_IN_PROGRESS"],
  UPDATE_COMPLETE: ["UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"],
  UPDATE_FAILED: ["UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"],
  DELETE_IN_PROGRESS: ["DELETE_COMPLETE", "DELETE_FAILED"],
  DELETE_COMPLETE: [],
  DELETE_FAILED: ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"],
};

/** True when the state machine allows `from` -> `to` (a move to the same status is not a transition). */
export function canTransition(from: ClusterStatus, to: ClusterStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws `InvalidTransitionError` unless `from` -> `to` is legal. */
export function assertTransition(from: ClusterStatus, to: ClusterStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

/** Every status the state machine can reach from `from`, directly. */
export function nextStatuses(from: ClusterStatus): readonly ClusterStatus[] {
  return TRANSITIONS[from];
}

/** True for statuses in which a stack operation is still running. */
export function isInProgress(status: ClusterStatus): boolean {
  return status.endsWith("_IN_PROGRESS");
}

/** A live cluster holds its name; only a DELETE_COMPLETE record lets the name be reused. */
export function holdsName(status: ClusterStatus): boolean {
  return status !== "DELETE_COMPLETE";
}

/** Head node facts, once the stack reports them. */
export interface HeadNodeInfo {
  readonly state: "PENDING" | "RUNNING" | "STOPPED" | "TERMINATED";
  readonly privateIp?: string;
  readonly publicIp?: string;
  readonly instanceId?: string;
}

/** One entry of a cluster's status history. */
export interface ClusterEvent {
  readonly at: string;
  readonly status: ClusterStatus;
  readonly reason?: string;
  /** Where the change came from: `api`, `stack-event`, `reconciler`. */
  readonly source: string;
}

/** The cluster as stored: the source of truth for the API. */
export interface Cluster {
  readonly name: string;
  /** Unique per incarnation of a name: a reused name gets a new id. */
  readonly clusterId: string;
  readonly status: ClusterStatus;
  readonly scheduler: ClusterSpec["scheduler"];
  readonly stackName: string;
  readonly stackId?: string;
  readonly headNode?: HeadNodeInfo;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly failureReason?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly config: ClusterSpec;
  readonly warnings: readonly ConfigWarning[];
  /** Stack outputs recorded at CREATE_COMPLETE (queue ARN, job definition ARN, ...). */
  readonly outputs?: Readonly<Record<string, string>>;
  /** Options that shaped the stack, e.g. `rollbackOnFailure: false` from `--norollback`. */
  readonly options: { readonly rollbackOnFailure: boolean };
  /** Time of the newest stack event applied, so older events arriving late change nothing. */
  readonly lastEventAt?: string;
  /**
   * True while a rule's whenDone is deciding whether to delete the cluster: jobs that trigger rules hand
   * over meanwhile wait, so that none is given to a cluster about to be deleted.
   */
  readonly draining?: boolean;
  /** Optimistic-locking counter: every write is conditional on it. */
  readonly version: number;
}

/**
 * Lifecycle rank: stack events are facts that may arrive late, twice or out of order; a status may jump
 * forward along this order (events can be lost) but never back.
 */
const RANK: Readonly<Record<ClusterStatus, number>> = {
  CREATE_IN_PROGRESS: 0,
  CREATE_COMPLETE: 1,
  CREATE_FAILED: 1,
  UPDATE_IN_PROGRESS: 2,
  UPDATE_COMPLETE: 2,
  UPDATE_FAILED: 2,
  DELETE_IN_PROGRESS: 3,
  DELETE_FAILED: 3,
  DELETE_COMPLETE: 4,
};

/**
 * True when an observed status may replace the current one: a legal transition, or a jump further along
 * the lifecycle (the steps between were missed). DELETE_COMPLETE is final.
 */
export function isForward(from: ClusterStatus, to: ClusterStatus): boolean {
  if (from === to || from === "DELETE_COMPLETE") return false;
  return canTransition(from, to) || RANK[to] > RANK[from];
}
