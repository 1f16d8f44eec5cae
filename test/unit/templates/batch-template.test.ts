import { describe, expect, it } from "vitest";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { batchProvisioningIssues, buildBatchTemplate } from "#shared/domain/templates/batch-template.ts";
import type { CfnResource, CfnTemplate, CfnValue } from "#shared/domain/templates/index.ts";

const SUBNET = "subnet-0123456789abcdef0";
const SUBNET_B = "subnet-0fedcba9876543210";
const SG = "sg-0123456789abcdef0";
const VPC = "vpc-0123456789abcdef0";

type QueueInput = Partial<ClusterSpec["queues"][number]>;

/** A valid awsbatch spec: one on-demand queue; `queues` entries are laid over that default queue. */
function batchSpec(
  overrides: { queues?: QueueInput[] } & Partial<Omit<ClusterSpec, "queues">> = {},
): ClusterSpec {
  const { queues, ...rest } = overrides;
  const base = {
    name: "batch",
    capacityType: "ONDEMAND",
    subnetIds: [SUBNET],
    securityGroupIds: [SG],
    computeResources: [
      {
        name: "compute",
        instanceTypes: ["c5.large", "c5.xlarge"],
        minVcpus: 2,
        desiredVcpus: 4,
        maxVcpus: 64,
      },
    ],
  };
  return ClusterSpecSchema.parse({
    sourceFormat: "pcluster2-ini",
    scheduler: "awsbatch",
    os: "alinux2",
    headNode: { instanceType: "t3.micro", subnetId: SUBNET },
    networking: { vpcId: VPC },
    sharedStorage: [],
    tags: {},
    queues: (queues ?? [{}]).map((q) => ({ ...base, ...q })),
    ...rest,
  });
}

function build(spec: ClusterSpec, options: Partial<Parameters<typeof buildBatchTemplate>[1]> = {}) {
  return buildBatchTemplate(spec, { clusterName: "demo", ...options });
}

function resource(template: CfnTemplate, logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (found === undefined)
    throw new Error(`no resource ${logicalId} in ${Object.keys(template.Resources).join(", ")}`);
  return found;
}

function props(template: CfnTemplate, logicalId: string): Record<string, CfnValue> {
  return { ...(resource(template, logicalId).Properties ?? {}) };
}

function computeResources(template: CfnTemplate, queueNumber = 1): Record<string, CfnValue> {
  return props(template, `Queue${queueNumber}ComputeEnvironment`).ComputeResources as Record<
    string,
    CfnValue
  >;
}

function resourcesOfType(template: CfnTemplate, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
}

