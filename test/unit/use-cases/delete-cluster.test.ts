import { describe, expect, it } from "vitest";
import type { ClusterStatus } from "#shared/domain/cluster.ts";
import { ClusterNotFoundError, ServiceUnavailableError } from "#shared/domain/errors.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";
import { fakeStackId, MINIMAL_SLURM_YAML, makeTestDeps, type TestDeps } from "../../support/fakes.ts";

/** A cluster made through the create use case, then moved to `status` as stack events would. */
async function givenCluster(deps: TestDeps, status: ClusterStatus, name = "alpha") {
  const outcome = await makeCreateCluster(deps)({
    name,
    configuration: MINIMAL_SLURM_YAML,
    configurationEncoding: "text",
    dryRun: false,
    rollbackOnFailure: true,
    tags: {},
    principal: "alice",
  });
  if (outcome.kind !== "created") throw new Error("expected a created cluster");
  if (status === "CREATE_IN_PROGRESS") return outcome.cluster;
  deps.clock.advance(60_000);
  return deps.store.update(
    name,
    { version: outcome.cluster.version, clusterId: outcome.cluster.clusterId },
    { status, updatedAt: deps.clock.now().toISOString() },
    { at: deps.clock.now().toISOString(), status, source: "stack-event" },
  );
}

async function statusesOf(deps: TestDeps, name: string): Promise<string[]> {
  const page = await deps.store.listEvents(name, { limit: 100 });
  return page.items.map((event) => event.status).reverse();
}

describe("deleteCluster", () => {
  it("moves a CREATE_COMPLETE cluster to DELETE_IN_PROGRESS and asks for its stack's deletion", async () => {
    const deps = makeTestDeps();
    await givenCluster(deps, "CREATE_COMPLETE");
    deps.clock.advance(1_000);

    const cluster = await makeDeleteCluster(deps)("alpha");

    expect(cluster).toMatchObject({
      name: "alpha",
      status: "DELETE_IN_PROGRESS",
      updatedAt: "2024-05-01T10:01:01.000Z",
    });
    expect(await deps.store.get("alpha")).toEqual(cluster);
    expect(deps.provisioner.deleteCalls).toEqual([
      { clusterId: "cluster-0001", stackName: "hpc-alpha", stackId: fakeStackId("hpc-alpha", 1) },
    ]);
    const events = (await deps.store.listEvents("alpha", { limit: 1 })).items;
    expect(events).toEqual([
      {
        at: "2024-05-01T10:01:01.000Z",
        status: "DELETE_IN_PROGRESS",
        source: "api",
        reason: "delete requested",
      },
    ]);
  });

  it.each<ClusterStatus>([
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "DELETE_FAILED",
  ])("deletes a %s cluster", async (status) => {
    const deps = makeTestDeps();
    await givenCluster(deps, status);

    const cluster = await makeDeleteCluster(deps)("alpha");

    expect(cluster.status).toBe("DELETE_IN_PROGRESS");
    expect(deps.provisioner.deleteCalls).toHaveLength(1);
  });

  it("answers a repeated delete with the same cluster and leaves the record as it was", async () => {
    const deps = makeTestDeps();
    await givenCluster(deps, "CREATE_COMPLETE");
    const deleteCluster = makeDeleteCluster(deps);
    const first = await deleteCluster("alpha");
    deps.clock.advance(5_000);

    const again = await deleteCluster("alpha");

    expect(again).toEqual(first);
    expect(await deps.store.get("alpha")).toEqual(first);
    expect(await statusesOf(deps, "alpha")).toEqual([
      "CREATE_IN_PROGRESS",
      "CREATE_COMPLETE",
      "DELETE_IN_PROGRESS",
    ]);
  });

  it("does not find a cluster that is already DELETE_COMPLETE, and asks for nothing", async () => {
    const deps = makeTestDeps();
    await givenCluster(deps, "DELETE_COMPLETE");

    await expect(makeDeleteCluster(deps)("alpha")).rejects.toBeInstanceOf(ClusterNotFoundError);

    expect(deps.provisioner.deleteCalls).toEqual([]);
    expect((await deps.store.get("alpha"))?.status).toBe("DELETE_COMPLETE");
  });

  it("does not find a cluster nobody created", async () => {
    const deps = makeTestDeps();

    const attempt = makeDeleteCluster(deps)("ghost");

    await expect(attempt).rejects.toBeInstanceOf(ClusterNotFoundError);
    await expect(attempt).rejects.toMatchObject({ clusterName: "ghost" });
    expect(deps.provisioner.deleteCalls).toEqual([]);
  });

  it("records DELETE_FAILED with the reason when the deletion cannot be requested, and rethrows", async () => {
    const deps = makeTestDeps();
    await givenCluster(deps, "CREATE_COMPLETE");
    const throttled = new ServiceUnavailableError("CloudFormation is throttling requests (DeleteStack)");
    deps.provisioner.deleteError = throttled;

    await expect(makeDeleteCluster(deps)("alpha")).rejects.toBe(throttled);

    const stored = await deps.store.get("alpha");
    expect(stored?.status).toBe("DELETE_FAILED");
    expect(stored?.failureReason).toContain("CloudFormation is throttling requests (DeleteStack)");
    expect(await statusesOf(deps, "alpha")).toEqual([
      "CREATE_IN_PROGRESS",
      "CREATE_COMPLETE",
      "DELETE_IN_PROGRESS",
      "DELETE_FAILED",
    ]);
  });

  it("retries the deletion when deleted again after a failed request", async () => {
    const deps = makeTestDeps();
    await givenCluster(deps, "CREATE_COMPLETE");
    const deleteCluster = makeDeleteCluster(deps);
    deps.provisioner.deleteError = new Error("network down");
    await expect(deleteCluster("alpha")).rejects.toThrow("network down");
    deps.provisioner.deleteError = undefined;

    const retried = await deleteCluster("alpha");

    expect(retried.status).toBe("DELETE_IN_PROGRESS");
    expect(deps.provisioner.deleteCalls).toHaveLength(2);
    expect(await statusesOf(deps, "alpha")).toEqual([
      "CREATE_IN_PROGRESS",
      "CREATE_COMPLETE",
      "DELETE_IN_PROGRESS",
      "DELETE_FAILED",
      "DELETE_IN_PROGRESS",
    ]);
  });

  it("asks for the deletion by name when the stack id was never learned", async () => {
    const deps = makeTestDeps();
    const cluster = await givenCluster(deps, "CREATE_IN_PROGRESS");
    // A record whose createStack answer was lost: the same cluster without a stack id.
    await deps.store.remove("alpha", { version: cluster.version, clusterId: cluster.clusterId });
    const { stackId: _lost, ...withoutStackId } = cluster;
    await deps.store.create(
      { ...withoutStackId, version: 1 },
      { at: cluster.createdAt, status: "CREATE_IN_PROGRESS", source: "api" },
    );

    await makeDeleteCluster(deps)("alpha");

    expect(deps.provisioner.deleteCalls).toEqual([{ clusterId: "cluster-0001", stackName: "hpc-alpha" }]);
  });
});
