import { afterEach, describe, expect, it, vi } from "vitest";
import { putMetric } from "#shared/http/metrics.ts";

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function captureStdout(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe("putMetric", () => {
  it("writes one Embedded Metric Format line that CloudWatch turns into a metric with its dimensions", () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    const lines = captureStdout();

    putMetric("Clusters", 3, { status: "CREATE_COMPLETE" });

    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("\n")).toBe(true);
    const entry = JSON.parse(lines[0] ?? "{}");
    expect(entry).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: "HpcClusterApi",
            Dimensions: [["status"]],
            Metrics: [{ Name: "Clusters", Unit: "Count" }],
          },
        ],
      },
      status: "CREATE_COMPLETE",
      Clusters: 3,
    });
    expect(typeof entry._aws.Timestamp).toBe("number");
  });

  it("writes nothing when metrics are disabled, as in local mode", () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "true");
    const lines = captureStdout();

    putMetric("Clusters", 3, { status: "CREATE_COMPLETE" });

    expect(lines).toEqual([]);
  });
});
