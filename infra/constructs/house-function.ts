import { basename, join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  ApplicationLogLevel,
  Architecture,
  type IDestination,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { BY_NAME_INDEX, BY_STATUS_INDEX } from "#shared/adapters/aws/table-schema.ts";
import { BUNDLE_ALIASES, BUNDLE_EXTERNALS, ESM_REQUIRE_BANNER } from "../bundling.ts";
import { suppress } from "../nag-suppressions.ts";
import { WILDCARD_RESOURCE_ACTIONS } from "./cluster-provisioning.ts";
import { type BatchJobResources, HEAD_NODE_TAGS, type HeadNodeCommandResources } from "./job-access.ts";

/**
 * How a function may use the table. `none` sets only `TABLE_NAME`, which the shared config requires at
 * init even in a function that never touches the table (health).
 */
export type TableAccess = "none" | "read" | "readWrite";

/** How a function may use the template bucket's objects. */
export type ObjectAccess = "read" | "readWrite";

/** CloudFormation actions a function may take on our stacks. */
export type StackAction = "create" | "delete" | "describe" | "describeEvents";

const STACK_ACTIONS: Record<StackAction, readonly string[]> = {
  // Tags on CreateStack are authorized as cloudformation:TagResource on the new stack.
  create: ["cloudformation:CreateStack", "cloudformation:TagResource"],
  delete: ["cloudformation:DeleteStack"],
  describe: ["cloudformation:DescribeStacks"],
  describeEvents: ["cloudformation:DescribeStackEvents"],
};

/**
 * What a function may do with AWS Batch jobs: submit (to our queues, with our job definitions), terminate
 * (jobs the API submitted), describe (any job: DescribeJobs cannot be scoped).
 */
export type BatchJobAction = "submit" | "terminate" | "describe";

/** Item actions of the DynamoDB adapters (no Scan: listings go through the indexes). */
const TABLE_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"];
const TABLE_WRITE_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];
const TABLE_INDEXES = [BY_NAME_INDEX.indexName, BY_STATUS_INDEX.indexName];

/** Where the CloudFormation provisioner puts templates too large to pass inline. */
export const TEMPLATE_KEY_PREFIX = "templates/";

/** Settings of the Powertools libraries, the same in every function. */
export const POWERTOOLS = {
  serviceName: "hpc-cluster-api",
  logLevel: "INFO",
  metricsNamespace: "HpcClusterApi",
} as const;

/** Bundling hooks that copy `files` (relative to the project root) next to the bundle. */
function copyIntoBundle(files: readonly string[]): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) =>
      files.map((file) => `cp "${join(inputDir, file)}" "${join(outputDir, basename(file))}"`),
  };
}

/** What differs between the functions; everything else is the house default. */
export interface HouseFunctionProps {
  /** Absolute path of the entry file (it exports `handler`). */
  readonly entry: string;
  /** Shown in the console; also how tests and operators find a function. */
  readonly description: string;
  /** Root of the repository: the lock file and tsconfig are there. */
  readonly projectRoot: string;
  /** Default 15 seconds (API Gateway gives up at 29). */
  readonly timeout?: Duration;
  /** Default 512 MB, which also buys CPU for cold starts. */
  readonly memorySize?: number;
  /** Default one month. */
  readonly logRetention?: RetentionDays;
  /** Where asynchronous invocations go once Lambda's retries are spent (EventBridge-driven functions). */
  readonly onFailure?: IDestination;
  /** Lambda's own retries of a failed asynchronous invocation. */
  readonly retryAttempts?: number;
  readonly environment?: Readonly<Record<string, string>>;
  /** Files (relative to the project root) copied next to the bundle, e.g. `openapi.yaml` for get-openapi. */
  readonly bundledFiles?: readonly string[];
}

/**
 * The one way this app makes a Lambda function: Node.js 24 on arm64, an ESM bundle with source maps and the
 * AWS SDK left to the runtime, active tracing, its own log group with a retention, Powertools settings,
 * and a role that starts empty. Access is added only through the `use...()` methods, each of which sets
 * the environment variable and the IAM grant together, so one cannot be given without the other.
 */
