import { describe, expect, it } from "vitest";
import { jobRefFromBatchEvent, observationFromBatchEvent } from "#shared/domain/batch-job-event.ts";

/**
 * The example "Batch Job State Change" event of the AWS Batch user guide (Job state change events), with
 * the `parameters` our submit sets.
 */
const DOCS_EVENT = {
  version: "0",
  id: "c8f9c4b5-76e5-d76a-f980-7011e206042b",
  "detail-type": "Batch Job State Change",
  source: "aws.batch",
  account: "123456789012",
  time: "2022-01-11T23:36:40Z",
  region: "us-east-1",
  resources: ["arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8"],
  detail: {
    jobArn: "arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
    jobName: "event-test",
    jobId: "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
    jobQueue: "arn:aws:batch:us-east-1:123456789012:job-queue/PexjEHappyPathCanary2JobQueue",
    status: "RUNNABLE",
    attempts: [],
    createdAt: 1641944200058,
    retryStrategy: { attempts: 2, evaluateOnExit: [] },
    dependsOn: [],
    jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/first-run-job-definition:1",
    parameters: { hpcJobId: "01JOBRECORD", hpcCluster: "demo" },
    container: {
      image: "137112412989.dkr.ecr.us-east-1.amazonaws.com/amazonlinux:latest",
      command: ["sleep", "600"],
      volumes: [],
      environment: [],
      mountPoints: [],
      ulimits: [],
      networkInterfaces: [],
      resourceRequirements: [
        { value: "2", type: "VCPU" },
        { value: "256", type: "MEMORY" },
      ],
      secrets: [],
    },
    tags: { resourceArn: "arn:aws:batch:us-east-1:123456789012:job/4c7599ae-0a82-49aa-ba5a-4727fcce14a8" },
    propagateTags: false,
    platformCapabilities: [],
  },
};

/** The same job later: two attempts (an out-of-memory kill, then exit 3) and FAILED, as DescribeJobs shows it. */
const FAILED_DETAIL = {
  ...DOCS_EVENT.detail,
  status: "FAILED",
  statusReason: "Essential container in task exited",
  startedAt: 1641944300000,
  stoppedAt: 1641944500000,
  attempts: [
    {
      container: {
        containerInstanceArn: "arn:aws:ecs:us-east-1:123456789012:container-instance/abc",
        taskArn: "arn:aws:ecs:us-east-1:123456789012:task/abc",
        exitCode: 137,
        reason: "OutOfMemoryError: Container killed due to memory usage",
        logStreamName: "first-run-job-definition/default/1111",
        networkInterfaces: [],
      },
      startedAt: 1641944300000,
      stoppedAt: 1641944350000,
      statusReason: "Essential container in task exited",
    },
    {
      container: {
        exitCode: 3,
        logStreamName: "first-run-job-definition/default/2222",
        networkInterfaces: [],
      },
      startedAt: 1641944400000,
      stoppedAt: 1641944500000,
      statusReason: "Essential container in task exited",
    },
  ],
};

describe("observationFromBatchEvent", () => {
  it("maps the documented example event to an observation of our record", () => {
    expect(observationFromBatchEvent(DOCS_EVENT.detail, DOCS_EVENT.time)).toEqual({
      jobId: "01JOBRECORD",
      externalId: "4c7599ae-0a82-49aa-ba5a-4727fcce14a8",
      status: "RUNNABLE",
      attempts: [],
      time: "2022-01-11T23:36:40Z",
    });
  });

  it("maps every finished attempt with its exit code, reasons, times and log stream", () => {
    const observation = observationFromBatchEvent(FAILED_DETAIL, "2022-01-11T23:41:41Z");

    expect(observation).toMatchObject({
      status: "FAILED",
      statusReason: "Essential container in task exited",
      startedAt: "2022-01-11T23:38:20.000Z",
      stoppedAt: "2022-01-11T23:41:40.000Z",
    });
    expect(observation?.attempts).toEqual([
      {
        startedAt: "2022-01-11T23:38:20.000Z",
        stoppedAt: "2022-01-11T23:39:10.000Z",
        exitCode: 137,
        statusReason:
          "Essential container in task exited (OutOfMemoryError: Container killed due to memory usage)",
        logStream: "first-run-job-definition/default/1111",
      },
      {
        startedAt: "2022-01-11T23:40:00.000Z",
        stoppedAt: "2022-01-11T23:41:40.000Z",
        exitCode: 3,
        statusReason: "Essential container in task exited",
        logStream: "first-run-job-definition/default/2222",
      },
    ]);
  });

  it("takes the newest time in the detail when no event time is given", () => {
    expect(observationFromBatchEvent(FAILED_DETAIL)?.time).toBe("2022-01-11T23:41:40.000Z");
  });

  it("keeps the terminal counts of an array parent's status summary", () => {
    const parent = {
      ...DOCS_EVENT.detail,
      status: "RUNNING",
      arrayProperties: {
        size: 5,
        statusSummary: {
          STARTING: 0,
          FAILED: 1,
          RUNNING: 1,
          SUCCEEDED: 3,
          RUNNABLE: 0,
          SUBMITTED: 0,
          PENDING: 0,
        },
      },
    };

    expect(observationFromBatchEvent(parent, DOCS_EVENT.time)?.arrayProgress).toEqual({
      FAILED: 1,
      SUCCEEDED: 3,
    });
  });

  it.each([
    ["an array child (by its index)", { arrayProperties: { index: 2 } }],
    ["an array child (by its id)", { jobId: "4c7599ae-0a82-49aa-ba5a-4727fcce14a8:2" }],
    ["a multi-node child", { jobId: "4c7599ae-0a82-49aa-ba5a-4727fcce14a8#1" }],
    ["a job this API did not submit", { parameters: {} }],
    ["an unknown status", { status: "DELETED" }],
    ["a detail without a job id", { jobId: undefined }],
  ])("ignores %s", (_name, change) => {
    expect(observationFromBatchEvent({ ...DOCS_EVENT.detail, ...change })).toBeUndefined();
  });

  it.each([null, "RUNNABLE", 42, {}])("ignores the malformed detail %j", (detail) => {
    expect(observationFromBatchEvent(detail)).toBeUndefined();
  });

  it("accepts the local runner's CANCELLED, which Batch itself reports as FAILED", () => {
    const cancelled = { ...DOCS_EVENT.detail, status: "CANCELLED", statusReason: "stopped by alice" };

    expect(observationFromBatchEvent(cancelled)).toMatchObject({
      status: "CANCELLED",
      statusReason: "stopped by alice",
    });
  });
});

describe("jobRefFromBatchEvent", () => {
  it("finds our record's cluster and id in the job's parameters", () => {
    expect(jobRefFromBatchEvent(DOCS_EVENT.detail)).toEqual({ clusterName: "demo", jobId: "01JOBRECORD" });
  });

  it("finds nothing for a job submitted outside this API or for an array child", () => {
    expect(jobRefFromBatchEvent({ ...DOCS_EVENT.detail, parameters: {} })).toBeUndefined();
    expect(jobRefFromBatchEvent({ ...DOCS_EVENT.detail, arrayProperties: { index: 0 } })).toBeUndefined();
  });
});
