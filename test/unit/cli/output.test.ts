import { describe, expect, it } from "vitest";
import { clusterFacts } from "../../../cli/commands/clusters.ts";
import { jobFacts, jobProgressDetail, shellQuote } from "../../../cli/commands/jobs.ts";
import {
  formatAge,
  formatDuration,
  formatFacts,
  formatFixedRow,
  formatTable,
  Output,
} from "../../../cli/output.ts";
import { Backoff, ProgressLine } from "../../../cli/progress.ts";
import { Sink } from "./cli-harness.ts";

const NOW = Date.parse("2025-01-15T12:00:00Z");

describe("tables for people", () => {
  it("aligns every column to its widest cell, two spaces apart, without trailing blanks", () => {
    const table = formatTable(
      ["NAME", "STATUS", "AGE"],
      [
        ["cfd", "CREATE_COMPLETE", "3m"],
        ["genomics-large", "CREATE_IN_PROGRESS", "12s"],
      ],
    );
    expect(table.split("\n")).toEqual([
      "NAME            STATUS              AGE",
      "cfd             CREATE_COMPLETE     3m",
      "genomics-large  CREATE_IN_PROGRESS  12s",
    ]);
  });

  it("pads rows printed as they come to fixed widths", () => {
    expect(formatFixedRow(["2025-01-15T12:00:00Z", "CREATE_COMPLETE", ""], [20, 18, 0])).toBe(
      "2025-01-15T12:00:00Z  CREATE_COMPLETE",
    );
  });

  it("lines up key facts and leaves out the ones without a value", () => {
    expect(
      formatFacts([
        ["Name", "cfd"],
        ["Reason", undefined],
        ["Head node", "RUNNING 10.0.0.12"],
      ]),
    ).toBe("Name:       cfd\nHead node:  RUNNING 10.0.0.12");
  });

  it("shows ages and durations the way people read them", () => {
    expect(formatAge("2025-01-15T11:59:15Z", NOW)).toBe("45s");
    expect(formatAge("2025-01-15T11:57:00Z", NOW)).toBe("3m");
    expect(formatAge("2025-01-15T09:00:00Z", NOW)).toBe("3h");
    expect(formatAge("2025-01-11T12:00:00Z", NOW)).toBe("4d");
    expect(formatAge("not a time", NOW)).toBe("?");
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(12_400)).toBe("12s");
    expect(formatDuration(185_000)).toBe("3m05s");
    expect(formatDuration(7_440_000)).toBe("2h04m");
    expect(formatDuration(273_600_000)).toBe("3d04h");
  });

  it("quotes a job's command words only where a shell would need it", () => {
    expect(["sh", "-c", "echo hi; exit 3", "it's"].map(shellQuote).join(" ")).toBe(
      `sh -c 'echo hi; exit 3' 'it'\\''s'`,
    );
  });
});

describe("key facts", () => {
  it("names a cluster's status, reason, head node, queues and tags", () => {
    const facts = Object.fromEntries(
      clusterFacts(
        {
          name: "cfd",
          status: "CREATE_FAILED",
          scheduler: "slurm",
          stackName: "hpc-cfd",
          createdAt: "2025-01-15T11:50:00Z",
          updatedAt: "2025-01-15T11:59:00Z",
          failureReason: "HeadNode failed",
          headNode: { state: "STOPPED", privateIp: "10.0.0.12" },
          tags: { team: "cfd" },
          configuration: {
            region: "us-east-1",
            queues: [
              { name: "compute", computeResources: [{ instanceTypes: ["c5.2xlarge"], maxCount: 10 }] },
            ],
          },
        },
        NOW,
      ),
    );
    expect(facts).toMatchObject({
      Status: "CREATE_FAILED",
      Reason: "HeadNode failed",
      "Head node": "STOPPED 10.0.0.12",
      Queues: "compute (c5.2xlarge, max 10)",
      Tags: "team=cfd",
      Created: "2025-01-15T11:50:00Z (10m ago)",
    });
  });

  it("names a job's command and its last attempt's exit code", () => {
    const job = {
      jobId: "01JHMT19E0DXJJAB0872XDCNPE",
      clusterName: "cfd",
      name: "hello",
      status: "FAILED" as const,
      createdAt: "2025-01-15T11:59:00Z",
      updatedAt: "2025-01-15T11:59:30Z",
      attempts: [{ exitCode: 1 }, { exitCode: 3, statusReason: "Essential container in task exited" }],
      spec: { command: ["sh", "-c", "exit 3"] },
    };
    const facts = Object.fromEntries(jobFacts(job, NOW));
    expect(facts).toMatchObject({
      "Job ID": "01JHMT19E0DXJJAB0872XDCNPE",
      Runs: "sh -c 'exit 3'",
      Attempts: "2 (last exit code 3: Essential container in task exited)",
    });
    expect(jobProgressDetail(job)).toBe("exit code 3");
    expect(jobProgressDetail({ ...job, status: "RUNNABLE", attempts: [{ exitCode: 1 }] })).toBe(
      "attempt 2, attempt 1 exited 1",
    );
    expect(jobProgressDetail({ ...job, status: "SUBMITTED", attempts: [] })).toBeUndefined();
  });

  it("says which trigger made a job, from what input, and that it waits for its cluster", () => {
    const facts = Object.fromEntries(
      jobFacts(
        {
          jobId: "01JHMT19E0DXJJAB0872XDCNPE",
          clusterName: "lab",
          name: "upper",
          status: "SUBMITTED",
          createdAt: "2025-01-15T11:59:00Z",
          updatedAt: "2025-01-15T11:59:30Z",
          waitingForCluster: true,
          origin: {
            triggerName: "lab-inbox",
            input: { uri: "s3://lab-data/runs/a b.csv", key: "runs/a b.csv" },
          },
        },
        NOW,
      ),
    );
    expect(facts).toMatchObject({
      Status: "SUBMITTED (waiting for the cluster to be created)",
      Trigger: "lab-inbox (input s3://lab-data/runs/a b.csv)",
    });
  });
});