export class HouseFunction extends NodejsFunction {
  /** The function's log group (also where Powertools writes its structured logs). */
  readonly functionLogGroup: LogGroup;
  /** The function's own role; it starts with log and tracing permissions only. */
  readonly executionRole: Role;
  /** Actions granted on Resource '*' (tracing's, then what {@link useUnscoped} adds). */
  readonly #unscopedActions = new Set(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    // Own role and log group: the default role carries the AWS managed AWSLambdaBasicExecutionRole, whose
    // log permissions reach every log group in the account.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${props.description}`,
    });
    // `LogGroup`, not `Logs`: function `get-job`'s `ApiGetJobLogs` would be function `get-job-logs`' id.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: props.entry,
      handler: "handler",
      description: props.description,
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(15),
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      ...(props.onFailure === undefined ? {} : { onFailure: props.onFailure }),
      ...(props.retryAttempts === undefined ? {} : { retryAttempts: props.retryAttempts }),
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: POWERTOOLS.serviceName,
        POWERTOOLS_LOG_LEVEL: POWERTOOLS.logLevel,
        POWERTOOLS_METRICS_NAMESPACE: POWERTOOLS.metricsNamespace,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ["module", "main"],
        banner: ESM_REQUIRE_BANNER,
        sourceMap: true,
        sourcesContent: false,
        minify: true,
        externalModules: BUNDLE_EXTERNALS,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([module, path]) => [
            `--alias:${module}`,
            join(props.projectRoot, path),
          ]),
        ),
        logLevel: LogLevel.WARNING,
        ...(props.bundledFiles === undefined || props.bundledFiles.length === 0
          ? {}
          : { commandHooks: copyIntoBundle(props.bundledFiles) }),
      },
    });
    this.functionLogGroup = logGroup;
    this.executionRole = role;
    logGroup.grantWrite(role);
    // One acknowledgement of Resource '*', written when the checks run, naming every action it covers.
    suppress(role, () => [
      {
        id: "AwsSolutions-IAM5",
        reason: `Resource '*' only for actions that support no resource-level permissions: ${[
          ...this.#unscopedActions,
        ]
          .map((action) => `${action} (${WILDCARD_RESOURCE_ACTIONS[action] ?? ""})`)
          .join("; ")}`,
        resources: ["*"],
      },
    ]);
  }

  /**
   * Grants `actions` on Resource '*'. Only actions listed in `WILDCARD_RESOURCE_ACTIONS`, with the reason
   * why they cannot be scoped, are accepted.
   */
  useUnscoped(actions: readonly string[]): this {
    for (const action of actions) {
      if (WILDCARD_RESOURCE_ACTIONS[action] === undefined) {
        throw new Error(
          `${action} on Resource '*': list it in WILDCARD_RESOURCE_ACTIONS with the reason it cannot be scoped.`,
        );
      }
      this.#unscopedActions.add(action);
    }
    this.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: ["*"] }));
    return this;
  }

  /**
   * Grants what the AWS Batch job scheduler calls. SubmitJob is authorized on the queue, the job
   * definition and the new job; with tags, the new job also needs TagResource. Jobs get ids from Batch, so
   * `job/*` is allowed only for requests that carry our job tag (submit) or jobs that carry it (terminate).
   */
  useBatchJobs(resources: BatchJobResources, actions: readonly BatchJobAction[]): this {
    const tag = resources.jobTagKey;
    if (actions.includes("submit")) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ["batch:SubmitJob"],
          resources: [...resources.jobQueueArns, ...resources.jobDefinitionArns],
        }),
      );
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ["batch:SubmitJob", "batch:TagResource"],
          resources: [resources.jobArn],
          conditions: { Null: { [`aws:RequestTag/${tag}`]: "false" } },
        }),
      );
      suppress(this.executionRole, [
        {
          id: "AwsSolutions-IAM5",
          reason: `Our job queues and job definitions are named after their stack ('<stack name>-queue1', '<stack name>-job:<revision>'), so they are allowed by our stack-name prefixes (hpc-, parallelcluster-) only. SubmitJob is also authorized on the job it creates, and TagResource on that job for its tags; Batch chooses job ids, so 'job/*' is allowed only for requests carrying the ${tag} tag that every submission of this API sets, and only together with one of our queues.`,
          resources: [...resources.jobQueueArns, ...resources.jobDefinitionArns, resources.jobArn],
        },
      ]);
    }
    if (actions.includes("terminate")) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ["batch:TerminateJob"],
          resources: [resources.jobArn],
          conditions: { Null: { [`aws:ResourceTag/${tag}`]: "false" } },
        }),
      );
      suppress(this.executionRole, [
        {
          id: "AwsSolutions-IAM5",
          reason: `TerminateJob is authorized on the job ('job/<id>'), whose id Batch chooses; 'job/*' is allowed only for jobs that carry the ${tag} tag, which this API sets on every job it submits, so jobs submitted by anyone else cannot be stopped.`,
          resources: [resources.jobArn],
        },
      ]);
    }
    if (actions.includes("describe")) this.useUnscoped(["batch:DescribeJobs"]);
    return this;
  }

  /** Grants GetLogEvents on the job log streams of `logStreamArns` (Batch's group, and our prefix). */
  useJobLogs(logStreamArns: readonly string[]): this {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ["logs:GetLogEvents"], resources: [...logStreamArns] }),
    );
    suppress(this.executionRole, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Batch names a job's log stream '<job definition>/default/<task id>', and our job definitions are named after their stack, so in Batch's group /aws/batch/job only streams starting with our stack-name prefixes (hpc-, parallelcluster-) are readable; custom job log groups must start with /hpc-cluster-api/ (documented), and only their events are readable. No other log group, and no write action.",
        resources: logStreamArns,
      },
    ]);
    return this;
  }

  /**
   * Grants SendCommand with the AWS-RunShellScript document only, to instances tagged as the head node of
   * one of our ParallelCluster clusters, and GetCommandInvocation to read the result.
   */
  useHeadNodeCommands(resources: HeadNodeCommandResources): this {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ["ssm:SendCommand"], resources: [resources.documentArn] }),
    );
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ["ssm:SendCommand"],
        resources: [resources.instanceArn],
        conditions: {
          StringEquals: { [`ssm:resourceTag/${HEAD_NODE_TAGS.nodeType.key}`]: HEAD_NODE_TAGS.nodeType.value },
          Null: { [`ssm:resourceTag/${HEAD_NODE_TAGS.ours}`]: "false" },
        },
      }),
    );
    this.useUnscoped(["ssm:GetCommandInvocation"]);
    suppress(this.executionRole, [
      {
        id: "AwsSolutions-IAM5",
        reason: `Instance ids are only known at run time, so 'instance/*' in this account and region, but only instances tagged ${HEAD_NODE_TAGS.nodeType.key}=${HEAD_NODE_TAGS.nodeType.value} (set by ParallelCluster) that also carry ${HEAD_NODE_TAGS.ours} (our clusters' tag); the only document that may be sent is AWS-RunShellScript.`,
        resources: [resources.instanceArn],
      },
    ]);
    return this;
  }

  /** Sets `JOB_RETENTION_DAYS`: how long finished job records this function writes stay (DynamoDB TTL). */
  useJobRetention(days: string): this {
    this.addEnvironment("JOB_RETENTION_DAYS", days);
    return this;
  }

  /**
   * Sets `TABLE_NAME` and grants the item actions the DynamoDB adapters use (Get/Query, plus
   * Put/Update/Delete) on the table and on its two indexes by name: no Scan, no batch or table actions.
   */
  useTable(table: ITable, access: TableAccess): this {
    this.addEnvironment("TABLE_NAME", table.tableName);
    if (access === "none") return this;
    this.addToRolePolicy(
      new PolicyStatement({
        actions: access === "read" ? TABLE_READ_ACTIONS : [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
        resources: [table.tableArn, ...TABLE_INDEXES.map((index) => `${table.tableArn}/index/${index}`)],
      }),
    );
    return this;
  }

  /**
   * Sets `TEMPLATE_BUCKET` and grants reads (and writes) of the objects under `templates/`. Reads are needed
   * by whoever calls CreateStack with a TemplateURL: CloudFormation fetches it with the caller's credentials.
   */
  useTemplateBucket(bucket: IBucket, access: ObjectAccess): this {
    this.addEnvironment("TEMPLATE_BUCKET", bucket.bucketName);
    const objects = bucket.arnForObjects(`${TEMPLATE_KEY_PREFIX}*`);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: access === "read" ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject"],
        resources: [objects],
      }),
    );
    suppress(this.executionRole, [
      {
        id: "AwsSolutions-IAM5",
        reason: `Template object keys are chosen per cluster at run time ('${TEMPLATE_KEY_PREFIX}<cluster id>.json'); the grant covers object reads and writes under that prefix of this one bucket, and no bucket-level action.`,
        resources: [objects],
      },
    ]);
    return this;
  }

  /**
   * Sets `STACK_NAME_PREFIX` and grants the CloudFormation `actions` on `stackArns` (our stack-name
   * prefixes only).
   */
  useStacks(stackArns: readonly string[], actions: readonly StackAction[], namePrefix: string): this {
    this.addEnvironment("STACK_NAME_PREFIX", namePrefix);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...new Set(actions.flatMap((action) => STACK_ACTIONS[action]))],
        resources: [...stackArns],
      }),
    );
    suppress(this.executionRole, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Stack ARNs end in '<name>/<unique id>', and both parts are only known at run time; the wildcards come after our stack-name prefixes (hpc-, parallelcluster-) in this account and region, so no other stack is reachable.",
        resources: stackArns,
      },
    ]);
    return this;
  }

  /**
   * Sets `PCLUSTER_SERVICE_TOKEN` and `TEMPLATE_BUCKET` without any grant: what the provisioner reads to
   * tell whether a configuration could be created here (Slurm needs the token; a large template needs
   * the bucket), for a function that checks a cluster template ahead of time and never creates one.
   */
  useProvisioningSettings(provisioning: { readonly serviceToken: string }, templateBucket: IBucket): this {
    this.addEnvironment("PCLUSTER_SERVICE_TOKEN", provisioning.serviceToken);
    this.addEnvironment("TEMPLATE_BUCKET", templateBucket.bucketName);
    return this;
  }

  /**
   * Sets `PCLUSTER_SERVICE_TOKEN` and attaches the policies a caller of CreateStack/DeleteStack needs for
   * the resources inside our cluster stacks (CloudFormation acts with the caller's credentials).
   */
  useClusterProvisioning(provisioning: {
    readonly serviceToken: string;
    readonly policies: readonly ManagedPolicy[];
  }): this {
    this.addEnvironment("PCLUSTER_SERVICE_TOKEN", provisioning.serviceToken);
    // Attached from the policy's side: a policy may carry a CloudFormation condition, and a role that
    // listed it in ManagedPolicyArns would break when the condition is false.
    for (const policy of provisioning.policies) policy.attachToRole(this.executionRole);
    return this;
  }
}
