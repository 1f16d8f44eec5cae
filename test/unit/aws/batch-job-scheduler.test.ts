import {
  BatchClient,
  BatchServiceException,
  DescribeJobsCommand,
  type JobDetail,
  SubmitJobCommand,
  TerminateJobCommand,
} from "@aws-sdk/client-batch";
import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createBatchClient, createLogsClient } from "#shared/adapters/aws/aws-clients.ts";
import {
  BatchJobScheduler,
  JOB_TAGS,
  MAX_CONTAINER_OVERRIDES_CHARS,
  mapJobsAwsError,
  observationFromJobDetail,
  SCRIPT_COMMAND,
  SCRIPT_ENV,
} from "#shared/adapters/aws/batch-job-scheduler.ts";
import { observationFromBatchEvent } from "#shared/domain/batch-job-event.ts";
import type { Cluster } from "#shared/domain/cluster.ts";
import { ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import {
  InvalidNextTokenError,
  RequestValidationError,
  ServiceUnavailableError,
  UpstreamError,
} from "#shared/domain/errors.ts";
import type { Job, JobSpec } from "#shared/domain/job.ts";

const REGION = "eu-west-1";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const QUEUE = `arn:aws:batch:${REGION}:123456789012:job-queue/hpc-demo-queue1`;
const DEFINITION = `arn:aws:batch:${REGION}:123456789012:job-definition/hpc-demo-job:1`;
const BATCH_ID = "4c7599ae-0a82-49aa-ba5a-4727fcce14a8";

const batchClient = new BatchClient({ region: REGION, credentials });
const logsClient = new CloudWatchLogsClient({ region: REGION, credentials });
const batch = mockClient(batchClient);
const logs = mockClient(logsClient);

/** Our job ids that have reached Batch, and their Batch ids. */
const known = new Map<string, string>([
  ["01JDEPENDENCY0000000000001", "aaaaaaaa-0000-4000-8000-000000000001"],
  ["01JDEPENDENCY0000000000002", "aaaaaaaa-0000-4000-8000-000000000002"],
]);

function scheduler(): BatchJobScheduler {
  return new BatchJobScheduler({
    batch: batchClient,
    logs: logsClient,
    resolveExternalId: async (_cluster, jobId) => known.get(jobId),
    clock: { now: () => new Date("2024-05-01T10:00:00.000Z") },
  });
}

function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: "demo",
    clusterId: "01JCLUSTER0000000000000001",
    status: "CREATE_COMPLETE",
    scheduler: "awsbatch",
    stackName: "hpc-demo",
    createdAt: "2024-05-01T09:00:00.000Z",
    updatedAt: "2024-05-01T09:10:00.000Z",
    createdBy: "alice",
    tags: { team: "hpc" },
    config: ClusterSpecSchema.parse({
      sourceFormat: "pcluster3-yaml",
      scheduler: "awsbatch",
      os: "alinux2",
      headNode: { instanceType: "t3.micro", subnetId: "subnet-0123456789abcdef0" },
      networking: {},
      sharedStorage: [],
      tags: {},
      queues: [
        {
          name: "q",
          capacityType: "ONDEMAND",
          subnetIds: ["subnet-0123456789abcdef0"],
          computeResources: [{ name: "cr", instanceTypes: ["c5.large"], maxVcpus: 8 }],
        },
      ],
    }),
    warnings: [],
    outputs: { JobQueueArn: QUEUE, JobDefinitionArn: DEFINITION },
    options: { rollbackOnFailure: true },
    version: 3,
    ...overrides,
  };
}

function job(spec: Partial<JobSpec> = {}, overrides: Partial<Job> = {}): Job {
  return {
    jobId: "01JJOB00000000000000000001",
    clusterName: "demo",
    clusterId: "01JCLUSTER0000000000000001",
    name: "my-job_1",
    status: "SUBMITTED",
    spec: { command: ["echo", "hello"], environment: {}, dependsOn: [], ...spec },
    scheduler: "awsbatch",
    attempts: [],
    createdAt: "2024-05-01T10:00:00.000Z",
    updatedAt: "2024-05-01T10:00:00.000Z",
    createdBy: "alice",
    version: 1,
    ...overrides,
  };
}

