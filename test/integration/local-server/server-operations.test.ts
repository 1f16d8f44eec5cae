import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnLocalServer } from "../../support/spawned-server.ts";

const CONFIG = `HeadNode:
  InstanceType: t3.micro
Scheduling:
  Scheduler: awsbatch
  AwsBatchQueues:
    - Name: queue1
      ComputeResources:
        - Name: cr1
          InstanceTypes: [optimal]
          MaxvCpus: 16
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
`;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hpc-api-ops-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const createCluster = (url: string, name: string) =>
  fetch(`${url}/v1/clusters`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, configuration: CONFIG }),
  });

async function statusOf(
  url: string,
  name: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/clusters/${name}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("operating the local server as npm start runs it", () => {
  it("prints the listening line within 3 s, and SIGTERM finishes in-flight work and keeps the data", async () => {
    const dataDir = await tempDir();
    const server = await spawnLocalServer({ DATA_DIR: dataDir, LOCAL_STACK_DELAY_MS: "100" });
    expect(server.startupMs).toBeLessThan(3000);
    expect(server.output()).toMatch(/curl .*\/Prod\/pcluster\?command=create&cluster_name=cluster1/);

    // A request whose body is still arriving when SIGTERM lands: it must be answered, not cut.
    const body = JSON.stringify({ name: "viacli", configuration: CONFIG });
    const inFlight = new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${server.url}/v1/clusters`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.write(body.slice(0, 20));
      setTimeout(() => req.end(body.slice(20)), 400);
    });
    await new Promise((r) => setTimeout(r, 150));
    const exit = server.stop("SIGTERM");
    expect(await inFlight).toBe(202);
    expect(await exit).toBe(0);

    const again = await spawnLocalServer({ DATA_DIR: dataDir, LOCAL_STACK_DELAY_MS: "100" });
    try {
      expect((await statusOf(again.url, "viacli")).status).toBe(200);
    } finally {
      expect(await again.stop("SIGINT")).toBe(0);
    }
  });

  it("finishes after a restart a create that was in flight when the server stopped", async () => {
    const dataDir = await tempDir();
    const first = await spawnLocalServer({ DATA_DIR: dataDir, LOCAL_STACK_DELAY_MS: "1500" });
    expect((await createCluster(first.url, "durable")).status).toBe(202);
    expect(await first.stop()).toBe(0);

    const second = await spawnLocalServer({ DATA_DIR: dataDir, LOCAL_STACK_DELAY_MS: "1500" });
    try {
      const deadline = Date.now() + 10_000;
      let seen = await statusOf(second.url, "durable");
      while (seen.body.status !== "CREATE_COMPLETE" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await statusOf(second.url, "durable");
      }
      expect(seen.body.status).toBe("CREATE_COMPLETE");
      expect((seen.body.outputs as Record<string, string>).JobQueueArn).toMatch(
        /^arn:aws:batch:.*:job-queue\//,
      );
    } finally {
      await second.stop();
    }
  });

  it("refuses to start on a non-loopback address without API_TOKEN, saying why", async () => {
    await expect(spawnLocalServer({ HOST: "0.0.0.0", DATA_DIR: await tempDir() })).rejects.toThrow(
      /exited \(1\)[\s\S]*API_TOKEN/,
    );
  });
});
