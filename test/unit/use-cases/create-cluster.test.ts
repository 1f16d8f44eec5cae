import { describe, expect, it } from "vitest";
import {
  ClusterExistsError,
  ConfigInvalidError,
  IdempotencyConflictError,
  UpstreamError,
} from "#shared/domain/errors.ts";
import { type CreateClusterCommand, makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { fakeStackId, MINIMAL_SLURM_YAML, makeTestDeps } from "../../support/fakes.ts";

function command(overrides: Partial<CreateClusterCommand> = {}): CreateClusterCommand {
  return {
    name: "alpha",
    configuration: MINIMAL_SLURM_YAML,
    configurationEncoding: "text",
    dryRun: false,
    rollbackOnFailure: true,
    tags: { project: "wind-tunnel" },
    principal: "arn:aws:iam::123456789012:user/alice",
    ...overrides,
  };
}

async function history(deps: ReturnType<typeof makeTestDeps>, name: string) {
  return (await deps.store.listEvents(name, { limit: 100 })).items;
}

describe("createCluster", () => {
  it("records the cluster as CREATE_IN_PROGRESS and asks for its stack once", async () => {
    const deps = makeTestDeps({ stackNamePrefix: "hpc-" });
    const createCluster = makeCreateCluster(deps);

    const outcome = await createCluster(command());

    expect(outcome.kind).toBe("created");
    expect(deps.provisioner.createCalls).toHaveLength(1);
    const call = deps.provisioner.createCalls[0];
    expect(call).toMatchObject({
      clusterId: "cluster-0001",
      clusterName: "alpha",
      stackName: "hpc-alpha",
      rollbackOnFailure: true,
      tags: {
        team: "cfd",
        project: "wind-tunnel",
        "hpc-cluster-api:managed": "true",
        "hpc-cluster-api:cluster-name": "alpha",
        "hpc-cluster-api:created-by": "arn:aws:iam::123456789012:user/alice",
      },
    });
    expect(call?.spec.scheduler).toBe("slurm");
    const stored = await deps.store.get("alpha");
    expect(stored).toMatchObject({
      name: "alpha",
      clusterId: "cluster-0001",
      status: "CREATE_IN_PROGRESS",
      stackName: "hpc-alpha",
      stackId: fakeStackId("hpc-alpha", 1),
      scheduler: "slurm",
      createdBy: "arn:aws:iam::123456789012:user/alice",
      createdAt: "2024-05-01T10:00:00.000Z",
      tags: { team: "cfd", project: "wind-tunnel" },
      options: { rollbackOnFailure: true },
    });
    expect(outcome.kind === "created" && outcome.cluster).toEqual(stored);
    expect(await history(deps, "alpha")).toEqual([
      {
        at: "2024-05-01T10:00:00.000Z",
        status: "CREATE_IN_PROGRESS",
        source: "api",
        reason: "create requested",
      },
    ]);
  });

  it("passes rollbackOnFailure false on to the stack and the record", async () => {
    const deps = makeTestDeps();

    await makeCreateCluster(deps)(command({ rollbackOnFailure: false }));

    expect(deps.provisioner.createCalls[0]?.rollbackOnFailure).toBe(false);
    expect((await deps.store.get("alpha"))?.options).toEqual({ rollbackOnFailure: false });
  });

  it("lets request tags win over the configuration's tags of the same key", async () => {
    const deps = makeTestDeps();

    await makeCreateCluster(deps)(command({ tags: { team: "aero" } }));

    expect(deps.provisioner.createCalls[0]?.tags.team).toBe("aero");
    expect((await deps.store.get("alpha"))?.tags).toEqual({ team: "aero" });
  });

  it("names the stack with a command's own prefix when it gives one", async () => {
    const deps = makeTestDeps({ stackNamePrefix: "hpc-" });

    await makeCreateCluster(deps)(command({ stackNamePrefix: "parallelcluster-" }));

    expect(deps.provisioner.createCalls[0]?.stackName).toBe("parallelcluster-alpha");
    expect((await deps.store.get("alpha"))?.stackName).toBe("parallelcluster-alpha");
  });

  it("reads a base64 configuration", async () => {
    const deps = makeTestDeps();

    const configuration = Buffer.from(MINIMAL_SLURM_YAML, "utf8").toString("base64");
    await makeCreateCluster(deps)(command({ configuration, configurationEncoding: "base64" }));

    expect((await deps.store.get("alpha"))?.config.queues[0]?.name).toBe("compute");
  });

  it("keeps the created-by tag within CloudFormation's 256-character tag value limit", async () => {
    const deps = makeTestDeps();

    await makeCreateCluster(deps)(command({ principal: "p".repeat(400) }));

    expect(deps.provisioner.createCalls[0]?.tags["hpc-cluster-api:created-by"]).toHaveLength(256);
  });

  it("answers a dry run with the normalized config and a template, and writes and calls nothing", async () => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);

    const outcome = await createCluster(command({ dryRun: true, clientToken: "dry-1" }));

    expect(outcome.kind).toBe("dry-run");
    if (outcome.kind !== "dry-run") return;
    expect(outcome.result.valid).toBe(true);
    expect(outcome.result.normalized).toMatchObject({ scheduler: "slurm", tags: { team: "cfd" } });
    expect(outcome.result.template).toEqual(expect.any(Object));
    expect(deps.provisioner.checkCalls).toHaveLength(1);
    expect(deps.provisioner.createCalls).toEqual([]);
    expect(await deps.store.get("alpha")).toBeUndefined();
    expect(await deps.idempotency.claim("dry-1", "any-hash", new Date("2030-01-01"))).toEqual({
      kind: "claimed",
    });
  });

  it("refuses an invalid configuration and records nothing", async () => {
    const deps = makeTestDeps();

    const attempt = makeCreateCluster(deps)(command({ configuration: "Scheduling:\n  Scheduler: slurm\n" }));

    await expect(attempt).rejects.toBeInstanceOf(ConfigInvalidError);
    expect(await deps.store.get("alpha")).toBeUndefined();
    expect(deps.provisioner.createCalls).toEqual([]);
  });

  it("records nothing when the backend cannot provision the spec", async () => {
    const deps = makeTestDeps();
    deps.provisioner.provisionError = new ConfigInvalidError("no Slurm on this deployment");

    await expect(makeCreateCluster(deps)(command({ clientToken: "tok-1" }))).rejects.toThrow("no Slurm");

    expect(deps.provisioner.checkCalls).toHaveLength(1);
    expect(deps.provisioner.createCalls).toEqual([]);
    expect(await deps.store.get("alpha")).toBeUndefined();
    expect(await deps.idempotency.claim("tok-1", "any-hash", new Date("2030-01-01"))).toEqual({
      kind: "claimed",
    });
  });

  it("leaves no record when the stack cannot be requested, and frees the token for a retry", async () => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);
    const refusal = new UpstreamError("CreateStack failed: AccessDenied");
    deps.provisioner.createError = refusal;

    await expect(createCluster(command({ clientToken: "tok-1" }))).rejects.toBe(refusal);

    expect(await deps.store.get("alpha")).toBeUndefined();

    deps.provisioner.createError = undefined;
    const retry = await createCluster(command({ clientToken: "tok-1" }));

    expect(retry).toMatchObject({
      kind: "created",
      replayed: false,
      cluster: { status: "CREATE_IN_PROGRESS" },
    });
    expect(deps.provisioner.createCalls).toHaveLength(2);
    expect(await deps.store.get("alpha")).toMatchObject({ clusterId: "cluster-0002" });
  });

  it("answers a repeated client token with the same body with the first answer and no second stack", async () => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);
    const first = await createCluster(command({ clientToken: "tok-1" }));
    deps.clock.advance(60_000);

    const again = await createCluster(command({ clientToken: "tok-1" }));

    expect(again).toMatchObject({ kind: "created", replayed: true });
    expect(first).toMatchObject({ kind: "created", replayed: false });
    expect(again.kind === "created" && again.cluster).toEqual(first.kind === "created" && first.cluster);
    expect(again.kind === "created" && again.cluster.clusterId).toBe("cluster-0001");
    expect(deps.provisioner.createCalls).toHaveLength(1);
  });

  it.each([
    ["another configuration", { configuration: MINIMAL_SLURM_YAML.replace("MaxCount: 4", "MaxCount: 8") }],
    ["other tags", { tags: { project: "other" } }],
    ["another rollback choice", { rollbackOnFailure: false }],
    ["another name", { name: "beta" }],
  ])("refuses a repeated client token with %s as an idempotency conflict", async (_what, change) => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);
    await createCluster(command({ clientToken: "tok-1" }));

    const attempt = createCluster(command({ clientToken: "tok-1", ...change }));

    await expect(attempt).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(attempt).rejects.toMatchObject({ issues: [{ path: "body.clientToken" }] });
    expect(deps.provisioner.createCalls).toHaveLength(1);
    expect(await deps.store.get("beta")).toBeUndefined();
  });

  it("refuses a repeat of a token whose first request is still running", async () => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);
    const release = deps.provisioner.holdCreates();
    const first = createCluster(command({ clientToken: "tok-1" }));
    await new Promise((resolve) => setImmediate(resolve));

    const second = createCluster(command({ clientToken: "tok-1" }));

    await expect(second).rejects.toBeInstanceOf(IdempotencyConflictError);
    release();
    await expect(first).resolves.toMatchObject({ kind: "created", replayed: false });
    expect(deps.provisioner.createCalls).toHaveLength(1);
  });

  it("refuses a name a live cluster holds, and frees the token", async () => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);
    await createCluster(command());

    await expect(createCluster(command({ clientToken: "tok-2" }))).rejects.toBeInstanceOf(ClusterExistsError);

    expect(deps.provisioner.createCalls).toHaveLength(1);
    expect(await deps.idempotency.claim("tok-2", "any-hash", new Date("2030-01-01"))).toEqual({
      kind: "claimed",
    });
  });

  it("gives a name back to a new cluster with a new id once the old one is DELETE_COMPLETE", async () => {
    const deps = makeTestDeps();
    const createCluster = makeCreateCluster(deps);
    const first = await createCluster(command());
    const old = first.kind === "created" ? first.cluster : undefined;
    await deps.store.update(
      "alpha",
      { version: old?.version ?? 0, clusterId: old?.clusterId ?? "" },
      { status: "DELETE_COMPLETE", updatedAt: deps.clock.now().toISOString() },
    );

    const second = await createCluster(command());

    expect(second.kind === "created" && second.cluster.clusterId).toBe("cluster-0002");
    expect((await deps.store.get("alpha"))?.status).toBe("CREATE_IN_PROGRESS");
  });
});