function batchError(name: string, message: string, status = 400): BatchServiceException {
  return new BatchServiceException({
    name,
    message,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}

function logsError(name: string, message: string, status = 400): CloudWatchLogsServiceException {
  return new CloudWatchLogsServiceException({
    name,
    message,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}

beforeEach(() => {
  batch.reset();
  logs.reset();
});

describe("the client factories", () => {
  it("honour the endpoint, region and attempts they are given", async () => {
    const options = { endpoint: "http://127.0.0.1:5000", region: REGION, credentials, maxAttempts: 2 };
    for (const client of [createBatchClient(options), createLogsClient(options)]) {
      expect(await client.config.region()).toBe(REGION);
      expect(await client.config.maxAttempts()).toBe(2);
      expect((await client.config.endpoint?.())?.hostname).toBe("127.0.0.1");
      client.destroy();
    }
  });
});

describe("submit", () => {
  it("submits a command job on the cluster's queue and definition with its argv, environment and resources", async () => {
    batch.on(SubmitJobCommand).resolves({ jobId: BATCH_ID, jobName: "my-job_1" });

    const result = await scheduler().submit(
      job({
        command: ["sh", "-c", "echo $HOME; exit 3"],
        environment: { A: "1" },
        vcpus: 2,
        memoryMiB: 4096,
      }),
      cluster(),
    );

    expect(result).toEqual({ externalId: BATCH_ID });
    const input = batch.commandCalls(SubmitJobCommand)[0]?.args[0].input;
    expect(input).toEqual({
      jobName: "my-job_1",
      jobQueue: QUEUE,
      jobDefinition: DEFINITION,
      parameters: { hpcJobId: "01JJOB00000000000000000001", hpcCluster: "demo" },
      containerOverrides: {
        command: ["sh", "-c", "echo $HOME; exit 3"],
        environment: [{ name: "A", value: "1" }],
        resourceRequirements: [
          { type: "VCPU", value: "2" },
          { type: "MEMORY", value: "4096" },
        ],
      },
      tags: { team: "hpc", [JOB_TAGS.jobId]: "01JJOB00000000000000000001", [JOB_TAGS.clusterName]: "demo" },
    });
  });

  it("runs a script from a fixed command, with the script base64-encoded in the environment", async () => {
    batch.on(SubmitJobCommand).resolves({ jobId: BATCH_ID });
    const script = '#!/bin/sh\necho "it\'s $(date)"; `id`\n';

    await scheduler().submit(job({ command: undefined, script }), cluster());

    const overrides = batch.commandCalls(SubmitJobCommand)[0]?.args[0].input.containerOverrides;
    expect(overrides?.command).toEqual([...SCRIPT_COMMAND]);
    const carried = overrides?.environment?.find((e) => e.name === SCRIPT_ENV)?.value ?? "";
    expect(Buffer.from(carried, "base64").toString("utf8")).toBe(script);
    expect(JSON.stringify(overrides?.command)).not.toContain("date");
  });

  it("sets array size, dependencies as Batch ids, retry strategy, timeout and the input URI", async () => {
    batch.on(SubmitJobCommand).resolves({ jobId: BATCH_ID });

    await scheduler().submit(
      job({
        arraySize: 5,
        dependsOn: [
          { jobId: "01JDEPENDENCY0000000000001" },
          { jobId: "01JDEPENDENCY0000000000002", type: "N_TO_N" },
        ],
        retryStrategy: {
          attempts: 3,
          evaluateOnExit: [
            { onExitCode: "3", action: "EXIT" },
            { onStatusReason: "Host EC2*", onReason: "CannotPull*", action: "RETRY" },
          ],
        },
        timeoutSeconds: 600,
        inputUri: "s3://bucket/input.csv",
      }),
      cluster(),
    );

    const input = batch.commandCalls(SubmitJobCommand)[0]?.args[0].input;
    expect(input?.arrayProperties).toEqual({ size: 5 });
    expect(input?.dependsOn).toEqual([
      { jobId: "aaaaaaaa-0000-4000-8000-000000000001" },
      { jobId: "aaaaaaaa-0000-4000-8000-000000000002", type: "N_TO_N" },
    ]);
    expect(input?.retryStrategy).toEqual({
      attempts: 3,
      evaluateOnExit: [
        { onExitCode: "3", action: "EXIT" },
        { onStatusReason: "Host EC2*", onReason: "CannotPull*", action: "RETRY" },
      ],
    });
    expect(input?.timeout).toEqual({ attemptDurationSeconds: 600 });
    expect(input?.containerOverrides?.environment).toContainEqual({
      name: "HPC_JOB_INPUT_URI",
      value: "s3://bucket/input.csv",
    });
  });

  it("sends a multi-node job's overrides as one node range over every node", async () => {
    batch.on(SubmitJobCommand).resolves({ jobId: BATCH_ID });

    await scheduler().submit(job({ nodes: 4, vcpus: 8 }), cluster());

    const input = batch.commandCalls(SubmitJobCommand)[0]?.args[0].input;
    expect(input?.containerOverrides).toBeUndefined();
    expect(input?.nodeOverrides).toEqual({
      numNodes: 4,
      nodePropertyOverrides: [
        {
          targetNodes: "0:",
          containerOverrides: {
            command: ["echo", "hello"],
            resourceRequirements: [{ type: "VCPU", value: "8" }],
          },
        },
      ],
    });
  });

  it("refuses a dependency on a job Batch does not know, naming it, without calling Batch", async () => {
    const error = await scheduler()
      .submit(job({ dependsOn: [{ jobId: "01JUNKNOWN0000000000000001" }] }), cluster())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as RequestValidationError).issues).toEqual([
      expect.objectContaining({ path: "body.dependsOn[0].jobId" }),
    ]);
    expect(batch.commandCalls(SubmitJobCommand)).toHaveLength(0);
  });

  it("says which output is missing when the cluster has no job queue", async () => {
    const error = await scheduler()
      .submit(job(), cluster({ outputs: { JobDefinitionArn: DEFINITION } }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain("JobQueueArn");
    expect(batch.commandCalls(SubmitJobCommand)).toHaveLength(0);
  });
});

describe("Batch's limits, enforced before the call", () => {
  const cases: [string, Partial<JobSpec>, Partial<Job>, string][] = [
    ["a job name starting with '-'", {}, { name: "-job" }, "body.name"],
    ["a job name with a space", {}, { name: "my job" }, "body.name"],
    ["a job name of 129 characters", {}, { name: "a".repeat(129) }, "body.name"],
    ["0 attempts", { retryStrategy: { attempts: 0 } }, {}, "body.retryStrategy.attempts"],
    ["11 attempts", { retryStrategy: { attempts: 11 } }, {}, "body.retryStrategy.attempts"],
    [
      "six evaluateOnExit rules",
      { retryStrategy: { attempts: 2, evaluateOnExit: Array(6).fill({ onExitCode: "1", action: "EXIT" }) } },
      {},
      "body.retryStrategy.evaluateOnExit",
    ],
    [
      "a wildcard in the middle of an exit code",
      { retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: "1*2", action: "EXIT" }] } },
      {},
      "body.retryStrategy.evaluateOnExit[0].onExitCode",
    ],
    [
      "a reason pattern with a shell character",
      { retryStrategy: { attempts: 2, evaluateOnExit: [{ onReason: "oom;rm", action: "RETRY" }] } },
      {},
      "body.retryStrategy.evaluateOnExit[0].onReason",
    ],
    ["an array of 1", { arraySize: 1 }, {}, "body.arraySize"],
    ["an array of 10,001", { arraySize: 10_001 }, {}, "body.arraySize"],
    ["a 59-second timeout", { timeoutSeconds: 59 }, {}, "body.timeoutSeconds"],
    [
      "21 dependencies",
      { dependsOn: Array(21).fill({ jobId: "01JDEPENDENCY0000000000001" }) },
      {},
      "body.dependsOn",
    ],
    [
      "an AWS_BATCH variable",
      { environment: { AWS_BATCH_JOB_ID: "x" } },
      {},
      "body.environment.AWS_BATCH_JOB_ID",
    ],
    ["a variable name with '$'", { environment: { "A$(id)": "x" } }, {}, "body.environment.A$(id)"],
    ["an image override", { image: "alpine:3" }, {}, "body.image"],
    ["a multi-node array job", { nodes: 2, arraySize: 3 }, {}, "body.nodes"],
    ["a log group with a space", { logGroup: "my group" }, {}, "body.logGroup"],
    [
      "a script too large for ECS's overrides",
      { command: undefined, script: "x".repeat(6_000) },
      {},
      "body.script",
    ],
  ];

  for (const [what, spec, overrides, path] of cases) {
    it(`refuses ${what}, naming ${path}`, async () => {
      const error = await scheduler()
        .submit(job(spec, overrides), cluster())
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RequestValidationError);
      expect((error as RequestValidationError).issues.map((i) => i.path)).toContain(path);
      expect(batch.commandCalls(SubmitJobCommand)).toHaveLength(0);
    });
  }

  it("refuses more than 50 tags, counting the cluster's and its own", async () => {
    const tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
    const error = await scheduler()
      .submit(job(), cluster({ tags }))
      .catch((e: unknown) => e);
    expect((error as RequestValidationError).issues.map((i) => i.path)).toEqual(["tags"]);
  });

  it("accepts a trailing wildcard, a lone '*' and a script that fits the overrides", async () => {
    batch.on(SubmitJobCommand).resolves({ jobId: BATCH_ID });
    await scheduler().submit(
      job({
        command: undefined,
        script: "x".repeat(Math.floor((MAX_CONTAINER_OVERRIDES_CHARS * 3) / 4) - 300),
        retryStrategy: {
          attempts: 2,
          evaluateOnExit: [
            { onExitCode: "13*", action: "RETRY" },
            { onReason: "*", action: "EXIT" },
          ],
        },
      }),
      cluster(),
    );
    expect(batch.commandCalls(SubmitJobCommand)).toHaveLength(1);
  });
});

