import type { Cluster } from "../domain/cluster.ts";
import type { ClusterSpec, ConfigWarning } from "../domain/cluster-spec.ts";
import { decodeConfiguration, parseClusterConfig } from "../domain/config/index.ts";
import {
  ConfigInvalidError,
  type FieldIssue,
  PayloadTooLargeError,
  RequestValidationError,
  TriggerNotFoundError,
} from "../domain/errors.ts";
import { renderJob, sampleInput, templatePlaceholderIssues } from "../domain/input-template.ts";
import type { JobSpec } from "../domain/job.ts";
import type { JobTemplate, TriggerMode, TriggerRule, WhenDone } from "../domain/trigger.ts";
import type { Clock } from "../ports/clock.ts";
import type { ClusterStore } from "../ports/cluster-store.ts";
import type { Page, PageRequest } from "../ports/page.ts";
import type { StackProvisioner } from "../ports/stack-provisioner.ts";
import type { TriggerStore, TriggerSummary } from "../ports/trigger-store.ts";
import type { JobSchedulers } from "./deps.ts";

/** What the trigger use cases take; reads need only `triggers`. */
export interface TriggerDeps {
  readonly triggers: TriggerStore;
  /** The clusters, to check the job against the cluster it would run on. */
  readonly store: ClusterStore;
  /** Whether this deployment can create the rule's cluster template. */
  readonly provisioner: Pick<StackProvisioner, "checkCanProvision">;
  /** The scheduler that would take the rule's jobs, for its own limits. */
  readonly schedulers: JobSchedulers;
  readonly clock: Clock;
}

/** A rule to create, validated at the edge (the job's script already decoded). */
export interface CreateTriggerCommand {
  readonly name: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly clusterName: string;
  readonly clusterTemplate?: {
    readonly configuration: string;
    readonly configurationEncoding: "base64" | "text";
  };
  readonly job: JobTemplate;
  readonly mode: TriggerMode;
  readonly whenDone: WhenDone;
  readonly principal: string;
}

/** The stored rule, and what its owner should know about it (nothing of which stopped the create). */
export interface CreatedTrigger {
  readonly rule: TriggerRule;
  readonly warnings: readonly ConfigWarning[];
}

/** Where the cluster template's issues are reported: under the field that holds the document. */
const CONFIG_FIELD = "body.clusterTemplate.configuration";

const MAX_ARGUMENT_LENGTH = 8192;
const MAX_ENVIRONMENT_VALUE_LENGTH = 32_768;

/** The largest rule stored: DynamoDB's 400 KB item limit, less room for keys and `recentFailures`. */
const MAX_RULE_BYTES = 360 * 1024;

/**
 * Creates a rule, after checking everything an event would need, so that a rule that cannot work is a
 * 4xx now rather than a failed event at 3 a.m.: the job template's placeholders (400), the cluster
 * template (decoded, parsed and checked against what this deployment can create: 422, issues under
 * `body.clusterTemplate.configuration`), and the job itself, rendered with a sample input, against the
 * scheduler of every cluster it could run on (400, issues under `body.job`). Nothing is written unless
 * all of that passes; the name is claimed by one conditional write (`TriggerExistsError`, 409).
 */
