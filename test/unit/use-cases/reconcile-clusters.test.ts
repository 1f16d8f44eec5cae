import { describe, expect, it } from "vitest";
import type { Cluster } from "#shared/domain/cluster.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { makeReconcileClusters } from "#shared/use-cases/reconcile-clusters.ts";
import { MINIMAL_SLURM_YAML, makeTestDeps } from "../../support/fakes.ts";

function setup() {
  const deps = makeTestDeps();
  const applyStackStatus = makeApplyStackStatus(deps);
  return { deps, applyStackStatus, reconcile: makeReconcileClusters(deps, applyStackStatus) };
}

/** A record as a crash between the store write and CreateStack leaves it: no stack id, no stack. */
function orphanRecord(name: string, at: string): Cluster {
  const { spec, warnings } = parseClusterConfig(MINIMAL_SLURM_YAML);
  return {
    name,
    clusterId: `crash-${name}`,
    status: "CREATE_IN_PROGRESS",
    scheduler: spec.scheduler,
    stackName: `hpc-${name}`,
    createdAt: at,
    updatedAt: at,
    createdBy: "tester",
    tags: {},
    config: spec,
    warnings,
    options: { rollbackOnFailure: false },
    version: 1,
  };
}

describe("the reconciler", () => {
  it("re-drives a create whose CreateStack never happened, with the same cluster id, exactly once", async () => {
    const { deps, reconcile } = setup();
    const at = deps.clock.now().toISOString();
    await deps.store.create(orphanRecord("orphan", at), { at, status: "CREATE_IN_PROGRESS", source: "api" });
    deps.clock.advance(301_000);

    const first = await reconcile();
    const second = await reconcile();

    expect(first).toMatchObject({ examined: 1, redriven: 1 });
    expect(deps.provisioner.createCalls).toHaveLength(1);
    expect(deps.provisioner.createCalls[0]).toMatchObject({
      clusterId: "crash-orphan",
      stackName: "hpc-orphan",
      rollbackOnFailure: false,
    });
    expect(second.redriven).toBe(0);
    expect((await deps.store.get("orphan"))?.stackId).toBeDefined();
  });

  it("leaves clusters alone until they have been in progress longer than the threshold", async () => {
    const { deps, reconcile } = setup();
    const at = deps.clock.now().toISOString();
    await deps.store.create(orphanRecord("young", at), { at, status: "CREATE_IN_PROGRESS", source: "api" });
    deps.clock.advance(10_000);

    expect(await reconcile()).toMatchObject({ examined: 0 });
    expect(deps.provisioner.createCalls).toHaveLength(0);
  });

  it("applies a stack's current status through the stack event path when its events were missed", async () => {
    const { deps, reconcile } = setup();
    const created = await makeCreateCluster(deps)({
      name: "missed",
      configuration: MINIMAL_SLURM_YAML,
      configurationEncoding: "text",
      dryRun: false,
      rollbackOnFailure: true,
      tags: {},
      principal: "tester",
    });
    expect(created.kind).toBe("created");
    deps.clock.advance(600_000);
    deps.provisioner.setStack("hpc-missed", {
      status: "CREATE_COMPLETE",
      outputs: { HeadNodePrivateIp: "10.0.0.12" },
      updatedAt: deps.clock.now().toISOString(),
    });

    expect(await reconcile()).toMatchObject({ examined: 1, refreshed: 1 });
    const cluster = await deps.store.get("missed");
    expect(cluster?.status).toBe("CREATE_COMPLETE");
    expect(cluster?.headNode).toMatchObject({ state: "RUNNING", privateIp: "10.0.0.12" });
  });

  it("marks a deleting cluster DELETE_COMPLETE when its stack no longer exists", async () => {
    const { deps, reconcile } = setup();
    const at = deps.clock.now().toISOString();
    const record = {
      ...orphanRecord("leaving", at),
      status: "DELETE_IN_PROGRESS" as const,
      stackId: "arn:x",
    };
    await deps.store.create(record, { at, status: "DELETE_IN_PROGRESS", source: "api" });
    deps.clock.advance(301_000);

    expect(await reconcile()).toMatchObject({ vanished: 1 });
    const cluster = await deps.store.get("leaving");
    expect(cluster?.status).toBe("DELETE_COMPLETE");
    expect((await deps.store.listEvents("leaving", { limit: 1 })).items[0]).toMatchObject({
      status: "DELETE_COMPLETE",
      source: "reconciler",
    });
  });

  it("fails a creating cluster whose stack vanished, saying so", async () => {
    const { deps, reconcile } = setup();
    const at = deps.clock.now().toISOString();
    await deps.store.create(
      { ...orphanRecord("lost", at), stackId: "arn:lost" },
      { at, status: "CREATE_IN_PROGRESS", source: "api" },
    );
    deps.clock.advance(301_000);

    expect(await reconcile()).toMatchObject({ vanished: 1 });
    const cluster = await deps.store.get("lost");
    expect(cluster?.status).toBe("CREATE_FAILED");
    expect(cluster?.failureReason).toMatch(/no longer exists/);
  });
});

describe("a rollback during create", () => {
  it("records the failing resource's own reason from the stack events", async () => {
    const { deps, applyStackStatus } = setup();
    await makeCreateCluster(deps)({
      name: "rolled",
      configuration: MINIMAL_SLURM_YAML,
      configurationEncoding: "text",
      dryRun: false,
      rollbackOnFailure: true,
      tags: {},
      principal: "tester",
    });
    const stackId = (await deps.store.get("rolled"))?.stackId ?? "";
    deps.provisioner.stackEvents = [
      {
        at: "2026-01-01T00:00:09Z",
        logicalResourceId: "hpc-rolled",
        resourceType: "AWS::CloudFormation::Stack",
        status: "ROLLBACK_IN_PROGRESS",
        reason: "The following resource(s) failed to create: [ComputeEnvironment0].",
      },
      {
        at: "2026-01-01T00:00:08Z",
        logicalResourceId: "JobQueue0",
        resourceType: "AWS::Batch::JobQueue",
        status: "CREATE_FAILED",
        reason: "Resource creation cancelled",
      },
      {
        at: "2026-01-01T00:00:07Z",
        logicalResourceId: "ComputeEnvironment0",
        resourceType: "AWS::Batch::ComputeEnvironment",
        status: "CREATE_FAILED",
        reason: "Subnet subnet-123 does not exist",
      },
    ];

    await applyStackStatus({
      stackId,
      stackName: "hpc-rolled",
      status: "ROLLBACK_IN_PROGRESS",
      reason: "The following resource(s) failed to create: [ComputeEnvironment0].",
      time: "2026-01-01T00:00:09Z",
    });

    const cluster = await deps.store.get("rolled");
    expect(cluster?.status).toBe("CREATE_FAILED");
    expect(cluster?.failureReason).toBe(
      "ComputeEnvironment0 (AWS::Batch::ComputeEnvironment): Subnet subnet-123 does not exist",
    );
  });
});
