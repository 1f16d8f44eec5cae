// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text hpcctl sends as typed
/**
 * `hpcctl triggers ...`: create, list, get and delete the rules that turn new objects in an S3 bucket into
 * jobs (and, with a cluster template, into the cluster they run on). `${input.<field>}` placeholders are
 * sent exactly as typed: the API substitutes them per event.
 */
import { parseDocument } from "yaml";
import { DEFAULT_BATCH_MARKER, TRIGGER_MODES, WHEN_DONE } from "#shared/domain/trigger.ts";
import {
  NoContentSchema,
  type Trigger,
  type TriggerFailure,
  TriggerPageSchema,
  TriggerSchema,
} from "../api-types.ts";
import { choiceOption, integerOption, type OptionSpec, type ParsedArgs, stringOption } from "../args.ts";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../errors.ts";
import { type Column, formatTime } from "../output.ts";
import { readConfiguration } from "./clusters.ts";
import { JOB_FIELD_OPTIONS, jobFields, shellQuote } from "./jobs.ts";

/** The API path of a trigger rule. */
export function triggerPath(name: string): string {
  return `/v1/triggers/${encodeURIComponent(name)}`;
}

/** Job fields `jobs submit` has no flag for, which a rule's job template may still want. */
const RESOURCE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  image: { type: "string", placeholder: "IMAGE", description: "the job's container image (AWS Batch)" },
  vcpus: {
    type: "string",
    placeholder: "N",
    description: "vCPUs for the job (fractions such as 0.25 on Fargate)",
  },
  memory: { type: "string", placeholder: "MIB", description: "memory for the job, in MiB" },
};

/** The options that describe the job when it is given on the command line rather than with `--job`. */
const JOB_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  "job-name": {
    type: "string",
    placeholder: "N",
    description: "the job's name; may hold placeholders (default: from the command or script)",
  },
  ...JOB_FIELD_OPTIONS,
  ...RESOURCE_OPTIONS,
};

/** A positive number of vCPUs, fractions allowed; anything else is a usage error. */
function vcpusOption(args: ParsedArgs, usage: string): number | undefined {
  const text = stringOption(args.values, "vcpus");
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0))
    throw new UsageError(`--vcpus takes a positive number (got '${text}')`, usage);
  return value;
}

/** Reads `--job FILE`: a JSON or YAML mapping of the job's fields, sent as it is. */
async function readJobFile(
  context: CommandContext,
  file: string,
  usage: string,
): Promise<Record<string, unknown>> {
  let content: Buffer;
  try {
    content = await context.readFile(file);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read the job file '${file}' (${reason})`, usage);
  }
  const text = content.toString("utf8");
  if (text.trim() === "") throw new UsageError(`the job file '${file}' is empty`, usage);
  // YAML 1.2 reads JSON as well, so one parser takes both.
  const document = parseDocument(text);
  const [error] = document.errors;
  if (error) {
    // The parser's message names the line and column; its excerpt of the file is left out.
    throw new UsageError(
      `the job file '${file}' is neither JSON nor YAML: ${error.message.split(":\n")[0]} ` +
        "(quote ${input.<field>} inside [ ] or { } in YAML)",
      usage,
    );
  }
  const job: unknown = document.toJS();
  if (typeof job !== "object" || job === null || Array.isArray(job))
    throw new UsageError(
      `the job file '${file}' must hold the job's fields (name, command or script, ...) as a mapping`,
      usage,
    );
  return job as Record<string, unknown>;
}

/** The job template: from `--job FILE`, or from the same flags as `jobs submit` (+ `--job-name`). */
async function jobTemplate(
  context: CommandContext,
  args: ParsedArgs,
  usage: string,
): Promise<Record<string, unknown>> {
  const file = stringOption(args.values, "job");
  const flags = Object.keys(JOB_OPTIONS).filter((name) => args.values[name] !== undefined);
  if (file !== undefined) {
    if (flags.length > 0 || args.trailing.length > 0) {
      const given = flags.length > 0 ? `--${flags[0]}` : "-- CMD ARGS...";
      throw new UsageError(`give the job either with --job FILE or with options (${given}), not both`, usage);
    }
    return readJobFile(context, file, usage);
  }
  if (stringOption(args.values, "script") === undefined && args.trailing.length === 0)
    throw new UsageError("missing the job: --job FILE, --script FILE, or -- CMD ARGS...", usage);
  const fields = await jobFields(context, args, usage, "job-name");
  const image = stringOption(args.values, "image");
  const vcpus = vcpusOption(args, usage);
  const memoryMiB = integerOption(args.values, "memory", usage, { min: 1 });
  return {
    ...fields,
    ...(image !== undefined ? { image } : {}),
    ...(vcpus !== undefined ? { vcpus } : {}),
    ...(memoryMiB !== undefined ? { memoryMiB } : {}),
  };
}

