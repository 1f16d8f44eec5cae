/**
 * `hpcctl clusters ...`: create (optionally waiting), ensure (idempotent, safe to run in parallel), list,
 * get, delete and events.
 */
import { CLUSTER_STATUSES, type ClusterStatus } from "#shared/domain/cluster.ts";
import {
  type Cluster,
  type ClusterEvent,
  ClusterEventPageSchema,
  ClusterPageSchema,
  ClusterSchema,
  DryRunSchema,
} from "../api-types.ts";
import { booleanOption, choiceOption, keyValueOption, stringOption } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { ApiError, InterruptedError, OutcomeError, UsageError } from "../errors.ts";
import { type Column, formatAge, formatTime } from "../output.ts";
import { Backoff, sleep } from "../progress.ts";

/** The API path of a cluster. */
export function clusterPath(name: string): string {
  return `/v1/clusters/${encodeURIComponent(name)}`;
}

/** Statuses in which a cluster can take jobs: it was created, and any update since leaves it usable. */
const READY: readonly ClusterStatus[] = [
  "CREATE_COMPLETE",
  "UPDATE_IN_PROGRESS",
  "UPDATE_COMPLETE",
  "UPDATE_FAILED",
];

/** True for statuses that end a stack operation (nothing `_IN_PROGRESS`). */
function settled(status: ClusterStatus): boolean {
  return !status.endsWith("_IN_PROGRESS");
}

/** What a finished wait reports: the cluster as last seen, and whether it reached the goal. */
export interface ClusterWaitResult {
  readonly cluster: Cluster;
  readonly ok: boolean;
}

