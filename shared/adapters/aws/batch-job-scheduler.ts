import {
  type BatchClient,
  type ContainerOverrides,
  DescribeJobsCommand,
  type JobDetail,
  type KeyValuePair,
  type ResourceRequirement,
  SubmitJobCommand,
  type SubmitJobCommandInput,
  TerminateJobCommand,
} from "@aws-sdk/client-batch";
import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type OutputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  HPC_CLUSTER_PARAMETER,
  HPC_JOB_ID_PARAMETER,
  observationFromBatchEvent,
} from "../../domain/batch-job-event.ts";
import type { Cluster } from "../../domain/cluster.ts";
import {
  type DomainError,
  type FieldIssue,
  InvalidNextTokenError,
  RequestValidationError,
  UpstreamError,
} from "../../domain/errors.ts";
import { JOB_NAME, type Job, type JobAttempt, type JobObservation, type JobSpec } from "../../domain/job.ts";
import type { Clock } from "../../ports/clock.ts";
import type { JobScheduler, LogLine } from "../../ports/job-scheduler.ts";
import { mapAwsError } from "./cloudformation-stack-provisioner.ts";

/** Tags this API puts on every Batch job. */
export const JOB_TAGS = {
  jobId: "hpc-cluster-api:job-id",
  clusterName: "hpc-cluster-api:cluster-name",
} as const;

/** The stack outputs a Batch cluster's jobs are submitted with. */
export const BATCH_JOB_OUTPUTS = {
  jobQueueArn: "JobQueueArn",
  jobDefinitionArn: "JobDefinitionArn",
} as const;

/** Where Batch writes container output when the job definition names no `awslogs-group`. */
export const DEFAULT_BATCH_LOG_GROUP = "/aws/batch/job";

/** The environment variable that carries a job script (base64) into the container. */
export const SCRIPT_ENV = "HPC_JOB_SCRIPT_B64";
/** The environment variable that carries the job's `inputUri`, as data, to the job. */
export const INPUT_URI_ENV = "HPC_JOB_INPUT_URI";

/**
 * The container command of a `script` job: a fixed line that decodes the script from the environment to a
 * file and runs it with /bin/sh. No user text is ever part of it.
 */
export const SCRIPT_COMMAND: readonly string[] = [
  "/bin/sh",
  "-c",
  'printf %s "$HPC_JOB_SCRIPT_B64" | base64 -d > /tmp/job.sh && exec /bin/sh /tmp/job.sh',
];

/** DescribeJobs takes at most 100 ids per call. */
export const DESCRIBE_BATCH_SIZE = 100;

// AWS Batch's own limits (SubmitJob API reference, user guide), checked before the call so that a bad job
// is a 400 naming the field rather than a Batch error, or worse a job that fails later.
const MAX_TAGS = 50;
const MAX_EVALUATE_ON_EXIT = 5;
const MAX_DEPENDENCIES = 20;
const MAX_PATTERN = 512;
/** Exit code patterns: digits, optionally ending with `*` (the only wildcard). */
const EXIT_CODE_PATTERN = /^(?:[0-9]+\*?|\*)$/;
/** Reason patterns: letters, digits, `.`, `:` and white space, optionally ending with `*`. */
const REASON_PATTERN = /^[A-Za-z0-9.: \t]*\*?$/;
/** Environment names we accept: what a POSIX shell can export. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOG_GROUP = /^[A-Za-z0-9._/#-]{1,512}$/;
/**
 * ECS refuses container overrides longer than 8,192 characters of JSON (the job then FAILS in RUNNABLE
 * with "Container Overrides length must be at most 8192"). Batch adds its own `AWS_BATCH_*` variables to
 * what we send, so ours must leave room for them.
 */
export const MAX_CONTAINER_OVERRIDES_CHARS = 7_168;
/** Tag keys and values (Batch's tagging rules); keys starting with `aws:` are reserved. */
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;