/** What the rule's job runs, in one line: the command as a shell would need it typed, or the script's size. */
function runsSummary(job: NonNullable<Trigger["job"]>): string | undefined {
  if (job.command) return job.command.map(shellQuote).join(" ");
  if (job.script !== undefined) {
    const lines = job.script.split("\n").filter((line) => line.trim() !== "").length;
    return `script, ${lines} line${lines === 1 ? "" : "s"}`;
  }
  return undefined;
}

/** The key facts of a rule, for `get` and `create`. */
export function triggerFacts(rule: Trigger, now: number): [string, string | undefined][] {
  const job = rule.job;
  const environment = job?.environment ?? {};
  const failures = rule.recentFailures;
  return [
    ["Name", rule.name],
    ["Bucket", rule.bucket],
    ["Prefix", rule.prefix],
    ["Suffix", rule.suffix],
    ["Mode", rule.mode],
    ["Batch marker", rule.mode === "per-batch" ? (rule.suffix ?? DEFAULT_BATCH_MARKER) : undefined],
    [
      "Cluster",
      `${rule.clusterName} (${rule.clusterTemplate ? "created from the rule's template when absent" : "must exist"})`,
    ],
    ["When done", rule.whenDone === "delete" ? "delete the cluster" : "keep the cluster"],
    ["Job", job?.name],
    ["Runs", job ? runsSummary(job) : undefined],
    ["Image", job?.image],
    ["vCPUs", job?.vcpus?.toString()],
    ["Memory", job?.memoryMiB !== undefined ? `${job.memoryMiB} MiB` : undefined],
    [
      "Environment",
      Object.keys(environment).length > 0
        ? Object.entries(environment)
            .map(([key, value]) => `${key}=${value}`)
            .join(", ")
        : undefined,
    ],
    ["Array", job?.arraySize !== undefined ? `${job.arraySize} children` : undefined],
    ["Attempts", job?.retryStrategy?.attempts.toString()],
    ["Timeout", job?.timeoutSeconds !== undefined ? `${job.timeoutSeconds} s` : undefined],
    ["Created", formatTime(rule.createdAt, now)],
    ["Created by", rule.createdBy],
    [
      "Recent failures",
      failures === undefined ? undefined : failures.length === 0 ? "none" : `${failures.length} (below)`,
    ],
  ];
}

const FAILURE_COLUMNS: readonly Column<TriggerFailure>[] = [
  { header: "TIME", value: (failure) => failure.at.replace(/\.\d+Z$/, "Z") },
  { header: "OBJECT", value: (failure) => `${failure.bucket}/${failure.key}` },
  { header: "REASON", value: (failure) => failure.reason },
];

function printTrigger(context: CommandContext, rule: Trigger): void {
  const { output } = context;
  if (output.json) {
    output.printJson(rule);
    return;
  }
  output.printFacts(triggerFacts(rule, context.now()));
  const failures = rule.recentFailures ?? [];
  if (failures.length > 0) {
    output.printLine("");
    output.printLine("Recent failures (newest first):");
    output.printTable(FAILURE_COLUMNS, failures);
  }
}