export function makeCreateTrigger(deps: TriggerDeps) {
  return async function createTrigger(command: CreateTriggerCommand): Promise<CreatedTrigger> {
    const placeholderIssues = templatePlaceholderIssues(command.job, "body.job");
    if (placeholderIssues.length > 0) {
      throw new RequestValidationError(
        `The job template's placeholders would not work: ${describeIssue(placeholderIssues[0])}`,
        placeholderIssues,
      );
    }

    if (command.whenDone === "delete" && !command.clusterTemplate) {
      // The first finished job would delete the cluster, and nothing could bring it back for the next file.
      throw new RequestValidationError(
        "whenDone: delete needs a clusterTemplate: after deleting the cluster, the rule must be able to create it again for the next object. Add a clusterTemplate, or use whenDone: keep.",
        [{ path: "body.whenDone", message: "delete requires body.clusterTemplate" }],
      );
    }
    const template = command.clusterTemplate ? readClusterTemplate(deps, command.clusterTemplate) : undefined;
    const now = deps.clock.now().toISOString();
    const rule: TriggerRule = {
      name: command.name,
      bucket: command.bucket,
      ...(command.prefix !== undefined ? { prefix: command.prefix } : {}),
      ...(command.suffix !== undefined ? { suffix: command.suffix } : {}),
      clusterName: command.clusterName,
      ...(template ? { clusterTemplate: { configuration: template.text } } : {}),
      job: command.job,
      mode: command.mode,
      whenDone: command.whenDone,
      createdAt: now,
      createdBy: command.principal,
      recentFailures: [],
      version: 1,
    };

    // DynamoDB keeps at most 400 KB per item, with room for the failures the rule will collect.
    const size = Buffer.byteLength(JSON.stringify(rule));
    if (size > MAX_RULE_BYTES) {
      throw new PayloadTooLargeError(
        `The rule takes ${Math.ceil(size / 1024)} KiB stored; at most ${MAX_RULE_BYTES / 1024} KiB (the job script and the cluster template together): keep large inputs in S3.`,
      );
    }

    const input = sampleInput(rule, (bucket, key) => `s3://${bucket}/${key}`);
    const rendered = renderJob(command.job, input);
    const renderedIssues = renderedJobIssues(rendered.spec);
    if (renderedIssues.length > 0) {
      throw new RequestValidationError(
        `With a sample input (key '${input.key}'), the job would not submit: ${describeIssue(renderedIssues[0])}`,
        renderedIssues,
      );
    }

    const existing = await liveCluster(deps.store, command.clusterName);
    // The existing cluster goes last: a scheduler may remember what it last saw of a cluster's name.
    const targets: { readonly cluster: Cluster; readonly what: string }[] = [];
    if (template) {
      targets.push({
        cluster: templateCluster(command, template.spec, template.warnings, now),
        what: `the cluster its clusterTemplate creates (${template.spec.scheduler})`,
      });
    }
    if (existing) targets.push({ cluster: existing, what: `cluster '${existing.name}'` });
    for (const { cluster, what } of targets) {
      try {
        deps.schedulers.forCluster(cluster).validate?.(rendered.name, rendered.spec, cluster);
      } catch (error) {
        throw repath(
          error,
          jobPath,
          `With a sample input (key '${input.key}'), ${what} would refuse the job`,
        );
      }
    }

    await deps.triggers.create(rule);

    const warnings: ConfigWarning[] = [];
    if (!existing && !template) {
      warnings.push({
        path: "body.clusterName",
        message: `No cluster named '${command.clusterName}' exists and the rule has no clusterTemplate: until one exists, each event fails (see recentFailures).`,
      });
    }
    for (const warning of template?.warnings ?? [])
      warnings.push({ ...warning, path: configPath(warning.path) });
    // The rule is stored: a failure to compare it with the others must not turn its 201 into an error.
    warnings.push(...(await sharedClusterWarnings(deps.triggers, rule).catch(() => [])));
    return { rule, warnings };
  };
}

/** Reads one rule; an unknown name is `TriggerNotFoundError`. */
export function makeGetTrigger(deps: Pick<TriggerDeps, "triggers">) {
  return async function getTrigger(name: string): Promise<TriggerRule> {
    const rule = await deps.triggers.get(name);
    if (!rule) throw new TriggerNotFoundError(name);
    return rule;
  };
}

/** Lists rules by name, one page at a time. */
export function makeListTriggers(deps: Pick<TriggerDeps, "triggers">) {
  return function listTriggers(request: PageRequest): Promise<Page<TriggerSummary>> {
    return deps.triggers.list(request);
  };
}

/**
 * Deletes a rule: later events no longer match it. Its jobs and its cluster stay as they are. An unknown
 * name is `TriggerNotFoundError`.
 */
export function makeDeleteTrigger(deps: Pick<TriggerDeps, "triggers">) {
  return async function deleteTrigger(name: string): Promise<void> {
    if (!(await deps.triggers.remove(name))) throw new TriggerNotFoundError(name);
  };
}

interface ClusterTemplate {
  readonly text: string;
  readonly spec: ClusterSpec;
  readonly warnings: readonly ConfigWarning[];
}

/** Decodes, parses and checks the template as cluster create would, its issues under the template's field. */
function readClusterTemplate(
  deps: Pick<TriggerDeps, "provisioner">,
  template: NonNullable<CreateTriggerCommand["clusterTemplate"]>,
): ClusterTemplate {
  try {
    const text = decodeConfiguration(template.configuration, template.configurationEncoding);
    const { spec, warnings } = parseClusterConfig(text);
    deps.provisioner.checkCanProvision(spec);
    return { text, spec, warnings };
  } catch (error) {
    throw repath(error, configPath, "The clusterTemplate cannot create a cluster");
  }
}

