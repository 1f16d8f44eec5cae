import { join } from "node:path";
import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import { type EventPattern, Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { ClusterProvisioning, RESOURCE_API_STACK_PREFIX } from "./constructs/cluster-provisioning.ts";
import { DeadLetterQueue } from "./constructs/dead-letter-queue.ts";
import { batchJobStatePattern, stackStatusPattern } from "./constructs/event-patterns.ts";
import { HouseFunction } from "./constructs/house-function.ts";
import { JobAccess } from "./constructs/job-access.ts";
import { Observability } from "./constructs/observability.ts";
import { OpenApiRestApi } from "./constructs/openapi-rest-api.ts";
import { accessOf } from "./function-access.ts";
import { pascalCase } from "./naming.ts";
import { deployedRoutes, handlerNames, type OpenApiRoute } from "./openapi-routes.ts";
import { INPUT_FUNCTION_TIMEOUT, type StatefulResources } from "./stateful-stack.ts";

/** How an event function is started. */
export type EventTrigger =
  /** An EventBridge rule on the default bus. */
  | { readonly kind: "rule"; readonly pattern: (scope: Construct) => EventPattern }
  /** A schedule (EventBridge). */
  | { readonly kind: "schedule"; readonly schedule: Schedule }
  /** An SQS queue of the stateful stack, with partial batch responses. */
  | { readonly kind: "queue"; readonly queue: (stateful: StatefulResources) => IQueue };

/** A function under `functions/events/`. */
export interface EventFunction {
  /** Entry file `functions/events/<name>.ts`; also the key of its access profile. */
  readonly name: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly trigger: EventTrigger;
}

/** Messages the input queue hands the S3 input function at once (SQS's maximum for a standard queue). */
export const INPUT_BATCH_SIZE = 10;
/** How long the event source gathers messages before invoking, so a burst of uploads makes few invocations. */
export const INPUT_BATCHING_WINDOW = Duration.seconds(5);

/**
 * The event-driven functions. Adding one is an entry here and a profile in `function-access.ts`.
 */
export const EVENT_FUNCTIONS: readonly EventFunction[] = [
  {
    name: "stack-status",
    description:
      "Applies CloudFormation status changes of our stacks to the clusters, and releases the jobs waiting for them",
    // Releasing waiting jobs may wait on sbatch (up to 20 s each on a Slurm head node).
    timeout: Duration.minutes(3),
    trigger: { kind: "rule", pattern: stackStatusPattern },
  },
  {
    name: "job-status",
    description: "Applies AWS Batch job state changes in our job queues to the job records",
    timeout: Duration.seconds(60),
    trigger: { kind: "rule", pattern: batchJobStatePattern },
  },
  {
    name: "reconcile",
    description: "Every 5 minutes, settles clusters whose stack events were missed and refreshes active jobs",
    timeout: Duration.minutes(2),
    trigger: { kind: "schedule", schedule: Schedule.rate(Duration.minutes(5)) },
  },
  {
    name: "s3-input",
    description:
      "Turns new S3 objects (the input queue: input bucket and EventBridge) into trigger rules' jobs",
    // The queue's visibility timeout is six times this (stateful-stack.ts).
    timeout: INPUT_FUNCTION_TIMEOUT,
    trigger: { kind: "queue", queue: (stateful) => stateful.inputQueue },
  },
];

/** Timeout of an API function: well inside API Gateway's 29 s integration timeout. */
const API_TIMEOUT = Duration.seconds(20);
/** Timeout of an API function that talks to a head node through SSM (it may wait 20 s for the command). */
export const HEAD_NODE_API_TIMEOUT = Duration.seconds(28);

/** Files a function reads at run time from next to its bundle. */
const BUNDLED_FILES: Readonly<Record<string, readonly string[]>> = { "get-openapi": ["openapi.yaml"] };

export interface StatelessStackProps extends StackProps {
  readonly stateful: StatefulResources;
  /** The repository root: entry files, lock file and tsconfig are found from it. */
  readonly projectRoot: string;
  /** The routes of `openapi.yaml`; the local server's own (`x-local-only`) are left out. */
  readonly routes: readonly OpenApiRoute[];
  /** Reported by `/health` and `pcluster version`. */
  readonly apiVersion: string;
  /** Default {@link EVENT_FUNCTIONS}. */
  readonly eventFunctions?: readonly EventFunction[];
}

/**
 * Everything that can be replaced at will: the functions, the REST API, the event rules, the dead-letter
 * queues, the dashboard and the alarms. It holds no data of its own except what waits in a dead-letter
 * queue.
 */
export class StatelessStack extends Stack {
  readonly restApi: OpenApiRestApi;
  /** Every function by handler name. */
  readonly functions: ReadonlyMap<string, HouseFunction>;

  private readonly provisioning: ClusterProvisioning;
  private readonly jobAccess: JobAccess;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { stateful, projectRoot } = props;
    this.provisioning = new ClusterProvisioning(this, "ClusterProvisioning");
    this.jobAccess = new JobAccess(this, "JobAccess");
    const environment = { CLUSTER_BACKEND: "aws", API_VERSION: props.apiVersion };
    const functions = new Map<string, HouseFunction>();
    const deadLetterQueues = new Map<string, IQueue>([["input", stateful.inputDeadLetterQueue]]);
    const routes = deployedRoutes(props.routes);

    for (const name of handlerNames(routes)) {
      const methods = routes.filter((r) => r.handler === name).map((r) => `${r.method} ${r.path}`);
      const fn = new HouseFunction(this, `Api${pascalCase(name)}`, {
        entry: join(projectRoot, "functions", "api", `${name}.ts`),
        description: `${name}: ${methods.join(", ")}`,
        projectRoot,
        // A head node command waits up to 20 s for SSM; its answer (or a 503) must still beat API
        // Gateway's 29 s.
        timeout: accessOf(name).headNodeCommands === true ? HEAD_NODE_API_TIMEOUT : API_TIMEOUT,
        environment,
        bundledFiles: BUNDLED_FILES[name] ?? [],
      });
      this.grant(fn, name, stateful);
      functions.set(name, fn);
    }

    for (const event of props.eventFunctions ?? EVENT_FUNCTIONS) {
      const id = `Event${pascalCase(event.name)}`;
      const deadLetters =
        event.trigger.kind === "queue" ? undefined : new DeadLetterQueue(this, `${id}DeadLetters`);
      const fn = new HouseFunction(this, id, {
        entry: join(projectRoot, "functions", "events", `${event.name}.ts`),
        description: `${event.name}: ${event.description}`,
        projectRoot,
        timeout: event.timeout,
        environment,
        ...(deadLetters === undefined
          ? {}
          : { onFailure: new SqsDestination(deadLetters), retryAttempts: 2 }),
      });
      this.grant(fn, event.name, stateful);
      functions.set(event.name, fn);
      const trigger = event.trigger;
      if (trigger.kind === "queue") {
        // The queue retries a failed message and then dead-letters it (stateful-stack.ts); the function
        // names the messages that failed, so the others of the batch are not handed over again.
        fn.addEventSource(
          new SqsEventSource(trigger.queue(stateful), {
            batchSize: INPUT_BATCH_SIZE,
            maxBatchingWindow: INPUT_BATCHING_WINDOW,
            reportBatchItemFailures: true,
          }),
        );
        continue;
      }
      if (deadLetters === undefined) continue;
      deadLetterQueues.set(event.name, deadLetters);
      new Rule(this, `${id}Rule`, {
        description: `Starts ${event.name}`,
        ...(trigger.kind === "rule"
          ? { eventPattern: trigger.pattern(this) }
          : { schedule: trigger.schedule }),
        targets: [
          new LambdaFunction(fn, {
            deadLetterQueue: deadLetters,
            retryAttempts: 4,
            maxEventAge: Duration.hours(2),
          }),
        ],
      });
    }
    this.functions = functions;

    this.restApi = new OpenApiRestApi(this, "RestApi", { routes, handlers: functions });
    const observability = new Observability(this, "Observability", {
      api: this.restApi.api,
      functions,
      deadLetterQueues,
    });

    const api = this.restApi.api;
    new CfnOutput(this, "ApiUrl", { value: api.url, description: "Base URL of the API (stage Prod)" });
    new CfnOutput(this, "CommandEndpointUrl", {
      value: api.urlForPath("/pcluster"),
      description: "The blog's pcluster command endpoint: POST ?command=...&cluster_name=...",
    });
    new CfnOutput(this, "DashboardName", { value: observability.dashboard.dashboardName });
  }

  /** Turns the function's access profile into `use...()` calls: environment and grant together. */
  private grant(fn: HouseFunction, name: string, stateful: StatefulResources): void {
    const access = accessOf(name);
    if (access.table !== undefined) fn.useTable(stateful.table, access.table);
    if (access.templateBucket !== undefined)
      fn.useTemplateBucket(stateful.templateBucket, access.templateBucket);
    if (access.stacks !== undefined) {
      fn.useStacks(this.provisioning.stackArns, access.stacks, RESOURCE_API_STACK_PREFIX);
      if (access.stacks.includes("create") || access.stacks.includes("delete")) {
        fn.useClusterProvisioning(this.provisioning);
      }
    }
    if (access.batchJobs !== undefined) fn.useBatchJobs(this.jobAccess, access.batchJobs);
    if (access.jobLogs === true) fn.useJobLogs(this.jobAccess.logStreamArns);
    if (access.headNodeCommands === true) fn.useHeadNodeCommands(this.jobAccess);
    if (access.writesJobs === true) fn.useJobRetention(this.jobAccess.retentionDays);
    if (access.checksProvisioning === true) {
      fn.useProvisioningSettings(this.provisioning, stateful.templateBucket);
    }
  }
}
