import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidNextTokenError } from "../../domain/errors.ts";
import { stackNameFromId } from "../../domain/stack-status.ts";
import type { Clock } from "../../ports/clock.ts";
import type {
  CreateStackRequest,
  StackDescription,
  StackEvent,
  StackProvisioner,
} from "../../ports/stack-provisioner.ts";
import type { LocalEventBus } from "./local-event-bus.ts";

/** A simulated stack, persisted so a restarted server finishes what it had started. */
interface LocalStack {
  readonly stackId: string;
  readonly stackName: string;
  readonly clusterId: string;
  readonly scheduler: string;
  status: string;
  statusReason?: string;
  /** The status it will reach when the pending operation finishes, and when. */
  pending?: { readonly status: string; readonly reason?: string; readonly dueAt: number };
  outputs: Record<string, string>;
  updatedAt: string;
  /** Oldest first, as they happened. */
  events: StackEvent[];
}

/** Options for {@link LocalStackProvisioner}. */
export interface LocalStackProvisionerOptions {
  readonly dataDir: string;
  /** How long a create or delete takes. */
  readonly delayMs: number;
  readonly bus: LocalEventBus;
  readonly clock: Clock;
}

const ACCOUNT = "000000000000";
const REGION = "local";

/**
 * Local mode's `StackProvisioner`: stacks that take `delayMs` to create or delete and report what a real
 * stack reports (status events, outputs with a head node address). The tag `local:fail` set to `create`
 * or `delete` (in the config's tags or the request's) makes that operation fail, so failure paths can be
 * tried end to end.
 */
export class LocalStackProvisioner implements StackProvisioner {
  readonly #stacks = new Map<string, LocalStack>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #dir: string;
  #loaded: Promise<void> | undefined;

  constructor(private readonly options: LocalStackProvisionerOptions) {
    this.#dir = join(options.dataDir, "stacks");
  }

  /** Loads persisted stacks and re-arms the operations a previous run left unfinished. */
  async resume(): Promise<void> {
    await this.#load();
    for (const stack of this.#stacks.values()) if (stack.pending) this.#arm(stack);
  }

  /** Stops all timers (on shutdown); pending operations resume at the next start. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  async createStack(request: CreateStackRequest): Promise<{ stackId: string }> {
    await this.#load();
    const existing = this.#stacks.get(request.stackName);
    // Same cluster id = a retry of the same request: answer the same stack, as a client token would.
    if (existing && existing.clusterId === request.clusterId) return { stackId: existing.stackId };
    const fail = request.tags["local:fail"] ?? request.spec.tags["local:fail"];
    const stack: LocalStack = {
      stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${request.stackName}/${randomUUID()}`,
      stackName: request.stackName,
      clusterId: request.clusterId,
      scheduler: request.spec.scheduler,
      status: "CREATE_IN_PROGRESS",
      outputs: {},
      updatedAt: this.#now().toISOString(),
      events: [],
      pending:
        fail === "create"
          ? {
              status: request.rollbackOnFailure ? "ROLLBACK_COMPLETE" : "CREATE_FAILED",
              reason:
                "The following resource(s) failed to create: [HeadNode]. (simulated by tag local:fail=create)",
              dueAt: this.#now().getTime() + this.options.delayMs,
            }
          : { status: "CREATE_COMPLETE", dueAt: this.#now().getTime() + this.options.delayMs },
    };
    if (fail === "delete") stack.outputs.LocalFailDelete = "true";
    this.#stacks.set(stack.stackName, stack);
    this.#publish(stack, "CREATE_IN_PROGRESS");
    await this.#save(stack);
    this.#arm(stack);
    return { stackId: stack.stackId };
  }

  async deleteStack(request: { clusterId: string; stackName: string }): Promise<void> {
    await this.#load();
    const stack = this.#stacks.get(request.stackName);
    if (!stack || stack.clusterId !== request.clusterId || stack.status === "DELETE_COMPLETE") return;
    if (stack.status === "DELETE_IN_PROGRESS") return;
    const failDelete = stack.outputs.LocalFailDelete === "true";
    stack.status = "DELETE_IN_PROGRESS";
    stack.updatedAt = this.#now().toISOString();
    stack.pending = failDelete
      ? {
          status: "DELETE_FAILED",
          reason:
            "The following resource(s) failed to delete: [HeadNode]. (simulated by tag local:fail=delete)",
          dueAt: this.#now().getTime() + this.options.delayMs,
        }
      : { status: "DELETE_COMPLETE", dueAt: this.#now().getTime() + this.options.delayMs };
    this.#publish(stack, "DELETE_IN_PROGRESS");
    await this.#save(stack);
    this.#arm(stack);
  }

  async listStackEvents(
    stackName: string,
    request: { readonly limit: number; readonly nextToken?: string },
  ): Promise<{ items: StackEvent[]; nextToken?: string }> {
    await this.#load();
    // CloudFormation takes a stack's name or its id (the only handle left once it is deleted).
    const name = stackName.startsWith("arn:") ? (stackNameFromId(stackName) ?? stackName) : stackName;
    const newestFirst = [...(this.#stacks.get(name)?.events ?? [])].reverse();
    const offset = request.nextToken === undefined ? 0 : Number(request.nextToken);
    if (!Number.isInteger(offset) || offset < 0 || offset > newestFirst.length)
      throw new InvalidNextTokenError();
    const end = offset + request.limit;
    return {
      items: newestFirst.slice(offset, end),
      ...(end < newestFirst.length ? { nextToken: String(end) } : {}),
    };
  }

  /** The local backend builds every kind of cluster. */
  checkCanProvision(): void {}

  async describeStack(stackName: string): Promise<StackDescription | undefined> {
    await this.#load();
    const stack = this.#stacks.get(stackName);
    if (!stack || stack.status === "DELETE_COMPLETE") return undefined;
    const { LocalFailDelete: _hidden, ...outputs } = stack.outputs;
    return {
      stackId: stack.stackId,
      stackName: stack.stackName,
      status: stack.status,
      ...(stack.statusReason ? { statusReason: stack.statusReason } : {}),
      outputs,
      updatedAt: stack.updatedAt,
    };
  }

  #now(): Date {
    return this.options.clock.now();
  }

