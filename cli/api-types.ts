/**
 * The parts of the API's answers hpcctl reads, as zod schemas (openapi.yaml has the full shapes). Objects
 * are loose: fields the CLI does not use pass through untouched, so `--output json` prints the API's
 * resource as returned.
 */
import { CLUSTER_STATUSES } from "#shared/domain/cluster.ts";
import { JOB_STATUSES } from "#shared/domain/job.ts";
import { TRIGGER_MODES, WHEN_DONE } from "#shared/domain/trigger.ts";
import * as z from "#shared/domain/zod.ts";

const StringMap = z.record(z.string(), z.string());

/** A cluster as listed (`ClusterSummary`) or read (`Cluster`); the full form adds configuration and tags. */
export const ClusterSchema = z.looseObject({
  name: z.string(),
  status: z.enum(CLUSTER_STATUSES),
  scheduler: z.string(),
  stackName: z.optional(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  failureReason: z.optional(z.string()),
  headNode: z.optional(
    z.looseObject({
      state: z.string(),
      privateIp: z.optional(z.string()),
      publicIp: z.optional(z.string()),
    }),
  ),
  tags: z.optional(StringMap),
  configuration: z.optional(
    z.looseObject({
      region: z.optional(z.string()),
      queues: z.optional(
        z.array(
          z.looseObject({
            name: z.string(),
            computeResources: z.optional(
              z.array(
                z.looseObject({
                  instanceTypes: z.optional(z.array(z.string())),
                  maxCount: z.optional(z.number()),
                  maxVcpus: z.optional(z.number()),
                }),
              ),
            ),
          }),
        ),
      ),
    }),
  ),
  warnings: z.optional(z.array(z.looseObject({ path: z.string(), message: z.string() }))),
});
export type Cluster = z.infer<typeof ClusterSchema>;

/** One page of clusters. */
export const ClusterPageSchema = z.looseObject({
  items: z.array(ClusterSchema),
  nextToken: z.optional(z.string()),
});

/** A status change (`source=status`) or a stack event (`source=stack`): the two event shapes in one. */
export const ClusterEventSchema = z.looseObject({
  at: z.string(),
  status: z.string(),
  reason: z.optional(z.string()),
  source: z.optional(z.string()),
  logicalResourceId: z.optional(z.string()),
  resourceType: z.optional(z.string()),
});
export type ClusterEvent = z.infer<typeof ClusterEventSchema>;

/** One page of events, newest first. */
export const ClusterEventPageSchema = z.looseObject({
  items: z.array(ClusterEventSchema),
  nextToken: z.optional(z.string()),
});

/** The answer to a dry run. */
export const DryRunSchema = z.looseObject({
  valid: z.optional(z.boolean()),
  normalized: z.looseObject({
    scheduler: z.optional(z.string()),
    queues: z.optional(z.array(z.looseObject({ name: z.string() }))),
  }),
  warnings: z.array(z.looseObject({ path: z.string(), message: z.string(), line: z.optional(z.number()) })),
});
export type DryRun = z.infer<typeof DryRunSchema>;

/** One try of a job. */
export const JobAttemptSchema = z.looseObject({
  startedAt: z.optional(z.string()),
  stoppedAt: z.optional(z.string()),
  exitCode: z.optional(z.number()),
  statusReason: z.optional(z.string()),
});
export type JobAttempt = z.infer<typeof JobAttemptSchema>;

/** A job as listed (`JobSummary`) or read (`Job`); the full form adds attempts and what it runs. */
export const JobSchema = z.looseObject({
  jobId: z.string(),
  clusterName: z.string(),
  name: z.string(),
  status: z.enum(JOB_STATUSES),
  statusReason: z.optional(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.optional(z.string()),
  stoppedAt: z.optional(z.string()),
  scheduler: z.optional(z.string()),
  externalId: z.optional(z.string()),
  attempts: z.optional(z.array(JobAttemptSchema)),
  arrayProgress: z.optional(z.record(z.string(), z.number())),
  origin: z.optional(
    z.looseObject({
      triggerName: z.string(),
      input: z.looseObject({ uri: z.string(), key: z.string() }),
      whenDone: z.optional(z.string()),
    }),
  ),
  waitingForCluster: z.optional(z.boolean()),
  spec: z.optional(
    z.looseObject({
      command: z.optional(z.array(z.string())),
      script: z.optional(z.string()),
      arraySize: z.optional(z.number()),
      timeoutSeconds: z.optional(z.number()),
      environment: z.optional(StringMap),
    }),
  ),
});
export type Job = z.infer<typeof JobSchema>;

/** One page of jobs. */
export const JobPageSchema = z.looseObject({
  items: z.array(JobSchema),
  nextToken: z.optional(z.string()),
});

/** One line of a job's output. */
export const LogLineSchema = z.looseObject({ message: z.string(), at: z.optional(z.string()) });
export type LogLine = z.infer<typeof LogLineSchema>;

/** One page of a job's output, oldest line first; a page may be empty and still carry a `nextToken`. */
export const JobLogPageSchema = z.looseObject({
  lines: z.array(LogLineSchema),
  nextToken: z.optional(z.string()),
});
export type JobLogPage = z.infer<typeof JobLogPageSchema>;

/** One event a trigger rule could not turn into a job. */
export const TriggerFailureSchema = z.looseObject({
  at: z.string(),
  bucket: z.string(),
  key: z.string(),
  reason: z.string(),
});
export type TriggerFailure = z.infer<typeof TriggerFailureSchema>;

/**
 * A trigger rule as listed (`TriggerSummary`) or read (`Trigger`); the full form adds the job template,
 * the cluster template and the recent failures. The create answer may add `warnings`.
 */
export const TriggerSchema = z.looseObject({
  name: z.string(),
  bucket: z.string(),
  prefix: z.optional(z.string()),
  suffix: z.optional(z.string()),
  clusterName: z.string(),
  clusterTemplate: z.optional(z.looseObject({ configuration: z.string() })),
  job: z.optional(
    z.looseObject({
      name: z.string(),
      command: z.optional(z.array(z.string())),
      script: z.optional(z.string()),
      image: z.optional(z.string()),
      vcpus: z.optional(z.number()),
      memoryMiB: z.optional(z.number()),
      environment: z.optional(StringMap),
      arraySize: z.optional(z.number()),
      retryStrategy: z.optional(z.looseObject({ attempts: z.number() })),
      timeoutSeconds: z.optional(z.number()),
      nodes: z.optional(z.number()),
    }),
  ),
  mode: z.enum(TRIGGER_MODES),
  whenDone: z.enum(WHEN_DONE),
  createdAt: z.string(),
  createdBy: z.optional(z.string()),
  recentFailures: z.optional(z.array(TriggerFailureSchema)),
  warnings: z.optional(
    z.array(
      z.looseObject({ path: z.optional(z.string()), message: z.string(), line: z.optional(z.number()) }),
    ),
  ),
});
export type Trigger = z.infer<typeof TriggerSchema>;

/** One page of trigger rules. */
export const TriggerPageSchema = z.looseObject({
  items: z.array(TriggerSchema),
  nextToken: z.optional(z.string()),
});

/** An answer whose body hpcctl does not read (a 204 No Content). */
export const NoContentSchema = z.unknown();

/** An RFC 9457 problem as this API writes it (only `title` is relied on). */
export const ProblemSchema = z.looseObject({
  type: z.optional(z.string()),
  title: z.string(),
  status: z.optional(z.number()),
  detail: z.optional(z.string()),
  requestId: z.optional(z.string()),
  errors: z.optional(
    z.array(
      z.looseObject({ path: z.optional(z.string()), message: z.string(), line: z.optional(z.number()) }),
    ),
  ),
});

/** API Gateway's own error body (a 403 for a missing or bad signature, a 429 when throttled). */
export const GatewayMessageSchema = z.looseObject({ message: z.string() });