/** Reads a cluster; undefined when no cluster has the name (404). */
async function findCluster(context: CommandContext, name: string): Promise<Cluster | undefined> {
  try {
    return await context.client.get(clusterPath(name), ClusterSchema);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** The newest stack event, for the live progress line; cosmetic, so its failures are ignored. */
async function newestStackEvent(context: CommandContext, name: string): Promise<string | undefined> {
  try {
    const page = await context.client.get(`${clusterPath(name)}/events`, ClusterEventPageSchema, {
      query: { source: "stack", limit: 1 },
      retry: false,
    });
    const event = page.items[0];
    if (!event) return undefined;
    return `${event.logicalResourceId ?? ""} ${event.status}${event.reason ? `: ${event.reason}` : ""}`.trim();
  } catch (error) {
    if (error instanceof ApiError) return undefined;
    throw error;
  }
}

/**
 * Polls a cluster (500 ms backoff up to 5 s) until its create settles (`create`: a ready status, or
 * CREATE_FAILED / a deletion) or its deletion does (`delete`: DELETE_COMPLETE or gone, or DELETE_FAILED).
 * Shows a progress line on stderr; Ctrl-C stops the wait (the cluster carries on).
 */
export async function waitForCluster(
  context: CommandContext,
  name: string,
  goal: "create" | "delete",
  lastSeen?: Cluster,
): Promise<ClusterWaitResult> {
  const { output } = context;
  const progress = output.startProgress(`cluster ${name}`, context.now);
  const backoff = new Backoff();
  let last = lastSeen;
  // The status the request itself answered is the first the user sees, however fast the next one comes.
  if (lastSeen) progress.update(lastSeen.status, lastSeen.failureReason);
  try {
    for (;;) {
      const cluster = await findCluster(context, name);
      if (!cluster) {
        if (goal === "delete" && last) return { cluster: { ...last, status: "DELETE_COMPLETE" }, ok: true };
        throw new ApiError({
          title: "Cluster not found",
          detail: `No cluster named '${name}' exists.`,
          status: 404,
        });
      }
      if (cluster.status !== last?.status) backoff.reset();
      last = cluster;
      const detail = output.live ? await newestStackEvent(context, name) : cluster.failureReason;
      progress.update(cluster.status, detail);
      if (goal === "create") {
        if (READY.includes(cluster.status)) return { cluster, ok: true };
        if (cluster.status === "CREATE_FAILED" || cluster.status.startsWith("DELETE_"))
          return { cluster, ok: false };
      } else {
        if (cluster.status === "DELETE_COMPLETE") return { cluster, ok: true };
        if (cluster.status === "DELETE_FAILED") return { cluster, ok: false };
      }
      await sleep(backoff.next(), context.signal);
    }
  } catch (error) {
    if (error instanceof InterruptedError && last) {
      output.endProgress();
      output.note(`stopped waiting; cluster ${name} carries on (${last.status})`);
    }
    throw error;
  } finally {
    output.endProgress();
  }
}

/** The stderr line of a cluster that ended failed: `cluster NAME: STATUS: REASON`. */
export function clusterFailure(cluster: Cluster): OutcomeError {
  return new OutcomeError(
    `cluster ${cluster.name}: ${cluster.status}: ${cluster.failureReason ?? "no reason given"}`,
  );
}

function queueSummary(cluster: Cluster): string | undefined {
  const queues = cluster.configuration?.queues;
  if (!queues || queues.length === 0) return undefined;
  return queues
    .map((queue) => {
      const resources = queue.computeResources ?? [];
      const types = [...new Set(resources.flatMap((resource) => resource.instanceTypes ?? []))].join(", ");
      const max = resources.reduce((sum, resource) => sum + (resource.maxCount ?? resource.maxVcpus ?? 0), 0);
      const unit = resources.some((resource) => resource.maxVcpus !== undefined) ? " vCPUs" : "";
      return `${queue.name}${types ? ` (${types}${max ? `, max ${max}${unit}` : ""})` : ""}`;
    })
    .join("; ");
}

/** The key facts of a cluster, for `get` and after a create or a wait. */
export function clusterFacts(cluster: Cluster, now: number): [string, string | undefined][] {
  const head = cluster.headNode
    ? [cluster.headNode.state, cluster.headNode.privateIp, cluster.headNode.publicIp]
        .filter(Boolean)
        .join(" ")
    : undefined;
  const tags = cluster.tags && Object.keys(cluster.tags).length > 0 ? cluster.tags : undefined;
  const warnings = cluster.warnings ?? [];
  return [
    ["Name", cluster.name],
    ["Status", cluster.status],
    ["Reason", cluster.failureReason],
    ["Scheduler", cluster.scheduler],
    ["Region", cluster.configuration?.region],
    ["Head node", head],
    ["Queues", queueSummary(cluster)],
    ["Stack", cluster.stackName],
    [
      "Tags",
      tags
        ? Object.entries(tags)
            .map(([key, value]) => `${key}=${value}`)
            .join(", ")
        : undefined,
    ],
    [
      "Warnings",
      warnings.length > 0 ? `${warnings.length} (${warnings[0]?.path}: ${warnings[0]?.message})` : undefined,
    ],
    ["Created", formatTime(cluster.createdAt, now)],
    ["Updated", formatTime(cluster.updatedAt, now)],
  ];
}

function printCluster(context: CommandContext, cluster: Cluster): void {
  if (context.output.json) context.output.printJson(cluster);
  else context.output.printFacts(clusterFacts(cluster, context.now()));
}

/**
 * Reads a cluster configuration file (`--config FILE`, `triggers create --template FILE`) as the base64
 * the API accepts (so any file, any encoding, arrives intact).
 */
export async function readConfiguration(
  context: CommandContext,
  file: string,
  usage: string,
): Promise<string> {
  let content: Buffer;
  try {
    content = await context.readFile(file);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read the configuration file '${file}' (${reason})`, usage);
  }
  if (content.length === 0) throw new UsageError(`the configuration file '${file}' is empty`, usage);
  return content.toString("base64");
}

async function createCluster(
  context: CommandContext,
  name: string,
  configuration: string,
  extra: { readonly tags?: Record<string, string> } = {},
): Promise<Cluster> {
  return context.client.post(
    "/v1/clusters",
    {
      name,
      configurationEncoding: "base64",
      configuration,
      ...(extra.tags && Object.keys(extra.tags).length > 0 ? { tags: extra.tags } : {}),
    },
    ClusterSchema,
  );
}

/** Prints a finished wait's cluster; a failed one is an `OutcomeError` (exit 1). */
function finishWait(context: CommandContext, result: ClusterWaitResult): number {
  printCluster(context, result.cluster);
  if (!result.ok) throw clusterFailure(result.cluster);
  return 0;
}

const create: Command = {
  spec: {
    path: ["clusters", "create"],
    summary:
      "Create a cluster from a configuration file (ParallelCluster 3 YAML, ParallelCluster 2 INI or JSON).",
    synopsis: "clusters create NAME --config FILE [--dry-run] [--wait] [--tag K=V]...",
    positionals: ["NAME"],
    required: ["config"],
    options: {
      config: {
        type: "string",
        short: "c",
        placeholder: "FILE",
        description: "the configuration file (- for stdin)",
      },
      "dry-run": { type: "boolean", description: "validate and normalize only; create nothing" },
      wait: {
        type: "boolean",
        short: "w",
        description: "wait for CREATE_COMPLETE (exit 1 on CREATE_FAILED)",
      },
      tag: {
        type: "string",
        multiple: true,
        placeholder: "K=V",
        description: "a tag for the cluster and its stack",
      },
    },
    description:
      "Without --wait it returns once the API accepted the request (CREATE_IN_PROGRESS). With --wait it\n" +
      "shows the progress on stderr and prints the finished cluster.",
    examples: [
      "hpcctl clusters create cfd --config cluster.yaml --wait",
      "hpcctl clusters create cfd --config pcluster.conf --dry-run",
      "hpcctl clusters create cfd --config cluster.yaml --tag team=cfd --output json",
    ],
  },
  async run(context, args, usage) {
    const name = args.positionals.NAME ?? "";
    const configuration = await readConfiguration(context, stringOption(args.values, "config") ?? "", usage);
    const tags = keyValueOption(args.values, "tag", usage);
    if (booleanOption(args.values, "dry-run")) {
      const result = await context.client.post(
        "/v1/clusters",
        {
          name,
          configurationEncoding: "base64",
          configuration,
          dryRun: true,
          ...(Object.keys(tags).length ? { tags } : {}),
        },
        DryRunSchema,
      );
      if (context.output.json) context.output.printJson(result);
      else {
        const queues = (result.normalized.queues ?? []).map((queue) => queue.name).join(", ");
        context.output.printLine(
          `Configuration is valid: scheduler ${result.normalized.scheduler ?? "?"}, queues ${queues || "none"}; nothing was created.`,
        );
        for (const warning of result.warnings)
          context.output.printLine(
            `warning: ${warning.path}${warning.line ? ` (line ${warning.line})` : ""}: ${warning.message}`,
          );
      }
      return 0;
    }
    const cluster = await createCluster(context, name, configuration, { tags });
    if (!booleanOption(args.values, "wait")) {
      printCluster(context, cluster);
      return 0;
    }
    return finishWait(context, await waitForCluster(context, name, "create", cluster));
  },
};

/** How many times `ensure` reads and creates again when other callers race it. */
const ENSURE_ROUNDS = 10;

const ensure: Command = {
  spec: {
    path: ["clusters", "ensure"],
    summary: "Create a cluster unless it already exists; safe to run again, and in parallel.",
    synopsis: "clusters ensure NAME --config FILE [--wait]",
    positionals: ["NAME"],
    required: ["config"],
    options: {
      config: {
        type: "string",
        short: "c",
        placeholder: "FILE",
        description: "the configuration file (- for stdin)",
      },
      wait: { type: "boolean", short: "w", description: "wait until it is ready (exit 1 on CREATE_FAILED)" },
    },
    description:
      "An existing cluster is left as it is (its configuration is not compared). A deleted one is created\n" +
      "again; one being deleted is waited for, then created again. When another caller creates it at the\n" +
      "same time, both succeed. With --wait it returns at once if the cluster is already CREATE_COMPLETE.",
    examples: [
      "hpcctl clusters ensure burst --config burst.yaml --wait",
      "hpcctl clusters ensure burst --config burst.yaml --wait --quiet --output json",
    ],
  },
  async run(context, args, usage) {
    const name = args.positionals.NAME ?? "";
    const configuration = await readConfiguration(context, stringOption(args.values, "config") ?? "", usage);
    const wait = booleanOption(args.values, "wait");
    let lastError: unknown;
    for (let round = 0; round < ENSURE_ROUNDS; round++) {
      let cluster = await findCluster(context, name);
      if (cluster?.status === "DELETE_IN_PROGRESS") {
        context.output.note(
          `cluster ${name} is being deleted; waiting for DELETE_COMPLETE to create it again`,
        );
        const deleted = await waitForCluster(context, name, "delete", cluster);
        if (!deleted.ok) {
          printCluster(context, deleted.cluster);
          throw clusterFailure(deleted.cluster);
        }
        cluster = undefined;
      }
      if (!cluster || cluster.status === "DELETE_COMPLETE") {
        try {
          cluster = await createCluster(context, name, configuration);
          context.output.note(`cluster ${name}: creation started`);
        } catch (error) {
          // Another caller created (or is changing) it meanwhile: read it again.
          if (
            error instanceof ApiError &&
            (error.is("cluster-exists") || error.is("concurrent-modification"))
          ) {
            lastError = error;
            continue;
          }
          throw error;
        }
      } else {
        context.output.note(`cluster ${name} exists (${cluster.status})`);
      }
      if (!wait || READY.includes(cluster.status)) {
        printCluster(context, cluster);
        return 0;
      }
      return finishWait(context, await waitForCluster(context, name, "create", cluster));
    }
    throw lastError;
  },
};

const CLUSTER_COLUMNS: readonly Column<Cluster & { readonly now: number }>[] = [
  { header: "NAME", value: (cluster) => cluster.name },
  { header: "STATUS", value: (cluster) => cluster.status },
  { header: "SCHEDULER", value: (cluster) => cluster.scheduler },
  { header: "HEAD NODE", value: (cluster) => cluster.headNode?.privateIp ?? "-" },
  { header: "AGE", value: (cluster) => formatAge(cluster.createdAt, cluster.now) },
];

const list: Command = {
  spec: {
    path: ["clusters", "list"],
    summary: "List clusters: live ones, or those in one status.",
    synopsis: "clusters list [--status S]",
    positionals: [],
    options: {
      status: {
        type: "string",
        placeholder: "S",
        description: `only clusters in this status (${CLUSTER_STATUSES.join(", ")})`,
      },
    },
    examples: [
      "hpcctl clusters list",
      "hpcctl clusters list --status CREATE_FAILED",
      "hpcctl clusters list --output json | jq -r '.items[].name'",
    ],
  },
  async run(context, args, usage) {
    const status = choiceOption(args.values, "status", CLUSTER_STATUSES, usage);
    const items = await context.client.listAll("/v1/clusters", ClusterPageSchema, { status, limit: 100 });
    if (context.output.json) context.output.printJson({ items });
    else if (items.length === 0) context.output.note(status ? `No clusters in ${status}.` : "No clusters.");
    else {
      const now = context.now();
      context.output.printTable(
        CLUSTER_COLUMNS,
        items.map((item) => ({ ...item, now })),
      );
    }
    return 0;
  },
};

const get: Command = {
  spec: {
    path: ["clusters", "get"],
    summary: "Show a cluster: status, head node, queues, stack, tags.",
    synopsis: "clusters get NAME",
    positionals: ["NAME"],
    options: {},
    examples: ["hpcctl clusters get cfd", "hpcctl clusters get cfd --output json | jq -r .status"],
  },
  async run(context, args) {
    printCluster(context, await context.client.get(clusterPath(args.positionals.NAME ?? ""), ClusterSchema));
    return 0;
  },
};

const remove: Command = {
  spec: {
    path: ["clusters", "delete"],
    summary: "Delete a cluster and its stack.",
    synopsis: "clusters delete NAME [--wait]",
    positionals: ["NAME"],
    options: {
      wait: {
        type: "boolean",
        short: "w",
        description: "wait for DELETE_COMPLETE (exit 1 on DELETE_FAILED)",
      },
    },
    examples: ["hpcctl clusters delete cfd", "hpcctl clusters delete cfd --wait"],
  },
  async run(context, args) {
    const name = args.positionals.NAME ?? "";
    const cluster = await context.client.delete(clusterPath(name), ClusterSchema);
    if (!booleanOption(args.values, "wait")) {
      printCluster(context, cluster);
      return 0;
    }
    return finishWait(context, await waitForCluster(context, name, "delete", cluster));
  },
};

/** Event time without milliseconds: `2025-01-15T10:04:10Z`. */
function shortTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z");
}

const STATUS_EVENT_COLUMNS: readonly Column<ClusterEvent>[] = [
  { header: "TIME", value: (event) => shortTime(event.at), width: 20 },
  { header: "STATUS", value: (event) => event.status, width: 18 },
  { header: "SOURCE", value: (event) => event.source ?? "-", width: 11 },
  { header: "REASON", value: (event) => event.reason ?? "" },
];

const STACK_EVENT_COLUMNS: readonly Column<ClusterEvent>[] = [
  { header: "TIME", value: (event) => shortTime(event.at), width: 20 },
  { header: "RESOURCE", value: (event) => event.logicalResourceId ?? "-", width: 24 },
  { header: "TYPE", value: (event) => event.resourceType ?? "-", width: 34 },
  { header: "STATUS", value: (event) => event.status, width: 18 },
  { header: "REASON", value: (event) => event.reason ?? "" },
];

const events: Command = {
  spec: {
    path: ["clusters", "events"],
    summary: "Show a cluster's history: its status changes, or its stack's events.",
    synopsis: "clusters events NAME [--follow] [--source status|stack]",
    positionals: ["NAME"],
    options: {
      follow: {
        type: "boolean",
        short: "f",
        description: "keep printing new events until the cluster's status settles (nothing _IN_PROGRESS)",
      },
      source: {
        type: "string",
        placeholder: "status|stack",
        description: "status changes (default) or the CloudFormation stack's events",
      },
    },
    description:
      'Tables are oldest first. --output json prints the API\'s page ({ "items": [...] }, newest first); with\n' +
      "--follow it prints one JSON event per line instead, oldest first. --follow exits 1 when the cluster\n" +
      "settles in a *_FAILED status.",
    examples: [
      "hpcctl clusters events cfd",
      "hpcctl clusters events cfd --source stack",
      "hpcctl clusters create cfd --config cluster.yaml && hpcctl clusters events cfd --follow",
    ],
  },
  async run(context, args, usage) {
    const name = args.positionals.NAME ?? "";
    const source = choiceOption(args.values, "source", ["status", "stack"] as const, usage) ?? "status";
    const path = `${clusterPath(name)}/events`;
    const columns = source === "stack" ? STACK_EVENT_COLUMNS : STATUS_EVENT_COLUMNS;
    const items = await context.client.listAll(path, ClusterEventPageSchema, { source, limit: 100 });
    if (!booleanOption(args.values, "follow")) {
      if (context.output.json) context.output.printJson({ items });
      else if (items.length === 0) context.output.note(`No events for cluster ${name}.`);
      else context.output.printTable(columns, [...items].reverse());
      return 0;
    }
    return followEvents(context, name, path, source, columns, items);
  },
};

async function followEvents(
  context: CommandContext,
  name: string,
  path: string,
  source: "status" | "stack",
  columns: readonly Column<ClusterEvent>[],
  initial: readonly ClusterEvent[],
): Promise<number> {
  const { output } = context;
  const seen = new Set<string>();
  const printRows = output.streamTable(columns);
  const print = (fresh: readonly ClusterEvent[]) => {
    const chronological = [...fresh].reverse();
    for (const event of chronological) seen.add(JSON.stringify(event));
    if (output.json) for (const event of chronological) output.printJsonLine(event);
    else printRows(chronological);
  };
  print(initial);
  const backoff = new Backoff();
  for (;;) {
    const cluster = await context.client.get(clusterPath(name), ClusterSchema);
    const page = await context.client.get(path, ClusterEventPageSchema, { query: { source, limit: 100 } });
    const fresh = page.items.filter((event) => !seen.has(JSON.stringify(event)));
    if (fresh.length > 0) backoff.reset();
    print(fresh);
    if (settled(cluster.status)) {
      if (cluster.status.endsWith("_FAILED")) throw clusterFailure(cluster);
      return 0;
    }
    await sleep(backoff.next(), context.signal);
  }
}

/** Every `clusters` command. */
export const CLUSTER_COMMANDS: readonly Command[] = [create, ensure, list, get, remove, events];
