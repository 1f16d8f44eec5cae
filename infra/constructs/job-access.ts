import { ArnFormat, CfnParameter, Stack } from "aws-cdk-lib";
import { Construct } from "constructs";
import { DEFAULT_BATCH_LOG_GROUP, JOB_TAGS } from "#shared/adapters/aws/batch-job-scheduler.ts";
import { STACK_NAME_PREFIXES } from "./cluster-provisioning.ts";

/**
 * Custom log groups of jobs (`logGroup` of a submitted job, `awslogs-group` of a job definition) must
 * start with this prefix, or the logs endpoint cannot read them: the functions may read only Batch's
 * own group and groups under this prefix, never every log group of the account.
 */
export const CUSTOM_JOB_LOG_GROUP_PREFIX = "/hpc-cluster-api/";

/** The only Systems Manager document the functions may send: a shell script, passed as data. */
export const HEAD_NODE_DOCUMENT = "AWS-RunShellScript";

/**
 * Tags an instance must carry before the functions may send it a command: ParallelCluster marks its head
 * node with `parallelcluster:node-type = HeadNode`, and our clusters carry `hpc-cluster-api:cluster-name`
 * (ParallelCluster copies the configuration's `Tags` to every instance it launches). The first alone would
 * reach the head nodes of every ParallelCluster cluster in the account, ours or not.
 */
export const HEAD_NODE_TAGS = {
  nodeType: { key: "parallelcluster:node-type", value: "HeadNode" },
  ours: JOB_TAGS.clusterName,
} as const;

/** The stack parameter with the retention of finished job records (typed on the command line). */
export const JOB_RETENTION_PARAMETER = "JobRetentionDays";

/** Its default: finished jobs stay queryable for accounting this long after they finish. */
export const DEFAULT_JOB_RETENTION_DAYS = 90;

/** The Batch resources a function that submits, cancels or describes jobs may name. */
export interface BatchJobResources {
  /** `job-queue/<prefix>*`, one per stack-name prefix: our queues are named after their stack. */
  readonly jobQueueArns: readonly string[];
  /** `job-definition/<prefix>*` (with any revision), one per stack-name prefix. */
  readonly jobDefinitionArns: readonly string[];
  /** `job/*`: job ids are made by Batch, so only tags tell our jobs apart. */
  readonly jobArn: string;
  /** The tag every job the API submits carries (`hpc-cluster-api:job-id`), which conditions use. */
  readonly jobTagKey: string;
}

/** Where a head node command may go. */
export interface HeadNodeCommandResources {
  /** `arn:<partition>:ssm:<region>::document/AWS-RunShellScript` (an AWS-owned document: no account). */
  readonly documentArn: string;
  /** `arn:<partition>:ec2:<region>:<account>:instance/*`, allowed only with {@link HEAD_NODE_TAGS}. */
  readonly instanceArn: string;
}

/**
 * What the job functions may reach, scoped as tightly as each service allows, and the retention
 * parameter. Batch jobs write to `/aws/batch/job` in streams named `<job definition>/default/<task id>`,
 * and our job definitions are named after their stack, so the default group's streams are scoped by
 * our stack-name prefixes too.
 */
export class JobAccess extends Construct implements BatchJobResources, HeadNodeCommandResources {
  readonly jobQueueArns: readonly string[];
  readonly jobDefinitionArns: readonly string[];
  readonly jobArn: string;
  readonly jobTagKey: string = JOB_TAGS.jobId;
  /** Log streams `logs:GetLogEvents` may read: ours in Batch's group, any in groups under our prefix. */
  readonly logStreamArns: readonly string[];
  readonly documentArn: string;
  readonly instanceArn: string;
  /** `JOB_RETENTION_DAYS` of the functions that write job records (a token of the parameter). */
  readonly retentionDays: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    const batch = (resource: string, resourceName: string) =>
      stack.formatArn({ service: "batch", resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const logStreams = (group: string, stream: string) =>
      stack.formatArn({
        service: "logs",
        resource: "log-group",
        resourceName: `${group}:log-stream:${stream}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });

    this.jobQueueArns = STACK_NAME_PREFIXES.map((prefix) => batch("job-queue", `${prefix}*`));
    this.jobDefinitionArns = STACK_NAME_PREFIXES.map((prefix) => batch("job-definition", `${prefix}*`));
    this.jobArn = batch("job", "*");
    this.logStreamArns = [
      ...STACK_NAME_PREFIXES.map((prefix) => logStreams(DEFAULT_BATCH_LOG_GROUP, `${prefix}*`)),
      logStreams(`${CUSTOM_JOB_LOG_GROUP_PREFIX}*`, "*"),
    ];
    this.documentArn = stack.formatArn({
      service: "ssm",
      account: "",
      resource: "document",
      resourceName: HEAD_NODE_DOCUMENT,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.instanceArn = stack.formatArn({
      service: "ec2",
      resource: "instance",
      resourceName: "*",
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    const retention = new CfnParameter(stack, JOB_RETENTION_PARAMETER, {
      type: "Number",
      default: DEFAULT_JOB_RETENTION_DAYS,
      minValue: 1,
      maxValue: 36_500,
      description:
        "Days a finished job record (SUCCEEDED, FAILED, CANCELLED) stays queryable before DynamoDB's TTL removes it",
    });
    // Fixed logical id: it is typed on the command line (--parameters JobRetentionDays=...).
    retention.overrideLogicalId(JOB_RETENTION_PARAMETER);
    this.retentionDays = retention.valueAsString;
  }
}
