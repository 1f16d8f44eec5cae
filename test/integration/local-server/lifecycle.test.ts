import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

const config = (extra = "") => `HeadNode:
  InstanceType: t3.micro
  Networking:
    SubnetId: subnet-0123456789abcdef0
Scheduling:
  Scheduler: slurm
  SlurmQueues:
    - Name: queue1
      ComputeResources:
        - Name: t3micro
          InstanceType: t3.micro
          MaxCount: 4
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
${extra}`;

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi({ stackDelayMs: 200 });
});
afterAll(async () => {
  await api.close();
});

const create = (body: Record<string, unknown>) => api.request("POST", "/v1/clusters", { json: body });

describe("the cluster lifecycle through the resource API", () => {
  it("answers 202 with Location within well under a second, then completes", async () => {
    const started = performance.now();
    const response = await create({ name: "alpha", configuration: config(), tags: { team: "cfd" } });
    expect(performance.now() - started).toBeLessThan(500);
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe("/v1/clusters/alpha");
    expect(response.json).toMatchObject({
      name: "alpha",
      status: "CREATE_IN_PROGRESS",
      stackName: "hpc-alpha",
    });
    expect(response.json.tags).toEqual({ team: "cfd" });
    expect(response.json.createdBy).toBe("local");

    const done = await api.waitForStatus("alpha", "CREATE_COMPLETE");
    expect(done.json.headNode).toMatchObject({ state: "RUNNING", privateIp: "127.0.0.1" });
    expect(done.json.outputs).toMatchObject({ HeadNodePrivateIp: "127.0.0.1" });
  });

  it("validates a dry run, answers the normalized config, and writes nothing", async () => {
    const response = await create({
      name: "dry",
      configuration: Buffer.from(config("Tipo: typo\n")).toString("base64"),
      configurationEncoding: "base64",
      dryRun: true,
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ valid: true, normalized: { scheduler: "slurm" } });
    expect(response.json.warnings.map((w: { path: string }) => w.path)).toContain("Tipo");
    expect((await api.request("GET", "/v1/clusters/dry")).status).toBe(404);
  });

  it("replays the first answer for a repeated clientToken and refuses it for another body", async () => {
    const body = { name: "beta", configuration: config(), clientToken: "token-beta-1" };
    const first = await create(body);
    const second = await create(body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json.clusterId).toBe(first.json.clusterId);
    expect(second.json.status).toBe("CREATE_IN_PROGRESS");

    const other = await create({ ...body, tags: { changed: "yes" } });
    expect(other.status).toBe(409);
    expect(other.json.type).toBe("urn:hpc-cluster-api:problem:idempotency-conflict");
  });

  it("gives exactly one 202 to 60 concurrent creates of one name, and 409 to the 59 others", async () => {
    const responses = await Promise.all(
      Array.from({ length: 60 }, () => create({ name: "gamma", configuration: config() })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(59);
  });

  it("records a failed create with the stack's reason when the config asks the local backend to fail", async () => {
    const response = await create({
      name: "doomed",
      configuration: config("Tags:\n  - Key: local:fail\n    Value: create\n"),
    });
    expect(response.status).toBe(202);
    const failed = await api.waitForStatus("doomed", "CREATE_FAILED");
    expect(failed.json.failureReason).toMatch(/failed to create/);
    const events = await api.request("GET", "/v1/clusters/doomed/events");
    expect(events.json.items[0]).toMatchObject({ status: "CREATE_FAILED", source: "stack-event" });
  });

  it("lists by status through the index and pages without empty pages", async () => {
    for (const name of ["p1", "p2", "p3", "p4", "p5"]) {
      expect((await create({ name, configuration: config() })).status).toBe(202);
    }
    await Promise.all(
      ["p1", "p2", "p3", "p4", "p5"].map((name) => api.waitForStatus(name, "CREATE_COMPLETE")),
    );
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await api.request(
        "GET",
        `/v1/clusters?status=CREATE_COMPLETE&limit=2${token ? `&nextToken=${encodeURIComponent(token)}` : ""}`,
      );
      expect(page.json.items.length).toBeGreaterThan(0);
      seen.push(...page.json.items.map((c: { name: string }) => c.name));
      token = page.json.nextToken;
    } while (token);
    expect(seen).toEqual(expect.arrayContaining(["alpha", "p1", "p2", "p3", "p4", "p5"]));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("deletes, answers 202 again while deleting, then 404 once deleted", async () => {
    const first = await api.request("DELETE", "/v1/clusters/alpha");
    expect(first.status).toBe(202);
    expect(first.json.status).toBe("DELETE_IN_PROGRESS");
    const again = await api.request("DELETE", "/v1/clusters/alpha");
    expect(again.status).toBe(202);
    await api.waitForStatus("alpha", "DELETE_COMPLETE");
    expect((await api.request("DELETE", "/v1/clusters/alpha")).status).toBe(404);
    const live = await api.request("GET", "/v1/clusters?limit=100");
    expect(live.json.items.map((c: { name: string }) => c.name)).not.toContain("alpha");
    const deleted = await api.request("GET", "/v1/clusters?status=DELETE_COMPLETE");
    expect(deleted.json.items.map((c: { name: string }) => c.name)).toContain("alpha");
  });

  it("deletes a cluster while it is still being created, and it never comes back to CREATE_COMPLETE", async () => {
    expect((await create({ name: "hasty", configuration: config() })).status).toBe(202);
    expect((await api.request("DELETE", "/v1/clusters/hasty")).status).toBe(202);
    const done = await api.waitForStatus("hasty", "DELETE_COMPLETE");
    const events = await api.request("GET", "/v1/clusters/hasty/events");
    expect(events.json.items.map((e: { status: string }) => e.status)).not.toContain("CREATE_COMPLETE");
    expect(done.json.status).toBe("DELETE_COMPLETE");
  });
});
