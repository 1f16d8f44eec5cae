import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import type { Cluster } from "../../domain/cluster.ts";
import { clusterUserFor } from "../../domain/cluster-spec.ts";
import {
  type DomainError,
  type FieldIssue,
  InvalidNextTokenError,
  RequestValidationError,
  ServiceUnavailableError,
  UpstreamError,
} from "../../domain/errors.ts";
import {
  isTerminalJob,
  JOB_NAME,
  JOB_STATUSES,
  type Job,
  type JobAttempt,
  type JobObservation,
  type JobSpec,
  type JobStatus,
} from "../../domain/job.ts";
import type { Clock } from "../../ports/clock.ts";
import type { JobScheduler, LogLine } from "../../ports/job-scheduler.ts";
import { INPUT_URI_ENV, type ResolveExternalId, SCRIPT_ENV } from "./batch-job-scheduler.ts";
import { mapAwsError } from "./cloudformation-stack-provisioner.ts";

/*
 * Slurm on a ParallelCluster head node, through SSM Run Command (`AWS-RunShellScript`, run as root).
 *
 * The rule: no user string is ever part of a command line. The commands sent are fixed templates into
 * which only validated values are put: numeric Slurm job ids, numbers, the OS user ParallelCluster
 * creates (from the cluster's OS), and base64 text (whose alphabet cannot break out of single quotes).
 * Everything the user gave (job name, environment, command, script, input URI) travels inside the batch
 * script, which is sent base64-encoded, decoded on the node into a file and handed to `sbatch` as data:
 * sbatch options are `#SBATCH` directives built from typed, validated fields; environment variables are
 * `export NAME='value'` lines (single-quoted, `'` escaped); the user's script is base64 again inside it,
 * decoded on the compute node and run by /bin/sh, like on AWS Batch.
 *
 * Jobs run as the cluster's default user (ec2-user, ubuntu, centos: never root); their output goes to
 * `/home/<user>/.hpc-cluster-api/jobs/<slurm id>.out` (array tasks: `<id>_<index>.out`) on /home, which
 * ParallelCluster shares with the compute nodes. Every Slurm command and every read of a job's file runs
 * as that user too (`runuser`), so a user who controls those files cannot make root read anything else.
 */

/** Where ParallelCluster installs Slurm's commands. */
export const DEFAULT_SLURM_BIN = "/opt/slurm/bin";
/** SSM's document for shell commands on Linux. */
export const RUN_SHELL_SCRIPT = "AWS-RunShellScript";
/** Slurm job ids per describe command, so the answer stays under SSM's 24,000 characters of output. */
export const DESCRIBE_IDS_PER_COMMAND = 40;

/** Output lines per logs page at most, and the bytes and line length read through SSM per page. */
const MAX_LOG_LINES = 1_000;
const MAX_LOG_BYTES = 20_000;
const MAX_LOG_LINE_CHARS = 4_000;
const MAX_TOKEN_LENGTH = 512;

const SLURM_ID = /^[0-9]{1,10}$/;
const INSTANCE_ID = /^(?:i|mi)-[0-9a-f]{8,17}$/;
const OS_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SLURM_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

/**
 * Slurm job states (squeue `%T`, sacct `State`) as our statuses, with the reason a failure gives. States
 * not listed (rare transitional ones) leave the job out of an observation until they settle.
 */
export const SLURM_STATES: Readonly<
  Record<string, { readonly status: JobStatus; readonly reason?: string }>
> = {
  PENDING: { status: "RUNNABLE" },
  REQUEUED: { status: "RUNNABLE" },
  REQUEUE_HOLD: { status: "RUNNABLE" },
  REQUEUE_FED: { status: "RUNNABLE" },
  RESV_DEL_HOLD: { status: "RUNNABLE" },
  SPECIAL_EXIT: { status: "RUNNABLE" },
  CONFIGURING: { status: "STARTING" },
  RUNNING: { status: "RUNNING" },
  COMPLETING: { status: "RUNNING" },
  STAGE_OUT: { status: "RUNNING" },
  SIGNALING: { status: "RUNNING" },
  RESIZING: { status: "RUNNING" },
  SUSPENDED: { status: "RUNNING" },
  STOPPED: { status: "RUNNING" },
  COMPLETED: { status: "SUCCEEDED" },
  FAILED: { status: "FAILED", reason: "FAILED: the job exited with a non-zero code" },
  TIMEOUT: { status: "FAILED", reason: "TIMEOUT: the job ran past its time limit" },
  NODE_FAIL: { status: "FAILED", reason: "NODE_FAIL: a node of the job failed" },
  OUT_OF_MEMORY: { status: "FAILED", reason: "OUT_OF_MEMORY: the job ran out of memory" },
  BOOT_FAIL: { status: "FAILED", reason: "BOOT_FAIL: a node of the job failed to boot" },
  DEADLINE: { status: "FAILED", reason: "DEADLINE: the job missed its deadline" },
  PREEMPTED: { status: "FAILED", reason: "PREEMPTED: the job was preempted" },
  CANCELLED: { status: "CANCELLED", reason: "CANCELLED: the job was cancelled in Slurm" },
};

