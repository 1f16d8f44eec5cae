import {
  type CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Stack,
} from "@aws-sdk/client-cloudformation";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createCloudFormationClient } from "#shared/adapters/aws/aws-clients.ts";
import {
  CloudFormationStackProvisioner,
  STACK_TAGS,
} from "#shared/adapters/aws/cloudformation-stack-provisioner.ts";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import { ClusterExistsError } from "#shared/domain/errors.ts";
import type { StackDescription, StackEvent } from "#shared/ports/stack-provisioner.ts";
import {
  createMotoNetwork,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoUnavailableReason,
  type RunningMoto,
  requireMoto,
  startMoto,
} from "../../support/moto.ts";

// Real AWS emulation over the wire, on a machine CI shares with the Slurm tier: waits of a minute are normal.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/*
 * The moto tier: our provisioner, with a real CloudFormationClient, against moto_server's CloudFormation,
 * which provisions the IAM, EC2 and AWS Batch resources of the template.
 *
 * Where moto and AWS differ (the code is written for AWS):
 * - moto ignores ClientRequestToken, so a retried CreateStack gets AlreadyExistsException; the provisioner
 *   recognises its own stack by the cluster-id tag and answers it, which is what AWS does via the token.
 * - moto's AWS::Batch::ComputeEnvironment requires ServiceRole; AWS defaults to the Batch service-linked
 *   role. The test passes a role it created, through the provisioner's `batchServiceRoleArn` option.
 * - moto rejects unknown subnets at once; AWS would roll the stack back. So the test creates a real (moto)
 *   VPC and subnet first, with a CloudFormation stack of its own.
 */

const TERMINAL = /_(COMPLETE|FAILED)$/;

async function waitForStack(
  read: () => Promise<StackDescription | undefined>,
): Promise<StackDescription | undefined> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stack = await read();
    if (stack === undefined || TERMINAL.test(stack.status) || Date.now() > deadline) return stack;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function rawStack(client: CloudFormationClient, name: string): Promise<Stack> {
  const out = await client.send(new DescribeStacksCommand({ StackName: name }));
  const stack = out.Stacks?.[0];
  if (stack === undefined) throw new Error(`stack ${name} not found`);
  return stack;
}

let moto: RunningMoto | undefined;
let client: CloudFormationClient | undefined;
const unavailable = motoUnavailableReason();

/** Outputs of the network stack: VpcId, SubnetId, SecurityGroupId, BatchServiceRoleArn. */
const network: Record<string, string> = {};

beforeAll(async () => {
  moto = await startMoto();
  if (moto === undefined) return;
  const cfn = createCloudFormationClient({
    endpoint: moto.endpoint,
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 2,
  });
  client = cfn;
  Object.assign(network, await createMotoNetwork(cfn));
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await moto?.stop();
});