  #arm(stack: LocalStack): void {
    const pending = stack.pending;
    if (!pending) return;
    clearTimeout(this.#timers.get(stack.stackName));
    const wait = Math.max(0, pending.dueAt - this.#now().getTime());
    const timer = setTimeout(() => {
      this.#timers.delete(stack.stackName);
      void this.#finish(stack, pending);
    }, wait);
    timer.unref();
    this.#timers.set(stack.stackName, timer);
  }

  async #finish(stack: LocalStack, pending: NonNullable<LocalStack["pending"]>): Promise<void> {
    if (stack.pending !== pending) return; // superseded (a delete arrived during a create)
    stack.status = pending.status;
    stack.statusReason = pending.reason;
    stack.pending = undefined;
    stack.updatedAt = this.#now().toISOString();
    if (pending.status === "CREATE_COMPLETE") Object.assign(stack.outputs, this.#outputsFor(stack));
    this.#publish(stack, pending.status, pending.reason);
    await this.#save(stack);
  }

  #outputsFor(stack: LocalStack): Record<string, string> {
    const suffix = stack.clusterId.toLowerCase();
    if (stack.scheduler === "awsbatch") {
      const base = `arn:aws:batch:${REGION}:${ACCOUNT}`;
      return {
        ComputeEnvironmentArn: `${base}:compute-environment/${stack.stackName}-ce`,
        JobQueueArn: `${base}:job-queue/${stack.stackName}-queue`,
        JobDefinitionArn: `${base}:job-definition/${stack.stackName}-job:1`,
      };
    }
    // The local head node is this machine.
    return { HeadNodePrivateIp: "127.0.0.1", HeadNodeInstanceId: `i-local${suffix.slice(-10)}` };
  }

  #publish(stack: LocalStack, status: string, reason?: string): void {
    stack.events.push({
      at: this.#now().toISOString(),
      logicalResourceId: stack.stackName,
      resourceType: "AWS::CloudFormation::Stack",
      status,
      ...(reason ? { reason } : {}),
    });
    this.options.bus.publish({
      version: "0",
      id: randomUUID(),
      "detail-type": "CloudFormation Stack Status Change",
      source: "aws.cloudformation",
      account: ACCOUNT,
      time: this.#now().toISOString(),
      region: REGION,
      resources: [stack.stackId],
      detail: {
        "stack-id": stack.stackId,
        "status-details": { status, "status-reason": reason ?? "" },
      },
    });
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      await mkdir(this.#dir, { recursive: true });
      for (const file of await readdir(this.#dir)) {
        if (!file.endsWith(".json")) continue;
        try {
          const stack = JSON.parse(await readFile(join(this.#dir, file), "utf8")) as LocalStack;
          this.#stacks.set(stack.stackName, stack);
        } catch {
          // A half-written file from a crash: the write below (tmp + rename) makes this rare; skip it.
        }
      }
    })();
    return this.#loaded;
  }

  async #save(stack: LocalStack): Promise<void> {
    const file = join(this.#dir, `${stack.stackName}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(stack));
    await rename(tmp, file);
  }
}
