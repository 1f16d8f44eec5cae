/**
 * `hpcctl jobs ...`: submit, get, list, logs, cancel, and `run` — submit, stream the output to stdout,
 * exit with the job's own exit code, and cancel the job when interrupted (so `scancel` of a Slurm job
 * wrapping `hpcctl jobs run` cancels the cloud job too).
 */
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import { isTerminalJob, JOB_STATUSES } from "#shared/domain/job.ts";
import { type Job, JobLogPageSchema, JobPageSchema, JobSchema, type LogLine } from "../api-types.ts";
import {
  booleanOption,
  choiceOption,
  integerOption,
  keyValueOption,
  type OptionSpec,
  type ParsedArgs,
  stringOption,
} from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { ApiError, InterruptedError, OutcomeError, UsageError } from "../errors.ts";
import { currentAttempt, followJob, jobPath } from "../log-follower.ts";
import { type Column, formatAge, formatTime } from "../output.ts";
import { sleep } from "../progress.ts";

function jobsPath(cluster: string): string {
  return `/v1/clusters/${encodeURIComponent(cluster)}/jobs`;
}

/**
 * The options that describe what a job runs and how, but not its name: `jobs submit` and `jobs run` add
 * `--name`; `triggers create` adds `--job-name` (its own NAME is the rule's). `jobFields` reads them.
 */
export const JOB_FIELD_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  array: { type: "string", placeholder: "N", description: "run an array job of N children (2-10000)" },
  "retry-attempts": {
    type: "string",
    placeholder: "N",
    description: "try up to N times (1-10), AWS Batch's retry rules",
  },
  timeout: { type: "string", placeholder: "S", description: "stop an attempt after S seconds (at least 60)" },
  env: {
    type: "string",
    multiple: true,
    placeholder: "K=V",
    description: "an environment variable for the job",
  },
  script: {
    type: "string",
    placeholder: "FILE",
    description: "run this script with /bin/sh (- for stdin) instead of a command",
  },
};

/** The options `jobs submit` and `jobs run` share. */
const SUBMIT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  name: {
    type: "string",
    short: "n",
    placeholder: "N",
    description: "the job's name (default: from the command or script)",
  },
  ...JOB_FIELD_OPTIONS,
};

/** A job name the API accepts, from a command or script path: `sh`, `align-sh`; `job` when nothing fits. */
export function defaultJobName(source: string): string {
  const name = basename(source)
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return name || "job";
}

/** Quotes a word for a shell when it needs it, so a printed command reads back as what runs. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The job's fields from the command line (`JOB_FIELD_OPTIONS`, plus the name from `nameOption`): `-- CMD
 * ARGS...` as `command`, verbatim, or `--script FILE` as base64. No `clientToken`: see `submitRequest`.
 */
export async function jobFields(
  context: Pick<CommandContext, "readFile">,
  args: ParsedArgs,
  usage: string,
  nameOption = "name",
): Promise<Record<string, unknown>> {
  const scriptFile = stringOption(args.values, "script");
  if (scriptFile !== undefined && args.trailing.length > 0)
    throw new UsageError("give either --script FILE or -- CMD ARGS..., not both", usage);
  if (scriptFile === undefined && args.trailing.length === 0)
    throw new UsageError("missing the job: --script FILE, or -- CMD ARGS...", usage);
  const array = integerOption(args.values, "array", usage, { min: 1 });
  const attempts = integerOption(args.values, "retry-attempts", usage, { min: 1 });
  const timeout = integerOption(args.values, "timeout", usage, { min: 1 });
  const environment = keyValueOption(args.values, "env", usage);
  let what: Record<string, unknown>;
  if (scriptFile !== undefined) {
    let script: Buffer;
    try {
      script = await context.readFile(scriptFile);
    } catch (error) {
      const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
      throw new UsageError(`cannot read the script '${scriptFile}' (${reason})`, usage);
    }
    if (script.length === 0) throw new UsageError(`the script '${scriptFile}' is empty`, usage);
    what = { script: script.toString("base64"), scriptEncoding: "base64" };
  } else {
    what = { command: [...args.trailing] };
  }
  return {
    name: stringOption(args.values, nameOption) ?? defaultJobName(scriptFile ?? args.trailing[0] ?? "job"),
    ...what,
    ...(Object.keys(environment).length > 0 ? { environment } : {}),
    ...(array !== undefined ? { arraySize: array } : {}),
    ...(attempts !== undefined ? { retryStrategy: { attempts } } : {}),
    ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
  };
}

/** The submit request from the command line: `jobFields` and a fresh `clientToken`. */
export async function submitRequest(
  context: Pick<CommandContext, "readFile">,
  args: ParsedArgs,
  usage: string,
): Promise<Record<string, unknown>> {
  return {
    ...(await jobFields(context, args, usage)),
    // A fresh token per invocation: the client's retries of this POST can never start a second job.
    clientToken: randomUUID(),
  };
}

