import type { Clock, IdGenerator } from "../ports/clock.ts";
import type { ClusterStore } from "../ports/cluster-store.ts";
import type { IdempotencyStore } from "../ports/idempotency-store.ts";
import type { StackProvisioner } from "../ports/stack-provisioner.ts";

/** The ports and settings the cluster use cases need; built once per process by the container. */
export interface ClusterDeps {
  readonly store: ClusterStore;
  readonly idempotency: IdempotencyStore;
  readonly provisioner: StackProvisioner;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly settings: {
    /** Prefix of stacks created through `/v1` (the command endpoint always uses `parallelcluster-`). */
    readonly stackNamePrefix: string;
    readonly idempotencyTtlSeconds: number;
    /** The reconciler re-reads clusters whose operation has run longer than this. */
    readonly reconcileAfterSeconds: number;
  };
}

/** Stack name prefix of clusters created through the pcluster-compatible command endpoint. */
export const COMMAND_STACK_PREFIX = "parallelcluster-";
