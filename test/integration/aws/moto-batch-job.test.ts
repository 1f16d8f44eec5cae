import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createBatchClient,
  createCloudFormationClient,
  createLogsClient,
} from "#shared/adapters/aws/aws-clients.ts";
import { BatchJobScheduler } from "#shared/adapters/aws/batch-job-scheduler.ts";
import { CloudFormationStackProvisioner } from "#shared/adapters/aws/cloudformation-stack-provisioner.ts";
import type { Cluster } from "#shared/domain/cluster.ts";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import type { Job, JobObservation, JobSpec } from "#shared/domain/job.ts";
import type { StackDescription } from "#shared/ports/stack-provisioner.ts";
import {
  createMotoNetwork,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoUnavailableReason,
  type RunningMoto,
  requireMoto,
  runBatchJobsWithoutDocker,
  startMoto,
} from "../../support/moto.ts";

// Real AWS emulation over the wire, on a machine CI shares with the Slurm tier: waits of a minute are normal.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/*
 * The moto tier for jobs: a Batch cluster stack made by our provisioner on moto_server, then jobs
 * submitted through BatchJobScheduler on its queue and job definition, polled with `describe` until
 * SUCCEEDED.
 *
 * Where moto differs from AWS:
 * - With `{"batch": {"use_docker": false}}` posted to /moto-api/config, moto does not run containers:
 *   every job is SUCCEEDED as soon as it is submitted (one attempt, with a log stream name), and it
 *   ignores retryStrategy. So this tier proves the wiring (queue, definition, overrides, tags, ids,
 *   DescribeJobs mapping), not Batch's scheduling.
 * - moto writes no log events in that mode: the test creates the log group `/aws/batch/job` and the
 *   attempt's stream itself, so that the logs path (GetLogEvents paging to the repeated token) runs.
 */

const TERMINAL = /_(COMPLETE|FAILED)$/;

let moto: RunningMoto | undefined;
let cfn: CloudFormationClient | undefined;
let logsClient: CloudWatchLogsClient | undefined;
const unavailable = motoUnavailableReason();
const network: Record<string, string> = {};

beforeAll(async () => {
  moto = await startMoto();
  if (moto === undefined) return;
  await runBatchJobsWithoutDocker(moto);
  const options = {
    endpoint: moto.endpoint,
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 2,
  };
  cfn = createCloudFormationClient(options);
  logsClient = createLogsClient(options);
  Object.assign(network, await createMotoNetwork(cfn));
}, 60_000);

afterAll(async () => {
  cfn?.destroy();
  logsClient?.destroy();
  await moto?.stop();
});

async function waitForStack(read: () => Promise<StackDescription | undefined>) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stack = await read();
    if (stack === undefined || TERMINAL.test(stack.status) || Date.now() > deadline) return stack;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function jobRecord(cluster: Cluster, jobId: string, name: string, spec: Partial<JobSpec>): Job {
  const now = new Date().toISOString();
  return {
    jobId,
    clusterName: cluster.name,
    clusterId: cluster.clusterId,
    name,
    status: "SUBMITTED",
    spec: { environment: {}, dependsOn: [], ...spec },
    scheduler: "awsbatch",
    attempts: [],
    createdAt: now,
    updatedAt: now,
    createdBy: "moto-test",
    version: 1,
  };
}