/** A cluster of this name that is not deleted, or undefined. */
async function liveCluster(store: ClusterStore, name: string): Promise<Cluster | undefined> {
  const cluster = await store.get(name);
  return cluster && cluster.status !== "DELETE_COMPLETE" ? cluster : undefined;
}

/** The cluster the template would make, as a scheduler's `validate` sees one; it is never stored. */
function templateCluster(
  command: CreateTriggerCommand,
  spec: ClusterSpec,
  warnings: readonly ConfigWarning[],
  now: string,
): Cluster {
  return {
    name: command.clusterName,
    clusterId: `template-of-${command.name}`,
    status: "CREATE_COMPLETE",
    scheduler: spec.scheduler,
    stackName: command.clusterName,
    createdAt: now,
    updatedAt: now,
    createdBy: command.principal,
    tags: spec.tags,
    config: spec,
    warnings,
    options: { rollbackOnFailure: true },
    version: 0,
  };
}

/**
 * What the job submission rules say of the rendered job, whatever the scheduler: substituted values must
 * still fit the fields they landed in (the schema saw the template, not the values). The name needs no
 * check: `renderJob` always makes a valid one.
 */
function renderedJobIssues(spec: JobSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [index, argument] of (spec.command ?? []).entries()) {
    if (argument.length > MAX_ARGUMENT_LENGTH) {
      issues.push({
        path: `body.job.command[${index}]`,
        message: `would be ${argument.length} characters once substituted; the limit is ${MAX_ARGUMENT_LENGTH}`,
      });
    }
  }
  for (const [key, value] of Object.entries(spec.environment)) {
    if (value.length > MAX_ENVIRONMENT_VALUE_LENGTH) {
      issues.push({
        path: `body.job.environment.${key}`,
        message: `would be ${value.length} characters once substituted; the limit is ${MAX_ENVIRONMENT_VALUE_LENGTH}`,
      });
    }
  }
  return issues;
}

/** A job field as the scheduler names it (`body.name`) to the same field in the rule (`body.job.name`). */
function jobPath(path: string): string {
  if (path === "body") return "body.job";
  return `body.job.${path.startsWith("body.") ? path.slice("body.".length) : path}`;
}

/** A path in the configuration (`Scheduling.Scheduler`), or the whole of it, under the template's field. */
function configPath(path: string): string {
  return path === "" || path === "body" || path === "configuration"
    ? CONFIG_FIELD
    : `${CONFIG_FIELD}.${path}`;
}

function describeIssue(issue: FieldIssue | undefined): string {
  return issue ? `${issue.path}: ${issue.message}` : "see errors";
}

/** The errors whose issues name fields, and so move with them; each takes `(message, issues)`. */
const REPATHABLE = [ConfigInvalidError, RequestValidationError, PayloadTooLargeError] as const;

/**
 * The same error with its issues moved to where they are in this request, and `context` in front of its
 * message. Any other error passes through unchanged.
 */
function repath(error: unknown, map: (path: string) => string, context: string): unknown {
  const kind = REPATHABLE.find((cls) => error instanceof cls);
  if (!kind) return error;
  const source = error as InstanceType<typeof kind>;
  return new kind(
    `${context}: ${source.message}`,
    source.issues.map((issue) => ({ ...issue, path: map(issue.path) })),
  );
}

/**
 * Rules that share a cluster must agree on it: a rule that deletes it when its jobs are done would take
 * it from under another that keeps it, and two templates race to create it.
 */
async function sharedClusterWarnings(triggers: TriggerStore, rule: TriggerRule): Promise<ConfigWarning[]> {
  const warnings: ConfigWarning[] = [];
  let nextToken: string | undefined;
  do {
    const page = await triggers.list({ limit: 100, ...(nextToken ? { nextToken } : {}) });
    for (const other of page.items) {
      if (other.name === rule.name || other.clusterName !== rule.clusterName) continue;
      if (other.whenDone !== rule.whenDone) {
        warnings.push({
          path: "body.whenDone",
          message: `Rule '${other.name}' also runs on cluster '${rule.clusterName}' with whenDone: ${other.whenDone}; a cluster is deleted only when no job at all uses it, but the rules disagree on what to do with it.`,
        });
      }
      if (!rule.clusterTemplate) continue;
      const otherTemplate = (await triggers.get(other.name))?.clusterTemplate?.configuration;
      if (otherTemplate !== undefined && otherTemplate !== rule.clusterTemplate.configuration) {
        warnings.push({
          path: "body.clusterTemplate",
          message: `Rule '${other.name}' creates cluster '${rule.clusterName}' from another template: whichever rule's event comes first decides what the cluster is.`,
        });
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return warnings;
}