describe("the output streams", () => {
  it("keeps stdout for results and stderr for notes, and --quiet silences notes but not errors", () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const output = new Output({ stdout, stderr }, { format: "json", quiet: true });
    output.printJson({ items: [] });
    output.note("cluster cfd exists");
    output.error(["Cluster not found: No cluster named 'x' exists."]);
    expect(JSON.parse(stdout.text)).toEqual({ items: [] });
    expect(stderr.text).toBe("Cluster not found: No cluster named 'x' exists.\n");
  });

  it("erases a live progress line before writing a result, then draws it again", () => {
    const stdout = new Sink();
    const stderr = Object.assign(new Sink(), { isTTY: true });
    const output = new Output({ stdout, stderr });
    const progress = output.startProgress("job 1", () => NOW);
    progress.update("RUNNING", "attempt 1");
    const before = stderr.text.length;
    output.printLine("hello");
    expect(stdout.text).toBe("hello\n");
    const CLEAR = "\r\x1b[2K";
    const redraw = stderr.text.slice(before);
    expect(redraw.startsWith(`${CLEAR}${CLEAR}`)).toBe(true);
    expect(redraw.slice(2 * CLEAR.length)).toMatch(/^\S+ job 1 {2}RUNNING {2}0ms {2}attempt 1$/);
    output.endProgress();
    expect(stderr.text.endsWith("\r\x1b[2Kjob 1: RUNNING (0ms) - attempt 1\n")).toBe(true);
  });
});

describe("progress while waiting", () => {
  it("writes one plain line per status change when stderr is not a terminal", () => {
    const sink = new Sink();
    let now = NOW;
    const progress = new ProgressLine(sink, "cluster cfd", { now: () => now });
    progress.update("CREATE_IN_PROGRESS");
    now += 2000;
    progress.update("CREATE_IN_PROGRESS", "HeadNode CREATE_IN_PROGRESS");
    now += 3000;
    progress.update("CREATE_FAILED", "HeadNode failed");
    progress.finish();
    expect(sink.text).toBe(
      "cluster cfd: CREATE_IN_PROGRESS (0ms)\ncluster cfd: CREATE_FAILED (5s) - HeadNode failed\n",
    );
  });

  it("redraws one line in place on a terminal, cut to its width", () => {
    const sink = Object.assign(new Sink(), { isTTY: true, columns: 40 });
    const progress = new ProgressLine(sink, "cluster cfd", { now: () => NOW });
    progress.update("CREATE_IN_PROGRESS", "a very long stack event reason that does not fit");
    progress.update("CREATE_COMPLETE");
    progress.finish();
    const frames = sink.text.split("\r\x1b[2K").filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[0]?.length).toBeLessThanOrEqual(39);
    expect(frames[0]?.endsWith("…")).toBe(true);
    expect(frames[2]).toBe("cluster cfd: CREATE_COMPLETE (0ms)\n");
  });

  it("polls at 500 ms, growing by half up to 5 s, and starts over on reset", () => {
    const backoff = new Backoff();
    const delays = Array.from({ length: 9 }, () => backoff.next());
    expect(delays).toEqual([500, 750, 1125, 1688, 2532, 3798, 5000, 5000, 5000]);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });
});
