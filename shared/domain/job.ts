import type { JobOrigin } from "./trigger.ts";
import * as z from "./zod.ts";

/** A job name, as AWS Batch takes it (and so every scheduler here): 1-128 letters, digits, '-' and '_'. */
export const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Job statuses, in AWS Batch's vocabulary (Slurm and local jobs are mapped onto it). */
export const JOB_STATUSES = [
  "SUBMITTED",
  "PENDING",
  "RUNNABLE",
  "STARTING",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** Statuses a job never leaves. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["SUCCEEDED", "FAILED", "CANCELLED"];

/** True once the job has finished, one way or another. */
export function isTerminalJob(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.includes(status);
}

const STATUS_RANK: Readonly<Record<JobStatus, number>> = {
  SUBMITTED: 0,
  PENDING: 1,
  RUNNABLE: 2,
  STARTING: 3,
  RUNNING: 4,
  SUCCEEDED: 5,
  FAILED: 5,
  CANCELLED: 5,
};

/**
 * Where a job is in its life: the attempt it is on, then the status within that attempt. A retry sends a
 * Batch job from RUNNING back to RUNNABLE, but on a later attempt, so the position still moves forward.
 * Observations arrive at least once and in any order; only a later position replaces the current one.
 */
export interface JobPosition {
  readonly attempt: number;
  readonly status: JobStatus;
}

/** True when `next` is further along than `current` (never out of a terminal status). */
export function isLaterPosition(current: JobPosition, next: JobPosition): boolean {
  if (isTerminalJob(current.status)) return false;
  if (isTerminalJob(next.status)) return true;
  if (next.attempt !== current.attempt) return next.attempt > current.attempt;
  return STATUS_RANK[next.status] > STATUS_RANK[current.status];
}

/** One rule of a retry strategy, as AWS Batch defines it. */
export interface EvaluateOnExit {
  readonly onExitCode?: string;
  readonly onReason?: string;
  readonly onStatusReason?: string;
  readonly action: "RETRY" | "EXIT";
}

/** AWS Batch's retry strategy: up to `attempts` tries, decided by the first matching rule. */
export interface RetryStrategy {
  readonly attempts: number;
  readonly evaluateOnExit?: readonly EvaluateOnExit[];
}

/** A dependency on another job of the same cluster. */
export interface JobDependency {
  readonly jobId: string;
  readonly type?: "N_TO_N" | "SEQUENTIAL";
}

/** What to run, validated at the edge; every field is data, never a shell line. */
export interface JobSpec {
  /** argv, run without a shell. Exactly one of `command` and `script`. */
  readonly command?: readonly string[];
  /** A script (already decoded from base64 when it came so), run by /bin/sh from a file. */
  readonly script?: string;
  readonly image?: string;
  readonly vcpus?: number;
  readonly memoryMiB?: number;
  readonly environment: Readonly<Record<string, string>>;
  /** 2-10,000 children, each with `AWS_BATCH_JOB_ARRAY_INDEX`. */
  readonly arraySize?: number;
  readonly dependsOn: readonly JobDependency[];
  readonly retryStrategy?: RetryStrategy;
  readonly timeoutSeconds?: number;
  /** Multi-node jobs: the node count. */
  readonly nodes?: number;
  readonly logGroup?: string;
  readonly inputUri?: string;
}

/** One try of a job. */
export interface JobAttempt {
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly exitCode?: number;
  readonly statusReason?: string;
  /** Where this attempt's output is (a CloudWatch Logs stream, a file). */
  readonly logStream?: string;
}

/** Which scheduler runs the job. */
export type JobSchedulerKind = "awsbatch" | "slurm" | "local";

/** A job as stored: the source of truth, kept long after the scheduler forgot it. */
export interface Job {
  readonly jobId: string;
  readonly clusterName: string;
  readonly clusterId: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly statusReason?: string;
  readonly spec: JobSpec;
  readonly scheduler: JobSchedulerKind;
  /** The scheduler's own id (Batch job id, Slurm job id) once submitted. */
  readonly externalId?: string;
  readonly attempts: readonly JobAttempt[];
  /** Array jobs: how many children ended in each terminal status. */
  readonly arrayProgress?: Readonly<Partial<Record<JobStatus, number>>>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly createdBy: string;
  /** Time of the newest scheduler observation applied. */
  readonly lastEventAt?: string;
  /** Jobs a trigger rule made: the rule and the event's input. */
  readonly origin?: JobOrigin;
  /**
   * True while the job waits for its cluster to be created (a triggered job): the stack-status path
   * hands it to the scheduler at CREATE_COMPLETE, or fails it when the cluster fails to create.
   */
  readonly waitingForCluster?: boolean;
  readonly version: number;
}

/** What a scheduler reports about a job: the facts an event or a poll carries. */
export interface JobObservation {
  readonly jobId: string;
  readonly externalId?: string;
  readonly status: JobStatus;
  readonly statusReason?: string;
  /** Every attempt so far, oldest first. */
  readonly attempts: readonly JobAttempt[];
  readonly arrayProgress?: Readonly<Partial<Record<JobStatus, number>>>;
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  /** When the scheduler reported it (ISO 8601). */
  readonly time: string;
}
