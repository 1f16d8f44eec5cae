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

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    // Own role and log group: the default role carries the AWS managed AWSLambdaBasicExecutionRole, whose
    // log permissions reach every log group in the account.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${props.description}`,
    });
    const logGroup = new LogGroup(scope, `${id}Logs`, {
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
    suppress(role, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so active tracing needs Resource '*' for these two actions only.",
        resources: ["*"],
      },
    ]);
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