/** Options of {@link SlurmSsmScheduler}. */
export interface SlurmSsmSchedulerOptions {
  readonly ssm: SSMClient;
  /** The cluster record of a job (the job carries only the name): the cluster store's `get`. */
  readonly getCluster: (clusterName: string) => Promise<Cluster | undefined>;
  /** Our job id -> Slurm job id, for `dependsOn` (the job store's record `externalId`). */
  readonly resolveExternalId: ResolveExternalId;
  /** Waits between polls of a command's result; tests pass one that returns at once. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Time source of `describe` observations; the system clock by default. */
  readonly clock?: Clock;
  /** Directory of sbatch, squeue, sacct and scancel on the head node (default `/opt/slurm/bin`). */
  readonly slurmBin?: string;
  /** Longest total wait for one command's result, in ms (default 20,000: inside API Gateway's 29 s). */
  readonly commandWaitMs?: number;
}

/** What one SSM command gave back. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

function issue(path: string, message: string): FieldIssue {
  return { path, message };
}

/** `value` as one single-quoted shell word: the only quote that needs care is `'` itself. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** Slurm's `--time` as days-hours:minutes:seconds. */
export function slurmTime(seconds: number): string {
  const total = Math.ceil(seconds);
  const days = Math.floor(total / 86_400);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${days}-${pad(Math.floor((total % 86_400) / 3_600))}:${pad(Math.floor((total % 3_600) / 60))}:${pad(total % 60)}`;
}

/**
 * Why Slurm (as this adapter runs it) cannot take this job, as field issues; empty when it can. Options
 * that only AWS Batch has are refused rather than silently dropped.
 */
export function slurmJobIssues(name: string, spec: JobSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!JOB_NAME.test(name)) {
    issues.push(issue("body.name", "1-128 letters, digits, '-' and '_', starting with a letter or digit"));
  }
  if ((spec.command === undefined) === (spec.script === undefined)) {
    issues.push(issue("body.command", "give exactly one of command (an argv array) and script"));
  }
  if (spec.command !== undefined && spec.command.length === 0) {
    issues.push(issue("body.command", "the command needs at least the program"));
  }
  // `exec -x` would be an option of the shell's exec, not a program.
  if (spec.command?.[0]?.startsWith("-")) {
    issues.push(issue("body.command[0]", "the program name cannot start with '-'"));
  }
  if (spec.command?.some((arg) => arg.includes("\0")) || spec.script?.includes("\0")) {
    issues.push(issue(spec.script !== undefined ? "body.script" : "body.command", "must not contain NUL"));
  }
  if (spec.image !== undefined) {
    issues.push(
      issue("body.image", "Slurm runs jobs on the nodes' own OS: image applies to awsbatch clusters"),
    );
  }
  if (spec.logGroup !== undefined) {
    issues.push(
      issue(
        "body.logGroup",
        "Slurm writes output to a file on the cluster: logGroup applies to awsbatch clusters",
      ),
    );
  }
  if (
    spec.retryStrategy !== undefined &&
    (spec.retryStrategy.attempts !== 1 || (spec.retryStrategy.evaluateOnExit ?? []).length > 0)
  ) {
    issues.push(
      issue(
        "body.retryStrategy",
        "Slurm has no retry strategy: leave it out (or attempts 1) on a slurm cluster",
      ),
    );
  }
  for (const [key, value] of Object.entries(spec.environment)) {
    if (!ENV_NAME.test(key)) {
      issues.push(
        issue(`body.environment.${key}`, "names use letters, digits and '_', not starting with a digit"),
      );
    } else if (key.startsWith("SLURM_") || key === SCRIPT_ENV || key === INPUT_URI_ENV) {
      issues.push(issue(`body.environment.${key}`, "this name is reserved (SLURM_*, HPC_JOB_*)"));
    } else if (value.includes("\0")) {
      issues.push(issue(`body.environment.${key}`, "values must not contain NUL"));
    }
  }
  if (spec.inputUri?.includes("\0")) issues.push(issue("body.inputUri", "must not contain NUL"));
  if (spec.vcpus !== undefined && !(spec.vcpus > 0 && spec.vcpus <= 1_024)) {
    issues.push(issue("body.vcpus", "a positive number of CPUs"));
  }
  if (spec.memoryMiB !== undefined && !(Number.isInteger(spec.memoryMiB) && spec.memoryMiB >= 1)) {
    issues.push(issue("body.memoryMiB", "a whole number of MiB"));
  }
  if (
    spec.arraySize !== undefined &&
    !(Number.isInteger(spec.arraySize) && spec.arraySize >= 2 && spec.arraySize <= 10_000)
  ) {
    issues.push(issue("body.arraySize", "a whole number from 2 to 10,000"));
  }
  if (spec.dependsOn.length > 20) issues.push(issue("body.dependsOn", "at most 20 dependencies"));
  if (
    spec.timeoutSeconds !== undefined &&
    !(Number.isInteger(spec.timeoutSeconds) && spec.timeoutSeconds >= 60)
  ) {
    issues.push(issue("body.timeoutSeconds", "a whole number of seconds, at least 60"));
  }
  if (
    spec.nodes !== undefined &&
    !(Number.isInteger(spec.nodes) && spec.nodes >= 1 && spec.nodes <= 100_000)
  ) {
    issues.push(issue("body.nodes", "a whole number of nodes, at least 1"));
  }
  return issues;
}

function throwIfIssues(issues: readonly FieldIssue[]): void {
  if (issues.length === 0) return;
  throw new RequestValidationError(
    `Slurm cannot run this job as given: ${[...new Set(issues.map((i) => i.path))].join(", ")}.`,
    issues,
  );
}

/** Where the cluster's jobs live on the head node, for its OS user. */
function jobDirOf(user: string): { home: string; jobDir: string } {
  const home = `/home/${user}`;
  return { home, jobDir: `${home}/.hpc-cluster-api/jobs` };
}

/** What {@link slurmBatchScript} needs besides the job. */
export interface BatchScriptContext {
  readonly user: string;
  /** Slurm ids to wait for: `afterok` each, or `aftercorr` (task by task) for N_TO_N. */
  readonly dependencies: readonly { readonly slurmId: string; readonly type?: "N_TO_N" | "SEQUENTIAL" }[];
}

/**
 * The batch script sbatch gets: `#SBATCH` directives from typed fields, the environment as quoted
 * `export` lines, then the command (argv, quoted word by word) or the user's script (base64, decoded to a
 * file on the compute node and run by /bin/sh). This text is data: it is sent base64-encoded and never
 * becomes part of a command line.
 */