/** Looks up the scheduler id (Batch job id) of one of our jobs; undefined when unknown or not submitted. */
export type ResolveExternalId = (clusterName: string, jobId: string) => Promise<string | undefined>;

/** Options of {@link BatchJobScheduler}; clients are created once by the caller. */
export interface BatchJobSchedulerOptions {
  readonly batch: BatchClient;
  readonly logs: CloudWatchLogsClient;
  /** Our job id -> Batch job id, for `dependsOn` (the job store's record `externalId`). */
  readonly resolveExternalId: ResolveExternalId;
  /** Time source of `describe` observations; the system clock by default. */
  readonly clock?: Clock;
}

/** Pages of GetLogEvents read for one page of ours: Logs may answer empty pages before the end. */
const MAX_LOG_CALLS = 5;
/** GetLogEvents returns at most 10,000 events per call. */
const MAX_LOG_LIMIT = 10_000;
const MAX_TOKEN_LENGTH = 4_096;

function issue(path: string, message: string): FieldIssue {
  return { path, message };
}

/** The user tags Batch accepts; Batch refuses `aws:` keys, and ours are set by the API alone. */
function jobTags(job: Job, cluster: Cluster): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(cluster.tags)) {
    if (key.toLowerCase().startsWith("aws:") || key.startsWith("hpc-cluster-api:")) continue;
    tags[key] = value;
  }
  tags[JOB_TAGS.jobId] = job.jobId;
  tags[JOB_TAGS.clusterName] = cluster.name;
  return tags;
}

function resourceRequirements(spec: JobSpec): ResourceRequirement[] {
  const requirements: ResourceRequirement[] = [];
  if (spec.vcpus !== undefined) requirements.push({ type: "VCPU", value: String(spec.vcpus) });
  if (spec.memoryMiB !== undefined) requirements.push({ type: "MEMORY", value: String(spec.memoryMiB) });
  return requirements;
}

/**
 * The container overrides of a job: the argv as is, or the fixed {@link SCRIPT_COMMAND} with the script
 * in {@link SCRIPT_ENV}; the user's environment; vCPU and memory.
 */
export function containerOverrides(spec: JobSpec): ContainerOverrides {
  const environment: KeyValuePair[] = Object.entries(spec.environment).map(([name, value]) => ({
    name,
    value,
  }));
  if (spec.inputUri !== undefined) environment.push({ name: INPUT_URI_ENV, value: spec.inputUri });
  let command: string[] | undefined;
  if (spec.script !== undefined) {
    environment.push({ name: SCRIPT_ENV, value: Buffer.from(spec.script, "utf8").toString("base64") });
    command = [...SCRIPT_COMMAND];
  } else if (spec.command !== undefined) {
    command = [...spec.command];
  }
  const requirements = resourceRequirements(spec);
  return {
    ...(command ? { command } : {}),
    ...(environment.length > 0 ? { environment } : {}),
    ...(requirements.length > 0 ? { resourceRequirements: requirements } : {}),
  };
}

/**
 * Why AWS Batch would refuse this job, or fail it later, as field issues (`body.*` paths); empty when it
 * is fine. The API's request schema checks most of this already: this is the adapter's own guard, and it
 * adds what only Batch imposes (no image override, the size of container overrides, multi-node rules).
 */
