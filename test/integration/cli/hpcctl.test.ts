import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, it } from "vitest";
import { validateAt } from "../../support/openapi-contract.ts";
import { type SpawnedServer, spawnLocalServer } from "../../support/spawned-server.ts";

/** The real binary, as `npx hpcctl` runs it. */
const BIN = fileURLToPath(new URL("../../../bin/hpcctl.js", import.meta.url));

const CONFIG = `HeadNode:
  InstanceType: t3.micro
Scheduling:
  Scheduler: awsbatch
  AwsBatchQueues:
    - Name: queue1
      ComputeResources:
        - Name: cr1
          InstanceTypes: [optimal]
          MaxvCpus: 4
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
`;
const FAILING_CONFIG = `${CONFIG}Tags:\n  - Key: local:fail\n    Value: create\n`;

let server: SpawnedServer;
let dataDir: string;
let workDir: string;
const children = new Set<ChildProcess>();

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** hpcctl with `args`, from a directory outside the repository, against the test's server. */
function hpcctl(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: workDir, env: environment(), timeout: 25_000 },
      (error, stdout, stderr) => {
        children.delete(child);
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    children.add(child);
  });
}

function environment(): NodeJS.ProcessEnv {
  const { HPC_API_TOKEN: _token, ...env } = process.env;
  return { ...env, HPC_API_URL: server.url };
}

/** hpcctl as a child whose output can be watched as it comes, and signalled. */
function spawnHpcctl(args: readonly string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: workDir, env: environment() });
  children.add(child);
  const seen = { stdout: "", stderr: "", firstStdoutAt: 0 };
  child.stdout.on("data", (chunk: Buffer) => {
    seen.firstStdoutAt ||= Date.now();
    seen.stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    seen.stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child);
      resolve({ code, at: Date.now() });
    }),
  );
  return { child, seen, exited };
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, checked against openapi.yaml where it matters
async function api(path: string, init: RequestInit = {}): Promise<any> {
  const response = await fetch(`${server.url}${path}`, init);
  return response.json();
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hpcctl-it-data-"));
  workDir = await mkdtemp(join(tmpdir(), "hpcctl-it-work-"));
  await writeFile(join(workDir, "cluster.yaml"), CONFIG);
  await writeFile(join(workDir, "failing.yaml"), FAILING_CONFIG);
  server = await spawnLocalServer({ DATA_DIR: dataDir, LOCAL_STACK_DELAY_MS: "100" }, 15_000);
  // The jobs' cluster is made over plain HTTP, so the job tests do not depend on `clusters create`.
  await api("/v1/clusters", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "jobs", configuration: CONFIG }),
  });
  await until(
    "cluster jobs",
    () => api("/v1/clusters/jobs"),
    (cluster) => cluster.status === "CREATE_COMPLETE",
  );
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await server?.stop();
  await Promise.all(
    [dataDir, workDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })),
  );
});