/** What the job runs, in one line: the quoted command, or the script's first line. */
function runsSummary(job: Job): string | undefined {
  const spec = job.spec;
  if (!spec) return undefined;
  if (spec.command) return spec.command.map(shellQuote).join(" ");
  if (spec.script !== undefined) {
    const lines = spec.script.split("\n").filter((line) => line.trim() !== "");
    return `script, ${lines.length} line${lines.length === 1 ? "" : "s"}`;
  }
  return undefined;
}

/** The key facts of a job, for `get`, `submit` and `cancel`. */
export function jobFacts(job: Job, now: number): [string, string | undefined][] {
  const attempts = job.attempts ?? [];
  const last = attempts.at(-1);
  const progress = job.arrayProgress
    ? Object.entries(job.arrayProgress)
        .filter(([, count]) => count > 0)
        .map(([status, count]) => `${status} ${count}`)
        .join(", ")
    : undefined;
  return [
    ["Job ID", job.jobId],
    ["Name", job.name],
    ["Cluster", job.clusterName],
    ["Status", job.waitingForCluster ? `${job.status} (waiting for the cluster to be created)` : job.status],
    ["Reason", job.statusReason],
    ["Trigger", job.origin ? `${job.origin.triggerName} (input ${job.origin.input.uri})` : undefined],
    ["Scheduler", job.scheduler],
    ["Runs", runsSummary(job)],
    [
      "Array",
      job.spec?.arraySize !== undefined
        ? `${job.spec.arraySize} children${progress ? ` (${progress})` : ""}`
        : undefined,
    ],
    [
      "Attempts",
      attempts.length > 0
        ? `${attempts.length} (last exit code ${last?.exitCode ?? "none"}${last?.statusReason ? `: ${last.statusReason}` : ""})`
        : undefined,
    ],
    ["Created", formatTime(job.createdAt, now)],
    ["Started", formatTime(job.startedAt, now)],
    ["Stopped", formatTime(job.stoppedAt, now)],
  ];
}

function printJob(context: CommandContext, job: Job): void {
  if (context.output.json) context.output.printJson(job);
  else context.output.printFacts(jobFacts(job, context.now()));
}

/** The detail of a job's progress line: the attempt it is on, or how it ended. */
export function jobProgressDetail(job: Job): string | undefined {
  const attempts = job.attempts ?? [];
  const last = attempts.at(-1);
  if (isTerminalJob(job.status)) {
    const exit = last?.exitCode !== undefined ? `exit code ${last.exitCode}` : undefined;
    return [exit, job.statusReason].filter(Boolean).join(", ") || undefined;
  }
  if (attempts.length === 0 && job.status !== "STARTING" && job.status !== "RUNNING") return undefined;
  const retry = last ? `, attempt ${attempts.length} exited ${last.exitCode ?? "?"}` : "";
  return `attempt ${attempts.length + 1}${retry}`;
}

/**
 * The exit code of `jobs run` for a finished job: the last attempt's exit code; 1 for a job that failed
 * without one (or with one outside 1-255); a cancelled job is an `OutcomeError` (exit 1).
 */
export function jobExitCode(job: Job): number {
  const code = job.attempts?.at(-1)?.exitCode;
  if (job.status === "SUCCEEDED") return code !== undefined && code >= 0 && code <= 255 ? code : 0;
  if (job.status === "FAILED") return code !== undefined && code > 0 && code <= 255 ? code : 1;
  return 1;
}

const submit: Command = {
  spec: {
    path: ["jobs", "submit"],
    summary: "Submit a job to a cluster: a command (after --) or a script.",
    synopsis:
      "jobs submit CLUSTER [--name N] [--array N] [--retry-attempts N] [--timeout S] [--env K=V]... (--script FILE | -- CMD ARGS...)",
    positionals: ["CLUSTER"],
    options: SUBMIT_OPTIONS,
    trailing: true,
    description:
      "A command runs as exactly its words, with no shell in between; a script is sent base64 and run by\n" +
      "/bin/sh. Returns once the job is submitted; follow it with `jobs get`, `jobs logs --follow`.",
    examples: [
      "hpcctl jobs submit cfd -- sh -c 'echo hello from $HOSTNAME'",
      "hpcctl jobs submit cfd --name sweep --array 10 --retry-attempts 3 --script sweep.sh",
      "hpcctl jobs submit cfd --env CASE=7 --timeout 3600 --output json -- ./solver --case 7",
    ],
  },
  async run(context, args, usage) {
    const cluster = args.positionals.CLUSTER ?? "";
    const body = await submitRequest(context, args, usage);
    const job = await context.client.post(jobsPath(cluster), body, JobSchema, { retry: true });
    printJob(context, job);
    return 0;
  },
};