export function batchJobIssues(name: string, spec: JobSpec, tags: Readonly<Record<string, string>> = {}) {
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
  if (spec.image !== undefined) {
    issues.push(
      issue(
        "body.image",
        "AWS Batch takes the image from the cluster's job definition and SubmitJob cannot override it: leave image out on an awsbatch cluster",
      ),
    );
  }
  for (const key of Object.keys(spec.environment)) {
    if (!ENV_NAME.test(key)) {
      issues.push(
        issue(`body.environment.${key}`, "names use letters, digits and '_', not starting with a digit"),
      );
    } else if (key.startsWith("AWS_BATCH") || key === SCRIPT_ENV || key === INPUT_URI_ENV) {
      issues.push(issue(`body.environment.${key}`, "this name is reserved (AWS_BATCH*, HPC_JOB_*)"));
    }
  }
  if (spec.vcpus !== undefined && !(spec.vcpus > 0)) issues.push(issue("body.vcpus", "must be positive"));
  if (spec.memoryMiB !== undefined && !(Number.isInteger(spec.memoryMiB) && spec.memoryMiB >= 4)) {
    issues.push(issue("body.memoryMiB", "a whole number of MiB, at least 4"));
  }
  if (spec.arraySize !== undefined && !(Number.isInteger(spec.arraySize) && spec.arraySize >= 2)) {
    issues.push(issue("body.arraySize", "a whole number from 2 to 10,000"));
  } else if (spec.arraySize !== undefined && spec.arraySize > 10_000) {
    issues.push(issue("body.arraySize", "a whole number from 2 to 10,000"));
  }
  if (spec.dependsOn.length > MAX_DEPENDENCIES) {
    issues.push(issue("body.dependsOn", `at most ${MAX_DEPENDENCIES} dependencies (AWS Batch's limit)`));
  }
  issues.push(...retryIssues(spec));
  if (
    spec.timeoutSeconds !== undefined &&
    !(Number.isInteger(spec.timeoutSeconds) && spec.timeoutSeconds >= 60)
  ) {
    issues.push(issue("body.timeoutSeconds", "a whole number of seconds, at least 60 (AWS Batch's minimum)"));
  }
  if (spec.nodes !== undefined) {
    if (!(Number.isInteger(spec.nodes) && spec.nodes >= 1)) {
      issues.push(issue("body.nodes", "a whole number of nodes, at least 1"));
    }
    if (spec.arraySize !== undefined) {
      issues.push(issue("body.nodes", "AWS Batch multi-node parallel jobs cannot be array jobs"));
    }
  }
  if (spec.logGroup !== undefined && !LOG_GROUP.test(spec.logGroup)) {
    issues.push(
      issue("body.logGroup", "a CloudWatch Logs group name: letters, digits, '.', '_', '/', '#', '-'"),
    );
  }
  issues.push(...tagIssues(tags));
  if (issues.length === 0) {
    const size = JSON.stringify(containerOverrides(spec)).length;
    if (size > MAX_CONTAINER_OVERRIDES_CHARS) {
      issues.push(
        issue(
          spec.script !== undefined ? "body.script" : "body.command",
          `command, script (base64) and environment come to ${size} characters; AWS Batch (ECS) allows about ${MAX_CONTAINER_OVERRIDES_CHARS} in a job's overrides: put large inputs in S3 and pass inputUri`,
        ),
      );
    }
  }
  return issues;
}

function retryIssues(spec: JobSpec): FieldIssue[] {
  const strategy = spec.retryStrategy;
  if (strategy === undefined) return [];
  const issues: FieldIssue[] = [];
  if (!(Number.isInteger(strategy.attempts) && strategy.attempts >= 1 && strategy.attempts <= 10)) {
    issues.push(issue("body.retryStrategy.attempts", "a whole number from 1 to 10"));
  }
  const rules = strategy.evaluateOnExit ?? [];
  if (rules.length > MAX_EVALUATE_ON_EXIT) {
    issues.push(
      issue("body.retryStrategy.evaluateOnExit", `at most ${MAX_EVALUATE_ON_EXIT} rules (AWS Batch's limit)`),
    );
  }
  for (const [index, rule] of rules.entries()) {
    const at = `body.retryStrategy.evaluateOnExit[${index}]`;
    const patterns: [keyof typeof rule, string | undefined, RegExp, string][] = [
      ["onExitCode", rule.onExitCode, EXIT_CODE_PATTERN, "digits, with an optional trailing '*'"],
      [
        "onReason",
        rule.onReason,
        REASON_PATTERN,
        "letters, digits, spaces, '.' and ':', optional trailing '*'",
      ],
      [
        "onStatusReason",
        rule.onStatusReason,
        REASON_PATTERN,
        "letters, digits, spaces, '.' and ':', optional trailing '*'",
      ],
    ];
    for (const [field, value, pattern, allowed] of patterns) {
      if (value === undefined) continue;
      if (value.length === 0 || value.length > MAX_PATTERN || !pattern.test(value)) {
        issues.push(
          issue(`${at}.${field}`, `up to ${MAX_PATTERN} characters: ${allowed} (the only wildcard)`),
        );
      }
    }
    if (rule.action !== "RETRY" && rule.action !== "EXIT") {
      issues.push(issue(`${at}.action`, "RETRY or EXIT"));
    }
  }
  return issues;
}

