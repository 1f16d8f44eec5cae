import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type SpawnedServer, spawnLocalServer } from "../../support/spawned-server.ts";
import {
  BURST_CLUSTER,
  freePorts,
  INTEGRATION_DIR,
  type NodeState,
  readJobOutput,
  removeTestbedDir,
  requireSlurm,
  SLURM_TIMINGS,
  type SlurmTestbed,
  slurmUnavailableReason,
  startSlurm,
  waitFor,
} from "./slurm-testbed.ts";

/**
 * The Slurm cloud-bursting integration (integrations/slurm/) against a real Slurm: Debian's slurmctld
 * and slurmd call its resume and suspend programs, which drive our local API through bin/hpcctl.js, and
 * jobs on the cloud partition run in the API's local runner. The steps build on each other, in order:
 * burst, cancel, idle power-down, then the failure paths.
 */

const CLUSTER_CONFIG = `HeadNode:
  InstanceType: t3.micro
Scheduling:
  Scheduler: awsbatch
  AwsBatchQueues:
    - Name: burst
      ComputeResources:
        - Name: burst
          InstanceTypes: [optimal]
          MaxvCpus: 4
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
`;
/** The local stacks fail to create a cluster with this tag. */
const FAILING_CLUSTER_CONFIG = `${CLUSTER_CONFIG}Tags:\n  - Key: local:fail\n    Value: create\n`;

const SLURM_DONE = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"];

const unavailable = slurmUnavailableReason();
let slurm: SlurmTestbed | undefined;
let api: SpawnedServer | undefined;
let apiUrl = "";
let dataDir = "";
let failed = false;
/** The long job of the script-file step, cancelled by the scancel step. */
let tricky: number | undefined;
/** The job left pending by the API-down step, cancelled by the next one. */
let strandedJob: number | undefined;

