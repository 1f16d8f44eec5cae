import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import { MemoryIdempotencyStore } from "#shared/adapters/local/memory-idempotency-store.ts";
import { MemoryJobStore } from "#shared/adapters/local/memory-job-store.ts";
import type { Cluster } from "#shared/domain/cluster.ts";
import type { ClusterSpec } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import type { Job, JobObservation, JobSchedulerKind, JobSpec } from "#shared/domain/job.ts";
import type { Clock, IdGenerator } from "#shared/ports/clock.ts";
import type { ClusterStore } from "#shared/ports/cluster-store.ts";
import type { JobScheduler, LogLine } from "#shared/ports/job-scheduler.ts";
import type { JobChanges } from "#shared/ports/job-store.ts";
import type {
  CreateStackRequest,
  StackDescription,
  StackEvent,
  StackProvisioner,
} from "#shared/ports/stack-provisioner.ts";
import type { ClusterDeps, JobDeps, JobSchedulers } from "#shared/use-cases/deps.ts";

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

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function crockford(value: number, length: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = (CROCKFORD[rest % 32] ?? "0") + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/**
 * ULIDs on a test clock: the 10-character time part is the clock's time (so job stores derive time ranges
 * from them as from real ids), the 16-character rest a counter, so ids made in the same millisecond still
 * sort in the order they were made.
 */
export class ClockUlids implements IdGenerator {
  #count = 0;

  constructor(private readonly clock: Clock) {}

  next(): string {
    this.#count += 1;
    return crockford(this.clock.now().getTime(), 10) + crockford(this.#count, 16);
  }
}

/** What the fake scheduler was asked to submit. */
export interface SubmitCall {
  readonly job: Job;
  readonly cluster: Cluster;
}

/** What the fake scheduler was asked to cancel. */
export interface CancelCall {
  readonly job: Job;
  readonly reason: string;
}

/** What the fake scheduler was asked for logs. */
export interface LogsCall {
  readonly job: Job;
  readonly request: Parameters<JobScheduler["logs"]>[1];
}

/**
 * A `JobScheduler` that records every call. Set `submitError`, `cancelError`, `describeError` or
 * `logsError` to make that call throw; `validateHook` runs as `validate`; `beforeSubmitReturns` runs
 * inside `submit` (a scheduler reporting progress before it answers); `observations` is what `describe`
 * reports, for the jobs it is asked about; `logLines` is what `logs` answers. External ids count up:
 * `ext-1`, `ext-2`, ...
 */
export class FakeJobScheduler implements JobScheduler {
  readonly validateCalls: { readonly name: string; readonly spec: JobSpec }[] = [];
  readonly submitCalls: SubmitCall[] = [];
  readonly cancelCalls: CancelCall[] = [];
  readonly describeCalls: (readonly Job[])[] = [];
  readonly logsCalls: LogsCall[] = [];
  validateHook: ((name: string, spec: JobSpec, cluster: Cluster) => void) | undefined;
  beforeSubmitReturns: ((job: Job, externalId: string) => Promise<void>) | undefined;
  submitError: Error | undefined;
  cancelError: Error | undefined;
  describeError: Error | undefined;
  logsError: Error | undefined;
  observations: JobObservation[] = [];
  logLines: LogLine[] = [];
  logsNextToken: string | undefined;

  validate(name: string, spec: JobSpec, cluster: Cluster): void {
    this.validateCalls.push({ name, spec });
    this.validateHook?.(name, spec, cluster);
  }

  async submit(job: Job, cluster: Cluster): Promise<{ readonly externalId: string }> {
    this.submitCalls.push({ job, cluster });
    if (this.submitError) throw this.submitError;
    const externalId = `ext-${this.submitCalls.length}`;
    await this.beforeSubmitReturns?.(job, externalId);
    return { externalId };
  }

  async cancel(job: Job, reason: string): Promise<void> {
    this.cancelCalls.push({ job, reason });
    if (this.cancelError) throw this.cancelError;
  }

  async describe(jobs: readonly Job[]): Promise<JobObservation[]> {
    this.describeCalls.push(jobs);
    if (this.describeError) throw this.describeError;
    const asked = new Set(jobs.map((job) => job.jobId));
    return this.observations.filter((observation) => asked.has(observation.jobId));
  }

  async logs(
    job: Job,
    request: Parameters<JobScheduler["logs"]>[1],
  ): Promise<{ readonly lines: readonly LogLine[]; readonly nextToken?: string }> {
    this.logsCalls.push({ job, request });
    if (this.logsError) throw this.logsError;
    return { lines: this.logLines, ...(this.logsNextToken ? { nextToken: this.logsNextToken } : {}) };
  }
}

/** One `FakeJobScheduler` per cluster name (made on first use), all of the same `kind`. */
export class FakeJobSchedulers implements JobSchedulers {
  readonly #byCluster = new Map<string, FakeJobScheduler>();

  constructor(readonly kind: JobSchedulerKind = "local") {}

  /** The fake that runs the jobs of the cluster named `clusterName`. */
  of(clusterName: string): FakeJobScheduler {
    let scheduler = this.#byCluster.get(clusterName);
    if (scheduler === undefined) {
      scheduler = new FakeJobScheduler();
      this.#byCluster.set(clusterName, scheduler);
    }
    return scheduler;
  }

  forCluster(cluster: Cluster): JobScheduler {
    return this.of(cluster.name);
  }

  kindFor(): JobSchedulerKind {
    return this.kind;
  }
}

/** Job use-case dependencies on the in-memory stores and the fakes above. */
export interface JobTestDeps extends JobDeps {
  readonly store: MemoryClusterStore;
  readonly jobs: MemoryJobStore;
  readonly idempotency: MemoryIdempotencyStore;
  readonly schedulers: FakeJobSchedulers;
  readonly clock: FakeClock;
  readonly ids: ClockUlids;
}

/** Fresh job dependencies for one test; `jobs` lets a test wrap the memory job store. */
export function makeJobTestDeps(options: { readonly jobs?: MemoryJobStore } = {}): JobTestDeps {
  const clock = new FakeClock();
  return {
    store: new MemoryClusterStore(),
    jobs: options.jobs ?? new MemoryJobStore({ clock }),
    idempotency: new MemoryIdempotencyStore({ clock }),
    schedulers: new FakeJobSchedulers(),
    clock,
    ids: new ClockUlids(clock),
    settings: { idempotencyTtlSeconds: 3600, reconcileAfterSeconds: 300 },
  };
}

/** A cluster record as the store holds it once its stack is up (CREATE_COMPLETE, created now). */
export function readyCluster(clock: Clock, overrides: Partial<Cluster> = {}): Cluster {
  const { spec, warnings } = parseClusterConfig(MINIMAL_SLURM_YAML);
  const at = clock.now().toISOString();
  const name = overrides.name ?? "alpha";
  return {
    name,
    clusterId: `cluster-${name}-1`,
    status: "CREATE_COMPLETE",
    scheduler: spec.scheduler,
    stackName: `hpc-${name}`,
    createdAt: at,
    updatedAt: at,
    createdBy: "tester",
    tags: {},
    config: spec,
    warnings,
    outputs: { HeadNodeInstanceId: "i-0123456789abcdef0" },
    options: { rollbackOnFailure: true },
    version: 1,
    ...overrides,
  };
}

/** Stores a ready cluster (see {@link readyCluster}) and returns it. */
export async function storeReadyCluster(
  deps: { readonly store: ClusterStore; readonly clock: Clock },
  overrides: Partial<Cluster> = {},
): Promise<Cluster> {
  const cluster = readyCluster(deps.clock, overrides);
  await deps.store.create(cluster, { at: cluster.createdAt, status: cluster.status, source: "api" });
  return cluster;
}

/** A small valid job spec: `echo hello`, no options. */
export function jobSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return { command: ["echo", "hello"], environment: {}, dependsOn: [], ...overrides };
}

/**
 * Stores a job record for `cluster` directly (as a submit, an earlier crash or an earlier incarnation left
 * it), SUBMITTED and created now unless `overrides` say otherwise; returns it.
 */
export async function storeJob(
  deps: Pick<JobTestDeps, "jobs" | "clock" | "ids">,
  cluster: Pick<Cluster, "name" | "clusterId">,
  overrides: Partial<Job> = {},
): Promise<Job> {
  const at = deps.clock.now().toISOString();
  const job: Job = {
    jobId: deps.ids.next(),
    clusterName: cluster.name,
    clusterId: cluster.clusterId,
    name: "stored-job",
    status: "SUBMITTED",
    spec: jobSpec(),
    scheduler: "local",
    attempts: [],
    createdAt: at,
    updatedAt: at,
    createdBy: "tester",
    version: 1,
    ...overrides,
  };
  await deps.jobs.create(job);
  return job;
}

/**
 * A `MemoryJobStore` with hooks, to stage what other writers do between our read and our write:
 * `afterGet` runs after every `get` (before it answers), `beforeUpdate` before every `update` (throw from
 * it to make the update fail). `rawUpdate` writes without running the hooks.
 */
export class HookedJobStore extends MemoryJobStore {
  getCalls = 0;
  updateCalls = 0;
  afterGet: ((call: number) => Promise<void>) | undefined;
  beforeUpdate: ((call: number) => Promise<void>) | undefined;

  override async get(clusterName: string, jobId: string): Promise<Job | undefined> {
    const job = await super.get(clusterName, jobId);
    this.getCalls += 1;
    await this.afterGet?.(this.getCalls);
    return job;
  }

  override async update(
    clusterName: string,
    jobId: string,
    expectedVersion: number,
    changes: JobChanges,
  ): Promise<Job> {
    this.updateCalls += 1;
    await this.beforeUpdate?.(this.updateCalls);
    return super.update(clusterName, jobId, expectedVersion, changes);
  }

  /** An update from "someone else": the stored version, no hooks. */
  async rawUpdate(clusterName: string, jobId: string, changes: Omit<JobChanges, "updatedAt">): Promise<Job> {
    const current = await super.get(clusterName, jobId);
    if (current === undefined) throw new Error(`hooked job store: no job ${jobId}`);
    return super.update(clusterName, jobId, current.version, { updatedAt: current.updatedAt, ...changes });
  }
}
