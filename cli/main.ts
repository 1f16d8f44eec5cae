/**
 * hpcctl: the command-line client of hpc-cluster-api. `runCli` finds the command, parses its line, builds
 * the API client and runs it, turning whatever it throws into stderr lines and an exit code (see
 * errors.ts). `main` wires it to the process: argv, environment, streams, and SIGINT/SIGTERM.
 */

import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type ApiClient, createApiClient, DEFAULT_ENDPOINT } from "./api-client.ts";
import { formatUsage, GLOBAL_OPTIONS, parseCommandArgs, splitCommandLine } from "./args.ts";
import type { Command } from "./command.ts";
import { CLUSTER_COMMANDS } from "./commands/clusters.ts";
import { JOB_COMMANDS } from "./commands/jobs.ts";
import { TRIGGER_COMMANDS } from "./commands/triggers.ts";
import { errorLines, exitCodeFor, InterruptedError, UsageError } from "./errors.ts";
import { formatTable, Output, type OutputStreams } from "./output.ts";

/** Every command, by group. */
export const COMMANDS: readonly Command[] = [...CLUSTER_COMMANDS, ...JOB_COMMANDS, ...TRIGGER_COMMANDS];

const GROUPS: Readonly<Record<string, string>> = {
  clusters: "create, watch and delete clusters",
  jobs: "run jobs on a cluster and read their output",
  triggers: "run jobs (and create their cluster) when new objects land in an S3 bucket",
};

const EXIT_CODE_HELP = [
  "Exit codes:",
  "  0    success",
  "  1    a cluster or job ended failed (--wait saw CREATE_FAILED, a cancelled `jobs run`, ...)",
  "  2    usage error (unknown option, missing argument, unreadable file)",
  "  3    API or network error; the problem's title and detail are on stderr",
  "  N    `jobs run`: the job's own exit code",
  "  130  interrupted by SIGINT; 143 by SIGTERM",
];

function commandTable(commands: readonly Command[]): string[] {
  return formatTable(
    ["", ""],
    commands.map((command) => [`  hpcctl ${command.spec.path.join(" ")}`, command.spec.summary]),
  )
    .split("\n")
    .slice(1);
}

/** The top-level help: every command, the global options, the environment and the exit codes. */
export function topUsage(): string {
  const globals = Object.entries(GLOBAL_OPTIONS).map(
    ([name, spec]) =>
      `  ${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.placeholder ?? ""}` : ""}`.padEnd(
        30,
      ) + spec.description,
  );
  return [
    "Usage: hpcctl [global options] GROUP COMMAND [arguments] [options]",
    "",
    "The command-line client of hpc-cluster-api. `hpcctl GROUP COMMAND --help` shows a command's options and examples.",
    "",
    "Commands:",
    ...commandTable(COMMANDS),
    "",
    "Global options:",
    ...globals,
    "",
    "Environment:",
    "  HPC_API_URL     the API's URL when --endpoint is not given (default http://127.0.0.1:3000)",
    "  HPC_API_TOKEN   bearer token for the local server (its API_TOKEN)",
    "  AWS_*           for *.amazonaws.com endpoints: the standard AWS credential chain and region (SigV4)",
    "",
    ...EXIT_CODE_HELP,
  ].join("\n");
}

function groupUsage(group: string, commands: readonly Command[]): string {
  return [
    `Usage: hpcctl ${group} COMMAND [arguments] [options]`,
    "",
    `${group}: ${GROUPS[group] ?? ""}`,
    "",
    "Commands:",
    ...commandTable(commands),
    "",
    `\`hpcctl ${group} COMMAND --help\` shows a command's options and examples.`,
  ].join("\n");
}

/** What `runCli` needs from the outside world; tests pass buffers and fakes. */
export interface CliEnvironment extends OutputStreams {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT/SIGTERM with an `InterruptedError`; never aborted when absent. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly readFile?: (path: string) => Promise<Buffer>;
  /** Builds the API client (tests inject one); `createApiClient` by default. */
  readonly createClient?: typeof createApiClient;
}

async function readInput(path: string): Promise<Buffer> {
  if (path !== "-") return readFile(path);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function runCli(environment: CliEnvironment): Promise<number> {
  let output = new Output(environment);
  // The usage printed after a usage error that does not carry its own (a bad endpoint, an unreadable file).
  let usageText: string | undefined;
  try {
    const top = topUsage();
    const split = splitCommandLine(environment.argv, top);
    if (!split.group) {
      if (split.global.help) {
        output.printLine(top);
        return 0;
      }
      throw new UsageError("missing a command", top);
    }
    const group = split.group;
    const inGroup = COMMANDS.filter((command) => command.spec.path[0] === group);
    if (inGroup.length === 0) throw new UsageError(`unknown command '${group}'`, top);
    const groupHelp = groupUsage(group, inGroup);
    if (!split.command) {
      if (split.global.help) {
        output.printLine(groupHelp);
        return 0;
      }
      throw new UsageError(`missing a ${group} command`, groupHelp);
    }
    const command = inGroup.find((candidate) => candidate.spec.path[1] === split.command);
    if (!command) throw new UsageError(`unknown command '${group} ${split.command}'`, groupHelp);
    const usage = formatUsage(command.spec);
    usageText = usage;
    const args = parseCommandArgs(command.spec, split);
    if (args.global.help) {
      output.printLine(usage);
      return 0;
    }
    output = new Output(environment, { format: args.global.output ?? "table", quiet: args.global.quiet });
    const signal = environment.signal ?? new AbortController().signal;
    const client: ApiClient = await (environment.createClient ?? createApiClient)({
      endpoint: args.global.endpoint ?? (environment.env.HPC_API_URL || DEFAULT_ENDPOINT),
      env: environment.env,
      interrupt: signal,
    });
    return await command.run(
      {
        client,
        output,
        signal,
        now: environment.now ?? Date.now,
        readFile: environment.readFile ?? readInput,
      },
      args,
      usage,
    );
  } catch (error) {
    output.endProgress();
    output.error(errorLines(error));
    const usage = error instanceof UsageError ? (error.usage ?? usageText) : undefined;
    if (usage) output.error(["", usage]);
    return exitCodeFor(error);
  }
}

/** Waits until everything written to a stream has been handed to the OS. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write("", () => resolve());
  });
}

/** The process entry point: runs `process.argv` and exits with its code. */
export async function main(): Promise<never> {
  const controller = new AbortController();
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    // A second signal while the first is being handled (e.g. a job being cancelled): stop now.
    if (controller.signal.aborted) process.exit(exitCodeFor(new InterruptedError(signal)));
    controller.abort(new InterruptedError(signal));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  // `hpcctl ... | head`: a closed pipe ends the output, not in a crash.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  const code = await runCli({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
  });
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // Exit at once: keep-alive sockets and timers must not hold a finished command.
  process.exit(code);
}

// Run when started as a program (`node --import tsx cli/main.ts`); bin/hpcctl.js imports and calls main().
function startedAsProgram(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (startedAsProgram()) void main();