const create: Command = {
  spec: {
    path: ["triggers", "create"],
    summary: "Create a rule that runs a job on a cluster for each new object (or batch) in an S3 bucket.",
    synopsis:
      "triggers create NAME --bucket B [--prefix P] [--suffix S] --cluster C [--template FILE]\n" +
      "              [--mode per-object|per-batch] [--when-done keep|delete]\n" +
      "              (--job FILE | [--job-name N] [job options] (--script FILE | -- CMD ARGS...))",
    positionals: ["NAME"],
    required: ["bucket", "cluster"],
    options: {
      bucket: { type: "string", placeholder: "B", description: "the S3 bucket whose new objects start jobs" },
      prefix: { type: "string", placeholder: "P", description: "only keys starting with P (e.g. raw/)" },
      suffix: {
        type: "string",
        placeholder: "S",
        description: `only keys ending with S; per-batch: the marker that closes a batch (default ${DEFAULT_BATCH_MARKER})`,
      },
      cluster: { type: "string", placeholder: "C", description: "the cluster the jobs run on" },
      template: {
        type: "string",
        placeholder: "FILE",
        description: "a cluster configuration (as for clusters create): C is created from it when absent",
      },
      mode: {
        type: "string",
        placeholder: "per-object|per-batch",
        description: "a job per object (default), or per batch closed by its marker object",
      },
      "when-done": {
        type: "string",
        placeholder: "keep|delete",
        description: "keep the cluster (default), or delete it once the rule's jobs are done",
      },
      job: {
        type: "string",
        placeholder: "FILE",
        description: "the job's fields as JSON or YAML (as jobs submit's body; - for stdin)",
      },
      ...JOB_OPTIONS,
    },
    trailing: true,
    description:
      "In the job's name, command words and --env values, ${input.uri}, ${input.bucket}, ${input.key},\n" +
      "${input.prefix} and ${input.size} are replaced by the event's values, as plain values (never through\n" +
      "a shell); any other ${...} is left as it is. hpcctl sends them as typed: single-quote them so your\n" +
      "shell does not expand them first, as in -- convert '${input.uri}'. A --script is never substituted\n" +
      "(the API refuses placeholders in it): it reads $HPC_INPUT_URI, $HPC_INPUT_BUCKET, $HPC_INPUT_KEY,\n" +
      "$HPC_INPUT_PREFIX and $HPC_INPUT_SIZE, which every triggered job gets. In a --job YAML file, quote\n" +
      "placeholders inside [ ] or { }.\n" +
      "Rules cannot be changed: delete and create again. The API's warnings go to stderr.",
    examples: [
      "hpcctl triggers create thumbs --bucket photos --prefix raw/ --suffix .jpg --cluster img \\\n" +
        "    --template cluster.yaml --job-name thumb -- convert '${input.uri}' -resize 256",
      "hpcctl triggers create nightly --bucket data --prefix runs/ --mode per-batch --when-done delete \\\n" +
        "    --cluster batch --template cluster.yaml --script process.sh   # reads $HPC_INPUT_PREFIX",
      "hpcctl triggers create align --bucket reads --suffix .fastq --cluster cfd --job job.yaml -o json",
    ],
  },
  async run(context, args, usage) {
    const mode = choiceOption(args.values, "mode", TRIGGER_MODES, usage);
    const whenDone = choiceOption(args.values, "when-done", WHEN_DONE, usage);
    const templateFile = stringOption(args.values, "template");
    const configuration =
      templateFile === undefined ? undefined : await readConfiguration(context, templateFile, usage);
    const job = await jobTemplate(context, args, usage);
    const prefix = stringOption(args.values, "prefix");
    const suffix = stringOption(args.values, "suffix");
    const rule = await context.client.post(
      "/v1/triggers",
      {
        name: args.positionals.NAME ?? "",
        bucket: stringOption(args.values, "bucket") ?? "",
        ...(prefix !== undefined ? { prefix } : {}),
        ...(suffix !== undefined ? { suffix } : {}),
        clusterName: stringOption(args.values, "cluster") ?? "",
        ...(configuration !== undefined
          ? { clusterTemplate: { configuration, configurationEncoding: "base64" } }
          : {}),
        job,
        ...(mode !== undefined ? { mode } : {}),
        ...(whenDone !== undefined ? { whenDone } : {}),
      },
      TriggerSchema,
    );
    printTrigger(context, rule);
    for (const warning of rule.warnings ?? []) {
      const where = warning.path ? `${warning.path}${warning.line ? ` (line ${warning.line})` : ""}: ` : "";
      context.output.note(`warning: ${where}${warning.message}`);
    }
    return 0;
  },
};

const TRIGGER_COLUMNS: readonly Column<Trigger>[] = [
  { header: "NAME", value: (rule) => rule.name },
  { header: "BUCKET", value: (rule) => rule.bucket },
  { header: "PREFIX", value: (rule) => rule.prefix || "-" },
  { header: "SUFFIX", value: (rule) => rule.suffix || "-" },
  { header: "CLUSTER", value: (rule) => rule.clusterName },
  { header: "MODE", value: (rule) => rule.mode },
  { header: "WHEN-DONE", value: (rule) => rule.whenDone },
];

const list: Command = {
  spec: {
    path: ["triggers", "list"],
    summary: "List the trigger rules.",
    synopsis: "triggers list",
    positionals: [],
    options: {},
    examples: ["hpcctl triggers list", "hpcctl triggers list --output json | jq -r '.items[].name'"],
  },
  async run(context) {
    const items = await context.client.listAll("/v1/triggers", TriggerPageSchema, { limit: 100 });
    if (context.output.json) context.output.printJson({ items });
    else if (items.length === 0) context.output.note("No trigger rules.");
    else context.output.printTable(TRIGGER_COLUMNS, items);
    return 0;
  },
};

const get: Command = {
  spec: {
    path: ["triggers", "get"],
    summary: "Show a trigger rule: what it matches, the job it runs, and the events it could not run.",
    synopsis: "triggers get NAME",
    positionals: ["NAME"],
    options: {},
    examples: [
      "hpcctl triggers get thumbs",
      "hpcctl triggers get thumbs --output json | jq '.recentFailures'",
    ],
  },
  async run(context, args) {
    printTrigger(context, await context.client.get(triggerPath(args.positionals.NAME ?? ""), TriggerSchema));
    return 0;
  },
};

const remove: Command = {
  spec: {
    path: ["triggers", "delete"],
    summary: "Delete a trigger rule; new objects stop starting jobs.",
    synopsis: "triggers delete NAME",
    positionals: ["NAME"],
    options: {},
    description:
      "The cluster and the jobs the rule started are left as they are. The API answers 204, so --output\n" +
      "json prints nothing; the exit code says whether it worked.",
    examples: ["hpcctl triggers delete thumbs"],
  },
  async run(context, args) {
    const name = args.positionals.NAME ?? "";
    await context.client.delete(triggerPath(name), NoContentSchema);
    if (!context.output.json) context.output.printLine(`Trigger rule ${name} deleted.`);
    return 0;
  },
};

/** Every `triggers` command. */
export const TRIGGER_COMMANDS: readonly Command[] = [create, list, get, remove];