describe("an AWS Batch cluster stack on moto", () => {
  it("is created with its outputs and tags, lists its events, survives a retry and is deleted", async () => {
    if (!requireMoto(moto, unavailable) || client === undefined) return;

    // Arrange
    const spec: ClusterSpec = ClusterSpecSchema.parse({
      sourceFormat: "pcluster2-ini",
      scheduler: "awsbatch",
      os: "alinux2",
      headNode: { instanceType: "t3.micro", subnetId: network.SubnetId },
      queues: [
        {
          name: "batch",
          capacityType: "ONDEMAND",
          subnetIds: [network.SubnetId],
          computeResources: [
            { name: "compute", instanceTypes: ["c5.large"], minVcpus: 0, desiredVcpus: 0, maxVcpus: 8 },
          ],
        },
      ],
      networking: { vpcId: network.VpcId },
      sharedStorage: [],
      tags: { team: "hpc" },
    });
    const provisioner = new CloudFormationStackProvisioner({
      cloudFormation: client,
      batchServiceRoleArn: network.BatchServiceRoleArn,
    });
    const request = {
      clusterId: "01J0MOTO0000000000000000AB",
      clusterName: "moto-batch",
      stackName: "hpc-moto-batch",
      spec,
      rollbackOnFailure: true,
      tags: { project: "moto", [STACK_TAGS.createdBy]: "alice" },
    };

    // Act: create, and wait for the stack.
    const { stackId } = await provisioner.createStack(request);
    const created = await waitForStack(() => provisioner.describeStack("hpc-moto-batch"));

    // Assert: complete, with the three ARNs and our tags.
    expect(created?.status).toBe("CREATE_COMPLETE");
    expect(created?.stackId).toBe(stackId);
    expect(created?.outputs.JobQueueArn).toMatch(/^arn:aws:batch:us-east-1:\d{12}:job-queue\//);
    expect(created?.outputs.JobDefinitionArn).toMatch(/^arn:aws:batch:us-east-1:\d{12}:job-definition\//);
    expect(created?.outputs.ComputeEnvironmentArn).toMatch(
      /^arn:aws:batch:us-east-1:\d{12}:compute-environment\//,
    );
    const tags = Object.fromEntries(
      ((await rawStack(client, stackId)).Tags ?? []).map((t) => [t.Key, t.Value]),
    );
    expect(tags).toMatchObject({
      [STACK_TAGS.clusterName]: "moto-batch",
      [STACK_TAGS.clusterId]: request.clusterId,
      [STACK_TAGS.managed]: "true",
      [STACK_TAGS.createdBy]: "alice",
      project: "moto",
      team: "hpc",
    });

    // A retry of the same create answers the same stack; another cluster of that name is refused.
    await expect(provisioner.createStack(request)).resolves.toEqual({ stackId });
    await expect(
      provisioner.createStack({ ...request, clusterId: "01J0MOTO0000000000000000ZZ" }),
    ).rejects.toBeInstanceOf(ClusterExistsError);

    // Every resource of the template was made.
    const resources = await client.send(new ListStackResourcesCommand({ StackName: stackId }));
    const made = (resources.StackResourceSummaries ?? []).map((r) => [r.ResourceType, r.ResourceStatus]);
    for (const type of [
      "AWS::Batch::ComputeEnvironment",
      "AWS::Batch::JobQueue",
      "AWS::Batch::JobDefinition",
      "AWS::EC2::SecurityGroup",
      "AWS::IAM::Role",
      "AWS::IAM::InstanceProfile",
    ]) {
      expect(made).toContainEqual([type, "CREATE_COMPLETE"]);
    }

    // Events, one at a time, until the pages run out (moto records only the stack's own events).
    const events: StackEvent[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await provisioner.listStackEvents("hpc-moto-batch", {
        limit: 1,
        ...(nextToken ? { nextToken } : {}),
      });
      expect(page.items.length).toBeLessThanOrEqual(1);
      events.push(...page.items);
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken !== undefined && pages < 100);
    expect(pages).toBeGreaterThan(1);
    expect(events).toContainEqual(
      expect.objectContaining({ logicalResourceId: "hpc-moto-batch", status: "CREATE_COMPLETE" }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ logicalResourceId: "hpc-moto-batch", status: "CREATE_IN_PROGRESS" }),
    );
    expect(events[0]?.status).toBe("CREATE_COMPLETE");

    // Delete: the stack ends DELETE_COMPLETE (by id) and is gone by name.
    await provisioner.deleteStack({ clusterId: request.clusterId, stackName: "hpc-moto-batch", stackId });
    const deleted = await waitForStack(() => provisioner.describeStack(stackId));
    expect(deleted === undefined || deleted.status === "DELETE_COMPLETE").toBe(true);
    await expect(provisioner.describeStack("hpc-moto-batch")).resolves.toBeUndefined();
  }, 120_000);

  it("creates one compute environment and job queue per queue, Spot and Fargate, in existing security groups", async () => {
    if (!requireMoto(moto, unavailable) || client === undefined) return;

    // Arrange
    const spec = ClusterSpecSchema.parse({
      sourceFormat: "pcluster3-yaml",
      scheduler: "awsbatch",
      os: "alinux2",
      headNode: { instanceType: "t3.micro", subnetId: network.SubnetId },
      queues: [
        {
          name: "spot",
          capacityType: "SPOT",
          spotBidPercentage: 60,
          subnetIds: [network.SubnetId],
          securityGroupIds: [network.SecurityGroupId],
          computeResources: [{ name: "cr", instanceTypes: ["c5.large", "c5.xlarge"], maxVcpus: 16 }],
        },
        {
          name: "serverless",
          capacityType: "ONDEMAND",
          subnetIds: [network.SubnetId],
          securityGroupIds: [network.SecurityGroupId],
          computeResources: [{ name: "cr", instanceTypes: ["fargate"], maxVcpus: 4 }],
        },
      ],
      networking: {},
      sharedStorage: [],
      tags: {},
    });
    const provisioner = new CloudFormationStackProvisioner({
      cloudFormation: client,
      batchServiceRoleArn: network.BatchServiceRoleArn,
    });

    // Act
    const { stackId } = await provisioner.createStack({
      clusterId: "01J0MOTO0000000000000000CD",
      clusterName: "moto-mixed",
      stackName: "hpc-moto-mixed",
      spec,
      rollbackOnFailure: false,
      tags: {},
    });
    const created = await waitForStack(() => provisioner.describeStack(stackId));

    // Assert: both queues, both job definitions, and no security group of the stack's own.
    expect(created?.status).toBe("CREATE_COMPLETE");
    expect(created?.outputs.Queue1JobQueueArn).toBe(created?.outputs.JobQueueArn);
    expect(created?.outputs.Queue2JobQueueArn).toMatch(/:job-queue\//);
    expect(created?.outputs.Queue2JobQueueArn).not.toBe(created?.outputs.Queue1JobQueueArn);
    expect(created?.outputs.Queue2ComputeEnvironmentArn).toMatch(/:compute-environment\//);
    expect(created?.outputs.FargateJobDefinitionArn).toMatch(/:job-definition\//);
    expect(created?.outputs.JobDefinitionArn).toBe(created?.outputs.Ec2JobDefinitionArn);
    const resources = await client.send(new ListStackResourcesCommand({ StackName: stackId }));
    const types = (resources.StackResourceSummaries ?? []).map((r) => r.ResourceType);
    expect(types.filter((t) => t === "AWS::Batch::ComputeEnvironment")).toHaveLength(2);
    expect(types.filter((t) => t === "AWS::Batch::JobQueue")).toHaveLength(2);
    expect(types).not.toContain("AWS::EC2::SecurityGroup");

    await provisioner.deleteStack({
      clusterId: "01J0MOTO0000000000000000CD",
      stackName: "hpc-moto-mixed",
      stackId,
    });
    const deleted = await waitForStack(() => provisioner.describeStack(stackId));
    expect(deleted === undefined || deleted.status === "DELETE_COMPLETE").toBe(true);
  }, 120_000);
});
