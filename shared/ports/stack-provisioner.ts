import type { ClusterSpec } from "../domain/cluster-spec.ts";

/** A stack to create for a cluster. */
export interface CreateStackRequest {
  readonly clusterId: string;
  readonly clusterName: string;
  readonly stackName: string;
  readonly spec: ClusterSpec;
  readonly rollbackOnFailure: boolean;
  /** Tags for the stack: the cluster's own plus the API's markers. */
  readonly tags: Readonly<Record<string, string>>;
}

/** A stack as the provisioner sees it now. */
export interface StackDescription {
  readonly stackId: string;
  readonly stackName: string;
  /** CloudFormation stack status, e.g. `CREATE_COMPLETE`, `ROLLBACK_COMPLETE`. */
  readonly status: string;
  readonly statusReason?: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly updatedAt: string;
}

/** One stack event, as shown by the cluster events endpoint. */
export interface StackEvent {
  readonly at: string;
  readonly logicalResourceId: string;
  readonly resourceType: string;
  readonly status: string;
  readonly reason?: string;
}

/** Creates and deletes the stack behind a cluster. Status changes come back as stack status events. */
export interface StackProvisioner {
  /** Starts creating the stack; returns once the request is accepted. Safe to retry for the same cluster id. */
  createStack(request: CreateStackRequest): Promise<{ readonly stackId: string }>;
  /** Starts deleting the stack; safe to repeat. */
  deleteStack(request: {
    readonly clusterId: string;
    readonly stackName: string;
    readonly stackId?: string;
  }): Promise<void>;
  /** The stack now, or undefined if it does not exist. */
  describeStack(stackName: string): Promise<StackDescription | undefined>;
  /**
   * One page of the stack's events, newest first; `nextToken` is this provisioner's own opaque token (an
   * unknown one throws `InvalidNextTokenError`). A stack that does not exist has no events.
   */
  listStackEvents(
    stackName: string,
    request: { readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly items: StackEvent[]; readonly nextToken?: string }>;
  /**
   * Throws a `DomainError` (a 4xx) when this backend cannot create a cluster from this spec, e.g. a Slurm
   * cluster on a deployment without the ParallelCluster provider. Called before anything is recorded.
   */
  checkCanProvision(spec: ClusterSpec): void;
}