describe("cancel", () => {
  it("terminates the Batch job with the reason, whatever its state", async () => {
    batch.on(TerminateJobCommand).resolves({});

    await scheduler().cancel(job({}, { externalId: BATCH_ID, status: "RUNNING" }), "Cancelled by alice");

    expect(batch.commandCalls(TerminateJobCommand)[0]?.args[0].input).toEqual({
      jobId: BATCH_ID,
      reason: "Cancelled by alice",
    });
  });

  it("does nothing for a job that never reached Batch", async () => {
    await scheduler().cancel(job(), "Cancelled by alice");
    expect(batch.commandCalls(TerminateJobCommand)).toHaveLength(0);
  });
});

function detail(jobId: string, overrides: Partial<JobDetail> = {}): JobDetail {
  return {
    jobId,
    jobName: "my-job_1",
    jobQueue: QUEUE,
    jobDefinition: DEFINITION,
    status: "RUNNING",
    startedAt: 1714557600000,
    ...overrides,
  };
}

describe("describe", () => {
  it("asks DescribeJobs for 100 ids at a time: 250 jobs make 3 calls", async () => {
    const jobs = Array.from({ length: 250 }, (_, i) =>
      job({}, { jobId: `01JJOB${String(i).padStart(20, "0")}`, externalId: `batch-${i}` }),
    );
    batch.on(DescribeJobsCommand).callsFake(async (input: { jobs: string[] }) => ({
      jobs: input.jobs.map((id) => detail(id)),
    }));

    const observations = await scheduler().describe(jobs);

    const calls = batch.commandCalls(DescribeJobsCommand).map((c) => c.args[0].input.jobs ?? []);
    expect(calls.map((ids) => ids.length)).toEqual([100, 100, 50]);
    expect(new Set(calls.flat()).size).toBe(250);
    expect(observations).toHaveLength(250);
    expect(observations[249]).toMatchObject({
      jobId: jobs[249]?.jobId,
      externalId: "batch-249",
      status: "RUNNING",
    });
  });

  it("maps status, attempts with exit code, reasons and log streams, times and array progress", async () => {
    batch.on(DescribeJobsCommand).resolves({
      jobs: [
        detail(BATCH_ID, {
          status: "FAILED",
          statusReason: "Essential container in task exited",
          startedAt: 1714557600000,
          stoppedAt: 1714557900000,
          attempts: [
            {
              startedAt: 1714557600000,
              stoppedAt: 1714557700000,
              statusReason: "Essential container in task exited",
              container: {
                exitCode: 137,
                reason: "OutOfMemoryError",
                logStreamName: "hpc-demo-job/default/a1",
              },
            },
            {
              startedAt: 1714557800000,
              stoppedAt: 1714557900000,
              container: { exitCode: 3, logStreamName: "hpc-demo-job/default/a2" },
            },
          ],
          arrayProperties: { size: 3, statusSummary: { SUCCEEDED: 2, FAILED: 1, RUNNING: 0 } },
        }),
      ],
    });

    const [observation] = await scheduler().describe([job({}, { externalId: BATCH_ID })]);

    expect(observation).toEqual({
      jobId: "01JJOB00000000000000000001",
      externalId: BATCH_ID,
      status: "FAILED",
      statusReason: "Essential container in task exited",
      attempts: [
        {
          startedAt: "2024-05-01T10:00:00.000Z",
          stoppedAt: "2024-05-01T10:01:40.000Z",
          exitCode: 137,
          statusReason: "Essential container in task exited (OutOfMemoryError)",
          logStream: "hpc-demo-job/default/a1",
        },
        {
          startedAt: "2024-05-01T10:03:20.000Z",
          stoppedAt: "2024-05-01T10:05:00.000Z",
          exitCode: 3,
          logStream: "hpc-demo-job/default/a2",
        },
      ],
      arrayProgress: { SUCCEEDED: 2, FAILED: 1 },
      startedAt: "2024-05-01T10:00:00.000Z",
      stoppedAt: "2024-05-01T10:05:00.000Z",
      time: "2024-05-01T10:00:00.000Z",
    });
  });

  it("maps a DescribeJobs detail exactly as the event path maps the same detail", () => {
    const d = detail(BATCH_ID, {
      status: "SUCCEEDED",
      parameters: { hpcJobId: "01JJOB00000000000000000001", hpcCluster: "demo" },
      attempts: [{ startedAt: 1, stoppedAt: 2, container: { exitCode: 0, logStreamName: "s" } }],
    });
    expect(observationFromJobDetail(d, "01JJOB00000000000000000001", "2024-05-01T10:00:00.000Z")).toEqual(
      observationFromBatchEvent(d, "2024-05-01T10:00:00.000Z"),
    );
  });

  it("leaves out jobs Batch no longer knows and never asks about jobs without a Batch id", async () => {
    batch.on(DescribeJobsCommand).resolves({ jobs: [] });
    const observations = await scheduler().describe([job({}, { externalId: BATCH_ID }), job()]);
    expect(observations).toEqual([]);
    expect(batch.commandCalls(DescribeJobsCommand)[0]?.args[0].input.jobs).toEqual([BATCH_ID]);
  });
});

