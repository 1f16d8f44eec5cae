import { describe, expect, it } from "vitest";
import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import type { Cluster, ClusterEvent, ClusterStatus } from "#shared/domain/cluster.ts";
import { ConcurrentModificationError } from "#shared/domain/errors.ts";
import type { StackStatusChange } from "#shared/domain/stack-status.ts";
import type { ClusterChanges, ClusterStore } from "#shared/ports/cluster-store.ts";
import type { PageRequest } from "#shared/ports/page.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";
import { fakeStackId, MINIMAL_SLURM_YAML, makeTestDeps, type TestDeps } from "../../support/fakes.ts";
import { seededRandom } from "../../support/seeded-random.ts";

/** What the stack reports once created: the head node's addresses and a few other outputs. */
const OUTPUTS = {
  HeadNodePrivateIp: "10.0.1.15",
  HeadNodePublicIp: "54.1.2.3",
  HeadNodeInstanceId: "i-0123456789abcdef0",
  ClusterUser: "ec2-user",
};

/** When CloudFormation reported each status; EventBridge and CloudFormation write times differently. */
const TIMES: Readonly<Record<string, string>> = {
  CREATE_IN_PROGRESS: "2024-05-01T10:00:01Z",
  CREATE_COMPLETE: "2024-05-01T10:12:30.250Z",
  ROLLBACK_IN_PROGRESS: "2024-05-01T10:05:00Z",
  ROLLBACK_COMPLETE: "2024-05-01T10:07:00.000Z",
  ROLLBACK_FAILED: "2024-05-01T10:09:00Z",
  CREATE_FAILED: "2024-05-01T10:04:00Z",
  DELETE_IN_PROGRESS: "2024-05-01T11:00:05Z",
  DELETE_COMPLETE: "2024-05-01T11:06:40.5Z",
};

function time(status: string): string {
  const at = TIMES[status];
  if (!at) throw new Error(`no time for ${status}`);
  return at;
}

async function createCluster(deps: TestDeps, name = "alpha", stackNamePrefix?: string): Promise<Cluster> {
  const outcome = await makeCreateCluster(deps)({
    name,
    configuration: MINIMAL_SLURM_YAML,
    configurationEncoding: "text",
    dryRun: false,
    rollbackOnFailure: true,
    tags: {},
    principal: "alice",
    ...(stackNamePrefix ? { stackNamePrefix } : {}),
  });
  if (outcome.kind !== "created") throw new Error("expected a created cluster");
  return outcome.cluster;
}

function stackEvent(status: string, overrides: Partial<StackStatusChange> = {}): StackStatusChange {
  return {
    stackId: fakeStackId("hpc-alpha", 1),
    stackName: "hpc-alpha",
    status,
    time: overrides.time ?? time(status),
    ...overrides,
  };
}

async function historyOf(deps: TestDeps, name: string): Promise<ClusterEvent[]> {
  return [...(await deps.store.listEvents(name, { limit: 100 })).items].reverse();
}

/** One step of a scenario: a stack status event delivered, or the API's delete. */
type Step =
  | { readonly kind: "stack"; readonly status: string; readonly reason?: string }
  | { readonly kind: "api-delete" };

const stack = (status: string, reason?: string): Step => ({
  kind: "stack",
  status,
  ...(reason ? { reason } : {}),
});
const apiDelete: Step = { kind: "api-delete" };

/** Plays the steps against a fresh cluster `alpha` and returns the final record and its history. */
async function play(
  steps: readonly Step[],
): Promise<{ cluster: Cluster | undefined; history: ClusterEvent[] }> {
  const deps = makeTestDeps();
  await createCluster(deps);
  deps.provisioner.setStack("hpc-alpha", { status: "CREATE_COMPLETE", outputs: OUTPUTS });
  const applyStackStatus = makeApplyStackStatus(deps);
  const deleteCluster = makeDeleteCluster(deps);
  for (const step of steps) {
    if (step.kind === "api-delete") await deleteCluster("alpha");
    else await applyStackStatus(stackEvent(step.status, step.reason ? { reason: step.reason } : {}));
  }
  return { cluster: await deps.store.get("alpha"), history: await historyOf(deps, "alpha") };
}

