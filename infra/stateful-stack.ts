import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { AttributeType, BillingMode, type ITable, ProjectionType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { EventType, type IBucket } from "aws-cdk-lib/aws-s3";
import { SqsDestination } from "aws-cdk-lib/aws-s3-notifications";
import { type IQueue, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  BY_NAME_INDEX,
  BY_STATUS_INDEX,
  PARTITION_KEY,
  SORT_KEY,
  SUMMARY_ATTRIBUTES,
  TTL_ATTRIBUTE,
} from "#shared/adapters/aws/table-schema.ts";
import { DeadLetterQueue } from "./constructs/dead-letter-queue.ts";
import { objectCreatedPattern } from "./constructs/event-patterns.ts";
import { SecureBucket } from "./constructs/secure-bucket.ts";
import { suppress } from "./nag-suppressions.ts";

/**
 * How long the S3 input function may run; the input queue's visibility timeout follows from it. A batch
 * is 10 messages, handled 8 keys at a time, and a job for a Slurm cluster waits up to 20 s for sbatch on
 * the head node: two rounds of that, a CreateStack or two, and room to spare.
 */
export const INPUT_FUNCTION_TIMEOUT = Duration.minutes(2);

/** How many times the input queue hands a message to the function before it goes to the dead letters. */
export const INPUT_MAX_RECEIVE_COUNT = 5;

/** What the stateless stack gets from this one, as typed references. */
export interface StatefulResources {
  readonly table: ITable;
  /** Cluster inputs dropped by users; every new object version becomes a message on `inputQueue`. */
  readonly inputBucket: IBucket;
  /** CloudFormation templates over the 51,200-byte inline limit, and job scripts. */
  readonly templateBucket: IBucket;
  readonly inputQueue: IQueue;
  readonly inputDeadLetterQueue: IQueue;
}

/**
 * Everything that holds data: the table, the buckets and the input queue. Nothing here is replaced or
 * deleted by a deployment of the functions, and the table and buckets outlive the stack itself.
 */
export class StatefulStack extends Stack implements StatefulResources {
  readonly table: Table;
  readonly inputBucket: SecureBucket;
  readonly templateBucket: SecureBucket;
  readonly inputQueue: Queue;
  readonly inputDeadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);

    // Key names, index names and projections come from the adapter's schema module, so the table the
    // code queries and the table deployed cannot drift apart.
    this.table = new Table(this, "Table", {
      partitionKey: { name: PARTITION_KEY, type: AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of [BY_NAME_INDEX, BY_STATUS_INDEX]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: [...SUMMARY_ATTRIBUTES],
      });
    }

    const accessLogs = new SecureBucket(this, "AccessLogsBucket", {
      lifecycleRules: [{ id: "ExpireAccessLogs", expiration: Duration.days(90) }],
    });
    suppress(accessLogs, [
      {
        id: "AwsSolutions-S1",
        reason:
          "This is the server access log bucket of the other buckets; logging its own accesses into itself would log every log delivery, without end.",
      },
    ]);

    // Versioned: without versions, two writes of one key close together can reach us as a single event,
    // and the first input would be lost without a trace.
    this.inputBucket = new SecureBucket(this, "InputBucket", {
      accessLogs,
      versioned: true,
      lifecycleRules: [{ id: "ExpireOldVersions", noncurrentVersionExpiration: Duration.days(30) }],
    });
    this.templateBucket = new SecureBucket(this, "TemplateBucket", { accessLogs });

    this.inputDeadLetterQueue = new DeadLetterQueue(this, "InputDeadLetterQueue");
    this.inputQueue = new Queue(this, "InputQueue", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's advice for a Lambda event source: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(INPUT_FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.inputDeadLetterQueue, maxReceiveCount: INPUT_MAX_RECEIVE_COUNT },
    });
    this.inputBucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.inputQueue));
    this.suppressBucketNotificationsHandler();

    // Any other bucket of the account feeds the same queue once EventBridge notifications are turned on
    // for it (infra/README.md). Here, not in the stateless stack: the target adds a statement to the
    // queue's policy naming the rule, and a rule over there would make the two stacks depend on each
    // other. Events EventBridge cannot put on the queue go to the queue's own dead letters, where a
    // redrive to the input queue hands them to the function like any other message.
    new Rule(this, "ObjectCreatedRule", {
      description: "S3 Object Created events of this account's buckets -> the input queue (trigger rules)",
      eventPattern: objectCreatedPattern(this),
      targets: [
        new SqsQueue(this.inputQueue, {
          deadLetterQueue: this.inputDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    new CfnOutput(this, "TableName", { value: this.table.tableName, description: "The DynamoDB table" });
    new CfnOutput(this, "InputBucketName", {
      value: this.inputBucket.bucketName,
      description: "Drop cluster inputs here",
    });
    new CfnOutput(this, "TemplateBucketName", {
      value: this.templateBucket.bucketName,
      description: "Large CloudFormation templates and job scripts",
    });
  }

  /**
   * S3 notifications are configured by a CDK-provided singleton function; the findings on it are about
   * code and a role this app does not write.
   */
  private suppressBucketNotificationsHandler(): void {
    for (const child of this.node.children) {
      if (!child.node.id.startsWith("BucketNotificationsHandler")) continue;
      suppress(child, [
        {
          id: "AwsSolutions-IAM4",
          reason:
            "CDK's BucketNotificationsHandler (runs only during deployment, to set the input bucket's notification) uses AWSLambdaBasicExecutionRole for its own logs; its only other permission is s3:PutBucketNotification on this stack's input bucket.",
          findings: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        },
      ]);
    }
  }
}
