import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Cluster } from "#shared/domain/cluster.ts";
import { ClusterNotFoundError, RequestValidationError } from "#shared/domain/errors.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";
import { makePclusterCommand, type PclusterCommand } from "#shared/use-cases/pcluster-command.ts";
import { makeGetCluster, makeListClusters } from "#shared/use-cases/query-clusters.ts";
import { fakeStackId, makeTestDeps, type TestDeps } from "../../support/fakes.ts";

const BLOG_CONFIG = readFileSync(new URL("../../fixtures/blog-pcluster.conf", import.meta.url), "utf8");
const BLOG_BODY = Buffer.from(BLOG_CONFIG, "utf8").toString("base64");

/** The command endpoint on the real use cases, with the page requests `list` makes recorded. */
function endpoint(deps: TestDeps) {
  const listClusters = makeListClusters(deps);
  const listRequests: Parameters<typeof listClusters>[0][] = [];
  const pclusterCommand = makePclusterCommand(
    {
      createCluster: makeCreateCluster(deps),
      getCluster: makeGetCluster(deps),
      deleteCluster: makeDeleteCluster(deps),
      listClusters: (query) => {
        listRequests.push(query);
        return listClusters(query);
      },
      submitJob: () => Promise.reject(new Error("submit-job is tested with the job use cases")),
      decodeScript: (body) => body,
    },
    "2.11.9",
  );
  return { pclusterCommand, listRequests };
}

function call(overrides: Partial<PclusterCommand>): PclusterCommand {
  return { command: "version", principal: "alice", ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<RequestValidationError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RequestValidationError);
  return error as RequestValidationError;
}

/** Stores `count` more clusters like `template`, named `c0000`, `c0001`, ... */
async function storeClusters(deps: TestDeps, template: Cluster, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `c${String(i).padStart(4, "0")}`);
  for (const name of names) {
    await deps.store.create(
      { ...template, name, clusterId: `id-${name}`, stackName: `parallelcluster-${name}` },
      { at: template.createdAt, status: "CREATE_IN_PROGRESS", source: "api" },
    );
  }
  return names;
}