function tagIssues(tags: Readonly<Record<string, string>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) {
    issues.push(
      issue("tags", `${entries.length} tags (the cluster's and the API's own); AWS Batch allows ${MAX_TAGS}`),
    );
  }
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > MAX_TAG_KEY || value.length > MAX_TAG_VALUE) {
      issues.push(
        issue(`tags.${key}`, `keys of 1-${MAX_TAG_KEY} characters, values of up to ${MAX_TAG_VALUE}`),
      );
    }
  }
  return issues;
}

function throwIfIssues(issues: readonly FieldIssue[]): void {
  if (issues.length === 0) return;
  throw new RequestValidationError(
    `AWS Batch cannot run this job as given: ${[...new Set(issues.map((i) => i.path))].join(", ")}.`,
    issues,
  );
}

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
}

function errorName(error: unknown): string {
  const name = typeof error === "object" && error !== null ? (error as SdkErrorShape).name : undefined;
  return typeof name === "string" ? name : "UnknownError";
}

function errorMessage(error: unknown): string {
  const message = typeof error === "object" && error !== null ? (error as SdkErrorShape).message : undefined;
  return typeof message === "string" ? message : "";
}

/**
 * Maps an error of a Batch or CloudWatch Logs call (`action` is the IAM action, e.g. `batch:SubmitJob`)
 * to the domain's taxonomy: Batch's `ClientException` is a 400 carrying Batch's message (or a 502 naming
 * the action when it is Batch's way of saying "not authorized"); everything else as the CloudFormation
 * provisioner maps it (throttling that outlived the SDK's retries -> 503, access denied -> 502).
 */
export function mapJobsAwsError(error: unknown, action: string): DomainError {
  if (errorName(error) === "ClientException") {
    const message = errorMessage(error);
    const mapped = /not authorized|access denied/i.test(message)
      ? new UpstreamError(
          `Access denied: the API's IAM role is not allowed to call ${action}. Grant ${action} to it. (${message})`,
        )
      : new RequestValidationError(`AWS Batch rejected the request: ${message}`);
    mapped.cause = error;
    return mapped;
  }
  return mapAwsError(error, action);
}

/** Our opaque log token: the stream it belongs to and CloudWatch Logs' own forward token. */
interface LogCursor {
  readonly s: string;
  readonly t: string;
}

function encodeLogCursor(cursor: LogCursor): string {
  return Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
}

function decodeLogCursor(token: string, stream: string): LogCursor {
  if (token.length <= MAX_TOKEN_LENGTH && /^[A-Za-z0-9_-]+$/.test(token)) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
      if (typeof parsed === "object" && parsed !== null) {
        const { s, t } = parsed as { s?: unknown; t?: unknown };
        // Bound to the stream: a token of another job or attempt does not read this one's stream.
        if (s === stream && typeof t === "string" && t.length > 0) return { s, t };
      }
    } catch {
      // fall through: not ours
    }
  }
  throw new InvalidNextTokenError();
}

function toLogLine(event: OutputLogEvent): LogLine {
  return {
    ...(event.timestamp !== undefined ? { at: new Date(event.timestamp).toISOString() } : {}),
    message: event.message ?? "",
  };
}