describe("logs", () => {
  const finished = job(
    {},
    {
      externalId: BATCH_ID,
      status: "FAILED",
      attempts: [{ logStream: "hpc-demo-job/default/a1" }, { logStream: "hpc-demo-job/default/a2" }],
    },
  );

  it("reads the latest attempt's stream from the head, in Batch's log group, and pages with Logs' token", async () => {
    logs
      .on(GetLogEventsCommand, { nextToken: undefined })
      .resolves({
        events: [
          { timestamp: 1714557600000, message: "one" },
          { timestamp: 1714557601000, message: "two" },
        ],
        nextForwardToken: "f/1",
      })
      .on(GetLogEventsCommand, { nextToken: "f/1" })
      .resolves({ events: [{ timestamp: 1714557602000, message: "three" }], nextForwardToken: "f/2" })
      .on(GetLogEventsCommand, { nextToken: "f/2" })
      .resolves({ events: [], nextForwardToken: "f/2" });

    const first = await scheduler().logs(finished, { limit: 2 });
    const second = await scheduler().logs(finished, { limit: 2, nextToken: first.nextToken });

    expect(first.lines).toEqual([
      { at: "2024-05-01T10:00:00.000Z", message: "one" },
      { at: "2024-05-01T10:00:01.000Z", message: "two" },
    ]);
    expect(first.nextToken).toBeDefined();
    expect(first.nextToken).not.toContain("f/1");
    expect(second).toEqual({ lines: [{ at: "2024-05-01T10:00:02.000Z", message: "three" }] });
    const inputs = logs.commandCalls(GetLogEventsCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toEqual({
      logGroupName: "/aws/batch/job",
      logStreamName: "hpc-demo-job/default/a2",
      startFromHead: true,
      limit: 2,
    });
    expect(inputs.slice(1).map((i) => i.nextToken)).toEqual(["f/1", "f/2"]);
  });

  it("reads an earlier attempt from the job's own log group when asked", async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [], nextForwardToken: "f/0" });
    const custom = { ...finished, spec: { ...finished.spec, logGroup: "/hpc/demo" } };

    await scheduler().logs(custom, { attempt: 1, limit: 10 });

    expect(logs.commandCalls(GetLogEventsCommand)[0]?.args[0].input).toMatchObject({
      logGroupName: "/hpc/demo",
      logStreamName: "hpc-demo-job/default/a1",
    });
  });

  it("finds a running attempt's stream through DescribeJobs", async () => {
    batch.on(DescribeJobsCommand).resolves({
      jobs: [
        detail(BATCH_ID, { status: "RUNNING", container: { logStreamName: "hpc-demo-job/default/now" } }),
      ],
    });
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: "hi" }], nextForwardToken: "f/1" });

    const page = await scheduler().logs(job({}, { externalId: BATCH_ID, status: "RUNNING" }), { limit: 1 });

    expect(page.lines).toEqual([{ message: "hi" }]);
    expect(logs.commandCalls(GetLogEventsCommand)[0]?.args[0].input.logStreamName).toBe(
      "hpc-demo-job/default/now",
    );
  });

  it("answers no lines while the stream does not exist yet", async () => {
    logs
      .on(GetLogEventsCommand)
      .rejects(logsError("ResourceNotFoundException", "The specified log stream does not exist."));
    expect(await scheduler().logs(finished, { limit: 10 })).toEqual({ lines: [] });
  });

  it("refuses a token that is not ours or was issued for another attempt's stream", async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: "x" }], nextForwardToken: "f/9" });
    const { nextToken } = await scheduler().logs(finished, { limit: 1 });

    await expect(scheduler().logs(finished, { limit: 1, nextToken: "garbage" })).rejects.toBeInstanceOf(
      InvalidNextTokenError,
    );
    await expect(scheduler().logs(finished, { attempt: 1, limit: 1, nextToken })).rejects.toBeInstanceOf(
      InvalidNextTokenError,
    );
  });
});