describe("the pcluster command endpoint", () => {
  it("creates a cluster from a base64 pcluster v2 config, answering 202 in the CLI's words", async () => {
    const deps = makeTestDeps({ stackNamePrefix: "hpc-" });
    const { pclusterCommand } = endpoint(deps);

    const result = await pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_BODY }));

    expect(result.statusCode).toBe(202);
    expect(result.command).toBe("create");
    expect(result.lines).toEqual([
      "Beginning cluster creation for cluster: Blog",
      "Creating stack named: parallelcluster-Blog",
    ]);
    expect(result.cluster).toMatchObject({
      name: "Blog",
      status: "CREATE_IN_PROGRESS",
      stackName: "parallelcluster-Blog",
    });
    expect(deps.provisioner.createCalls).toHaveLength(1);
    expect(deps.provisioner.createCalls[0]).toMatchObject({
      stackName: "parallelcluster-Blog",
      rollbackOnFailure: true,
    });
    expect(deps.provisioner.createCalls[0]?.spec.sourceFormat).toBe("pcluster2-ini");
  });

  it.each(["--norollback", "-nr", "--nowait --norollback", "\u2014norollback"])(
    "passes %j on to the stack as rollbackOnFailure false",
    async (flags) => {
      const deps = makeTestDeps();
      const { pclusterCommand } = endpoint(deps);

      await pclusterCommand(
        call({ command: "create", clusterName: "Blog", body: BLOG_BODY, additionalParameters: flags }),
      );

      expect(deps.provisioner.createCalls[0]?.rollbackOnFailure).toBe(false);
      expect((await deps.store.get("Blog"))?.options.rollbackOnFailure).toBe(false);
    },
  );

  it.each([undefined, "", "  \n"])("refuses a create whose body is %j, naming body", async (body) => {
    const deps = makeTestDeps();
    const { pclusterCommand } = endpoint(deps);

    const error = await rejection(
      pclusterCommand(
        call({ command: "create", clusterName: "Blog", ...(body === undefined ? {} : { body }) }),
      ),
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["body"]);
    expect(deps.provisioner.createCalls).toEqual([]);
  });

  it("refuses a create whose body is not base64, naming body", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand } = endpoint(deps);

    const error = await rejection(
      pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_CONFIG })),
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["body"]);
    expect(await deps.store.get("Blog")).toBeUndefined();
  });

  it.each(["create", "status", "delete"] as const)(
    "refuses %s without a cluster_name, naming query.cluster_name",
    async (command) => {
      const deps = makeTestDeps();
      const { pclusterCommand } = endpoint(deps);

      const error = await rejection(pclusterCommand(call({ command, body: BLOG_BODY })));

      expect(error.issues).toEqual([
        { path: "query.cluster_name", message: `required for command=${command}` },
      ]);
      expect(deps.provisioner.createCalls).toEqual([]);
      expect(deps.provisioner.deleteCalls).toEqual([]);
    },
  );

  it("refuses flags outside the allow-list before doing anything", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand } = endpoint(deps);

    const error = await rejection(
      pclusterCommand(
        call({
          command: "create",
          clusterName: "Blog",
          body: BLOG_BODY,
          additionalParameters: "--nowait; rm -rf /",
        }),
      ),
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["header.additional_parameters"]);
    expect(deps.provisioner.createCalls).toEqual([]);
    expect(await deps.store.get("Blog")).toBeUndefined();
  });

  it("answers status with 200 and the head node once the cluster is complete", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand } = endpoint(deps);
    await pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_BODY }));
    deps.provisioner.setStack("parallelcluster-Blog", {
      outputs: { HeadNodePrivateIp: "10.0.0.12", HeadNodePublicIp: "34.250.1.2" },
    });
    await makeApplyStackStatus(deps)({
      stackId: fakeStackId("parallelcluster-Blog", 1),
      stackName: "parallelcluster-Blog",
      status: "CREATE_COMPLETE",
      time: "2024-05-01T10:15:00Z",
    });

    const result = await pclusterCommand(call({ command: "status", clusterName: "Blog" }));

    expect(result.statusCode).toBe(200);
    expect(result.lines).toEqual([
      "Status: parallelcluster-Blog - CREATE_COMPLETE",
      "MasterServer: RUNNING",
      "MasterPublicIP: 34.250.1.2",
      "MasterPrivateIP: 10.0.0.12",
      "ClusterUser: ec2-user",
    ]);
    expect(result.cluster?.status).toBe("CREATE_COMPLETE");
  });

  it("answers status of a cluster in progress with the status line alone", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand } = endpoint(deps);
    await pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_BODY }));

    const result = await pclusterCommand(call({ command: "status", clusterName: "Blog" }));

    expect(result).toMatchObject({
      statusCode: 200,
      lines: ["Status: parallelcluster-Blog - CREATE_IN_PROGRESS"],
    });
  });

  it("does not find the status of a cluster nobody created", async () => {
    const { pclusterCommand } = endpoint(makeTestDeps());

    await expect(pclusterCommand(call({ command: "status", clusterName: "Ghost" }))).rejects.toBeInstanceOf(
      ClusterNotFoundError,
    );
  });

  it("deletes with 202 and the CLI's line", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand } = endpoint(deps);
    await pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_BODY }));

    const result = await pclusterCommand(call({ command: "delete", clusterName: "Blog" }));

    expect(result).toMatchObject({ statusCode: 202, command: "delete", lines: ["Deleting: Blog"] });
    expect(result.cluster?.status).toBe("DELETE_IN_PROGRESS");
    expect(deps.provisioner.deleteCalls).toEqual([
      {
        clusterId: "cluster-0001",
        stackName: "parallelcluster-Blog",
        stackId: fakeStackId("parallelcluster-Blog", 1),
      },
    ]);
  });

  it("lists more than 100 clusters by paging through them, in name order", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand, listRequests } = endpoint(deps);
    const created = await pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_BODY }));
    const names = await storeClusters(deps, created.cluster as Cluster, 149);

    const result = await pclusterCommand(call({ command: "list" }));

    expect(result.statusCode).toBe(200);
    expect(result.clusters?.map((cluster) => cluster.name)).toEqual(["Blog", ...names]);
    expect(result.lines).toHaveLength(150);
    expect(result.lines[0]).toMatch(/^Blog\s+CREATE_IN_PROGRESS\s+slurm$/);
    expect(listRequests).toHaveLength(2);
    expect(listRequests[0]).toEqual({ limit: 100 });
    expect(listRequests[1]?.limit).toBe(100);
    expect(listRequests[1]?.nextToken).toEqual(expect.any(String));
  });

  it("stops listing at 1000 clusters", async () => {
    const deps = makeTestDeps();
    const { pclusterCommand, listRequests } = endpoint(deps);
    const created = await pclusterCommand(call({ command: "create", clusterName: "Blog", body: BLOG_BODY }));
    await storeClusters(deps, created.cluster as Cluster, 1049);

    const result = await pclusterCommand(call({ command: "list" }));

    expect(result.clusters).toHaveLength(1000);
    expect(result.lines).toHaveLength(1000);
    expect(listRequests).toHaveLength(10);
  });

  it("lists no lines when there are no clusters", async () => {
    const { pclusterCommand } = endpoint(makeTestDeps());

    expect(await pclusterCommand(call({ command: "list" }))).toMatchObject({
      statusCode: 200,
      lines: [],
      clusters: [],
    });
  });

  it("answers version with the version it was built with", async () => {
    const { pclusterCommand } = endpoint(makeTestDeps());

    expect(await pclusterCommand(call({ command: "version" }))).toEqual({
      statusCode: 200,
      command: "version",
      lines: ["2.11.9"],
      version: "2.11.9",
    });
  });
});
