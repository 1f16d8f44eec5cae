import type { JobSpec } from "./job.ts";

/** How a rule turns objects into jobs. */
export const TRIGGER_MODES = ["per-object", "per-batch"] as const;
export type TriggerMode = (typeof TRIGGER_MODES)[number];

/** What happens to the rule's cluster once its jobs are done. */
export const WHEN_DONE = ["keep", "delete"] as const;
export type WhenDone = (typeof WHEN_DONE)[number];

/** The fields `${input.<field>}` may name in a job template; nothing else is a placeholder. */
export const INPUT_FIELDS = ["uri", "bucket", "key", "prefix", "size"] as const;
export type InputField = (typeof INPUT_FIELDS)[number];

/** The tag every cluster a rule creates carries, naming the rule. */
export const TRIGGER_TAG = "hpc-cluster-api:trigger";

/** The marker object that closes a `per-batch` prefix when the rule names no suffix. */
export const DEFAULT_BATCH_MARKER = "_SUCCESS";

/**
 * What one event hands its job, as plain values:
 * - `uri`: the object (`per-object`) or the batch's prefix (`per-batch`): `s3://bucket/key` on AWS, a
 *   `file://` URI in local mode;
 * - `bucket`, `key` (decoded; the marker's key for `per-batch`);
 * - `prefix`: the key's "directory", up to and including its last `/` (empty at the bucket's root);
 *   for `per-batch` that is the batch;
 * - `size`: the object's size in bytes, in decimal (the marker's for `per-batch`).
 */
export type TriggerInput = Readonly<Record<InputField, string>>;

/**
 * The job a rule submits: the fields of a job submission (script already decoded, no `dependsOn`: a rule
 * has no job ids to depend on), where `${input.<field>}` in the name, the command and environment values
 * is replaced by the event's value.
 */
export interface JobTemplate {
  readonly name: string;
  readonly spec: JobSpec;
}

/** One event a rule could not turn into a job, kept on the rule so its owner can see why. */
export interface TriggerFailure {
  readonly at: string;
  readonly bucket: string;
  readonly key: string;
  readonly reason: string;
}

/** At most this many failures are kept on a rule, newest first. */
export const MAX_TRIGGER_FAILURES = 10;

/** A trigger rule, as stored. Rules are immutable: change one by deleting it and creating it again. */
export interface TriggerRule {
  readonly name: string;
  readonly bucket: string;
  /** Only keys starting with this (no leading `/`, never `..`). */
  readonly prefix?: string;
  /** Only keys ending with this; for `per-batch`, the marker that closes a batch. */
  readonly suffix?: string;
  readonly clusterName: string;
  /** When present, the cluster is created from this config (decoded text) whenever it is absent or deleted. */
  readonly clusterTemplate?: { readonly configuration: string };
  readonly job: JobTemplate;
  readonly mode: TriggerMode;
  readonly whenDone: WhenDone;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly recentFailures: readonly TriggerFailure[];
  readonly version: number;
}

/** Where a job came from: the rule, the event's input, and what to do with the cluster afterwards. */
export interface JobOrigin {
  readonly triggerName: string;
  readonly input: TriggerInput;
  readonly whenDone: WhenDone;
  /** The rule and S3 event the job was made for (a hash): how a redelivery finds the job it made. */
  readonly eventId?: string;
}