const get: Command = {
  spec: {
    path: ["jobs", "get"],
    summary: "Show a job: status, attempts and exit codes, what it runs.",
    synopsis: "jobs get CLUSTER JOB_ID",
    positionals: ["CLUSTER", "JOB_ID"],
    options: {},
    examples: [
      "hpcctl jobs get cfd 01JHMT19E0DXJJAB0872XDCNPE",
      "hpcctl jobs get cfd 01JHMT19E0DXJJAB0872XDCNPE -o json",
    ],
  },
  async run(context, args) {
    printJob(
      context,
      await context.client.get(
        jobPath(args.positionals.CLUSTER ?? "", args.positionals.JOB_ID ?? ""),
        JobSchema,
      ),
    );
    return 0;
  },
};

const JOB_COLUMNS: readonly Column<Job & { readonly now: number }>[] = [
  { header: "JOB ID", value: (job) => job.jobId },
  { header: "NAME", value: (job) => job.name },
  { header: "STATUS", value: (job) => job.status },
  { header: "AGE", value: (job) => formatAge(job.createdAt, job.now) },
  { header: "REASON", value: (job) => job.statusReason ?? "" },
];

const list: Command = {
  spec: {
    path: ["jobs", "list"],
    summary: "List a cluster's jobs, newest first.",
    synopsis: "jobs list CLUSTER [--status S]",
    positionals: ["CLUSTER"],
    options: {
      status: {
        type: "string",
        placeholder: "S",
        description: `only jobs in this status (${JOB_STATUSES.join(", ")})`,
      },
    },
    examples: ["hpcctl jobs list cfd", "hpcctl jobs list cfd --status FAILED --output json"],
  },
  async run(context, args, usage) {
    const cluster = args.positionals.CLUSTER ?? "";
    const status = choiceOption(args.values, "status", JOB_STATUSES, usage);
    const items = await context.client.listAll(jobsPath(cluster), JobPageSchema, { status, limit: 100 });
    if (context.output.json) context.output.printJson({ items });
    else if (items.length === 0)
      context.output.note(
        status ? `No ${status} jobs on cluster ${cluster}.` : `No jobs on cluster ${cluster}.`,
      );
    else {
      const now = context.now();
      context.output.printTable(
        JOB_COLUMNS,
        items.map((item) => ({ ...item, now })),
      );
    }
    return 0;
  },
};

const logs: Command = {
  spec: {
    path: ["jobs", "logs"],
    summary: "Print a job's output (stdout and stderr lines), the latest attempt's by default.",
    synopsis: "jobs logs CLUSTER JOB_ID [--follow] [--attempt N]",
    positionals: ["CLUSTER", "JOB_ID"],
    options: {
      follow: {
        type: "boolean",
        short: "f",
        description: "keep printing new lines until the job is over (every attempt from the current one)",
      },
      attempt: { type: "string", placeholder: "N", description: "this attempt's output (counting from 1)" },
    },
    description:
      '--output json prints { "lines": [...] } (every page merged); with --follow, one JSON line per output line.',
    examples: [
      "hpcctl jobs logs cfd 01JHMT19E0DXJJAB0872XDCNPE",
      "hpcctl jobs logs cfd 01JHMT19E0DXJJAB0872XDCNPE --follow",
      "hpcctl jobs logs cfd 01JHMT19E0DXJJAB0872XDCNPE --attempt 1 --output json",
    ],
  },
  async run(context, args, usage) {
    const cluster = args.positionals.CLUSTER ?? "";
    const jobId = args.positionals.JOB_ID ?? "";
    const attempt = integerOption(args.values, "attempt", usage, { min: 1 });
    const { output } = context;
    const print = (line: LogLine) =>
      output.json ? output.printJsonLine(line) : output.printLine(line.message);
    if (booleanOption(args.values, "follow")) {
      const job = await context.client.get(jobPath(cluster, jobId), JobSchema);
      await followJob(
        context.client,
        { cluster, jobId, startAttempt: attempt ?? currentAttempt(job) },
        { onLine: print },
        context.signal,
      );
      return 0;
    }
    const lines: LogLine[] = [];
    let nextToken: string | undefined;
    do {
      const page = await context.client.get(`${jobPath(cluster, jobId)}/logs`, JobLogPageSchema, {
        query: { limit: 1000, attempt, nextToken },
      });
      if (output.json) lines.push(...page.lines);
      else for (const line of page.lines) output.printLine(line.message);
      nextToken = page.nextToken;
    } while (nextToken);
    if (output.json) output.printJson({ lines });
    return 0;
  },
};

