import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import { MemoryIdempotencyStore } from "#shared/adapters/local/memory-idempotency-store.ts";
import type { ClusterSpec } from "#shared/domain/cluster-spec.ts";
import type { Clock, IdGenerator } from "#shared/ports/clock.ts";
import type { ClusterStore } from "#shared/ports/cluster-store.ts";
import type {
  CreateStackRequest,
  StackDescription,
  StackEvent,
  StackProvisioner,
} from "#shared/ports/stack-provisioner.ts";
import type { ClusterDeps } from "#shared/use-cases/deps.ts";

/**
 * Small fakes for the unit tier: a clock the test moves by hand, ids that count up, and a stack
 * provisioner that records what it was asked and fails or waits on demand.
 */

/** A clock that stands still until the test moves it. */
export class FakeClock implements Clock {
  #ms: number;

  constructor(start = "2024-05-01T10:00:00.000Z") {
    this.#ms = Date.parse(start);
  }

  now(): Date {
    return new Date(this.#ms);
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#ms += ms;
  }

  /** Sets the clock to an ISO 8601 instant. */
  set(iso: string): void {
    this.#ms = Date.parse(iso);
  }
}

/** Ids `<prefix>0001`, `<prefix>0002`, ...: predictable, and sortable like the real ULIDs. */
export class SequentialIds implements IdGenerator {
  #count = 0;

  constructor(private readonly prefix = "cluster-") {}

  next(): string {
    this.#count += 1;
    return `${this.prefix}${String(this.#count).padStart(4, "0")}`;
  }
}

/** The ARN CloudFormation would give the `n`-th stack named `stackName`. */
export function fakeStackId(stackName: string, n = 1): string {
  return `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

/** What the fake was asked to delete. */
export interface DeleteStackCall {
  readonly clusterId: string;
  readonly stackName: string;
  readonly stackId?: string;
}

/**
 * A `StackProvisioner` that keeps stacks in a map. Set `createError`, `deleteError` or `provisionError`
 * to make the matching call throw; `holdCreates()` makes `createStack` wait until released.
 */
export class FakeStackProvisioner implements StackProvisioner {
  readonly createCalls: CreateStackRequest[] = [];
  readonly deleteCalls: DeleteStackCall[] = [];
  readonly describeCalls: string[] = [];
  readonly checkCalls: ClusterSpec[] = [];
  createError: Error | undefined;
  deleteError: Error | undefined;
  provisionError: Error | undefined;
  readonly #stacks = new Map<string, StackDescription>();
  #gate: Promise<void> | undefined;

  async createStack(request: CreateStackRequest): Promise<{ readonly stackId: string }> {
    this.createCalls.push(request);
    if (this.#gate) await this.#gate;
    if (this.createError) throw this.createError;
    const stackId = fakeStackId(request.stackName, this.createCalls.length);
    this.#stacks.set(request.stackName, {
      stackId,
      stackName: request.stackName,
      status: "CREATE_IN_PROGRESS",
      outputs: {},
      updatedAt: new Date(0).toISOString(),
    });
    return { stackId };
  }

  async deleteStack(request: DeleteStackCall): Promise<void> {
    this.deleteCalls.push(request);
    if (this.deleteError) throw this.deleteError;
  }

  async describeStack(stackName: string): Promise<StackDescription | undefined> {
    this.describeCalls.push(stackName);
    return this.#stacks.get(stackName);
  }

  /** What `listStackEvents` answers, newest first, for every stack. */
  stackEvents: StackEvent[] = [];

  async listStackEvents(): Promise<{ readonly items: StackEvent[]; readonly nextToken?: string }> {
    return { items: this.stackEvents };
  }

  checkCanProvision(spec: ClusterSpec): void {
    this.checkCalls.push(spec);
    if (this.provisionError) throw this.provisionError;
  }

  /** Sets what `describeStack` reports for a stack `createStack` made. */
  setStack(stackName: string, changes: Partial<Omit<StackDescription, "stackName">>): void {
    const stack = this.#stacks.get(stackName);
    if (!stack) throw new Error(`fake provisioner: no stack named ${stackName}`);
    this.#stacks.set(stackName, { ...stack, ...changes });
  }

  /** Forgets a stack, as if it had been deleted: `describeStack` then finds nothing. */
  removeStack(stackName: string): void {
    this.#stacks.delete(stackName);
  }

  /** Makes every `createStack` call wait until the returned function is called. */
  holdCreates(): () => void {
    let release = () => {};
    this.#gate = new Promise<void>((resolve) => {
      release = () => {
        this.#gate = undefined;
        resolve();
      };
    });
    return release;
  }
}

/** A ParallelCluster 3 configuration, as small as `parseClusterConfig` accepts, with one tag. */
export const MINIMAL_SLURM_YAML = `Region: us-east-1
Image:
  Os: alinux2
HeadNode:
  InstanceType: t3.micro
  Networking:
    SubnetId: subnet-0123456789abcdef0
Scheduling:
  Scheduler: slurm
  SlurmQueues:
    - Name: compute
      ComputeResources:
        - Name: c5
          InstanceType: c5.large
          MinCount: 0
          MaxCount: 4
      Networking:
        SubnetIds:
          - subnet-0123456789abcdef0
Tags:
  - Key: team
    Value: cfd
`;

/** Use-case dependencies on the in-memory stores and the fakes above. */
export interface TestDeps extends ClusterDeps {
  readonly store: ClusterStore;
  readonly idempotency: MemoryIdempotencyStore;
  readonly provisioner: FakeStackProvisioner;
  readonly clock: FakeClock;
  readonly ids: SequentialIds;
}

/** Fresh dependencies for one test; `store` lets a test wrap the memory store. */
export function makeTestDeps(
  options: { readonly stackNamePrefix?: string; readonly store?: ClusterStore } = {},
): TestDeps {
  const clock = new FakeClock();
  return {
    store: options.store ?? new MemoryClusterStore(),
    idempotency: new MemoryIdempotencyStore({ clock }),
    provisioner: new FakeStackProvisioner(),
    clock,
    ids: new SequentialIds(),
    settings: {
      stackNamePrefix: options.stackNamePrefix ?? "hpc-",
      idempotencyTtlSeconds: 3600,
      reconcileAfterSeconds: 300,
    },
  };
}