export function slurmBatchScript(job: Job, context: BatchScriptContext): string {
  const spec = job.spec;
  const { home, jobDir } = jobDirOf(context.user);
  const lines = ["#!/bin/sh", `#SBATCH --job-name=${job.name}`, `#SBATCH --chdir=${home}`];
  lines.push(`#SBATCH --output=${jobDir}/${spec.arraySize !== undefined ? "%A_%a" : "%j"}.out`);
  if (spec.arraySize !== undefined) lines.push(`#SBATCH --array=0-${spec.arraySize - 1}`);
  if (spec.nodes !== undefined) lines.push(`#SBATCH --nodes=${spec.nodes}`);
  if (spec.timeoutSeconds !== undefined) lines.push(`#SBATCH --time=${slurmTime(spec.timeoutSeconds)}`);
  if (spec.vcpus !== undefined) lines.push(`#SBATCH --cpus-per-task=${Math.ceil(spec.vcpus)}`);
  if (spec.memoryMiB !== undefined) lines.push(`#SBATCH --mem=${Math.ceil(spec.memoryMiB)}M`);
  if (context.dependencies.length > 0) {
    const afterok = context.dependencies.filter((d) => d.type !== "N_TO_N").map((d) => d.slurmId);
    const aftercorr = context.dependencies.filter((d) => d.type === "N_TO_N").map((d) => d.slurmId);
    const parts = [
      ...(afterok.length > 0 ? [`afterok:${afterok.join(":")}`] : []),
      ...(aftercorr.length > 0 ? [`aftercorr:${aftercorr.join(":")}`] : []),
    ];
    lines.push(`#SBATCH --dependency=${parts.join(",")}`);
    // As in AWS Batch, a job whose dependency failed does not wait forever: Slurm cancels it.
    lines.push("#SBATCH --kill-on-invalid-dep=yes");
  }
  for (const [name, value] of Object.entries(spec.environment)) {
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  if (spec.inputUri !== undefined) lines.push(`export ${INPUT_URI_ENV}=${shellQuote(spec.inputUri)}`);
  if (spec.arraySize !== undefined) lines.push('export AWS_BATCH_JOB_ARRAY_INDEX="$SLURM_ARRAY_TASK_ID"');
  if (spec.script !== undefined) {
    lines.push(
      `${SCRIPT_ENV}='${base64(spec.script)}'`,
      `hpc_job_file=$(mktemp "\${TMPDIR:-/tmp}/hpc-job.XXXXXXXXXX") || exit 1`,
      `printf %s "$${SCRIPT_ENV}" | base64 -d > "$hpc_job_file" || exit 1`,
      `unset ${SCRIPT_ENV}`,
      '/bin/sh "$hpc_job_file"',
      "hpc_job_rc=$?",
      'rm -f "$hpc_job_file"',
      'exit "$hpc_job_rc"',
    );
  } else {
    lines.push(`exec ${(spec.command ?? []).map(shellQuote).join(" ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A time as sacct/squeue print it with `SLURM_TIME_FORMAT=standard` and `TZ=UTC`, or undefined. */
function slurmInstant(value: string | undefined): string | undefined {
  return value !== undefined && SLURM_TIME.test(value) ? `${value}Z` : undefined;
}

/** `exit:signal` as sacct prints `ExitCode`. */
function exitCodeOf(value: string | undefined): number | undefined {
  const match = /^(\d+):(\d+)$/.exec(value ?? "");
  return match ? Number(match[1]) : undefined;
}

/** What squeue and sacct said about one Slurm job (see the describe command). */
interface SlurmFacts {
  /** squeue: state, reason, start, end. */
  queue?: { state: string; reason?: string; start?: string; end?: string };
  /** sacct: state, exit code, start, end. */
  accounting?: { state: string; exitCode?: number; start?: string; end?: string };
  /** Array tasks by state, from squeue and from sacct. */
  queueTasks: Map<string, number>;
  accountingTasks: Map<string, number>;
}

/**
 * Parses the describe command's output: `Q|id|state|reason|start|end` (squeue), `S|id|state|exit|start|
 * end` (sacct), and `QA|id|state|count` / `SA|id|state|count` (array tasks counted on the node, so that a
 * 10,000-task array is a few lines). Malformed lines (a truncated answer) are skipped.
 */
export function parseSlurmFacts(stdout: string): Map<string, SlurmFacts> {
  const facts = new Map<string, SlurmFacts>();
  const of = (id: string) => {
    let entry = facts.get(id);
    if (!entry) {
      entry = { queueTasks: new Map(), accountingTasks: new Map() };
      facts.set(id, entry);
    }
    return entry;
  };
  for (const line of stdout.split("\n")) {
    const [kind, id, state, ...rest] = line.trim().split("|");
    if (id === undefined || state === undefined || !SLURM_ID.test(id) || !/^[A-Z_]+$/.test(state)) continue;
    if (kind === "Q") {
      const [reason, start, end] = rest;
      of(id).queue = {
        state,
        ...(reason && reason !== "None" ? { reason } : {}),
        ...(slurmInstant(start) ? { start: slurmInstant(start) } : {}),
        ...(slurmInstant(end) ? { end: slurmInstant(end) } : {}),
      };
    } else if (kind === "S") {
      const [exit, start, end] = rest;
      const exitCode = exitCodeOf(exit);
      of(id).accounting = {
        state,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(slurmInstant(start) ? { start: slurmInstant(start) } : {}),
        ...(slurmInstant(end) ? { end: slurmInstant(end) } : {}),
      };
    } else if (kind === "QA" || kind === "SA") {
      const count = Number(rest[0]);
      if (!Number.isInteger(count) || count < 0) continue;
      const tasks = kind === "QA" ? of(id).queueTasks : of(id).accountingTasks;
      tasks.set(state, (tasks.get(state) ?? 0) + count);
    }
  }
  return facts;
}

function rank(status: JobStatus): number {
  return isTerminalJob(status) ? JOB_STATUSES.length : JOB_STATUSES.indexOf(status);
}

/** The status of an array job from its tasks' statuses, as AWS Batch settles an array parent. */
function arrayStatus(counts: Map<JobStatus, number>, size: number | undefined): JobStatus {
  const count = (status: JobStatus) => counts.get(status) ?? 0;
  const finished = count("SUCCEEDED") + count("FAILED") + count("CANCELLED");
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (finished > 0 && finished >= (size ?? total)) {
    if (count("FAILED") > 0) return "FAILED";
    return count("CANCELLED") > 0 ? "CANCELLED" : "SUCCEEDED";
  }
  if (count("RUNNING") > 0 || finished > 0) return "RUNNING";
  if (count("STARTING") > 0) return "STARTING";
  return "RUNNABLE";
}

/**
 * An observation of `job` from what Slurm said about its id: the further along of squeue's and sacct's
 * views (squeue forgets finished jobs after MinJobAge; sacct needs accounting). Undefined when neither
 * knows the job. `outputPath` is the job's output file, recorded as the attempt's log location.
 */
export function observationFromSlurm(
  job: Job,
  facts: SlurmFacts,
  time: string,
  outputPath: string,
): JobObservation | undefined {
  const base = { jobId: job.jobId, ...(job.externalId ? { externalId: job.externalId } : {}), time };
  if (job.spec.arraySize !== undefined) {
    const tasks = facts.accountingTasks.size > 0 ? facts.accountingTasks : facts.queueTasks;
    const counts = new Map<JobStatus, number>();
    for (const [state, count] of tasks) {
      const known = SLURM_STATES[state];
      if (known) counts.set(known.status, (counts.get(known.status) ?? 0) + count);
    }
    if (counts.size === 0) return undefined;
    const status = arrayStatus(counts, job.spec.arraySize);
    const progress: Partial<Record<JobStatus, number>> = {};
    for (const [status, count] of counts) if (isTerminalJob(status)) progress[status] = count;
    return {
      ...base,
      status,
      ...(status === "FAILED" ? { statusReason: "One or more array tasks failed" } : {}),
      attempts: [],
      arrayProgress: progress,
    };
  }

  const views = [facts.queue, facts.accounting].flatMap((view) => {
    const known = view ? SLURM_STATES[view.state] : undefined;
    return view && known ? [{ view, ...known }] : [];
  });
  const best = views.reduce<(typeof views)[number] | undefined>(
    (a, b) => (a === undefined || rank(b.status) > rank(a.status) ? b : a),
    undefined,
  );
  if (!best) return undefined;
  const terminal = isTerminalJob(best.status);
  const exitCode = facts.accounting?.exitCode;
  const startedAt = best.view.start ?? facts.queue?.start ?? facts.accounting?.start;
  const stoppedAt = terminal ? (best.view.end ?? facts.accounting?.end ?? facts.queue?.end) : undefined;
  const waitingReason = facts.queue?.reason;
  const statusReason = terminal
    ? best.reason
      ? `${best.reason}${exitCode !== undefined && best.status === "FAILED" ? ` (exit code ${exitCode})` : ""}`
      : undefined
    : best.status === "RUNNABLE" && waitingReason
      ? `Waiting in Slurm: ${waitingReason}`
      : undefined;
  const attempts: JobAttempt[] =
    startedAt === undefined && !terminal
      ? []
      : [
          {
            ...(startedAt ? { startedAt } : {}),
            ...(stoppedAt ? { stoppedAt } : {}),
            ...(terminal && exitCode !== undefined ? { exitCode } : {}),
            ...(terminal && statusReason ? { statusReason } : {}),
            logStream: outputPath,
          },
        ];
  return {
    ...base,
    status: best.status,
    ...(statusReason ? { statusReason } : {}),
    attempts,
    ...(startedAt ? { startedAt } : {}),
    ...(stoppedAt ? { stoppedAt } : {}),
  };
}

/** Our opaque logs token: the Slurm job and the next line to read (1-based). */
function encodeLogCursor(slurmId: string, offset: number): string {
  return Buffer.from(JSON.stringify({ j: slurmId, o: offset }), "utf8").toString("base64url");
}

function decodeLogCursor(token: string, slurmId: string): number {
  if (token.length <= MAX_TOKEN_LENGTH && /^[A-Za-z0-9_-]+$/.test(token)) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
      if (typeof parsed === "object" && parsed !== null) {
        const { j, o } = parsed as { j?: unknown; o?: unknown };
        if (j === slurmId && typeof o === "number" && Number.isSafeInteger(o) && o >= 1) return o;
      }
    } catch {
      // fall through: not ours
    }
  }
  throw new InvalidNextTokenError();
}

function errorName(error: unknown): string {
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : "UnknownError";
}

function firstLines(text: string, max = 400): string {
  return text.trim().split("\n").slice(0, 3).join(" | ").slice(0, max);
}

/** Maps an SSM error: a head node SSM cannot reach is the operator's to fix; the rest as elsewhere. */
function mapSsmError(error: unknown, action: string, instanceId: string): DomainError {
  const name = errorName(error);
  if (name === "InvalidInstanceId" || name === "UnsupportedPlatformType") {
    const mapped = new UpstreamError(
      `The cluster's head node ${instanceId} is not reachable through Systems Manager (${name}): it must be running, with the SSM agent online and an instance profile that allows SSM.`,
    );
    mapped.cause = error;
    return mapped;
  }
  return mapAwsError(error, action);
}

/** The head node and OS user of a job's cluster, if it is still this job's cluster. */
interface Target {
  readonly instanceId: string;
  readonly user: string;
}

/**
 * `JobScheduler` for Slurm on a ParallelCluster head node, over SSM Run Command: `sbatch --parsable` to
 * submit, `squeue`/`sacct` to describe, `scancel` to cancel, `tail` of the job's output file for logs.
 * Each operation sends one command and polls its result (bounded, with backoff).
 *
 * Jobs are single attempts (Slurm has no retry strategy); array jobs report their tasks' progress and
 * have no output of their own (as on AWS Batch); multi-node jobs are `--nodes=N` allocations that the
 * script uses with `srun`.
 *
 * IAM actions: ssm:SendCommand (on the `AWS-RunShellScript` document and the head node instances),
 * ssm:GetCommandInvocation.
 */
export class SlurmSsmScheduler implements JobScheduler {
  readonly #ssm: SSMClient;
  readonly #getCluster: (clusterName: string) => Promise<Cluster | undefined>;
  readonly #resolveExternalId: ResolveExternalId;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #clock: Clock;
  readonly #bin: string;
  readonly #waitMs: number;

  constructor(options: SlurmSsmSchedulerOptions) {
    this.#ssm = options.ssm;
    this.#getCluster = options.getCluster;
    this.#resolveExternalId = options.resolveExternalId;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#bin = (options.slurmBin ?? DEFAULT_SLURM_BIN).replace(/\/+$/, "");
    if (!SAFE_PATH.test(this.#bin)) throw new Error(`slurmBin must be an absolute path, got ${this.#bin}`);
    this.#waitMs = options.commandWaitMs ?? 20_000;
  }

  #targetOf(cluster: Cluster): Target {
    const instanceId = cluster.outputs?.HeadNodeInstanceId ?? cluster.headNode?.instanceId;
    if (!instanceId || !INSTANCE_ID.test(instanceId)) {
      throw new UpstreamError(
        `Cluster '${cluster.name}' has no head node instance id among its stack outputs (HeadNodeInstanceId), so its Slurm scheduler cannot be reached.`,
      );
    }
    const user = clusterUserFor(cluster.config.os);
    if (!OS_USER.test(user)) throw new UpstreamError(`Cluster '${cluster.name}' has an unusable OS user.`);
    return { instanceId, user };
  }

  /** The job's cluster, if it is still the incarnation the job ran on. */
  async #targetOfJob(job: Job): Promise<Target | undefined> {
    const cluster = await this.#getCluster(job.clusterName);
    if (!cluster || cluster.clusterId !== job.clusterId || cluster.status === "DELETE_COMPLETE")
      return undefined;
    return this.#targetOf(cluster);
  }

  /**
   * Sends `commands` (fixed templates, see the file comment) to the head node and waits for the result:
   * polls GetCommandInvocation with backoff (0.25 s doubling to 2 s) for at most `commandWaitMs`.
   */
  async run(instanceId: string, commands: readonly string[], purpose: string): Promise<CommandResult> {
    let commandId: string | undefined;
    try {
      const out = await this.#ssm.send(
        new SendCommandCommand({
          InstanceIds: [instanceId],
          DocumentName: RUN_SHELL_SCRIPT,
          Parameters: { commands: [...commands], executionTimeout: ["60"] },
          TimeoutSeconds: 60,
          Comment: `hpc-cluster-api ${purpose}`,
        }),
      );
      commandId = out.Command?.CommandId;
    } catch (error) {
      throw mapSsmError(error, "ssm:SendCommand", instanceId);
    }
    if (!commandId)
      throw new UpstreamError("Systems Manager accepted SendCommand but returned no CommandId.");

    let waited = 0;
    let delay = 250;
    for (;;) {
      await this.#sleep(delay);
      waited += delay;
      delay = Math.min(delay * 2, 2_000);
      let invocation: GetCommandInvocationCommandOutput | { Status: "Pending"; StatusDetails?: undefined };
      try {
        invocation = await this.#ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        );
      } catch (error) {
        // The invocation appears a moment after SendCommand answers.
        if (errorName(error) !== "InvocationDoesNotExist") {
          // The command is on its way whatever this read says: its outcome is unknown, never "not applied".
          const mapped = mapSsmError(error, "ssm:GetCommandInvocation", instanceId);
          throw mapped instanceof ServiceUnavailableError
            ? new ServiceUnavailableError(mapped.message, mapped.retryAfterSeconds)
            : mapped;
        }
        invocation = { Status: "Pending" };
      }
      const status = invocation.Status;
      if (status === "Success" || status === "Failed") {
        return {
          exitCode: status === "Success" ? 0 : (invocation.ResponseCode ?? -1),
          stdout: invocation.StandardOutputContent ?? "",
          stderr: invocation.StandardErrorContent ?? "",
        };
      }
      if (status === "Cancelled" || status === "TimedOut") {
        // A command that timed out or was cancelled may have run part of the way.
        throw new ServiceUnavailableError(
          `The cluster's head node did not run the ${purpose} command (${status}${invocation.StatusDetails ? `: ${invocation.StatusDetails}` : ""}); retry shortly.`,
        );
      }
      if (waited >= this.#waitMs) {
        // Still pending or running on the head node: it may yet do what it was sent to do.
        throw new ServiceUnavailableError(
          `The cluster's head node has not answered the ${purpose} command yet; retry shortly.`,
        );
      }
    }
  }

  validate(name: string, spec: JobSpec): void {
    throwIfIssues(slurmJobIssues(name, spec));
  }

  async submit(job: Job, cluster: Cluster): Promise<{ readonly externalId: string }> {
    throwIfIssues(slurmJobIssues(job.name, job.spec));
    const target = this.#targetOf(cluster);
    const dependencies: { slurmId: string; type?: "N_TO_N" | "SEQUENTIAL" }[] = [];
    const unknown: FieldIssue[] = [];
    for (const [index, dependency] of job.spec.dependsOn.entries()) {
      const slurmId = await this.#resolveExternalId(cluster.name, dependency.jobId);
      if (slurmId === undefined || !SLURM_ID.test(slurmId)) {
        unknown.push(
          issue(`body.dependsOn[${index}].jobId`, `job ${dependency.jobId} is unknown or not yet submitted`),
        );
        continue;
      }
      dependencies.push({ slurmId, ...(dependency.type ? { type: dependency.type } : {}) });
    }
    throwIfIssues(unknown);

    const payload = base64(slurmBatchScript(job, { user: target.user, dependencies }));
    const result = await this.run(
      target.instanceId,
      submitCommands(this.#bin, target.user, payload),
      "sbatch",
    );
    const id = result.stdout.trim().split("\n").at(-1)?.trim().split(";")[0] ?? "";
    if (result.exitCode === 0 && SLURM_ID.test(id)) return { externalId: id };
    if (/sbatch: error/.test(result.stderr)) {
      if (/temporarily unable|timed out|unable to contact/i.test(result.stderr)) {
        // "Temporarily unable" and "unable to contact" refuse the job; a time-out may have queued it.
        const notApplied = !/timed out/i.test(result.stderr);
        throw new ServiceUnavailableError(
          `Slurm is busy: ${firstLines(result.stderr)}; retry shortly.`,
          5,
          notApplied,
        );
      }
      throw new RequestValidationError(`Slurm refused the job: ${firstLines(result.stderr)}`);
    }
    throw new UpstreamError(
      `Submitting to Slurm failed (exit ${result.exitCode}): ${firstLines(result.stderr || result.stdout) || "no output"}`,
    );
  }

  async cancel(job: Job, _reason: string): Promise<void> {
    // Slurm's scancel takes no reason; the record keeps ours.
    if (!job.externalId || !SLURM_ID.test(job.externalId)) return;
    const target = await this.#targetOfJob(job);
    if (!target) return;
    const result = await this.run(
      target.instanceId,
      [`runuser -u ${target.user} -- ${this.#bin}/scancel ${job.externalId}`],
      "scancel",
    );
    if (result.exitCode === 0) return;
    // A job that already finished (or that Slurm forgot) is left alone.
    if (/already completing or completed|Invalid job id/i.test(result.stderr)) return;
    throw new UpstreamError(`scancel failed (exit ${result.exitCode}): ${firstLines(result.stderr)}`);
  }

  async describe(jobs: readonly Job[]): Promise<JobObservation[]> {
    const byCluster = new Map<string, Job[]>();
    for (const job of jobs) {
      if (!job.externalId || !SLURM_ID.test(job.externalId)) continue;
      byCluster.set(job.clusterName, [...(byCluster.get(job.clusterName) ?? []), job]);
    }
    const observations: JobObservation[] = [];
    for (const clusterJobs of byCluster.values()) {
      const [first] = clusterJobs;
      const target = first ? await this.#targetOfJob(first) : undefined;
      if (!target) continue;
      const mine = clusterJobs.filter((job) => job.clusterId === first?.clusterId);
      const { jobDir } = jobDirOf(target.user);
      for (let start = 0; start < mine.length; start += DESCRIBE_IDS_PER_COMMAND) {
        const batch = mine.slice(start, start + DESCRIBE_IDS_PER_COMMAND);
        const ids = [...new Set(batch.map((job) => job.externalId as string))];
        const result = await this.run(
          target.instanceId,
          describeCommands(this.#bin, target.user, ids),
          "describe",
        );
        const facts = parseSlurmFacts(result.stdout);
        const time = this.#clock.now().toISOString();
        for (const job of batch) {
          const id = job.externalId as string;
          const known = facts.get(id);
          const observation = known && observationFromSlurm(job, known, time, `${jobDir}/${id}.out`);
          if (observation) observations.push(observation);
        }
      }
    }
    return observations;
  }

  /**
   * Lines of the job's output file, oldest first: `tail -n +<offset> | head -n <limit>` on the head node,
   * with lines cut at 4,000 characters and a page at 20,000 bytes (SSM returns 24,000 characters at most).
   * The token is the next line number. Slurm jobs have one attempt; array jobs have no output of their own.
   */
  async logs(
    job: Job,
    request: { readonly attempt?: number; readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly lines: readonly LogLine[]; readonly nextToken?: string }> {
    if (request.attempt !== undefined && !(Number.isInteger(request.attempt) && request.attempt >= 1)) {
      throw new RequestValidationError("attempt must be a whole number, at least 1.", [
        { path: "query.attempt", message: "a whole number, at least 1" },
      ]);
    }
    const slurmId = job.externalId;
    if (!slurmId || !SLURM_ID.test(slurmId)) return { lines: [] };
    const offset = request.nextToken === undefined ? 1 : decodeLogCursor(request.nextToken, slurmId);
    if ((request.attempt ?? 1) !== 1 || job.spec.arraySize !== undefined) return { lines: [] };
    const target = await this.#targetOfJob(job);
    if (!target) return { lines: [] };
    const limit = Math.min(MAX_LOG_LINES, Math.max(1, Math.floor(request.limit)));
    const file = `${jobDirOf(target.user).jobDir}/${slurmId}.out`;
    const result = await this.run(target.instanceId, logsCommands(target.user, file, offset, limit), "logs");
    // 3: no output file yet (the job has not started).
    if (result.exitCode === 3) return { lines: [] };
    if (result.exitCode !== 0) {
      throw new UpstreamError(
        `Reading the job's output failed (exit ${result.exitCode}): ${firstLines(result.stderr)}`,
      );
    }
    const capped = Buffer.byteLength(result.stdout, "utf8") >= MAX_LOG_BYTES;
    const parts = result.stdout.split("\n");
    // The last part follows the last newline: empty, or a line still being written / cut by the byte cap.
    const tail = parts.pop() ?? "";
    if (tail !== "" && !capped && isTerminalJob(job.status)) parts.push(tail);
    const lines = parts.map((message) => ({ message }));
    const more = capped || lines.length >= limit;
    return more && lines.length > 0
      ? { lines, nextToken: encodeLogCursor(slurmId, offset + lines.length) }
      : { lines };
  }
}

/** sbatch: the script (base64) is decoded, as the user, into a file of theirs, and submitted from there. */
export function submitCommands(bin: string, user: string, scriptBase64: string): string[] {
  if (!BASE64.test(scriptBase64)) throw new Error("the batch script must be base64");
  const { jobDir } = jobDirOf(user);
  const as = `runuser -u ${user} --`;
  return [
    "set -eu",
    `${as} mkdir -p ${jobDir}`,
    `cd ${jobDir}`,
    `f=$(${as} mktemp ${jobDir}/submit.XXXXXXXXXX)`,
    `trap 'rm -f "$f"' EXIT`,
    `printf %s '${scriptBase64}' | base64 -d | ${as} tee "$f" > /dev/null`,
    `${as} ${bin}/sbatch --parsable "$f"`,
  ];
}

/**
 * squeue (per id: one unknown id must not hide the others) and sacct, as `|`-separated lines. Array tasks
 * are counted by state on the node (pending ranges like `12_[3-9]` count 7), so the answer stays small.
 */
export function describeCommands(bin: string, user: string, ids: readonly string[]): string[] {
  if (ids.length === 0 || !ids.every((id) => SLURM_ID.test(id))) throw new Error("Slurm ids must be numeric");
  const as = `runuser -u ${user} --`;
  const count = [
    `awk -F'|' -v OFS='|' -v k="$1" '{ sub(/ .*/, "", $2); n = index($1, "_"); if (n == 0) { print k, $0; next }`,
    "id = substr($1, 1, n - 1); t = substr($1, n + 1); w = 1;",
    'if (t ~ /^\\[/) { sub(/^\\[/, "", t); sub(/%.*/, "", t); sub(/\\]$/, "", t); w = 0; m = split(t, r, ",");',
    'for (i = 1; i <= m; i++) { if (split(r[i], b, "-") == 2) w += b[2] - b[1] + 1; else w += 1 } }',
    `c[id OFS $2] += w } END { for (x in c) print k "A", x, c[x] }'`,
  ].join(" ");
  return [
    "export TZ=UTC SLURM_TIME_FORMAT=standard",
    `count() { ${count}; }`,
    `for j in ${ids.join(" ")}; do ${as} ${bin}/squeue --noheader --array --states=all --jobs="$j" --format='%i|%T|%r|%S|%e' 2>/dev/null; done | count Q`,
    `${as} ${bin}/sacct --noheader --parsable2 --allocations --jobs=${ids.join(",")} --format=JobID,State,ExitCode,Start,End 2>/dev/null | count S`,
    "exit 0",
  ];
}

/** tail of the output file, read as the user; exit 3 when there is no file yet. */
export function logsCommands(user: string, file: string, offset: number, limit: number): string[] {
  if (!SAFE_PATH.test(file) || !Number.isSafeInteger(offset) || !Number.isSafeInteger(limit)) {
    throw new Error("logs: bad file, offset or limit");
  }
  const as = `runuser -u ${user} --`;
  return [
    `${as} test -r ${file} || exit 3`,
    `${as} tail -n +${offset} ${file} | head -n ${limit} | cut -c 1-${MAX_LOG_LINE_CHARS} | head -c ${MAX_LOG_BYTES}`,
  ];
}