describe("jobs on an AWS Batch cluster on moto", () => {
  it("submits command, script, array and dependent jobs that reach SUCCEEDED, and reads a job's log", async () => {
    if (!requireMoto(moto, unavailable) || cfn === undefined || logsClient === undefined) return;

    // Arrange: a Batch cluster stack, made as the provisioning tier makes it.
    const spec: ClusterSpec = ClusterSpecSchema.parse({
      sourceFormat: "pcluster3-yaml",
      scheduler: "awsbatch",
      os: "alinux2",
      headNode: { instanceType: "t3.micro", subnetId: network.SubnetId },
      queues: [
        {
          name: "batch",
          capacityType: "ONDEMAND",
          subnetIds: [network.SubnetId],
          computeResources: [{ name: "compute", instanceTypes: ["c5.large"], minVcpus: 0, maxVcpus: 8 }],
        },
      ],
      networking: { vpcId: network.VpcId },
      sharedStorage: [],
      tags: {},
    });
    const provisioner = new CloudFormationStackProvisioner({
      cloudFormation: cfn,
      batchServiceRoleArn: network.BatchServiceRoleArn,
    });
    const clusterId = "01J0MOTOJOBS00000000000001";
    const { stackId } = await provisioner.createStack({
      clusterId,
      clusterName: "moto-jobs",
      stackName: "hpc-moto-jobs",
      spec,
      rollbackOnFailure: true,
      tags: {},
    });
    const stack = await waitForStack(() => provisioner.describeStack(stackId));
    expect(stack?.status).toBe("CREATE_COMPLETE");
    const now = new Date().toISOString();
    const cluster: Cluster = {
      name: "moto-jobs",
      clusterId,
      status: "CREATE_COMPLETE",
      scheduler: "awsbatch",
      stackName: "hpc-moto-jobs",
      stackId,
      createdAt: now,
      updatedAt: now,
      createdBy: "moto-test",
      tags: { team: "hpc" },
      config: spec,
      warnings: [],
      outputs: stack?.outputs ?? {},
      options: { rollbackOnFailure: true },
      version: 2,
    };

    const externalIds = new Map<string, string>();
    const batchClient = createBatchClient({
      endpoint: moto.endpoint,
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
      maxAttempts: 2,
    });
    const scheduler = new BatchJobScheduler({
      batch: batchClient,
      logs: logsClient,
      resolveExternalId: async (_cluster, jobId) => externalIds.get(jobId),
    });

    // Act: submit four jobs, the last depending on the first.
    const jobs = [
      jobRecord(cluster, "01J0MOTOJOB000000000000001", "hello", {
        command: ["echo", "hello"],
        environment: { GREETING: "hi" },
        vcpus: 1,
        memoryMiB: 512,
        retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: "3", action: "EXIT" }] },
        timeoutSeconds: 120,
      }),
      jobRecord(cluster, "01J0MOTOJOB000000000000002", "script", { script: "echo from a script\n" }),
      jobRecord(cluster, "01J0MOTOJOB000000000000003", "array", { command: ["true"], arraySize: 3 }),
      jobRecord(cluster, "01J0MOTOJOB000000000000004", "after-hello", {
        command: ["true"],
        dependsOn: [{ jobId: "01J0MOTOJOB000000000000001" }],
      }),
    ];
    const submitted: Job[] = [];
    for (const job of jobs) {
      const { externalId } = await scheduler.submit(job, cluster);
      externalIds.set(job.jobId, externalId);
      submitted.push({ ...job, externalId });
    }

    // Poll describe until every job is SUCCEEDED (moto settles them at once; AWS would take minutes).
    let observations: JobObservation[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      observations = await scheduler.describe(submitted);
      if (observations.length === jobs.length && observations.every((o) => o.status === "SUCCEEDED")) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    // Assert: each job SUCCEEDED under its own record id, with moto's attempt and log stream.
    expect(observations.map((o) => [o.jobId, o.status])).toEqual(jobs.map((job) => [job.jobId, "SUCCEEDED"]));
    for (const observation of observations) {
      expect(observation.externalId).toBe(externalIds.get(observation.jobId));
    }
    const hello = observations[0];
    expect(hello?.attempts).toHaveLength(1);
    expect(hello?.attempts[0]?.logStream).toMatch(new RegExp(`/${externalIds.get(jobs[0]?.jobId ?? "")}$`));
    expect(hello?.startedAt).toBeDefined();
    expect(observations[2]?.arrayProgress).toEqual({ SUCCEEDED: 3, FAILED: 0 });

    // Logs: moto writes none without Docker, so the test puts the lines where Batch would.
    const stream = hello?.attempts[0]?.logStream ?? "";
    await logsClient.send(new CreateLogGroupCommand({ logGroupName: "/aws/batch/job" }));
    await logsClient.send(
      new CreateLogStreamCommand({ logGroupName: "/aws/batch/job", logStreamName: stream }),
    );
    const base = Date.now();
    await logsClient.send(
      new PutLogEventsCommand({
        logGroupName: "/aws/batch/job",
        logStreamName: stream,
        logEvents: ["one", "two", "three"].map((message, i) => ({ timestamp: base + i, message })),
      }),
    );
    const recorded = { ...submitted[0], attempts: hello?.attempts ?? [], status: "SUCCEEDED" } as Job;
    const lines: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await scheduler.logs(recorded, { limit: 2, ...(nextToken ? { nextToken } : {}) });
      lines.push(...page.lines.map((line) => line.message));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken !== undefined && pages < 10);
    expect(lines).toEqual(["one", "two", "three"]);
    expect(pages).toBe(2);

    // Cancel after the fact is accepted (Batch's TerminateJob leaves a finished job as it is).
    await expect(
      scheduler.cancel(recorded, "Cancelled through hpc-cluster-api by moto-test"),
    ).resolves.toBeUndefined();
    batchClient.destroy();

    await provisioner.deleteStack({ clusterId, stackName: "hpc-moto-jobs", stackId });
  }, 60_000);
});