/** The facts that must not depend on the order events arrived in. */
function facts(cluster: Cluster | undefined) {
  return {
    clusterId: cluster?.clusterId,
    stackId: cluster?.stackId,
    status: cluster?.status,
    outputs: cluster?.outputs,
    headNode: cluster?.headNode,
    failureReason: cluster?.failureReason,
    lastEventAt: cluster?.lastEventAt,
  };
}

/**
 * The events of `ordered`, each delivered one to three times, in random order. An API delete stays before
 * every DELETE_* event: CloudFormation only starts deleting once the API asked, though CREATE_* events
 * may still arrive late, after it.
 */
function shuffled(ordered: readonly Step[], random: () => number): Step[] {
  const events = ordered.filter((step) => step.kind === "stack");
  const deliveries: Step[] = events.flatMap((step) =>
    Array.from({ length: 1 + Math.floor(random() * 3) }, () => step),
  );
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j] as Step, deliveries[i] as Step];
  }
  if (!ordered.includes(apiDelete)) return deliveries;
  const firstDelete = deliveries.findIndex(
    (step) => step.kind === "stack" && step.status.startsWith("DELETE_"),
  );
  const at = Math.floor(random() * ((firstDelete === -1 ? deliveries.length : firstDelete) + 1));
  return [...deliveries.slice(0, at), apiDelete, ...deliveries.slice(at)];
}

function label(steps: readonly Step[]): string {
  return steps.map((step) => (step.kind === "api-delete" ? "api-delete" : step.status)).join(", ");
}

/** True when `part` is `whole` with some entries left out, order kept. */
function isSubsequence<T>(part: readonly T[], whole: readonly T[], same: (a: T, b: T) => boolean): boolean {
  let i = 0;
  for (const item of whole) if (i < part.length && same(part[i] as T, item)) i++;
  return i === part.length;
}

const sameEvent = (a: ClusterEvent, b: ClusterEvent) => JSON.stringify(a) === JSON.stringify(b);

const LIFECYCLE: readonly Step[] = [
  stack("CREATE_IN_PROGRESS"),
  stack("CREATE_COMPLETE"),
  apiDelete,
  stack("DELETE_IN_PROGRESS"),
  stack("DELETE_COMPLETE"),
];

const ROLLBACK_REASON = "The following resource(s) failed to create: [HeadNode]. Rollback requested by user.";
const ROLLBACK_FAILED_REASON = "The following resource(s) failed to delete: [HeadNodeSecurityGroup].";
const ROLLBACK: readonly Step[] = [
  stack("CREATE_IN_PROGRESS"),
  stack("ROLLBACK_IN_PROGRESS", ROLLBACK_REASON),
  stack("ROLLBACK_COMPLETE"),
];