// Each test runs several hpcctl processes; on a busy 2-core machine that takes a while.
describe.concurrent("hpcctl clusters, run as a program against the local server", { timeout: 60_000 }, () => {
  it("creates a cluster with --wait, exits 0 once it is CREATE_COMPLETE, and shows it with get and list", async ({
    expect,
  }) => {
    const created = await hpcctl([
      "clusters",
      "create",
      "work",
      "--config",
      "cluster.yaml",
      "--wait",
      "-o",
      "json",
    ]);
    expect(created.stderr).toMatch(/^cluster work: CREATE_IN_PROGRESS/m);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "work", status: "CREATE_COMPLETE" });

    const [got, listed, table] = await Promise.all([
      hpcctl(["clusters", "get", "work", "--output", "json"]),
      hpcctl(["--output", "json", "clusters", "list"]),
      hpcctl(["clusters", "list"]),
    ]);
    const cluster = JSON.parse(got.stdout);
    expect(validateAt("/components/schemas/Cluster", cluster)).toEqual([]);
    expect(cluster).toMatchObject({ name: "work", status: "CREATE_COMPLETE", scheduler: "awsbatch" });
    const list = JSON.parse(listed.stdout);
    expect(validateAt("/components/schemas/ClusterList", list)).toEqual([]);
    expect(list.items.map((item: { name: string }) => item.name)).toContain("work");
    expect(table.stdout).toMatch(/^NAME +STATUS +SCHEDULER +HEAD NODE +AGE$/m);
    expect(table.stdout).toMatch(/^work +CREATE_COMPLETE +awsbatch +/m);
  });

  it("ensures one cluster when run twice in parallel, both exiting 0, and returns at once when run again", async ({
    expect,
  }) => {
    const ensure = () =>
      hpcctl(["clusters", "ensure", "burst", "--config", "cluster.yaml", "--wait", "-o", "json"]);
    const [first, second] = await Promise.all([ensure(), ensure()]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(JSON.parse(first.stdout).status).toBe("CREATE_COMPLETE");
    expect(JSON.parse(second.stdout).status).toBe("CREATE_COMPLETE");
    const again = await ensure();
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("cluster burst exists (CREATE_COMPLETE)\n");
    const list = await api("/v1/clusters?limit=100");
    expect(list.items.filter((item: { name: string }) => item.name === "burst")).toHaveLength(1);
    const events = await api("/v1/clusters/burst/events");
    expect(
      events.items.filter((event: { status: string }) => event.status === "CREATE_IN_PROGRESS"),
    ).toHaveLength(1);
  });

  it("deletes a cluster with --wait and shows its whole history with events", async ({ expect }) => {
    expect((await hpcctl(["clusters", "create", "gone", "-c", "cluster.yaml", "-w", "-q"])).code).toBe(0);
    const deleted = await hpcctl(["clusters", "delete", "gone", "--wait", "-o", "json"]);
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ name: "gone", status: "DELETE_COMPLETE" });

    const [json, table] = await Promise.all([
      hpcctl(["clusters", "events", "gone", "-o", "json"]),
      hpcctl(["clusters", "events", "gone"]),
    ]);
    const page = JSON.parse(json.stdout);
    expect(validateAt("/components/schemas/ClusterEventList", page)).toEqual([]);
    expect(page.items.map((event: { status: string }) => event.status)).toEqual([
      "DELETE_COMPLETE",
      "DELETE_IN_PROGRESS",
      "CREATE_COMPLETE",
      "CREATE_IN_PROGRESS",
    ]);
    const statuses = table.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.split(/ +/)[1]);
    expect(statuses).toEqual([
      "CREATE_IN_PROGRESS",
      "CREATE_COMPLETE",
      "DELETE_IN_PROGRESS",
      "DELETE_COMPLETE",
    ]);
  });

  it("exits 1 when --wait sees the cluster fail, with the status and the reason on stderr", async ({
    expect,
  }) => {
    const run = await hpcctl(["clusters", "create", "broken", "--config", "failing.yaml", "--wait"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^Status: +CREATE_FAILED$/m);
    expect(run.stderr).toMatch(/^cluster broken: CREATE_FAILED: .*local:fail=create/m);
  });

  it("exits 3 with the problem's title and detail on stderr for an unknown cluster", async ({ expect }) => {
    const run = await hpcctl(["clusters", "get", "nosuchcluster"]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("Cluster not found: No cluster named 'nosuchcluster' exists.\n");
  });

  it("exits 2 on a usage error, and 0 with the usage on --help", async ({ expect }) => {
    const [bad, help] = await Promise.all([
      hpcctl(["clusters", "create", "x", "--confg", "cluster.yaml"]),
      hpcctl(["jobs", "run", "--help"]),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe("hpcctl: Unknown option '--confg'");
    expect(bad.stderr).toContain("Usage: hpcctl clusters create NAME --config FILE");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: hpcctl jobs run CLUSTER");
    expect(help.stdout).toContain("Examples:");
  });
});

describe.concurrent("hpcctl jobs, run as a program against the local server", { timeout: 60_000 }, () => {
  it("submits a job, follows its output, and shows it with get, list and logs", async ({ expect }) => {
    const submitted = await hpcctl([
      "jobs",
      "submit",
      "jobs",
      "-n",
      "hello",
      "-o",
      "json",
      "--",
      "sh",
      "-c",
      "echo out-1; echo out-2",
    ]);
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(validateAt("/components/schemas/Job", job)).toEqual([]);
    expect(job).toMatchObject({
      name: "hello",
      clusterName: "jobs",
      spec: { command: ["sh", "-c", "echo out-1; echo out-2"] },
    });

    const followed = await hpcctl(["jobs", "logs", "jobs", job.jobId, "--follow"]);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe("out-1\nout-2\n");

    const [got, listed, logs] = await Promise.all([
      hpcctl(["jobs", "get", "jobs", job.jobId, "-o", "json"]),
      hpcctl(["jobs", "list", "jobs", "--status", "SUCCEEDED", "-o", "json"]),
      hpcctl(["jobs", "logs", "jobs", job.jobId, "-o", "json"]),
    ]);
    const finished = JSON.parse(got.stdout);
    expect(validateAt("/components/schemas/Job", finished)).toEqual([]);
    expect(finished).toMatchObject({ status: "SUCCEEDED", attempts: [{ exitCode: 0 }] });
    const list = JSON.parse(listed.stdout);
    expect(validateAt("/components/schemas/JobList", list)).toEqual([]);
    expect(list.items.map((item: { jobId: string }) => item.jobId)).toContain(job.jobId);
    const lines = JSON.parse(logs.stdout);
    expect(validateAt("/components/schemas/JobLogs", lines)).toEqual([]);
    expect(lines.lines.map((line: { message: string }) => line.message)).toEqual(["out-1", "out-2"]);
  });

  it("cancels a running job with jobs cancel, and the job ends CANCELLED", async ({ expect }) => {
    const submitted = await hpcctl(["jobs", "submit", "jobs", "-o", "json", "--", "sleep", "60"]);
    const { jobId } = JSON.parse(submitted.stdout);
    await until(
      "the job to run",
      () => api(`/v1/clusters/jobs/jobs/${jobId}`),
      (job) => job.status === "RUNNING",
    );
    const cancelled = await hpcctl(["jobs", "cancel", "jobs", jobId]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^Job ID: +${jobId}$`, "m"));
    const job = await until(
      "the job to end",
      () => api(`/v1/clusters/jobs/jobs/${jobId}`),
      (job) => ["CANCELLED", "FAILED", "SUCCEEDED"].includes(job.status),
    );
    expect(job.status).toBe("CANCELLED");
  });

  it("jobs run streams the job's output to stdout as it comes and exits with the job's exit code", async ({
    expect,
  }) => {
    const run = spawnHpcctl(["jobs", "run", "jobs", "--", "sh", "-c", "echo hi; sleep 2; echo bye; exit 3"]);
    const { code, at } = await run.exited;
    expect(code).toBe(3);
    expect(run.seen.stdout).toBe("hi\nbye\n");
    // "hi" arrived while the job was still sleeping, not all at the end.
    expect(at - run.seen.firstStdoutAt).toBeGreaterThan(1000);
    expect(run.seen.stderr).toMatch(/^job [0-9A-Z]{26} submitted to cluster jobs$/m);
  });

  it("jobs run killed with SIGTERM cancels the remote job and exits 143", async ({ expect }) => {
    const run = spawnHpcctl(["jobs", "run", "jobs", "--", "sh", "-c", "echo started; sleep 60"]);
    await until(
      "the job's first line",
      async () => run.seen.stdout,
      (stdout) => stdout.includes("started"),
    );
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    expect(code).toBe(143);
    const jobId = /^job ([0-9A-Z]{26}) submitted/m.exec(run.seen.stderr)?.[1];
    expect(jobId).toBeDefined();
    const job = await until(
      "the job to end",
      () => api(`/v1/clusters/jobs/jobs/${jobId}`),
      (job) => ["CANCELLED", "FAILED", "SUCCEEDED"].includes(job.status),
    );
    expect(job.status).toBe("CANCELLED");
  });
});