describe("an on-demand AWS Batch cluster", () => {
  const { template, warnings } = build(batchSpec());

  it("gets a MANAGED EC2 compute environment with best-fit-progressive and the config's sizes", () => {
    const ce = props(template, "Queue1ComputeEnvironment");
    expect(resource(template, "Queue1ComputeEnvironment").Type).toBe("AWS::Batch::ComputeEnvironment");
    expect(ce.Type).toBe("MANAGED");
    expect(ce.State).toBe("ENABLED");
    expect(ce.ServiceRole).toBeUndefined();
    expect(computeResources(template)).toMatchObject({
      Type: "EC2",
      AllocationStrategy: "BEST_FIT_PROGRESSIVE",
      MinvCpus: 2,
      DesiredvCpus: 4,
      MaxvCpus: 64,
      InstanceTypes: ["c5.large", "c5.xlarge"],
      Subnets: [SUBNET],
      SecurityGroupIds: [SG],
      InstanceRole: { "Fn::GetAtt": ["InstanceProfile", "Arn"] },
    });
    expect(computeResources(template)).not.toHaveProperty("BidPercentage");
    expect(computeResources(template)).not.toHaveProperty("SpotIamFleetRole");
  });

  it("names its Batch resources after the stack, so IAM scoped to our stack prefixes covers them", () => {
    expect(props(template, "Queue1ComputeEnvironment").ComputeEnvironmentName).toEqual({
      "Fn::Sub": `\${AWS::StackName}-ce1`,
    });
  });

  it("gets a job queue that sends jobs to that compute environment", () => {
    expect(resource(template, "Queue1JobQueue").Type).toBe("AWS::Batch::JobQueue");
    expect(props(template, "Queue1JobQueue")).toEqual({
      JobQueueName: { "Fn::Sub": `\${AWS::StackName}-queue1` },
      Priority: 1,
      State: "ENABLED",
      ComputeEnvironmentOrder: [{ Order: 1, ComputeEnvironment: { Ref: "Queue1ComputeEnvironment" } }],
    });
  });

  it("gets a default EC2 job definition with the documented defaults and awslogs", () => {
    expect(resource(template, "Ec2JobDefinition").Type).toBe("AWS::Batch::JobDefinition");
    expect(props(template, "Ec2JobDefinition")).toEqual({
      JobDefinitionName: { "Fn::Sub": `\${AWS::StackName}-job` },
      Type: "container",
      PlatformCapabilities: ["EC2"],
      ContainerProperties: {
        Image: "public.ecr.aws/amazonlinux/amazonlinux:2023",
        ResourceRequirements: [
          { Type: "VCPU", Value: "1" },
          { Type: "MEMORY", Value: "2048" },
        ],
        LogConfiguration: { LogDriver: "awslogs" },
      },
      RetryStrategy: { Attempts: 1 },
    });
  });

  it("gets an unnamed instance role with only the ECS managed policy, and its instance profile", () => {
    const role = props(template, "InstanceRole");
    expect(resource(template, "InstanceRole").Type).toBe("AWS::IAM::Role");
    expect(role.ManagedPolicyArns).toEqual([
      {
        "Fn::Sub": `arn:\${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`,
      },
    ]);
    expect(role.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    expect(role).not.toHaveProperty("Policies");
    expect(role).not.toHaveProperty("RoleName");
    expect(props(template, "InstanceProfile")).toEqual({ Roles: [{ Ref: "InstanceRole" }] });
    expect(resourcesOfType(template, "AWS::IAM::Role")).toEqual(["InstanceRole"]);
  });

  it("outputs the job queue, job definition and compute environment ARNs", () => {
    expect(template.Outputs).toEqual({
      JobQueueArn: expect.objectContaining({ Value: { Ref: "Queue1JobQueue" } }),
      JobDefinitionArn: expect.objectContaining({ Value: { Ref: "Ec2JobDefinition" } }),
      ComputeEnvironmentArn: expect.objectContaining({ Value: { Ref: "Queue1ComputeEnvironment" } }),
    });
  });

  it("uses the config's security groups, creates none, takes no parameters and has nothing to warn about", () => {
    expect(resourcesOfType(template, "AWS::EC2::SecurityGroup")).toEqual([]);
    expect(template.Parameters).toBeUndefined();
    expect(warnings).toEqual([]);
  });
});

describe("a Spot AWS Batch queue", () => {
  it("uses SPOT_CAPACITY_OPTIMIZED with the bid percentage and no Spot Fleet role", () => {
    const { template } = build(batchSpec({ queues: [{ capacityType: "SPOT", spotBidPercentage: 60 }] }));
    expect(computeResources(template)).toMatchObject({
      Type: "SPOT",
      AllocationStrategy: "SPOT_CAPACITY_OPTIMIZED",
      BidPercentage: 60,
    });
    expect(computeResources(template)).not.toHaveProperty("SpotIamFleetRole");
  });

  it("leaves the bid percentage out when the config sets none", () => {
    const { template } = build(batchSpec({ queues: [{ capacityType: "SPOT" }] }));
    expect(computeResources(template).Type).toBe("SPOT");
    expect(computeResources(template)).not.toHaveProperty("BidPercentage");
  });

  it("ignores a bid percentage on an on-demand queue, with a warning naming the key", () => {
    const { template, warnings } = build(
      batchSpec({ queues: [{ capacityType: "ONDEMAND", spotBidPercentage: 50 }] }),
    );
    expect(computeResources(template)).not.toHaveProperty("BidPercentage");
    expect(warnings).toEqual([
      expect.objectContaining({
        path: "Scheduling.AwsBatchQueues[0].ComputeResources[0].SpotBidPercentage",
        message: expect.stringContaining("spot_bid_percentage"),
      }),
    ]);
  });
});

describe("several AWS Batch queues", () => {
  const spec = batchSpec({
    queues: [
      { name: "ondemand" },
      { name: "spot", capacityType: "SPOT", spotBidPercentage: 40, subnetIds: [SUBNET_B] },
      { name: "big", computeResources: [{ name: "big", instanceTypes: ["c5.24xlarge"], maxVcpus: 960 }] },
    ],
  });
  const { template } = build(spec);

  it("get one compute environment and one job queue each, each queue on its own environment", () => {
    expect(resourcesOfType(template, "AWS::Batch::ComputeEnvironment")).toHaveLength(3);
    expect(resourcesOfType(template, "AWS::Batch::JobQueue")).toHaveLength(3);
    for (const n of [1, 2, 3]) {
      expect(props(template, `Queue${n}JobQueue`).ComputeEnvironmentOrder).toEqual([
        { Order: 1, ComputeEnvironment: { Ref: `Queue${n}ComputeEnvironment` } },
      ]);
    }
    expect(computeResources(template, 2)).toMatchObject({
      Type: "SPOT",
      BidPercentage: 40,
      Subnets: [SUBNET_B],
    });
    expect(computeResources(template, 3)).toMatchObject({ InstanceTypes: ["c5.24xlarge"], MaxvCpus: 960 });
  });

  it("share one job definition and one instance profile", () => {
    expect(resourcesOfType(template, "AWS::Batch::JobDefinition")).toEqual(["Ec2JobDefinition"]);
    expect(resourcesOfType(template, "AWS::IAM::InstanceProfile")).toEqual(["InstanceProfile"]);
  });

  it("output every queue's ARNs, and the first queue's under the default names", () => {
    const outputs = template.Outputs ?? {};
    expect(outputs.JobQueueArn?.Value).toEqual({ Ref: "Queue1JobQueue" });
    expect(outputs.ComputeEnvironmentArn?.Value).toEqual({ Ref: "Queue1ComputeEnvironment" });
    expect(outputs.Queue3JobQueueArn?.Value).toEqual({ Ref: "Queue3JobQueue" });
    expect(outputs.Queue2ComputeEnvironmentArn?.Value).toEqual({ Ref: "Queue2ComputeEnvironment" });
    expect(outputs.Queue2JobQueueArn?.Description).toContain("'spot'");
  });
});

describe("AWS Batch networking", () => {
  it("creates a security group in the config's VPC when a queue names none, open between its members", () => {
    const { template } = build(
      batchSpec({ queues: [{ securityGroupIds: [] }, { name: "two", securityGroupIds: [SG] }] }),
    );
    expect(props(template, "ComputeSecurityGroup")).toMatchObject({
      VpcId: VPC,
      SecurityGroupEgress: [expect.objectContaining({ IpProtocol: "-1", CidrIp: "0.0.0.0/0" })],
    });
    expect(props(template, "ComputeSecurityGroupSelfIngress")).toMatchObject({
      GroupId: { Ref: "ComputeSecurityGroup" },
      SourceSecurityGroupId: { Ref: "ComputeSecurityGroup" },
    });
    expect(computeResources(template, 1).SecurityGroupIds).toEqual([{ Ref: "ComputeSecurityGroup" }]);
    expect(computeResources(template, 2).SecurityGroupIds).toEqual([SG]);
  });

  it("uses the head node's subnet for a queue that names none, and says so", () => {
    const { template, warnings } = build(batchSpec({ queues: [{ subnetIds: [] }] }));
    expect(computeResources(template).Subnets).toEqual([SUBNET]);
    expect(warnings).toEqual([
      expect.objectContaining({ path: "Scheduling.AwsBatchQueues[0].Networking.SubnetIds" }),
    ]);
    expect(batchProvisioningIssues(batchSpec({ queues: [{ subnetIds: [] }] }))).toEqual([]);
  });

  it("takes the VPC and subnets as parameters when the config has neither, and reports it cannot be created", () => {
    const spec = batchSpec({
      queues: [{ subnetIds: [], securityGroupIds: [] }],
      headNode: { instanceType: "t3.micro" },
      networking: {},
    });
    const { template, warnings } = build(spec);
    expect(template.Parameters).toEqual({
      SubnetIds: expect.objectContaining({ Type: "List<AWS::EC2::Subnet::Id>" }),
      VpcId: expect.objectContaining({ Type: "AWS::EC2::VPC::Id" }),
    });
    expect(computeResources(template).Subnets).toEqual({ Ref: "SubnetIds" });
    expect(props(template, "ComputeSecurityGroup").VpcId).toEqual({ Ref: "VpcId" });
    expect(warnings.map((w) => w.path)).toContain("Scheduling.AwsBatchQueues[0].Networking.SubnetIds");
    expect(batchProvisioningIssues(spec).map((i) => i.path)).toEqual([
      "Scheduling.AwsBatchQueues[0].Networking.SubnetIds",
      "Scheduling.AwsBatchQueues[0].Networking.SecurityGroups",
    ]);
  });
});

describe("a Fargate AWS Batch queue (instance type 'fargate')", () => {
  const fargate = { computeResources: [{ name: "f", instanceTypes: ["fargate"], maxVcpus: 16 }] };

  it("gets a FARGATE compute environment with only the settings Fargate takes", () => {
    const { template } = build(batchSpec({ queues: [fargate] }));
    expect(computeResources(template)).toEqual({
      Type: "FARGATE",
      MaxvCpus: 16,
      Subnets: [SUBNET],
      SecurityGroupIds: [SG],
    });
  });

  it("gets FARGATE_SPOT on a Spot queue", () => {
    const { template } = build(batchSpec({ queues: [{ ...fargate, capacityType: "SPOT" }] }));
    expect(computeResources(template).Type).toBe("FARGATE_SPOT");
  });

  it("gets a Fargate job definition with an execution role, and no EC2 instance role", () => {
    const { template } = build(batchSpec({ queues: [fargate] }));
    expect(props(template, "FargateJobDefinition")).toMatchObject({
      PlatformCapabilities: ["FARGATE"],
      ContainerProperties: { ExecutionRoleArn: { "Fn::GetAtt": ["JobExecutionRole", "Arn"] } },
    });
    expect(props(template, "JobExecutionRole").ManagedPolicyArns).toEqual([
      { "Fn::Sub": `arn:\${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy` },
    ]);
    expect(resourcesOfType(template, "AWS::IAM::InstanceProfile")).toEqual([]);
    expect(template.Outputs?.JobDefinitionArn?.Value).toEqual({ Ref: "FargateJobDefinition" });
  });

  it("drops EC2 instance types listed beside 'fargate', with a warning", () => {
    const { template, warnings } = build(
      batchSpec({ queues: [{ computeResources: [{ name: "f", instanceTypes: ["FARGATE", "c5.large"] }] }] }),
    );
    expect(computeResources(template).Type).toBe("FARGATE");
    expect(warnings).toEqual([expect.objectContaining({ message: expect.stringContaining("c5.large") })]);
  });

  it("beside an EC2 queue, gets both job definitions, the first queue's being the default", () => {
    const { template } = build(batchSpec({ queues: [{}, { name: "serverless", ...fargate }] }));
    expect(resourcesOfType(template, "AWS::Batch::JobDefinition").sort()).toEqual([
      "Ec2JobDefinition",
      "FargateJobDefinition",
    ]);
    expect(template.Outputs?.JobDefinitionArn?.Value).toEqual({ Ref: "Ec2JobDefinition" });
    expect(template.Outputs?.FargateJobDefinitionArn?.Value).toEqual({ Ref: "FargateJobDefinition" });
  });
});

describe("AWS Batch sizing", () => {
  it("uses ParallelCluster 3's defaults (0 to 10 vCPUs) when the config gives no counts", () => {
    const { template } = build(
      batchSpec({ queues: [{ computeResources: [{ name: "c", instanceTypes: ["optimal"] }] }] }),
    );
    expect(computeResources(template)).toMatchObject({
      MinvCpus: 0,
      DesiredvCpus: 0,
      MaxvCpus: 10,
      InstanceTypes: ["optimal"],
    });
  });

  it("merges several compute resources of one queue, adding their vCPUs, with a warning", () => {
    const { template, warnings } = build(
      batchSpec({
        queues: [
          {
            computeResources: [
              { name: "a", instanceTypes: ["c5.large"], minVcpus: 1, maxVcpus: 8 },
              { name: "b", instanceTypes: ["c5.large", "m5.large"], minVcpus: 2, maxVcpus: 16 },
            ],
          },
        ],
      }),
    );
    expect(computeResources(template)).toMatchObject({
      InstanceTypes: ["c5.large", "m5.large"],
      MinvCpus: 3,
      DesiredvCpus: 3,
      MaxvCpus: 24,
    });
    expect(warnings.map((w) => w.path)).toEqual(["Scheduling.AwsBatchQueues[0].ComputeResources"]);
  });

  it("brings a desired count outside min..max inside it, with a warning", () => {
    const { template, warnings } = build(
      batchSpec({
        queues: [
          { computeResources: [{ name: "c", instanceTypes: ["c5.large"], desiredVcpus: 100, maxVcpus: 32 }] },
        ],
      }),
    );
    expect(computeResources(template).DesiredvCpus).toBe(32);
    expect(warnings.map((w) => w.path)).toEqual([
      "Scheduling.AwsBatchQueues[0].ComputeResources[0].DesiredvCpus",
    ]);
  });

  it("ignores Slurm node counts and EFA with warnings", () => {
    const { warnings } = build(
      batchSpec({
        queues: [
          { computeResources: [{ name: "c", instanceTypes: ["c5n.18xlarge"], maxCount: 4, efa: true }] },
        ],
      }),
    );
    expect(warnings.map((w) => w.path)).toEqual([
      "Scheduling.AwsBatchQueues[0].ComputeResources[0].MinCount",
      "Scheduling.AwsBatchQueues[0].ComputeResources[0].Efa",
    ]);
  });
});

describe("AWS Batch template options", () => {
  it("override the job definition's image, size, retries and log group", () => {
    const { template } = build(batchSpec(), {
      jobDefinition: {
        image: "my/image:1",
        vcpus: 4,
        memoryMiB: 8192,
        retryAttempts: 3,
        logGroup: "/hpc/jobs",
      },
    });
    expect(props(template, "Ec2JobDefinition")).toMatchObject({
      ContainerProperties: {
        Image: "my/image:1",
        ResourceRequirements: [
          { Type: "VCPU", Value: "4" },
          { Type: "MEMORY", Value: "8192" },
        ],
        LogConfiguration: { LogDriver: "awslogs", Options: { "awslogs-group": "/hpc/jobs" } },
      },
      RetryStrategy: { Attempts: 3 },
    });
  });

  it("set a service role on the compute environments when the deployment gives one", () => {
    const arn = "arn:aws:iam::123456789012:role/batch";
    const { template } = build(batchSpec(), { batchServiceRoleArn: arn });
    expect(props(template, "Queue1ComputeEnvironment").ServiceRole).toBe(arn);
  });

  it("warn when the config's region is not the deployment's, and when shared storage is ignored", () => {
    const spec = batchSpec({
      region: "eu-west-1",
      sharedStorage: [{ kind: "efs", name: "home", mountDir: "/home2", settings: {} }],
    });
    const { warnings } = build(spec, { region: "us-east-1" });
    expect(warnings.map((w) => w.path)).toEqual(["SharedStorage", "Region"]);
  });
});

describe("ParallelCluster 2 INI and ParallelCluster 3 YAML AWS Batch configs", () => {
  it("become the same compute environment", () => {
    const ini = [
      "[aws]",
      "aws_region_name = us-east-1",
      "[global]",
      "cluster_template = default",
      "[cluster default]",
      "scheduler = awsbatch",
      "base_os = alinux2",
      "master_instance_type = t3.micro",
      "compute_instance_type = c5.large,c5.xlarge",
      "min_vcpus = 0",
      "desired_vcpus = 4",
      "max_vcpus = 32",
      "cluster_type = spot",
      "spot_bid_percentage = 70",
      "vpc_settings = public",
      "[vpc public]",
      `vpc_id = ${VPC}`,
      `master_subnet_id = ${SUBNET}`,
    ].join("\n");
    const yaml = [
      "Region: us-east-1",
      "Image:",
      "  Os: alinux2",
      "HeadNode:",
      "  InstanceType: t3.micro",
      "  Networking:",
      `    SubnetId: ${SUBNET}`,
      "Scheduling:",
      "  Scheduler: awsbatch",
      "  AwsBatchQueues:",
      "    - Name: compute",
      "      CapacityType: SPOT",
      "      Networking:",
      `        SubnetIds: [${SUBNET}]`,
      "      ComputeResources:",
      "        - Name: compute",
      "          InstanceTypes: [c5.large, c5.xlarge]",
      "          MinvCpus: 0",
      "          DesiredvCpus: 4",
      "          MaxvCpus: 32",
      "          SpotBidPercentage: 70",
    ].join("\n");
    const fromIni = build(parseClusterConfig(ini).spec).template;
    const fromYaml = build(parseClusterConfig(yaml).spec, {}).template;
    const expected = {
      Type: "SPOT",
      AllocationStrategy: "SPOT_CAPACITY_OPTIMIZED",
      MinvCpus: 0,
      DesiredvCpus: 4,
      MaxvCpus: 32,
      InstanceTypes: ["c5.large", "c5.xlarge"],
      Subnets: [SUBNET],
      BidPercentage: 70,
    };
    expect(computeResources(fromIni)).toMatchObject(expected);
    expect(computeResources(fromYaml)).toMatchObject(expected);
  });
});