/**
 * The attempt a logs request reads: 1-based, the latest by default. The in-flight attempt of a running
 * job is not in the record yet (Batch lists finished attempts only), so it is the one after them.
 */
function requestedAttempt(attempt: number | undefined): number | undefined {
  if (attempt === undefined) return undefined;
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RequestValidationError("attempt must be a whole number, at least 1.", [
      { path: "query.attempt", message: "a whole number, at least 1" },
    ]);
  }
  return attempt;
}

/**
 * `JobScheduler` on AWS Batch: SubmitJob on the cluster's job queue and job definition (stack outputs
 * `JobQueueArn`, `JobDefinitionArn`), TerminateJob to cancel, DescribeJobs (by 100) to poll, and the
 * job's output from CloudWatch Logs.
 *
 * Multi-node jobs (`nodes`): the job is submitted with `nodeOverrides.numNodes = nodes` and the container
 * overrides as one node range `0:` (every node). That needs a multi-node (`type: multinode`) job
 * definition with an open-ended node range; with the single-node definition our Batch stacks create,
 * Batch refuses it and the client sees that refusal as a 400. Multi-node jobs cannot be array jobs.
 *
 * IAM actions: batch:SubmitJob, batch:TagResource (SubmitJob with tags), batch:TerminateJob,
 * batch:DescribeJobs, logs:GetLogEvents.
 */
export class BatchJobScheduler implements JobScheduler {
  readonly #batch: BatchClient;
  readonly #logs: CloudWatchLogsClient;
  readonly #resolveExternalId: ResolveExternalId;
  readonly #clock: Clock;

