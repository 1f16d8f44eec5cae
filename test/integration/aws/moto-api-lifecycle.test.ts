import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchClient, ListJobsCommand } from "@aws-sdk/client-batch";
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createCloudFormationClient } from "#shared/adapters/aws/aws-clients.ts";
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
import { type SpawnedServer, spawnLocalServer } from "../../support/spawned-server.ts";

// Real AWS emulation over the wire, on a machine CI shares with the Slurm tier: waits of a minute are normal.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/*
 * The AWS path end to end: `npm start` with CLUSTER_BACKEND=aws keeps the embedded store but provisions
 * through CloudFormation at the endpoint the standard SDK settings name (here moto_server). With no
 * EventBridge to push stack events, the server's reconciler polls the stacks.
 */
let moto: RunningMoto | undefined;
let server: SpawnedServer | undefined;
let dataDir = "";
const network: Record<string, string> = {};
const unavailable = motoUnavailableReason();
const cfn = () =>
  createCloudFormationClient({
    endpoint: moto?.endpoint ?? "",
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
  });

beforeAll(async () => {
  moto = await startMoto();
  if (!moto) return;
  await runBatchJobsWithoutDocker(moto);
  Object.assign(network, await createMotoNetwork(cfn()));
  dataDir = await mkdtemp(join(tmpdir(), "hpc-api-moto-"));
  server = await spawnLocalServer(
    {
      DATA_DIR: dataDir,
      CLUSTER_BACKEND: "aws",
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      BATCH_SERVICE_ROLE_ARN: network.BatchServiceRoleArn ?? "",
      RECONCILE_INTERVAL_MS: "300",
    },
    15_000,
  );
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await moto?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${server?.url}${path}`, {
    method,
    ...(body ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
  });
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown> & { items?: unknown[] },
  };
}

async function waitFor(name: string, status: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const got = await api("GET", `/v1/clusters/${name}`);
    if (got.json.status === status || Date.now() > deadline) return got;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("an awsbatch cluster through the API, provisioned by CloudFormation (moto)", () => {
  it("creates the stack, records its ARNs at CREATE_COMPLETE, shows its events, and deletes it", async () => {
    if (!requireMoto(moto, unavailable)) return;
    const config = `[cluster default]
scheduler = awsbatch
base_os = alinux2
master_instance_type = t3.micro
compute_instance_type = c5.large
min_vcpus = 0
desired_vcpus = 0
max_vcpus = 16
vpc_settings = main

[vpc main]
vpc_id = ${network.VpcId}
master_subnet_id = ${network.SubnetId}
vpc_security_group_id = ${network.SecurityGroupId}
`;
    const created = await api("POST", "/v1/clusters", {
      name: "batch1",
      configuration: config,
      tags: { team: "genomics" },
    });
    expect(created.status).toBe(202);
    expect(created.json.stackId).toMatch(/^arn:aws:cloudformation:us-east-1:\d+:stack\/hpc-batch1\//);

    const complete = await waitFor("batch1", "CREATE_COMPLETE");
    expect(complete.json.status).toBe("CREATE_COMPLETE");
    const outputs = complete.json.outputs as Record<string, string>;
    expect(outputs.JobQueueArn).toMatch(/^arn:aws:batch:us-east-1:\d+:job-queue\//);
    expect(outputs.JobDefinitionArn).toMatch(/^arn:aws:batch:us-east-1:\d+:job-definition\//);
    expect(outputs.ComputeEnvironmentArn).toMatch(/^arn:aws:batch:us-east-1:\d+:compute-environment\//);

    const stack = (await cfn().send(new DescribeStacksCommand({ StackName: "hpc-batch1" }))).Stacks?.[0];
    const tags = Object.fromEntries((stack?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    expect(tags).toMatchObject({
      team: "genomics",
      "hpc-cluster-api:managed": "true",
      "hpc-cluster-api:cluster-name": "batch1",
    });

    // A job through our API reaches SUCCEEDED in our record; a retried submit makes no second Batch job.
    const job = { name: "genome-align", command: ["echo", "aligned"], clientToken: "align-1" };
    const first = await api("POST", "/v1/clusters/batch1/jobs", job);
    const retried = await api("POST", "/v1/clusters/batch1/jobs", job);
    expect(first.status).toBe(202);
    expect(retried.json.jobId).toBe(first.json.jobId);
    const deadline = Date.now() + 60_000;
    let record = await api("GET", `/v1/clusters/batch1/jobs/${first.json.jobId}`);
    while (record.json.status !== "SUCCEEDED" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      record = await api("GET", `/v1/clusters/batch1/jobs/${first.json.jobId}`);
    }
    expect(record.json.status).toBe("SUCCEEDED");
    const batch = new BatchClient({
      endpoint: moto?.endpoint ?? "",
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
    });
    const listed = await batch.send(
      new ListJobsCommand({ jobQueue: outputs.JobQueueArn, jobStatus: "SUCCEEDED" }),
    );
    expect(listed.jobSummaryList?.filter((summary) => summary.jobName === "genome-align")).toHaveLength(1);

    const events = await api("GET", "/v1/clusters/batch1/events?source=stack");
    expect(events.status).toBe(200);
    expect(events.json.items?.length).toBeGreaterThan(0);

    expect((await api("DELETE", "/v1/clusters/batch1")).status).toBe(202);
    const deleted = await waitFor("batch1", "DELETE_COMPLETE");
    expect(deleted.json.status).toBe("DELETE_COMPLETE");
    const gone = await cfn()
      .send(new DescribeStacksCommand({ StackName: "hpc-batch1" }))
      .then((out) => out.Stacks?.[0]?.StackStatus ?? "gone")
      .catch(() => "gone");
    expect(["gone", "DELETE_COMPLETE"]).toContain(gone);
  });

  it("refuses a slurm cluster at request time when no ParallelCluster provider is configured", async () => {
    if (!requireMoto(moto, unavailable)) return;
    const config = `HeadNode:
  InstanceType: t3.micro
  Networking:
    SubnetId: ${network.SubnetId}
Scheduling:
  Scheduler: slurm
  SlurmQueues:
    - Name: q1
      ComputeResources:
        - Name: cr1
          InstanceType: c5.large
      Networking:
        SubnetIds: [${network.SubnetId}]
`;
    const refused = await api("POST", "/v1/clusters", { name: "slurm1", configuration: config });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.json)).toMatch(/PCLUSTER_SERVICE_TOKEN/);
    expect((await api("GET", "/v1/clusters/slurm1")).status).toBe(404);
  });
});
