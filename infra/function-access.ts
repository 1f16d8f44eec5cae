import type { BatchJobAction, ObjectAccess, StackAction, TableAccess } from "./constructs/house-function.ts";

/**
 * What each function may touch, by handler name (the entry file's base name). The stateless stack turns
 * each profile into `use...()` calls, which set the environment variable and the grant together. A
 * handler without a profile fails synthesis: a new route or event function is a decision about access.
 */
export interface FunctionAccess {
  readonly table?: TableAccess;
  /** CloudFormation actions on our stacks. `create` or `delete` also brings the stack-resources policies. */
  readonly stacks?: readonly StackAction[];
  readonly templateBucket?: ObjectAccess;
  /** AWS Batch job actions (our queues, job definitions and jobs). */
  readonly batchJobs?: readonly BatchJobAction[];
  /** Reads job output from CloudWatch Logs (Batch's group, and groups under our prefix). */
  readonly jobLogs?: boolean;
  /** Runs AWS-RunShellScript on our ParallelCluster head nodes (sbatch, squeue, sacct, scancel, output). */
  readonly headNodeCommands?: boolean;
  /** Writes job records, so it needs their retention (`JOB_RETENTION_DAYS`, the TTL of finished jobs). */
  readonly writesJobs?: boolean;
  /**
   * Tells whether a cluster configuration could be created here (the ParallelCluster service token, the
   * template bucket's name) without creating one: the settings only, no grant.
   */
  readonly checksProvisioning?: boolean;
}

const PROVISIONING: FunctionAccess = {
  table: "readWrite",
  stacks: ["create", "delete", "describe"],
  // Templates over 51,200 bytes go to the bucket first; CreateStack reads them back with our credentials.
  templateBucket: "readWrite",
};

/** Submitting a job: the record (and its idempotency record) first, then Batch or sbatch on the head node. */
const SUBMIT_JOBS: FunctionAccess = {
  table: "readWrite",
  batchJobs: ["submit"],
  headNodeCommands: true,
  writesJobs: true,
};

export const FUNCTION_ACCESS: Readonly<Record<string, FunctionAccess>> = {
  "create-cluster": { table: "readWrite", stacks: ["create", "describe"], templateBucket: "readWrite" },
  "get-cluster": { table: "read" },
  "list-clusters": { table: "read" },
  "list-cluster-events": { table: "read", stacks: ["describeEvents"] },
  "delete-cluster": { table: "readWrite", stacks: ["delete", "describe"] },
  // The blog's command endpoint runs create, status, list, delete and submit-job: the union of those.
  "pcluster-command": { ...PROVISIONING, ...SUBMIT_JOBS },
  health: { table: "none" },
  "get-openapi": {},
  "submit-job": SUBMIT_JOBS,
  "list-jobs": { table: "read" },
  "get-job": { table: "read" },
  // TerminateJob on Batch (it cancels a waiting job too), scancel on a head node.
  "cancel-job": { table: "readWrite", batchJobs: ["terminate"], headNodeCommands: true, writesJobs: true },
  // The attempt's stream is on the record once an event has told it; until then DescribeJobs knows it.
  "get-job-logs": { table: "read", batchJobs: ["describe"], jobLogs: true, headNodeCommands: true },
  // Trigger rules: the rule (and its recent failures) in the table. Creating one checks its cluster
  // template the way create-cluster would, and its job the way the scheduler would, creating nothing.
  "create-trigger": { table: "readWrite", checksProvisioning: true },
  "list-triggers": { table: "read" },
  "get-trigger": { table: "read" },
  "delete-trigger": { table: "readWrite" },
  // New S3 objects -> jobs: creates a rule's cluster when it is absent, submits (or parks) the job, and
  // deletes the cluster (whenDone) when a job it records fails at once.
  "s3-input": { ...PROVISIONING, ...SUBMIT_JOBS },
  // A cluster that settled releases the jobs waiting for it (submit), or fails them, and then a rule's
  // whenDone may delete it.
  "stack-status": { ...SUBMIT_JOBS, stacks: ["describe", "describeEvents", "delete"] },
  // A triggered job that ended may take its cluster with it (whenDone: delete).
  "job-status": { table: "readWrite", stacks: ["delete", "describe"], writesJobs: true },
  // Finishes what a lost event or a failed call left half done: may create or delete a stack again,
  // refreshes active jobs (DescribeJobs on Batch, squeue/sacct on a head node), releases the jobs
  // waiting for a cluster whose stack event was missed, and deletes idle clusters of whenDone: delete rules.
  reconcile: { ...PROVISIONING, batchJobs: ["describe", "submit"], headNodeCommands: true, writesJobs: true },
};

/** The profile of `handler`; throws when there is none. */
export function accessOf(handler: string): FunctionAccess {
  const access = FUNCTION_ACCESS[handler];
  if (access === undefined) {
    throw new Error(
      `No access profile for function '${handler}': add it to infra/function-access.ts (what it reads, writes and calls).`,
    );
  }
  return access;
}