  constructor(options: BatchJobSchedulerOptions) {
    this.#batch = options.batch;
    this.#logs = options.logs;
    this.#resolveExternalId = options.resolveExternalId;
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  /** The SubmitJob request for a job on a cluster, validated against Batch's limits first. */
  validate(name: string, spec: JobSpec, cluster: Cluster): void {
    // The tags depend on the cluster (its own tags are copied onto its jobs), not on the job id.
    const placeholder = { jobId: "0".repeat(26), name, spec } as Job;
    throwIfIssues(batchJobIssues(name, spec, jobTags(placeholder, cluster)));
  }

  async submitJobInput(job: Job, cluster: Cluster): Promise<SubmitJobCommandInput> {
    const outputs = cluster.outputs ?? {};
    const jobQueue = outputs[BATCH_JOB_OUTPUTS.jobQueueArn];
    const jobDefinition = outputs[BATCH_JOB_OUTPUTS.jobDefinitionArn];
    if (!jobQueue || !jobDefinition) {
      throw new UpstreamError(
        `Cluster '${cluster.name}' has no AWS Batch ${!jobQueue ? BATCH_JOB_OUTPUTS.jobQueueArn : BATCH_JOB_OUTPUTS.jobDefinitionArn} among its stack outputs, so it cannot take jobs: its stack did not finish as an awsbatch cluster.`,
      );
    }
    const spec = job.spec;
    const tags = jobTags(job, cluster);
    throwIfIssues(batchJobIssues(job.name, spec, tags));

    const dependsOn = [];
    const unknown: FieldIssue[] = [];
    for (const [index, dependency] of spec.dependsOn.entries()) {
      const externalId = await this.#resolveExternalId(cluster.name, dependency.jobId);
      if (externalId === undefined) {
        unknown.push(
          issue(`body.dependsOn[${index}].jobId`, `job ${dependency.jobId} is unknown or not yet submitted`),
        );
        continue;
      }
      dependsOn.push({ jobId: externalId, ...(dependency.type ? { type: dependency.type } : {}) });
    }
    throwIfIssues(unknown);

    const overrides = containerOverrides(spec);
    const retry = spec.retryStrategy;
    return {
      jobName: job.name,
      jobQueue,
      jobDefinition,
      // Our record's identity rides in `parameters`: Batch echoes them in DescribeJobs and in every state
      // change event (tags are not promised there), and our job definitions use no `Ref::` placeholders.
      parameters: { [HPC_JOB_ID_PARAMETER]: job.jobId, [HPC_CLUSTER_PARAMETER]: cluster.name },
      ...(spec.nodes !== undefined
        ? {
            nodeOverrides: {
              numNodes: spec.nodes,
              nodePropertyOverrides: [{ targetNodes: "0:", containerOverrides: overrides }],
            },
          }
        : { containerOverrides: overrides }),
      ...(spec.arraySize !== undefined ? { arrayProperties: { size: spec.arraySize } } : {}),
      ...(dependsOn.length > 0 ? { dependsOn } : {}),
      ...(retry
        ? {
            retryStrategy: {
              attempts: retry.attempts,
              ...(retry.evaluateOnExit
                ? {
                    evaluateOnExit: retry.evaluateOnExit.map((rule) => ({
                      action: rule.action,
                      ...(rule.onExitCode !== undefined ? { onExitCode: rule.onExitCode } : {}),
                      ...(rule.onReason !== undefined ? { onReason: rule.onReason } : {}),
                      ...(rule.onStatusReason !== undefined ? { onStatusReason: rule.onStatusReason } : {}),
                    })),
                  }
                : {}),
            },
          }
        : {}),
      ...(spec.timeoutSeconds !== undefined
        ? { timeout: { attemptDurationSeconds: spec.timeoutSeconds } }
        : {}),
      tags,
    };
  }

  async submit(job: Job, cluster: Cluster): Promise<{ readonly externalId: string }> {
    const input = await this.submitJobInput(job, cluster);
    try {
      const out = await this.#batch.send(new SubmitJobCommand(input));
      if (!out.jobId) throw new UpstreamError("AWS Batch accepted SubmitJob but returned no jobId.");
      return { externalId: out.jobId };
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw mapJobsAwsError(error, "batch:SubmitJob");
    }
  }

  /** TerminateJob: cancels a job that has not started and stops a running one (CancelJob only does the former). */
  async cancel(job: Job, reason: string): Promise<void> {
    if (!job.externalId) return;
    try {
      await this.#batch.send(
        new TerminateJobCommand({
          jobId: job.externalId,
          reason: reason || "Cancelled through hpc-cluster-api",
        }),
      );
    } catch (error) {
      throw mapJobsAwsError(error, "batch:TerminateJob");
    }
  }