async function startApi(port: number): Promise<SpawnedServer> {
  return spawnLocalServer({ PORT: String(port), DATA_DIR: dataDir, LOCAL_STACK_DELAY_MS: "300" }, 20_000);
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field
async function apiJson(path: string): Promise<any> {
  const response = await fetch(`${apiUrl}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field
async function apiJob(name: string): Promise<any> {
  const page = await apiJson(`/v1/clusters/${BURST_CLUSTER}/jobs?limit=100`);
  const summary = page.items.find((item: { name: string }) => item.name === name);
  return summary ? apiJson(`/v1/clusters/${BURST_CLUSTER}/jobs/${summary.jobId}`) : undefined;
}

async function apiLogLines(jobId: string): Promise<string[]> {
  const page = await apiJson(`/v1/clusters/${BURST_CLUSTER}/jobs/${jobId}/logs?limit=100`);
  return page.lines.map((line: { message: string }) => line.message);
}

async function finishedJob(testbed: SlurmTestbed, id: number, timeoutMs: number) {
  return waitFor(
    `Slurm job ${id} to finish`,
    async () => {
      const job = await testbed.job(id);
      return SLURM_DONE.includes(job.JobState ?? "") ? job : undefined;
    },
    timeoutMs,
    500,
  );
}

async function nodeWhere(
  testbed: SlurmTestbed,
  name: string,
  what: string,
  test: (node: NodeState) => boolean,
  timeoutMs: number,
): Promise<NodeState> {
  return waitFor(
    `${name} ${what}`,
    async () => {
      const node = await testbed.node(name);
      return test(node) ? node : undefined;
    },
    timeoutMs,
    200,
  );
}

/** A process's blocked signals, from /proc (bit N-1 is signal N). */
async function blockedSignals(pid: number | undefined): Promise<bigint> {
  if (pid === undefined) throw new Error("no such slurmd");
  const mask = /^SigBlk:\s*([0-9a-f]+)$/m.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1];
  if (mask === undefined) throw new Error(`no SigBlk line for ${pid}`);
  return BigInt(`0x${mask}`);
}

/** Prints every log when the running test fails, and keeps the temp dirs. */
function printLogsOnFailure(): void {
  onTestFailed(() => {
    failed = true;
    console.error(
      `[slurm tier] logs:\n${slurm?.logs() ?? "(no testbed)"}\n----- API server -----\n${api?.output().slice(-4_000) ?? "(stopped)"}`,
    );
  });
}

beforeAll(async () => {
  if (unavailable) return;
  const [port] = await freePorts(1);
  dataDir = await mkdtemp(join(tmpdir(), "hpc-slurm-api-"));
  apiUrl = `http://127.0.0.1:${port}`;
  api = await startApi(Number(port));
  slurm = await startSlurm({ apiUrl, clusterConfig: CLUSTER_CONFIG });
}, 60_000);

afterAll(async () => {
  await slurm?.stop();
  await api?.stop();
  if (failed) {
    console.error(`[slurm tier] kept ${slurm?.dir} and ${dataDir} for a look`);
  } else {
    if (slurm) await removeTestbedDir(slurm.dir);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);

describe("Slurm cloud bursting through the API, against a real Slurm", () => {
  it("runs `sbatch -p cloud --wrap` in the cloud cluster: resume creates it through the API, output and exit code come back", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();
    const started = Date.now();
    const output = join(slurm.dir, "hello-%j.out");

    const id = await slurm.sbatch(["-p", "cloud", "-o", output, "--wrap", "echo hello-from-cloud; exit 3"]);
    const job = await finishedJob(slurm, id, 90_000);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    // Slurm's view: the job's own exit code and output.
    expect(job.JobState).toBe("FAILED");
    expect(job.ExitCode).toBe("3:0");
    expect(job.NodeList).toBe("cloud1");
    expect(await readJobOutput(output.replace("%j", String(id)))).toContain("hello-from-cloud");
    // It went through job_submit.lua: the script Slurm ran is the wrapper, not the one submitted.
    const script = await slurm.run("/usr/bin/scontrol", ["write", "batch_script", String(id), "-"]);
    expect(script.stdout).toContain("# hpc-burst: wrapped by job_submit.lua");
    expect(script.stdout).not.toContain("hello-from-cloud");
    // slurmctld called resume with the hostlist and the waiting job.
    expect(slurm.burstLog()).toMatch(new RegExp(`resume cloud1 \\(cluster burst\\) for .*"job_id":${id}\\b`));
    // The API's view: the cluster it created, and the job its local runner ran.
    expect((await apiJson(`/v1/clusters/${BURST_CLUSTER}`)).status).toBe("CREATE_COMPLETE");
    const cloudJob = await apiJob(`slurm-${id}`);
    expect(cloudJob).toMatchObject({ status: "FAILED" });
    expect(cloudJob.attempts.at(-1).exitCode).toBe(3);
    expect(await apiLogLines(cloudJob.jobId)).toContain("hello-from-cloud");
    // resume runs with SIGTERM & co. blocked; the slot's slurmd was started with a clean mask all the
    // same: the one the on-prem slurmd, started from here, has.
    const slot = await blockedSignals(slurm.slotPid("cloud1"));
    expect(slot & (1n << BigInt(constants.signals.SIGTERM - 1))).toBe(0n);
    expect(slot).toBe(await blockedSignals(slurm.slotPid("onprem")));
    console.log(`[slurm tier] burst job ${id}: submitted to finished in ${seconds} s`);
  }, 120_000);

  it("runs a script file with #SBATCH lines as written, and resume called again, even in parallel, changes nothing", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();
    const testbed = slurm;
    // Quotes, expansions, non-ASCII and the wrapper's own heredoc delimiter must all survive the wrapping.
    const scriptFile = join(testbed.dir, "tricky.sh");
    await writeFile(
      scriptFile,
      [
        "#!/bin/sh",
        "#SBATCH --job-name=tricky",
        `echo "started $((6 * 7)) 'single' \\"double\\" \\$HOME"`,
        "cat <<'HPC_BURST_SCRIPT'",
        "HPC_BURST_SCRIPT",
        "echo ünïcödé",
        "sleep 300",
        "",
      ].join("\n"),
    );
    const cluster = await apiJson(`/v1/clusters/${BURST_CLUSTER}`);
    const slurmd = testbed.slotPid("cloud1");

    const id = await testbed.sbatch(["-p", "cloud", "-o", join(testbed.dir, "tricky-%j.out"), scriptFile]);
    tricky = id;
    const running = await waitFor(
      "the cloud job to run and print its first lines",
      async () => {
        const job = await apiJob(`slurm-${id}`);
        if (job?.status !== "RUNNING") return undefined;
        const lines = await apiLogLines(job.jobId);
        return lines.includes("ünïcödé") ? { job, lines } : undefined;
      },
      60_000,
    );
    expect(running.lines).toEqual([`started 42 'single' "double" $HOME`, "ünïcödé"]);
    expect(await testbed.job(id)).toMatchObject({
      JobName: "tricky",
      JobState: "RUNNING",
      NodeList: "cloud1",
    });

    // As slurmctld runs it (no PATH), twice at once, for the slot that is already up.
    const resume = () => testbed.runLikeSlurmctld(join(INTEGRATION_DIR, "resume"), ["cloud1"]);
    const again = await Promise.all([resume(), resume()]);
    expect(again.map((result) => result.code)).toEqual([0, 0]);
    expect(testbed.slotPid("cloud1")).toBe(slurmd);
    expect(await apiJson(`/v1/clusters/${BURST_CLUSTER}`)).toMatchObject({
      status: "CREATE_COMPLETE",
      clusterId: cluster.clusterId,
    });
    expect((await apiJob(`slurm-${id}`)).status).toBe("RUNNING");
  }, 90_000);

  it("cancels the cloud job when the Slurm job running it is cancelled with scancel", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();
    if (tricky === undefined) throw new Error("the previous step left no running burst job");
    const id = tricky;
    const running = await apiJob(`slurm-${id}`);
    expect(running.status).toBe("RUNNING");

    const cancelled = await slurm.run("/usr/bin/scancel", [String(id)]);
    expect(cancelled.code).toBe(0);

    const cloudJob = await waitFor(
      "the cloud job to be CANCELLED",
      async () => {
        const job = await apiJob(`slurm-${id}`);
        return job?.status === "CANCELLED" ? job : undefined;
      },
      30_000,
    );
    expect(cloudJob.jobId).toBe(running.jobId);
    expect((await finishedJob(slurm, id, 30_000)).JobState).toBe("CANCELLED");
  }, 60_000);

  it("powers idle slots down after SuspendTime and deletes the ephemeral cluster through the API", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();
    const testbed = slurm;
    const idleSince = Date.now();

    await waitFor(
      "suspend to stop cloud1's slurmd",
      async () => (testbed.slotPid("cloud1") === undefined ? true : undefined),
      (SLURM_TIMINGS.suspendTime + 30) * 1000,
    );
    const suspendedAfter = ((Date.now() - idleSince) / 1000).toFixed(1);
    expect(testbed.burstLog()).toMatch(/suspend cloud1\b/);
    const node = await testbed.node("cloud1");
    expect(node.flags.some((flag) => flag === "POWERING_DOWN" || flag === "POWERED_DOWN")).toBe(true);

    const cluster = await waitFor(
      "the cluster to be DELETE_COMPLETE",
      async () => {
        const current = await apiJson(`/v1/clusters/${BURST_CLUSTER}`);
        return current.status === "DELETE_COMPLETE" ? current : undefined;
      },
      30_000,
    );
    expect(cluster.name).toBe(BURST_CLUSTER);
    expect(testbed.burstLog()).toMatch(/every slot is suspended: deleting the ephemeral cluster burst/);
    console.log(`[slurm tier] idle slots suspended ${suspendedAfter} s after the last job ended`);
  }, 90_000);

  it("marks the slots DOWN with an actionable reason within ResumeTimeout when the API is unreachable", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();
    const testbed = slurm;
    await api?.stop();
    api = undefined;
    // A job sent while the slots are still powering down would wait for a scheduler pass (up to 60 s).
    for (const name of ["cloud1", "cloud2"]) {
      await nodeWhere(
        testbed,
        name,
        "to be powered down",
        (node) => node.flags.includes("POWERED_DOWN"),
        (SLURM_TIMINGS.suspendTimeout + 15) * 1000,
      );
    }

    const submitted = Date.now();
    strandedJob = await testbed.sbatch(["-p", "cloud", "-o", "/dev/null", "--wrap", "echo never"]);
    const down = await nodeWhere(
      testbed,
      "cloud1",
      "to be DOWN with the integration's reason",
      (node) => node.flags.includes("DOWN") && (node.reason ?? "").startsWith("cloud cluster"),
      SLURM_TIMINGS.resumeTimeout * 1000,
    );
    const seconds = (Date.now() - submitted) / 1000;

    expect(seconds).toBeLessThan(SLURM_TIMINGS.resumeTimeout);
    expect(down.reason).toMatch(
      new RegExp(
        `^cloud cluster burst: API error at ${apiUrl.replace(/\./g, "\\.")}: .+; once the API answers, then: scontrol update nodename=cloud1 state=resume$`,
      ),
    );
    expect((await testbed.job(strandedJob)).JobState).toBe("PENDING");
    // Powered down, it keeps the reason: ResumeTimeout would otherwise replace it with its own.
    const settled = await nodeWhere(
      testbed,
      "cloud1",
      "to power down, still DOWN",
      (node) => node.flags.includes("DOWN") && node.flags.includes("POWERED_DOWN"),
      (SLURM_TIMINGS.suspendTimeout + 10) * 1000,
    );
    expect(settled.reason).toBe(down.reason);
    console.log(`[slurm tier] API down: cloud1 DOWN with the reason ${seconds.toFixed(1)} s after sbatch`);
  }, 90_000);

  it("puts the API's CREATE_FAILED reason on the slots when the cloud cluster cannot be created", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();
    const testbed = slurm;
    api = await startApi(Number(new URL(apiUrl).port));
    if (strandedJob !== undefined) await testbed.run("/usr/bin/scancel", [String(strandedJob)]);
    const config = await readFile(testbed.burstConfigFile, "utf8");
    const failingConfigFile = join(testbed.dir, "etc/failing-cluster.yaml");
    await writeFile(failingConfigFile, FAILING_CLUSTER_CONFIG);
    await writeFile(
      testbed.burstConfigFile,
      config.replace(/^CLUSTER_CONFIG=.*$/m, `CLUSTER_CONFIG=${failingConfigFile}`),
    );
    // What the reason tells the admin to do once the cause is fixed.
    expect((await testbed.run("/usr/bin/scontrol", ["update", "nodename=cloud1", "state=resume"])).code).toBe(
      0,
    );
    await nodeWhere(
      testbed,
      "cloud1",
      "to be back in service",
      (node) => !node.flags.includes("DOWN"),
      10_000,
    );

    await testbed.sbatch(["-p", "cloud", "-o", "/dev/null", "--wrap", "echo never"]);
    const down = await nodeWhere(
      testbed,
      "cloud1",
      "to be DOWN with the cluster's failure",
      (node) => node.flags.includes("DOWN") && (node.reason ?? "").startsWith("cloud cluster"),
      SLURM_TIMINGS.resumeTimeout * 1000,
    );

    // The failed ephemeral cluster is not left behind: the power-down's suspend deletes it.
    await waitFor(
      "the failed cluster to be deleted",
      async () => {
        const cluster = await apiJson(`/v1/clusters/${BURST_CLUSTER}`);
        return cluster.status === "DELETE_COMPLETE" ? cluster : undefined;
      },
      30_000,
    );
    expect(testbed.burstLog()).toMatch(/deleting the ephemeral cluster burst \(CREATE_FAILED\)/);
    expect(down.reason).toMatch(
      /^cloud cluster burst: CREATE_FAILED: The following resource\(s\) failed to create: \[HeadNode\]\..*; fix .*failing-cluster\.yaml, then: scontrol update nodename=cloud1 state=resume$/,
    );
  }, 60_000);

  it("refuses, with a message, what job_submit.lua cannot send to the cloud: srun, and a partition list mixing cloud with others", async () => {
    if (!requireSlurm(slurm, unavailable)) return;
    printLogsOnFailure();

    const interactive = await slurm.run("/usr/bin/srun", ["-p", "cloud", "true"], 20_000);
    const mixed = await slurm.run("/usr/bin/sbatch", ["-p", "cloud,local", "--wrap", "true"]);

    expect(interactive.code).not.toBe(0);
    expect(interactive.stderr).toContain(
      "hpc-burst: partition cloud runs batch scripts (sbatch) in the cloud cluster",
    );
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toContain("hpc-burst: submit to partition cloud on its own");
  }, 30_000);
});
