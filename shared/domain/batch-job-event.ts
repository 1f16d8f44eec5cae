import { isTerminalJob, type JobAttempt, type JobObservation, JobStatusSchema } from "./job.ts";
import * as z from "./zod.ts";

/** EventBridge `source` and `detail-type` of AWS Batch's job state change events. */
export const BATCH_EVENT_SOURCE = "aws.batch";
export const BATCH_JOB_STATE_CHANGE = "Batch Job State Change";

/**
 * The keys under the Batch job's `parameters` that carry our record's identity. SubmitJob `parameters`
 * are echoed in every DescribeJobs result and every state change event (unlike tags, which the event
 * does not promise), and they only replace `Ref::` placeholders the job definition does not use.
 */
export const HPC_JOB_ID_PARAMETER = "hpcJobId";
export const HPC_CLUSTER_PARAMETER = "hpcCluster";

/** One attempt as Batch reports it (`AttemptDetail`): epoch milliseconds, the container's facts. */
export interface BatchAttemptDetail {
  readonly container?: {
    readonly exitCode?: number;
    readonly reason?: string;
    readonly logStreamName?: string;
  };
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly statusReason?: string;
}

/**
 * The part of Batch's `JobDetail` (the `detail` of a "Batch Job State Change" event, and each item of
 * DescribeJobs) that this API reads. Batch sends more; unknown fields are ignored.
 */
export interface BatchJobDetail {
  readonly jobArn?: string;
  readonly jobName: string;
  readonly jobId: string;
  readonly jobQueue: string;
  /** Batch's statuses; the local runner also reports CANCELLED, which Batch folds into FAILED. */
  readonly status: string;
  readonly statusReason?: string;
  readonly attempts?: readonly BatchAttemptDetail[];
  readonly createdAt?: number;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly dependsOn?: readonly { readonly jobId?: string; readonly type?: string }[];
  readonly jobDefinition?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  /** `size` and `statusSummary` on an array parent; `index` on an array child. */
  readonly arrayProperties?: {
    readonly size?: number;
    readonly index?: number;
    readonly statusSummary?: Readonly<Record<string, number>>;
  };
  readonly container?: Readonly<Record<string, unknown>>;
  readonly retryStrategy?: unknown;
  readonly timeout?: { readonly attemptDurationSeconds?: number };
}

const epochMs = z.optional(z.number());

const AttemptSchema = z.looseObject({
  container: z.optional(
    z.looseObject({
      exitCode: z.optional(z.number()),
      reason: z.optional(z.string()),
      logStreamName: z.optional(z.string()),
    }),
  ),
  startedAt: epochMs,
  stoppedAt: epochMs,
  statusReason: z.optional(z.string()),
});

const DetailSchema = z.looseObject({
  jobId: z.string(),
  status: JobStatusSchema,
  statusReason: z.optional(z.string()),
  attempts: z.optional(z.array(AttemptSchema)),
  createdAt: epochMs,
  startedAt: epochMs,
  stoppedAt: epochMs,
  parameters: z.optional(z.record(z.string(), z.string())),
  arrayProperties: z.optional(
    z.looseObject({
      size: z.optional(z.number()),
      index: z.optional(z.number()),
      statusSummary: z.optional(z.record(z.string(), z.number())),
    }),
  ),
});

/** Which of our job records a Batch job detail is about, from its `parameters`; undefined if none. */
export function jobRefFromBatchEvent(detail: unknown): { clusterName: string; jobId: string } | undefined {
  const parsed = DetailSchema.safeParse(detail);
  if (!parsed.success || isChildJob(parsed.data)) return undefined;
  const jobId = parsed.data.parameters?.[HPC_JOB_ID_PARAMETER];
  const clusterName = parsed.data.parameters?.[HPC_CLUSTER_PARAMETER];
  return jobId && clusterName ? { clusterName, jobId } : undefined;
}

/**
 * Maps a Batch job detail (a "Batch Job State Change" event's `detail`, or a DescribeJobs item) to an
 * observation of our record. Undefined when it is not one of ours (no `hpcJobId` parameter), when it is
 * an array or multi-node child (the parent's own events carry the progress), or when it is malformed.
 * `time` is the event's time; without it, the newest time the detail itself carries.
 *
 * As in Batch, `attempts` lists finished attempts only, so a retry (RUNNING -> RUNNABLE) is seen on a
 * later attempt. An attempt's container `reason` is kept beside its `statusReason`.
 */
export function observationFromBatchEvent(detail: unknown, time?: string): JobObservation | undefined {
  const parsed = DetailSchema.safeParse(detail);
  if (!parsed.success) return undefined;
  const job = parsed.data;
  const jobId = job.parameters?.[HPC_JOB_ID_PARAMETER];
  if (!jobId || isChildJob(job)) return undefined;
  const attempts = (job.attempts ?? []).map(
    (attempt): JobAttempt => ({
      ...optional("startedAt", iso(attempt.startedAt)),
      ...optional("stoppedAt", iso(attempt.stoppedAt)),
      ...optional("exitCode", attempt.container?.exitCode),
      ...optional("statusReason", joinReasons(attempt.statusReason, attempt.container?.reason)),
      ...optional("logStream", attempt.container?.logStreamName),
    }),
  );
  const newest = Math.max(
    0,
    ...[
      job.createdAt,
      job.startedAt,
      job.stoppedAt,
      ...(job.attempts ?? []).flatMap((a) => [a.startedAt, a.stoppedAt]),
    ].filter((at): at is number => at !== undefined),
  );
  return {
    jobId,
    externalId: job.jobId,
    status: job.status,
    ...optional("statusReason", job.statusReason),
    attempts,
    ...optional("arrayProgress", arrayProgress(job.arrayProperties?.statusSummary)),
    ...optional("startedAt", iso(job.startedAt)),
    ...optional("stoppedAt", iso(job.stoppedAt)),
    time: time ?? new Date(newest).toISOString(),
  };
}

/** Array children are `<parent>:<index>`, multi-node children `<parent>#<node>`. */
function isChildJob(job: z.infer<typeof DetailSchema>): boolean {
  return job.arrayProperties?.index !== undefined || /[:#]/.test(job.jobId);
}

/** Batch counts children in every status; the record keeps the terminal ones. */
function arrayProgress(summary: Readonly<Record<string, number>> | undefined) {
  if (!summary) return undefined;
  const progress: Partial<Record<z.infer<typeof JobStatusSchema>, number>> = {};
  for (const [status, count] of Object.entries(summary)) {
    const known = JobStatusSchema.safeParse(status);
    if (known.success && isTerminalJob(known.data)) progress[known.data] = count;
  }
  return progress;
}

function joinReasons(statusReason: string | undefined, reason: string | undefined): string | undefined {
  if (statusReason && reason && reason !== statusReason) return `${statusReason} (${reason})`;
  return statusReason || reason || undefined;
}

function iso(epochMillis: number | undefined): string | undefined {
  return epochMillis === undefined ? undefined : new Date(epochMillis).toISOString();
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
