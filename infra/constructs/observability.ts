import { CfnCondition, CfnParameter, Duration, Fn } from "aws-cdk-lib";
import type { RestApi } from "aws-cdk-lib/aws-apigateway";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { CfnSubscription, Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { suppress } from "../nag-suppressions.ts";
import { pascalCase } from "../naming.ts";
import { POWERTOOLS } from "./house-function.ts";

/**
 * Custom metrics the dashboard graphs, in the Powertools namespace. Emit them with Powertools Metrics
 * (EMF), one data point per status as a dimension named `status`; any other dimensions are fine, the
 * dashboard searches by namespace and metric name.
 */
export const CUSTOM_METRICS = {
  namespace: POWERTOOLS.metricsNamespace,
  /** Gauge: clusters per `status` (the reconciler's count). */
  clusters: "Clusters",
  /** Count: job state changes per `status`. */
  jobs: "Jobs",
} as const;

/** When an alarm fires. */
export const ALARM_THRESHOLDS = {
  /** Share of API requests answered 5xx over five minutes. */
  serverErrorRate: 0.05,
  /** Unhandled errors (or timeouts) of one function in five minutes. */
  functionErrors: 1,
  /** Messages waiting in a dead-letter queue. */
  deadLetterMessages: 1,
} as const;

export interface ObservabilityProps {
  readonly api: RestApi;
  /** Every function, by its handler name. */
  readonly functions: ReadonlyMap<string, IFunction>;
  /** Every dead-letter queue, by a label an operator understands. */
  readonly deadLetterQueues: ReadonlyMap<string, IQueue>;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Every series of a custom metric, whatever its dimensions: one line per status. */
function search(metricName: string, statistic: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('Namespace="${CUSTOM_METRICS.namespace}" MetricName="${metricName}"', '${statistic}', 300)`,
    period: FIVE_MINUTES,
    usingMetrics: {},
  });
}

/** The dashboard and the alarms: API health, function errors and durations, dead letters, clusters and jobs. */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: readonly Alarm[];
  /** Every alarm notifies it, on ALARM and on OK. */
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    // Alarms always notify this topic; subscribe to it (the AlarmEmail parameter, or any other way).
    this.alarmTopic = new Topic(this, "AlarmTopic", {
      displayName: "hpc-cluster-api alarms",
      enforceSSL: true,
    });
    suppress(this.alarmTopic, [
      {
        id: "AwsSolutions-SNS2",
        reason:
          "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key (aws/sns), and a customer managed key would add a monthly charge; the notifications carry only alarm names, states and thresholds, no data of the API.",
      },
    ]);
    const email = new CfnParameter(this, "AlarmEmail", {
      type: "String",
      default: "",
      description: "E-mail address subscribed to the alarm topic (empty: no subscription)",
      allowedPattern: "^([^@\\s]+@[^@\\s]+)?$",
      constraintDescription: "must be empty or an e-mail address",
    });
    // Fixed logical id: it is typed on the command line (--parameters AlarmEmail=...).
    email.overrideLogicalId("AlarmEmail");
    const subscription = new CfnSubscription(this, "AlarmEmailSubscription", {
      topicArn: this.alarmTopic.topicArn,
      protocol: "email",
      endpoint: email.valueAsString,
    });
    subscription.cfnOptions.condition = new CfnCondition(this, "HasAlarmEmail", {
      expression: Fn.conditionNot(Fn.conditionEquals(email.valueAsString, "")),
    });
    const notify = new SnsAction(this.alarmTopic);

    const { api } = props;
    const alarms: Alarm[] = [];
    const alarm = (alarmId: string, metric: IMetric, threshold: number, description: string) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      alarms.push(created);
    };

    // API Gateway's 5XXError average is the share of requests that failed.
    alarm(
      "ApiServerErrorRate",
      api.metricServerError({ statistic: "Average", period: FIVE_MINUTES }),
      ALARM_THRESHOLDS.serverErrorRate,
      `At least ${ALARM_THRESHOLDS.serverErrorRate * 100}% of API requests answered 5xx in 5 minutes. Look up the requestId of a 500 in the functions' logs.`,
    );
    for (const [name, fn] of props.functions) {
      alarm(
        `${pascalCase(name)}Errors`,
        fn.metricErrors({ statistic: "Sum", period: FIVE_MINUTES }),
        ALARM_THRESHOLDS.functionErrors,
        `Function ${name} threw or timed out in the last 5 minutes.`,
      );
    }
    for (const [label, queue] of props.deadLetterQueues) {
      alarm(
        `${pascalCase(label)}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: FIVE_MINUTES }),
        ALARM_THRESHOLDS.deadLetterMessages,
        `Messages wait in the ${label} dead-letter queue: events or inputs that were not processed. Inspect, fix, then redrive.`,
      );
    }
    this.alarms = alarms;

    const fns = [...props.functions.entries()];
    const queues = [...props.deadLetterQueues.entries()];
    this.dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(6) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          "# HPC Cluster API\nClusters and jobs come from the functions' custom metrics; the rest from API Gateway, Lambda and SQS.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Clusters by status",
        left: [search(CUSTOM_METRICS.clusters, "Maximum")],
        width: 12,
      }),
      new GraphWidget({ title: "Jobs by status", left: [search(CUSTOM_METRICS.jobs, "Sum")], width: 12 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "API requests and errors",
        left: [
          api.metricCount({ statistic: "Sum", label: "requests", period: FIVE_MINUTES }),
          api.metricClientError({ statistic: "Sum", label: "4xx", period: FIVE_MINUTES }),
          api.metricServerError({ statistic: "Sum", label: "5xx", period: FIVE_MINUTES }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: "API latency (ms)",
        left: ["p50", "p90", "p99"].map((statistic) =>
          api.metricLatency({ statistic, label: statistic, period: FIVE_MINUTES }),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Function errors",
        left: fns.map(([name, fn]) =>
          fn.metricErrors({ statistic: "Sum", label: name, period: FIVE_MINUTES }),
        ),
        width: 12,
      }),
      new GraphWidget({
        title: "Function duration p90 (ms)",
        left: fns.map(([name, fn]) =>
          fn.metricDuration({ statistic: "p90", label: name, period: FIVE_MINUTES }),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Dead-letter queue depth",
        left: queues.map(([label, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({
            statistic: "Maximum",
            label,
            period: FIVE_MINUTES,
          }),
        ),
        width: 12,
      }),
      new AlarmStatusWidget({ title: "Alarms", alarms, width: 12 }),
    );
  }
}