const BASE_SEED = Number(process.env.SHUFFLE_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe("applyStackStatus over a whole lifecycle", () => {
  it("ends the ordered create-then-delete stream DELETE_COMPLETE with the outputs and a terminated head node", async () => {
    const { cluster, history } = await play(LIFECYCLE);

    expect(facts(cluster)).toEqual({
      clusterId: "cluster-0001",
      stackId: fakeStackId("hpc-alpha", 1),
      status: "DELETE_COMPLETE",
      outputs: OUTPUTS,
      headNode: {
        state: "TERMINATED",
        privateIp: "10.0.1.15",
        publicIp: "54.1.2.3",
        instanceId: "i-0123456789abcdef0",
      },
      failureReason: undefined,
      lastEventAt: "2024-05-01T11:06:40.500Z",
    });
    expect(history.map((event) => `${event.source}:${event.status}`)).toEqual([
      "api:CREATE_IN_PROGRESS",
      "stack-event:CREATE_COMPLETE",
      "api:DELETE_IN_PROGRESS",
      "stack-event:DELETE_COMPLETE",
    ]);
    expect(history[1]?.at).toBe("2024-05-01T10:12:30.250Z");
  });

  it("records the head node RUNNING with its addresses at CREATE_COMPLETE", async () => {
    const { cluster } = await play(LIFECYCLE.slice(0, 2));

    expect(cluster?.status).toBe("CREATE_COMPLETE");
    expect(cluster?.headNode).toEqual({
      state: "RUNNING",
      privateIp: "10.0.1.15",
      publicIp: "54.1.2.3",
      instanceId: "i-0123456789abcdef0",
    });
    expect(cluster?.lastEventAt).toBe("2024-05-01T10:12:30.250Z");
  });

  it(`ends 200 shuffled streams with duplicates in the same record as the ordered stream (seed ${BASE_SEED})`, async () => {
    const expected = await play(LIFECYCLE);

    for (let run = 0; run < 200; run++) {
      const seed = BASE_SEED + run;
      const steps = shuffled(LIFECYCLE, seededRandom(seed));
      const why = `seed ${seed} (rerun with SHUFFLE_SEED=${seed}); order: ${label(steps)}`;

      const actual = await play(steps);

      expect(facts(actual.cluster), why).toEqual(facts(expected.cluster));
      // The history may only lack steps the shuffle made a later event skip, never gain or reorder any.
      expect(isSubsequence(actual.history, expected.history, sameEvent), why).toBe(true);
      expect(actual.history[0], why).toEqual(expected.history[0]);
      expect(actual.history.at(-1), why).toEqual(expected.history.at(-1));
      expect(
        actual.history.filter((event) => event.source === "api"),
        why,
      ).toEqual(expected.history.filter((event) => event.source === "api"));
    }
  });

  it("ends a rolled-back create CREATE_FAILED with the rollback's reason", async () => {
    const { cluster, history } = await play(ROLLBACK);

    expect(cluster).toMatchObject({
      status: "CREATE_FAILED",
      failureReason: ROLLBACK_REASON,
      headNode: { state: "STOPPED" },
      lastEventAt: "2024-05-01T10:07:00.000Z",
    });
    expect(cluster?.outputs).toBeUndefined();
    expect(history.map((event) => event.status)).toEqual(["CREATE_IN_PROGRESS", "CREATE_FAILED"]);
    expect(history[1]?.reason).toBe(ROLLBACK_REASON);
  });

  it("keeps the rollback's reason when ROLLBACK_COMPLETE arrives before ROLLBACK_IN_PROGRESS", async () => {
    const { cluster } = await play([
      stack("ROLLBACK_COMPLETE"),
      stack("ROLLBACK_IN_PROGRESS", ROLLBACK_REASON),
    ]);

    expect(cluster).toMatchObject({ status: "CREATE_FAILED", failureReason: ROLLBACK_REASON });
  });

  it("takes the reason and time of a later report of the same status, such as ROLLBACK_FAILED", async () => {
    const { cluster, history } = await play([
      ...ROLLBACK.slice(0, 2),
      stack("ROLLBACK_FAILED", ROLLBACK_FAILED_REASON),
    ]);

    expect(cluster).toMatchObject({
      status: "CREATE_FAILED",
      failureReason: ROLLBACK_FAILED_REASON,
      lastEventAt: "2024-05-01T10:09:00.000Z",
    });
    expect(history.map((event) => event.status)).toEqual(["CREATE_IN_PROGRESS", "CREATE_FAILED"]);
  });

  it.each([
    ["rolled back", ROLLBACK],
    ["failed to roll back", [...ROLLBACK.slice(0, 2), stack("ROLLBACK_FAILED", ROLLBACK_FAILED_REASON)]],
  ])(
    `ends 50 shuffled streams of a create that %s the same as the ordered one (seed ${BASE_SEED})`,
    async (_what, ordered) => {
      const expected = await play(ordered);

      for (let run = 0; run < 50; run++) {
        const seed = BASE_SEED + run;
        const steps = shuffled(ordered, seededRandom(seed));

        const actual = await play(steps);

        expect(facts(actual.cluster), `seed ${seed}; order: ${label(steps)}`).toEqual(
          facts(expected.cluster),
        );
      }
    },
  );

  it("records the reason of a create that failed without rollback", async () => {
    const { cluster } = await play([stack("CREATE_FAILED", "  HeadNode: capacity not available  ")]);

    expect(cluster).toMatchObject({
      status: "CREATE_FAILED",
      failureReason: "HeadNode: capacity not available",
    });
  });
});

describe("applyStackStatus on events that must change nothing", () => {
  async function givenAlpha() {
    const deps = makeTestDeps();
    const cluster = await createCluster(deps);
    return { deps, cluster, applyStackStatus: makeApplyStackStatus(deps) };
  }

  it("ignores a status that says nothing new for the cluster", async () => {
    const { deps, cluster, applyStackStatus } = await givenAlpha();

    const outcome = await applyStackStatus(
      stackEvent("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", { time: time("CREATE_COMPLETE") }),
    );

    expect(outcome.kind).toBe("ignored");
    expect(await deps.store.get("alpha")).toEqual(cluster);
  });

  it.each([
    ["a stack of no cluster", "hpc-ghost"],
    ["a stack outside the API's prefixes", "other-alpha"],
    [
      "a stack named like a cluster with the command prefix, though the cluster has the other",
      "parallelcluster-alpha",
    ],
  ])("ignores an event for %s", async (_what, stackName) => {
    const { deps, cluster, applyStackStatus } = await givenAlpha();

    const outcome = await applyStackStatus(
      stackEvent("CREATE_COMPLETE", { stackName, stackId: fakeStackId(stackName, 9) }),
    );

    expect(outcome).toEqual({ kind: "ignored", reason: `no cluster owns stack ${stackName}` });
    expect(await deps.store.get("alpha")).toEqual(cluster);
  });

  it.each(["yesterday", "", "2024-13-45T99:00:00Z"])(
    "ignores an event with the unreadable time %j",
    async (when) => {
      const { deps, cluster, applyStackStatus } = await givenAlpha();

      const outcome = await applyStackStatus(stackEvent("CREATE_COMPLETE", { time: when }));

      expect(outcome).toMatchObject({
        kind: "ignored",
        reason: expect.stringContaining("unreadable event time"),
      });
      expect(await deps.store.get("alpha")).toEqual(cluster);
    },
  );

  it("ignores a late event of a deleted incarnation's stack after the name was reused", async () => {
    const deps = makeTestDeps();
    await createCluster(deps);
    const applyStackStatus = makeApplyStackStatus(deps);
    await applyStackStatus(stackEvent("CREATE_COMPLETE"));
    await makeDeleteCluster(deps)("alpha");
    await applyStackStatus(stackEvent("DELETE_COMPLETE"));
    const reborn = await createCluster(deps);

    const outcome = await applyStackStatus(stackEvent("DELETE_COMPLETE"));

    expect(reborn.stackId).toBe(fakeStackId("hpc-alpha", 2));
    expect(outcome).toMatchObject({ kind: "ignored", reason: expect.stringContaining("another stack") });
    expect(await deps.store.get("alpha")).toEqual(reborn);
  });

  it("ignores an event whose cluster was replaced between finding it and changing it", async () => {
    const inner = new MemoryClusterStore();
    const store = new HookedStore(inner);
    const deps = makeTestDeps({ store });
    const old = await createCluster(deps);
    const applyStackStatus = makeApplyStackStatus(deps);
    await makeDeleteCluster(deps)("alpha");
    await applyStackStatus(stackEvent("DELETE_COMPLETE"));
    const { stackId: _old, ...base } = old;
    const replacement: Cluster = {
      ...base,
      clusterId: "cluster-new",
      status: "CREATE_IN_PROGRESS",
      version: 1,
    };
    store.afterGet = async () => {
      store.afterGet = undefined;
      await inner.create(replacement, {
        at: replacement.createdAt,
        status: "CREATE_IN_PROGRESS",
        source: "api",
      });
    };

    const outcome = await applyStackStatus(stackEvent("DELETE_COMPLETE"));

    expect(outcome).toEqual({ kind: "ignored", reason: "the cluster was replaced" });
    expect(await inner.get("alpha")).toEqual(replacement);
  });

  it("ignores an event whose cluster disappeared before it could be changed", async () => {
    const inner = new MemoryClusterStore();
    const store = new HookedStore(inner);
    const deps = makeTestDeps({ store });
    const cluster = await createCluster(deps);
    store.afterGet = async () => {
      store.afterGet = undefined;
      await inner.remove("alpha", { version: cluster.version, clusterId: cluster.clusterId });
    };

    const outcome = await makeApplyStackStatus(deps)(stackEvent("CREATE_COMPLETE"));

    expect(outcome).toEqual({ kind: "ignored", reason: "the cluster is gone" });
  });

  it("does not take an older UPDATE_IN_PROGRESS over a newer UPDATE_COMPLETE", async () => {
    const { deps, applyStackStatus } = await givenAlpha();
    await applyStackStatus(stackEvent("CREATE_COMPLETE"));
    await applyStackStatus(stackEvent("UPDATE_IN_PROGRESS", { time: "2024-05-01T10:30:00Z" }));
    await applyStackStatus(stackEvent("UPDATE_COMPLETE", { time: "2024-05-01T10:40:00Z" }));
    const before = await deps.store.get("alpha");

    const outcome = await applyStackStatus(
      stackEvent("UPDATE_IN_PROGRESS", { time: "2024-05-01T10:30:00Z" }),
    );

    expect(outcome.kind).toBe("ignored");
    expect(await deps.store.get("alpha")).toEqual(before);
    expect(before?.status).toBe("UPDATE_COMPLETE");
  });

  it("treats the same instant written with and without milliseconds as the same time", async () => {
    const { deps, applyStackStatus } = await givenAlpha();
    await applyStackStatus(stackEvent("CREATE_COMPLETE"));
    await applyStackStatus(stackEvent("UPDATE_IN_PROGRESS", { time: "2024-05-01T10:30:05.000Z" }));

    const outcome = await applyStackStatus(stackEvent("UPDATE_COMPLETE", { time: "2024-05-01T10:30:05Z" }));

    expect(outcome.kind).toBe("applied");
    expect((await deps.store.get("alpha"))?.lastEventAt).toBe("2024-05-01T10:30:05.000Z");
  });
});

describe("applyStackStatus on other stacks and records", () => {
  it("applies events of a stack named with the command prefix parallelcluster-", async () => {
    const deps = makeTestDeps({ stackNamePrefix: "hpc-" });
    await createCluster(deps, "Blog", "parallelcluster-");

    const outcome = await makeApplyStackStatus(deps)(
      stackEvent("CREATE_COMPLETE", {
        stackName: "parallelcluster-Blog",
        stackId: fakeStackId("parallelcluster-Blog", 1),
      }),
    );

    expect(outcome.kind).toBe("applied");
    expect((await deps.store.get("Blog"))?.status).toBe("CREATE_COMPLETE");
  });

  it("learns the stack id from the first event when the create's answer was not recorded", async () => {
    const deps = makeTestDeps();
    const created = await createCluster(deps);
    await deps.store.remove("alpha", { version: created.version, clusterId: created.clusterId });
    const { stackId: _lost, ...withoutStackId } = created;
    await deps.store.create(
      { ...withoutStackId, version: 1 },
      { at: created.createdAt, status: "CREATE_IN_PROGRESS", source: "api" },
    );

    await makeApplyStackStatus(deps)(stackEvent("CREATE_COMPLETE"));

    expect((await deps.store.get("alpha"))?.stackId).toBe(fakeStackId("hpc-alpha", 1));
  });

  it("records CREATE_COMPLETE without outputs when the stack can no longer be described", async () => {
    const deps = makeTestDeps();
    await createCluster(deps);
    deps.provisioner.removeStack("hpc-alpha");

    const outcome = await makeApplyStackStatus(deps)(stackEvent("CREATE_COMPLETE"));

    expect(outcome.kind).toBe("applied");
    const alpha = await deps.store.get("alpha");
    expect(alpha?.status).toBe("CREATE_COMPLETE");
    expect(alpha?.outputs).toBeUndefined();
    expect(alpha?.headNode).toEqual({ state: "RUNNING" });
  });
});

describe("applyStackStatus under concurrent writers", () => {
  it("retries after a ConcurrentModificationError and applies the event", async () => {
    const store = new HookedStore(new MemoryClusterStore());
    const deps = makeTestDeps({ store });
    await createCluster(deps);
    deps.provisioner.setStack("hpc-alpha", { outputs: OUTPUTS });
    store.beforeUpdate = async () => {
      store.beforeUpdate = undefined;
      throw new ConcurrentModificationError("someone else wrote first");
    };
    const updatesBefore = store.updateCalls;

    const outcome = await makeApplyStackStatus(deps)(stackEvent("CREATE_COMPLETE"));

    expect(outcome.kind).toBe("applied");
    expect(store.updateCalls - updatesBefore).toBe(2);
    expect(await deps.store.get("alpha")).toMatchObject({ status: "CREATE_COMPLETE", outputs: OUTPUTS });
  });

  it("decides again on the record another writer left, keeping its move", async () => {
    const inner = new MemoryClusterStore();
    const store = new HookedStore(inner);
    const deps = makeTestDeps({ store });
    await createCluster(deps);
    deps.provisioner.setStack("hpc-alpha", { outputs: OUTPUTS });
    // An API delete lands between the event's read and its write: the write's version check fails.
    store.beforeUpdate = async () => {
      store.beforeUpdate = undefined;
      await makeDeleteCluster({ ...deps, store: inner })("alpha");
    };

    const outcome = await makeApplyStackStatus(deps)(stackEvent("CREATE_COMPLETE"));

    expect(outcome.kind).toBe("merged");
    expect(await inner.get("alpha")).toMatchObject({
      status: "DELETE_IN_PROGRESS",
      outputs: OUTPUTS,
      headNode: { state: "RUNNING", privateIp: "10.0.1.15" },
    });
  });
});

/** A `ClusterStore` around a memory store, with hooks to play another writer at the worst moment. */
class HookedStore implements ClusterStore {
  afterGet: (() => Promise<void>) | undefined;
  beforeUpdate: (() => Promise<void>) | undefined;
  updateCalls = 0;

  constructor(private readonly inner: MemoryClusterStore) {}

  create(cluster: Cluster, firstEvent: ClusterEvent) {
    return this.inner.create(cluster, firstEvent);
  }

  async get(name: string) {
    const cluster = await this.inner.get(name);
    await this.afterGet?.();
    return cluster;
  }

  async update(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
    changes: ClusterChanges,
    event?: ClusterEvent,
  ) {
    this.updateCalls += 1;
    await this.beforeUpdate?.();
    return this.inner.update(name, expected, changes, event);
  }

  remove(name: string, expected: { readonly version: number; readonly clusterId: string }) {
    return this.inner.remove(name, expected);
  }

  list(request: Parameters<ClusterStore["list"]>[0]) {
    return this.inner.list(request);
  }

  listEvents(name: string, request: PageRequest) {
    return this.inner.listEvents(name, request);
  }

  countByStatus(status: ClusterStatus) {
    return this.inner.countByStatus(status);
  }
}
