import type { Cluster } from "../domain/cluster.ts";
import type { JobSchedulerKind } from "../domain/job.ts";
import type { Clock, IdGenerator } from "../ports/clock.ts";
import type { ClusterStore } from "../ports/cluster-store.ts";
import type { IdempotencyStore } from "../ports/idempotency-store.ts";
import type { JobScheduler } from "../ports/job-scheduler.ts";
import type { JobStore } from "../ports/job-store.ts";
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

/** Picks the scheduler that runs a cluster's jobs (Batch, Slurm over SSM, or the local runner). */
export interface JobSchedulers {
  forCluster(cluster: Cluster): JobScheduler;
  /** Which kind of scheduler that is, recorded on the job. */
  kindFor(cluster: Cluster): JobSchedulerKind;
}

/** What the job use cases take. */
export interface JobDeps {
  readonly store: ClusterStore;
  readonly jobs: JobStore;
  readonly idempotency: IdempotencyStore;
  readonly schedulers: JobSchedulers;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly settings: {
    readonly idempotencyTtlSeconds: number;
    /** The reconciler gives up on a job record whose submission never reached the scheduler after this. */
    readonly reconcileAfterSeconds: number;
  };
}
