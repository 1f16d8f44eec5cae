import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real Slurm (Debian's slurmctld and slurmd, with munge) under a temp dir, wired to the cloud-bursting
 * integration in `integrations/slurm/`: a partition `local` of one on-prem node and a partition `cloud` of
 * two `State=CLOUD` forwarding slots whose resume/suspend programs talk to our API through hpcctl.
 * Everything (config, state, spool, pid files, logs, munge socket) lives in the temp dir; nothing goes
 * to /etc. Daemons are stopped by their pid files.
 */

const ROOT = new URL("../../../", import.meta.url).pathname;
/** The integration under test. */
export const INTEGRATION_DIR = join(ROOT, "integrations/slurm");
const INSTALL_SCRIPT = "integrations/slurm/test/install-slurm.sh";

const BINARIES = [
  "/usr/sbin/slurmctld",
  "/usr/sbin/slurmd",
  "/usr/bin/sbatch",
  "/usr/bin/scontrol",
  "/usr/bin/squeue",
  "/usr/bin/scancel",
  "/usr/sbin/munged",
  "/usr/sbin/runuser",
];

/** The timings the tier is built around (seconds, as slurm.conf takes them). */
export const SLURM_TIMINGS = { resumeTimeout: 30, suspendTime: 8, suspendTimeout: 5 } as const;

/** The bursting target the testbed's hpc-burst.conf names. */
export const BURST_CLUSTER = "burst";

/**
 * Why the Slurm tier cannot run here, as one line, or undefined when it can. Tests call
 * {@link requireSlurm}, which turns this into a failure on CI and a warning elsewhere.
 */
export function slurmUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return "the Slurm tier runs on Linux only.";
  if (process.getuid?.() !== 0)
    return "the Slurm tier needs root (slurmd starts jobs as their users, munged runs as munge).";
  const missing = BINARIES.filter((binary) => {
    try {
      accessSync(binary, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length > 0
    ? `Slurm is not installed (missing ${missing.join(", ")}; run ${INSTALL_SCRIPT}): the Slurm tier cannot run.`
    : undefined;
}

let warned = false;

/**
 * For a test that needs Slurm: true when it may go on. Without Slurm it throws on CI (where the tier
 * must run) and otherwise prints the reason once and returns false, so the test passes with a warning.
 */
export function requireSlurm(
  testbed: SlurmTestbed | undefined,
  reason: string | undefined,
): testbed is SlurmTestbed {
  if (testbed !== undefined) return true;
  const why = reason ?? "the Slurm testbed did not start.";
  if (process.env.CI) throw new Error(`${why} CI must run the Slurm tier.`);
  if (!warned) console.warn(`[slurm tier] ${why} Its tests pass here without running; on CI they fail.`);
  warned = true;
  return false;
}

/** What a command printed and how it ended. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A node as `scontrol show node` reports it. */
export interface NodeState {
  /** `IDLE+CLOUD+POWERED_DOWN`, split at `+`. */
  readonly flags: readonly string[];
  /** The reason without its `[user@time]` suffix, or undefined. */
  readonly reason: string | undefined;
}

/** A running Slurm testbed. */
export interface SlurmTestbed {
  readonly dir: string;
  /** The config file every program reads: rewrite it to change the integration's behaviour. */
  readonly burstConfigFile: string;
  /** The environment Slurm's commands need (SLURM_CONF and a plain PATH). */
  readonly env: Readonly<Record<string, string>>;
  /** Runs a Slurm client command (sbatch, scontrol, ...) against this Slurm. */
  run(command: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
  /** Runs a program the way slurmctld runs ResumeProgram: SLURM_CONF and nothing else, no PATH. */
  runLikeSlurmctld(program: string, args: readonly string[]): Promise<CommandResult>;
  /** `sbatch ARGS`, returning the job id. */
  sbatch(args: readonly string[]): Promise<number>;
  /** `scontrol show job -o ID` as key/value pairs (JobState, ExitCode, Reason, ...). */
  job(id: number): Promise<Record<string, string>>;
  node(name: string): Promise<NodeState>;
  /** The pid of a slot's slurmd, from its pid file, when it runs. */
  slotPid(name: string): number | undefined;
  /** The integration's own log (resume, suspend, resume-fail, slot). */
  burstLog(): string;
  /** The tails of every log, for a failed test. */
  logs(): string;
  /** Cancels every job, then stops every daemon by its pid file. */
  stop(): Promise<void>;
}

function runCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error && !stderr ? error.message : "") });
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Distinct free ports (the kernel could hand the same one out twice in a row). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Polls `probe` every `intervalMs` until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid when it is alive and runs `name` (a stale pid file may name a reused pid). */
function livePid(file: string, name: string): number | undefined {
  const pid = readPid(file);
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith(name) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopPid(pid: number, timeoutMs = 5_000): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      // A zombie answers kill 0 but is gone for our purposes.
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) process.kill(pid, "SIGKILL");
}

/** Pids of resume, suspend and resume-fail runs that slurmctld started for this slurm.conf. */
function integrationPrograms(slurmConf: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (!argv.some((arg) => /\/integrations\/slurm\/(resume|suspend|resume-fail)$/.test(arg))) continue;
      const environment = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environment.includes(`SLURM_CONF=${slurmConf}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function tail(file: string, lines = 60): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(none)";
  }
}

async function idOf(flag: "-u" | "-g", user: string): Promise<number> {
  const result = await runCommand("/usr/bin/id", [flag, user], { PATH: "/usr/bin:/bin" });
  if (result.code !== 0) throw new Error(`no ${user} user: ${result.stderr.trim()}`);
  return Number(result.stdout.trim());
}

/** Options for {@link startSlurm}. */
export interface SlurmTestbedOptions {
  /** The API the integration talks to. */
  readonly apiUrl: string;
  /** The cloud cluster's configuration (YAML). */
  readonly clusterConfig: string;
}

/**
 * Writes slurm.conf, hpc-burst.conf and job_submit.lua into a fresh temp dir and starts munged, slurmctld
 * and the on-prem slurmd, resolving once the on-prem node is idle. Call {@link slurmUnavailableReason}
 * first: this throws when something that should work does not.
 */
export async function startSlurm(options: SlurmTestbedOptions): Promise<SlurmTestbed> {
  const dir = await mkdtemp(join(tmpdir(), "hpc-slurm-"));
  // munged runs as munge and must reach its directory.
  await chmod(dir, 0o755);
  for (const sub of ["etc", "state", "spool", "run", "log", "burst", "munge"]) await mkdir(join(dir, sub));
  const mungeDir = join(dir, "munge");
  await chown(mungeDir, await idOf("-u", "munge"), await idOf("-g", "munge"));
  await chmod(mungeDir, 0o755);

  const host = hostname().split(".")[0] ?? "localhost";
  const [controllerPort, onpremPort, cloud1Port, cloud2Port] = await freePorts(4);
  const slurmConf = join(dir, "etc/slurm.conf");
  const burstConfigFile = join(dir, "etc/hpc-burst.conf");
  const clusterConfigFile = join(dir, "etc/cloud-cluster.yaml");
  const mungeSocket = join(mungeDir, "munge.socket");
  const burstLogFile = join(dir, "log/hpc-burst.log");

  await writeFile(
    slurmConf,
    [
      "ClusterName=hpcburst",
      `SlurmctldHost=${host}(127.0.0.1)`,
      "SlurmUser=root",
      `SlurmctldPort=${controllerPort}`,
      `SlurmdPort=${onpremPort}`,
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${mungeSocket}`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool/%n`,
      `SlurmctldPidFile=${dir}/run/slurmctld.pid`,
      `SlurmdPidFile=${dir}/run/slurmd-%n.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd-%n.log`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "MpiDefault=none",
      "MailProg=/bin/true",
      "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
      "ReturnToService=2",
      "KillWait=10",
      "# Cloud bursting, as integrations/slurm/slurm.conf.fragment has it, with test timings.",
      "PrivateData=cloud",
      "JobSubmitPlugins=lua",
      `ResumeProgram=${INTEGRATION_DIR}/resume`,
      `SuspendProgram=${INTEGRATION_DIR}/suspend`,
      `ResumeFailProgram=${INTEGRATION_DIR}/resume-fail`,
      `ResumeTimeout=${SLURM_TIMINGS.resumeTimeout}`,
      `SuspendTime=${SLURM_TIMINGS.suspendTime}`,
      `SuspendTimeout=${SLURM_TIMINGS.suspendTimeout}`,
      "SuspendExcNodes=onprem",
      `NodeName=onprem NodeHostname=${host} NodeAddr=127.0.0.1 CPUs=1 Port=${onpremPort}`,
      `NodeName=cloud1 CPUs=1 State=CLOUD Port=${cloud1Port}`,
      `NodeName=cloud2 CPUs=1 State=CLOUD Port=${cloud2Port}`,
      "PartitionName=local Nodes=onprem Default=YES MaxTime=INFINITE State=UP",
      "PartitionName=cloud Nodes=cloud[1-2] MaxTime=INFINITE State=UP",
      "",
    ].join("\n"),
  );
  await writeFile(clusterConfigFile, options.clusterConfig);
  await writeFile(
    burstConfigFile,
    [
      "# hpc-burst.conf for the Slurm test tier",
      `HPC_API_URL=${options.apiUrl}`,
      `CLUSTER_NAME=${BURST_CLUSTER}`,
      `CLUSTER_CONFIG=${clusterConfigFile}`,
      "SLOTS=2",
      "SLOT_PREFIX=cloud",
      "PARTITION=cloud",
      "EPHEMERAL=yes",
      "SLOT_ADDR=127.0.0.1",
      `INSTALL_DIR=${ROOT.replace(/\/$/, "")}`,
      `NODE=${process.execPath}`,
      `LOG_FILE=${burstLogFile}`,
      `STATE_DIR=${dir}/burst`,
      "",
    ].join("\n"),
  );
  // slurmctld loads job_submit.lua from slurm.conf's directory; hpc-burst.conf sits beside it.
  await copyFile(join(INTEGRATION_DIR, "job_submit.lua"), join(dir, "etc/job_submit.lua"));

  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: process.env.HOME ?? "/root",
    LANG: "C.UTF-8",
    SLURM_CONF: slurmConf,
  };
  const run = (command: string, args: readonly string[], timeoutMs?: number) =>
    runCommand(command, args, env, timeoutMs);
  const mungePidFile = join(mungeDir, "munged.pid");
  const pidFiles = {
    slurmctld: join(dir, "run/slurmctld.pid"),
    slurmd: (node: string) => join(dir, `run/slurmd-${node}.pid`),
  };

  const logs = () =>
    [
      ["slurmctld.log", join(dir, "log/slurmctld.log")],
      ["hpc-burst.log", burstLogFile],
      ["slurmd-onprem.log", join(dir, "log/slurmd-onprem.log")],
      ["slurmd-cloud1.log", join(dir, "log/slurmd-cloud1.log")],
      ["slurmd-cloud2.log", join(dir, "log/slurmd-cloud2.log")],
      ["munged.log", join(mungeDir, "munged.log")],
    ]
      .map(([name, file]) => `----- ${name} (${file}) -----\n${tail(file ?? "")}`)
      .join("\n");

  const stop = async () => {
    if (livePid(pidFiles.slurmctld, "slurmctld") !== undefined) {
      // Jobs first, so their slurmstepds (and the hpcctl processes in them) end before the daemons.
      await run("/usr/bin/scancel", ["--partition=cloud"]);
      await run("/usr/bin/scancel", ["--partition=local"]);
      await waitFor(
        "every job to end",
        async () =>
          (await run("/usr/bin/squeue", ["-h", "-t", "R,CG,CF"])).stdout.trim() === "" ? true : undefined,
        15_000,
      ).catch((error: unknown) => console.error(`[slurm tier] ${error}`));
    }
    // The controller next, so that it starts no more resume or suspend runs; then wait for those it
    // started (hpcctl gives up on a stopped API within seconds): they may still start or stop slots.
    const controller = livePid(pidFiles.slurmctld, "slurmctld");
    if (controller !== undefined) await stopPid(controller);
    await waitFor(
      "the integration's programs to finish",
      async () => (integrationPrograms(slurmConf).length === 0 ? true : undefined),
      30_000,
    ).catch((error: unknown) => console.error(`[slurm tier] ${error}: ${integrationPrograms(slurmConf)}`));
    for (const node of ["cloud1", "cloud2", "onprem"]) {
      const pid = livePid(pidFiles.slurmd(node), "slurmd");
      if (pid !== undefined) await stopPid(pid);
    }
    const munged = livePid(mungePidFile, "munged");
    if (munged !== undefined) await stopPid(munged);
  };

  const testbed: SlurmTestbed = {
    dir,
    burstConfigFile,
    env,
    run,
    runLikeSlurmctld: (program, args) => runCommand(program, args, { SLURM_CONF: slurmConf }, 60_000),
    async sbatch(args) {
      const result = await run("/usr/bin/sbatch", args);
      const match = /Submitted batch job (\d+)/.exec(result.stdout);
      if (result.code !== 0 || !match?.[1])
        throw new Error(`sbatch ${args.join(" ")} failed (${result.code}): ${result.stderr}${result.stdout}`);
      return Number(match[1]);
    },
    async job(id) {
      const result = await run("/usr/bin/scontrol", ["show", "job", "-o", String(id)]);
      if (result.code !== 0) throw new Error(`scontrol show job ${id}: ${result.stderr}`);
      const fields: Record<string, string> = {};
      for (const match of result.stdout.matchAll(/(\w+)=(\S*)/g))
        if (match[1]) fields[match[1]] = match[2] ?? "";
      return fields;
    },
    async node(name) {
      const result = await run("/usr/bin/scontrol", ["show", "node", name]);
      if (result.code !== 0) throw new Error(`scontrol show node ${name}: ${result.stderr}`);
      const state = /\bState=(\S+)/.exec(result.stdout)?.[1] ?? "";
      const reason = /^\s*Reason=(.*?)(?: \[[^\]]*\])?\s*$/m.exec(result.stdout)?.[1];
      return { flags: state.split("+"), reason };
    },
    slotPid: (name) => livePid(pidFiles.slurmd(name), "slurmd"),
    burstLog: () => (existsSync(burstLogFile) ? readFileSync(burstLogFile, "utf8") : ""),
    logs,
    stop,
  };

  try {
    await startDaemon("munged", "/usr/sbin/runuser", [
      "-u",
      "munge",
      "--",
      "/usr/sbin/munged",
      `--socket=${mungeSocket}`,
      `--pid-file=${mungePidFile}`,
      `--log-file=${join(mungeDir, "munged.log")}`,
      `--seed-file=${join(mungeDir, "munged.seed")}`,
    ]);
    await waitFor("munged's socket", async () => (existsSync(mungeSocket) ? true : undefined), 10_000, 50);
    await startDaemon("slurmctld", "/usr/sbin/slurmctld", ["-i"]);
    await startDaemon("slurmd", "/usr/sbin/slurmd", ["-N", "onprem"]);
    await waitFor(
      "the on-prem node to be idle",
      async () => {
        const node = await testbed.node("onprem");
        return node.flags.includes("IDLE") ? true : undefined;
      },
      20_000,
      100,
    );
  } catch (error) {
    const message = `${error instanceof Error ? error.message : String(error)}\n${logs()}`;
    await stop();
    throw new Error(`the Slurm testbed did not start: ${message}`);
  }
  return testbed;

  /** Starts a daemon that forks into the background; its foreground part must exit 0. */
  async function startDaemon(name: string, command: string, args: readonly string[]): Promise<void> {
    const child: ChildProcess = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on("error", (error) => {
        output += error.message;
        resolve(-1);
      });
      child.on("exit", (exitCode) => resolve(exitCode));
    });
    // The daemon it forked may hold the pipes open: they must not keep this process alive.
    child.stdout?.destroy();
    child.stderr?.destroy();
    if (code !== 0) throw new Error(`${name} exited with ${code}: ${output.trim()}`);
  }
}

/** Removes the testbed's directory (keep it when a test failed: its logs say why). */
export async function removeTestbedDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Reads a file the Slurm job wrote, or "" while it is missing. */
export async function readJobOutput(file: string): Promise<string> {
  return readFile(file, "utf8").catch(() => "");
}