const cancel: Command = {
  spec: {
    path: ["jobs", "cancel"],
    summary: "Cancel a job (or terminate it if it is running).",
    synopsis: "jobs cancel CLUSTER JOB_ID",
    positionals: ["CLUSTER", "JOB_ID"],
    options: {},
    description:
      "The job turns CANCELLED once the scheduler stopped it; cancelling a finished job changes nothing.",
    examples: ["hpcctl jobs cancel cfd 01JHMT19E0DXJJAB0872XDCNPE"],
  },
  async run(context, args) {
    const job = await context.client.delete(
      jobPath(args.positionals.CLUSTER ?? "", args.positionals.JOB_ID ?? ""),
      JobSchema,
    );
    if (!isTerminalJob(job.status))
      context.output.note(`cancel requested; job ${job.jobId} turns CANCELLED once its scheduler stops it`);
    printJob(context, job);
    return 0;
  },
};

/** How long `jobs run` waits, after an interrupt, for the cancelled job to show as finished. */
const CANCEL_SETTLE_MS = 3000;

/** After SIGINT/SIGTERM: cancel the job (not interruptible itself), then wait briefly for it to end. */
async function cancelAfterInterrupt(
  context: CommandContext,
  cluster: string,
  jobId: string,
  signal: string,
): Promise<void> {
  const { client, output } = context;
  output.note(`${signal}: cancelling job ${jobId} on cluster ${cluster}`);
  try {
    let job = await client.delete(jobPath(cluster, jobId), JobSchema, {
      interruptible: false,
      timeoutMs: 10_000,
    });
    const deadline = context.now() + CANCEL_SETTLE_MS;
    while (!isTerminalJob(job.status) && context.now() < deadline) {
      await sleep(250);
      job = await client.get(jobPath(cluster, jobId), JobSchema, {
        interruptible: false,
        timeoutMs: 5000,
        retry: false,
      });
    }
    output.note(`job ${jobId}: ${job.status}${isTerminalJob(job.status) ? "" : " (cancel requested)"}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    output.error([`could not cancel job ${jobId}: ${error.title}: ${error.detail}`]);
  }
}

const run: Command = {
  spec: {
    path: ["jobs", "run"],
    summary: "Submit a job, stream its output to stdout as it comes, and exit with the job's own exit code.",
    synopsis:
      "jobs run CLUSTER [--name N] [--array N] [--retry-attempts N] [--timeout S] [--env K=V]... (--script FILE | -- CMD ARGS...)",
    positionals: ["CLUSTER"],
    options: SUBMIT_OPTIONS,
    trailing: true,
    description:
      "stdout carries only the job's output (every attempt, in order); the job id and its progress go to\n" +
      "stderr (none with --quiet). The exit code is the last attempt's exit code; 1 when the job failed\n" +
      "without one or was cancelled. SIGINT or SIGTERM cancels the job first, then exits 130 or 143.\n" +
      "There is no JSON form: use `jobs get --output json` for the job itself.",
    examples: [
      "hpcctl jobs run cfd -- sh -c 'echo hi; exit 3'; echo \"exit code $?\"",
      "hpcctl jobs run cfd --retry-attempts 3 --script job.sh > job.out",
      'hpcctl --quiet jobs run burst --script "$SLURM_SCRIPT"   # inside a Slurm job: scancel cancels it',
    ],
  },
  async run(context, args, usage) {
    const cluster = args.positionals.CLUSTER ?? "";
    const { client, output } = context;
    const body = await submitRequest(context, args, usage);
    // Not interruptible: a signal during the submission must not lose the id of a job that was created.
    const submitted = await client.post(jobsPath(cluster), body, JobSchema, {
      retry: true,
      interruptible: false,
    });
    output.note(`job ${submitted.jobId} submitted to cluster ${cluster}`);
    const progress = output.startProgress(`job ${submitted.jobId}`, context.now);
    try {
      if (context.signal.aborted) throw context.signal.reason;
      const job = await followJob(
        client,
        { cluster, jobId: submitted.jobId, startAttempt: 1 },
        {
          onLine: (line) => output.printLine(line.message),
          onJob: (job) => progress.update(job.status, jobProgressDetail(job)),
          onAttempt: (attempt) => output.note(`job ${submitted.jobId}: attempt ${attempt}`),
        },
        context.signal,
      );
      output.endProgress();
      if (
        job.status === "CANCELLED" ||
        (job.status === "FAILED" && job.attempts?.at(-1)?.exitCode === undefined)
      ) {
        throw new OutcomeError(`job ${job.jobId}: ${job.status}: ${job.statusReason ?? "no reason given"}`);
      }
      return jobExitCode(job);
    } catch (error) {
      output.endProgress();
      if (error instanceof InterruptedError)
        await cancelAfterInterrupt(context, cluster, submitted.jobId, error.signal);
      throw error;
    }
  },
};

/** Every `jobs` command. */
export const JOB_COMMANDS: readonly Command[] = [submit, get, list, logs, cancel, run];