describe("error mapping", () => {
  it("turns Batch's ClientException into a 400 carrying Batch's message", async () => {
    batch.on(SubmitJobCommand).rejects(batchError("ClientException", "Job Queue is not VALID"));
    const error = await scheduler()
      .submit(job(), cluster())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as Error).message).toContain("Job Queue is not VALID");
  });

  it("turns throttling that outlived the retries into ServiceUnavailableError", async () => {
    batch.on(DescribeJobsCommand).rejects(batchError("TooManyRequestsException", "Too Many Requests", 429));
    await expect(scheduler().describe([job({}, { externalId: BATCH_ID })])).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it("turns an access denial into an upstream error naming the IAM action", async () => {
    batch.on(TerminateJobCommand).rejects(batchError("AccessDeniedException", "not allowed", 403));
    const error = await scheduler()
      .cancel(job({}, { externalId: BATCH_ID }), "stop")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain("batch:TerminateJob");
  });

  it("names the action when Batch says 'not authorized' in a ClientException", () => {
    const mapped = mapJobsAwsError(
      batchError("ClientException", "User is not authorized to perform batch:SubmitJob"),
      "batch:SubmitJob",
    );
    expect(mapped).toBeInstanceOf(UpstreamError);
    expect(mapped.message).toContain("Grant batch:SubmitJob");
  });

  it("names logs:GetLogEvents when reading logs is denied", async () => {
    logs.on(GetLogEventsCommand).rejects(logsError("AccessDeniedException", "no", 403));
    const error = await scheduler()
      .logs(job({}, { externalId: BATCH_ID, attempts: [{ logStream: "s" }] }), { limit: 1 })
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain("logs:GetLogEvents");
  });
});
