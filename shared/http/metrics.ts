/**
 * CloudWatch custom metrics in the Embedded Metric Format: one JSON line on stdout per data point, which
 * Lambda's log pipeline turns into metrics with no API call and no client. The namespace and names are
 * the ones the dashboard reads (infra/constructs/observability.ts).
 */
export const METRICS_NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? "HpcClusterApi";

/** Writes one data point of `name` with these dimensions. */
export function putMetric(
  name: string,
  value: number,
  dimensions: Readonly<Record<string, string>>,
  unit: "Count" | "None" = "Count",
): void {
  // Powertools' switch: the local server and the tests have no CloudWatch to read these lines.
  if (process.env.POWERTOOLS_METRICS_DISABLED === "true") return;
  const line = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: [{ Name: name, Unit: unit }],
        },
      ],
    },
    ...dimensions,
    [name]: value,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
