import type { Cluster } from "./cluster.ts";
import { clusterUserFor } from "./cluster-spec.ts";
import { RequestValidationError } from "./errors.ts";
import { JOB_NAME } from "./job.ts";

/** Options the pcluster v2 CLI flags in `additional_parameters` map to. */
export interface CommandOptions {
  readonly rollbackOnFailure: boolean;
}

/**
 * The flags we accept in the `additional_parameters` header, with what each does. Waiting flags are
 * accepted for compatibility and change nothing: the API never blocks on a stack. A `Map`, because the
 * header is the client's: in an object literal `toString` or `constructor` would be found as flags.
 */
type ApplyFlag = (options: { rollbackOnFailure: boolean }) => void;
const ALLOWED_FLAGS: ReadonlyMap<string, ApplyFlag> = new Map<string, ApplyFlag>([
  ["--nowait", () => {}],
  ["-nw", () => {}],
  [
    "--norollback",
    (o) => {
      o.rollbackOnFailure = false;
    },
  ],
  [
    "-nr",
    (o) => {
      o.rollbackOnFailure = false;
    },
  ],
]);

/**
 * Parses the `additional_parameters` header against the allow-list. The header is only ever compared
 * with fixed strings; nothing of it is passed on, so nothing of it can reach a shell.
 */
export function parseAdditionalParameters(header: string | undefined): CommandOptions {
  const options = { rollbackOnFailure: true };
  const tokens = (header ?? "").split(/\s+/).filter((token) => token !== "");
  for (const token of tokens) {
    // Blog posts were pasted through word processors: accept an em/en dash for "--".
    const flag = token.replace(/^[\u2013\u2014]/, "--");
    const apply = ALLOWED_FLAGS.get(flag);
    if (!apply) {
      const shown = JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token);
      throw new RequestValidationError(
        `additional_parameters: ${shown} is not an accepted flag; accepted: ${[...ALLOWED_FLAGS.keys()].join(", ")}.`,
        [{ path: "header.additional_parameters", message: `unsupported flag ${shown}` }],
      );
    }
    apply(options);
  }
  return options;
}

/** `pcluster create` output. */
export function createLines(cluster: Pick<Cluster, "name" | "stackName">): string[] {
  return [
    `Beginning cluster creation for cluster: ${cluster.name}`,
    `Creating stack named: ${cluster.stackName}`,
  ];
}

/** `pcluster status` output: the stack status, then head node facts once the cluster is complete. */
export function statusLines(cluster: Cluster): string[] {
  const lines = [`Status: ${cluster.stackName} - ${cluster.status}`];
  if (cluster.failureReason && cluster.status.endsWith("FAILED"))
    lines.push(`StatusReason: ${cluster.failureReason}`);
  const complete = cluster.status === "CREATE_COMPLETE" || cluster.status.startsWith("UPDATE_");
  if (complete && cluster.headNode) {
    lines.push(`MasterServer: ${cluster.headNode.state}`);
    if (cluster.headNode.publicIp) lines.push(`MasterPublicIP: ${cluster.headNode.publicIp}`);
    if (cluster.headNode.privateIp) lines.push(`MasterPrivateIP: ${cluster.headNode.privateIp}`);
    lines.push(`ClusterUser: ${clusterUserFor(cluster.config.os)}`);
  }
  return lines;
}

/** `pcluster delete` output. */
export function deleteLines(cluster: Pick<Cluster, "name">): string[] {
  return [`Deleting: ${cluster.name}`];
}

/** `pcluster list` output: one line per cluster, name, status and scheduler in columns. */
export function listLines(clusters: readonly Pick<Cluster, "name" | "status" | "scheduler">[]): string[] {
  const width = Math.max(0, ...clusters.map((c) => c.name.length));
  return clusters.map((c) => `${c.name.padEnd(width)}  ${c.status.padEnd(18)}  ${c.scheduler}`.trimEnd());
}

/** Options of `command=submit-job`, from sbatch-style flags in `additional_parameters`. */
export interface SubmitJobOptions {
  readonly name?: string;
  readonly arraySize?: number;
  readonly nodes?: number;
  readonly timeoutSeconds?: number;
}

/** sbatch's --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
export function parseSlurmTime(text: string): number | undefined {
  const match = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, days, a, b, c] = match;
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  if (days !== undefined) return n(days) * 86400 + n(a) * 3600 + n(b) * 60 + n(c);
  if (c !== undefined) return n(a) * 3600 + n(b) * 60 + n(c);
  if (b !== undefined) return n(a) * 60 + n(b);
  return n(a) * 60;
}

/** sbatch's --array: a size `N`, or a range `0-N` (N+1 tasks). */
function parseArray(text: string): number | undefined {
  const range = /^0-(\d{1,5})$/.exec(text);
  const size = range ? Number(range[1]) + 1 : /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  return Number.isInteger(size) && size >= 2 && size <= 10_000 ? size : undefined;
}

/**
 * Parses `additional_parameters` for `submit-job`: the waiting flags, plus `--job-name`, `--array`,
 * `--nodes` and `--time`, as `--flag value` or `--flag=value`. Every value is checked against its own
 * rule; anything else is refused, naming the flag.
 */
export function parseSubmitJobParameters(header: string | undefined): SubmitJobOptions {
  const tokens = (header ?? "").split(/\s+/).filter((token) => token !== "");
  const options: { name?: string; arraySize?: number; nodes?: number; timeoutSeconds?: number } = {};
  const fail = (flag: string, message: string): never => {
    throw new RequestValidationError(`additional_parameters: ${flag} ${message}.`, [
      { path: "header.additional_parameters", message: `${flag}: ${message}` },
    ]);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = (tokens[i] ?? "").replace(/^[\u2013\u2014]/, "--");
    if (token === "--nowait" || token === "-nw") continue;
    const [flag = "", inline] = token.split(/=(.*)/s, 2);
    const value = (): string => {
      const given = inline ?? tokens[++i];
      if (given === undefined || given === "") return fail(flag, "needs a value");
      return given;
    };
    switch (flag) {
      case "--job-name":
      case "-J": {
        const name = value();
        if (!JOB_NAME.test(name)) fail(flag, "takes 1-128 letters, digits, '-' and '_'");
        options.name = name;
        break;
      }
      case "--array":
      case "-a":
        options.arraySize = parseArray(value()) ?? fail(flag, "takes a size from 2 to 10000, or a range 0-N");
        break;
      case "--nodes":
      case "-N": {
        const given = value();
        const nodes = /^\d{1,4}$/.test(given) ? Number(given) : Number.NaN;
        if (!Number.isInteger(nodes) || nodes < 1 || nodes > 1000)
          fail(flag, "takes a node count from 1 to 1000");
        options.nodes = nodes;
        break;
      }
      case "--time":
      case "-t": {
        const seconds = parseSlurmTime(value());
        // At most 14 days: a longer limit is a typo, and Batch would refuse it later, less clearly.
        if (seconds === undefined || seconds < 60 || seconds > 14 * 86400)
          fail(flag, "takes a time limit of at least 1 minute (minutes, HH:MM:SS or D-HH:MM:SS)");
        options.timeoutSeconds = seconds;
        break;
      }
      default: {
        const shown = JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token);
        fail(shown, "is not an accepted flag; accepted: --nowait, --job-name, --array, --nodes, --time");
      }
    }
  }
  return options;
}

/** `sbatch` output. */
export function submittedLines(jobId: string): string[] {
  return [`Submitted batch job ${jobId}`];
}