  async #describeDetails(externalIds: readonly string[]): Promise<JobDetail[]> {
    const details: JobDetail[] = [];
    for (let start = 0; start < externalIds.length; start += DESCRIBE_BATCH_SIZE) {
      const ids = externalIds.slice(start, start + DESCRIBE_BATCH_SIZE);
      try {
        const out = await this.#batch.send(new DescribeJobsCommand({ jobs: [...ids] }));
        details.push(...(out.jobs ?? []));
      } catch (error) {
        throw mapJobsAwsError(error, "batch:DescribeJobs");
      }
    }
    return details;
  }

  async describe(jobs: readonly Job[]): Promise<JobObservation[]> {
    const byExternalId = new Map<string, Job>();
    for (const job of jobs) if (job.externalId) byExternalId.set(job.externalId, job);
    const details = await this.#describeDetails([...byExternalId.keys()]);
    const time = this.#clock.now().toISOString();
    const observations: JobObservation[] = [];
    for (const detail of details) {
      const job = detail.jobId === undefined ? undefined : byExternalId.get(detail.jobId);
      if (!job) continue;
      const observation = observationFromJobDetail(detail, job.jobId, time);
      if (observation) observations.push(observation);
    }
    return observations;
  }

  /** The log stream of attempt `attempt` (1-based), asking Batch when the record does not know it yet. */
  async #logStream(job: Job, attempt: number | undefined): Promise<string | undefined> {
    const index = (attempt ?? job.attempts.length) - 1;
    const recorded = index >= 0 ? job.attempts[index]?.logStream : undefined;
    if (recorded !== undefined || !job.externalId) return recorded;
    // A running attempt (or one whose event has not arrived): Batch knows its stream.
    const [detail] = await this.#describeDetails([job.externalId]);
    if (detail === undefined) return undefined;
    const attempts = batchAttemptsWithCurrent(detail);
    return attempts[(attempt ?? attempts.length) - 1]?.logStream;
  }

  /**
   * The attempt's output from CloudWatch Logs: its stream in the job's `logGroup` (the job definition's
   * `awslogs-group`) or Batch's `/aws/batch/job`, oldest first. The token wraps Logs' forward token; the
   * end is where Logs hands back the token it was given.
   */
  async logs(
    job: Job,
    request: { readonly attempt?: number; readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly lines: readonly LogLine[]; readonly nextToken?: string }> {
    const attempt = requestedAttempt(request.attempt);
    const stream = await this.#logStream(job, attempt);
    if (stream === undefined) {
      if (request.nextToken !== undefined) throw new InvalidNextTokenError();
      return { lines: [] };
    }
    const logGroupName = job.spec.logGroup ?? DEFAULT_BATCH_LOG_GROUP;
    const limit = Math.min(MAX_LOG_LIMIT, Math.max(1, Math.floor(request.limit)));
    let token = request.nextToken === undefined ? undefined : decodeLogCursor(request.nextToken, stream).t;
    const lines: LogLine[] = [];
    for (let calls = 0; calls < MAX_LOG_CALLS && lines.length < limit; calls++) {
      let out: { events?: OutputLogEvent[]; nextForwardToken?: string };
      try {
        out = await this.#logs.send(
          new GetLogEventsCommand({
            logGroupName,
            logStreamName: stream,
            startFromHead: true,
            limit: limit - lines.length,
            ...(token !== undefined ? { nextToken: token } : {}),
          }),
        );
      } catch (error) {
        const name = errorName(error);
        // The stream is made when the container starts writing: none yet means no output yet.
        if (name === "ResourceNotFoundException") return { lines };
        if (name === "InvalidParameterException" && token !== undefined) throw new InvalidNextTokenError();
        throw mapJobsAwsError(error, "logs:GetLogEvents");
      }
      lines.push(...(out.events ?? []).map(toLogLine));
      const next = out.nextForwardToken;
      if (next === undefined || next === token) return { lines };
      token = next;
    }
    return token === undefined ? { lines } : { lines, nextToken: encodeLogCursor({ s: stream, t: token }) };
  }
}

/**
 * A DescribeJobs `JobDetail` as an observation of our job `jobId`, through the same mapping as the
 * EventBridge path ({@link observationFromBatchEvent}); our id is taken from the record we asked about,
 * whatever the detail's `parameters` say. Undefined for a detail that is malformed or an array child.
 */
export function observationFromJobDetail(
  detail: JobDetail,
  jobId: string,
  time: string,
): JobObservation | undefined {
  return observationFromBatchEvent(
    { ...detail, parameters: { ...detail.parameters, [HPC_JOB_ID_PARAMETER]: jobId } },
    time,
  );
}

/**
 * The finished attempts and, while the job is STARTING or RUNNING, the one in flight (its stream is on
 * the detail's `container`): for reading a running job's output.
 */
function batchAttemptsWithCurrent(detail: JobDetail): JobAttempt[] {
  const attempts: JobAttempt[] = (detail.attempts ?? []).map((attempt) => ({
    ...(attempt.container?.logStreamName ? { logStream: attempt.container.logStreamName } : {}),
  }));
  const current = detail.container?.logStreamName;
  const last = attempts.at(-1)?.logStream;
  if ((detail.status === "STARTING" || detail.status === "RUNNING") && current && current !== last) {
    attempts.push({ logStream: current });
  }
  return attempts;
}
