import type { ClusterSpec, ConfigWarning, Queue } from "../cluster-spec.ts";
import type { FieldIssue } from "../errors.ts";
import {
  type CfnOutput,
  type CfnParameter,
  type CfnResource,
  type CfnValue,
  description,
  getAtt,
  ref,
  sub,
} from "./cfn.ts";
import {
  DEFAULT_JOB_DEFINITION,
  type JobDefinitionSettings,
  type TemplateBuild,
  type TemplateOptions,
} from "./template-options.ts";

/**
 * ClusterSpec (scheduler `awsbatch`) -> an AWS Batch stack: per queue one MANAGED compute environment and
 * one job queue, a default job definition per platform in use, and the ECS instance role and profile.
 *
 * Decisions a reader needs:
 * - **Fargate**: a queue runs on Fargate when one of its instance types is `fargate` (any case); its
 *   capacity type picks `FARGATE` or `FARGATE_SPOT`. Other instance types beside `fargate` are dropped with a
 *   warning, because one compute environment cannot mix Fargate and EC2.
 * - **EC2**: on-demand uses `BEST_FIT_PROGRESSIVE`; Spot uses `SPOT_CAPACITY_OPTIMIZED`, which needs no
 *   Spot Fleet role (Batch only requires `SpotIamFleetRole` for `BEST_FIT` or no strategy), plus
 *   `BidPercentage` when the config sets one.
 * - **Several compute resources in one queue** (ParallelCluster 3 allows one per AWS Batch queue) are merged
 *   into one compute environment: instance types joined, vCPU counts added.
 * - **Networking**: subnets from the queue, else the head node's subnet (ParallelCluster 2's
 *   `compute_subnet_id` default). Security groups from the queue, else one security group the stack creates
 *   in the config's VPC (all egress, all traffic between its members for multi-node jobs). When the config
 *   has neither subnets nor a VPC, the template takes them as parameters so a dry run still shows the plan;
 *   {@link batchProvisioningIssues} reports that as a reason not to create the stack.
 * - No IAM resource is named, so `CAPABILITY_IAM` is enough.
 */

/** Names of the outputs every Batch stack has (the first queue's when there are several). */
export const BATCH_OUTPUTS = {
  jobQueueArn: "JobQueueArn",
  jobDefinitionArn: "JobDefinitionArn",
  computeEnvironmentArn: "ComputeEnvironmentArn",
} as const;

/** vCPU counts when the config gives none: ParallelCluster 3's defaults for AWS Batch queues. */
export const DEFAULT_VCPUS = { min: 0, max: 10 } as const;

const ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role";
const ECS_TASK_EXECUTION_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy";
const SUBNETS_PARAMETER = "SubnetIds";
const VPC_PARAMETER = "VpcId";
const CREATED_SECURITY_GROUP = "ComputeSecurityGroup";

type Platform = "EC2" | "FARGATE";

/** What one spec queue becomes, before it is written as resources. */
interface PlannedQueue {
  readonly queue: Queue;
  readonly index: number;
  readonly platform: Platform;
  readonly instanceTypes: readonly string[];
  readonly minVcpus: number;
  readonly desiredVcpus: number;
  readonly maxVcpus: number;
  readonly subnets: CfnValue;
  readonly securityGroups: CfnValue;
}

function queuePath(index: number): string {
  return `Scheduling.AwsBatchQueues[${index}]`;
}

function isFargate(instanceType: string): boolean {
  return instanceType.toLowerCase() === "fargate";
}

/** The subnets a Batch queue runs in: its own, else the head node's. */
function queueSubnets(spec: ClusterSpec, queue: Queue): readonly string[] {
  if (queue.subnetIds.length > 0) return queue.subnetIds;
  return spec.headNode.subnetId === undefined ? [] : [spec.headNode.subnetId];
}

/**
 * Why this spec cannot become a working Batch stack as it stands: a queue with no subnet at all, or with
 * no security group and no VPC to create one in. Empty when the stack can be created.
 */
export function batchProvisioningIssues(spec: ClusterSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  spec.queues.forEach((queue, index) => {
    if (queueSubnets(spec, queue).length === 0) {
      issues.push({
        path: `${queuePath(index)}.Networking.SubnetIds`,
        message:
          "AWS Batch compute environments need at least one subnet: set SubnetIds (compute_subnet_id or master_subnet_id in a ParallelCluster 2 [vpc] section).",
      });
    }
    if ((queue.securityGroupIds ?? []).length === 0 && spec.networking.vpcId === undefined) {
      issues.push({
        path: `${queuePath(index)}.Networking.SecurityGroups`,
        message:
          "AWS Batch compute environments need a security group: set SecurityGroups on the queue, or the VPC (vpc_id in a ParallelCluster 2 [vpc] section) so the stack can create one.",
      });
    }
  });
  return issues;
}

function planQueue(
  spec: ClusterSpec,
  queue: Queue,
  index: number,
  needs: { subnetsParameter: boolean; createdSecurityGroup: boolean },
  warnings: ConfigWarning[],
): PlannedQueue {
  const path = queuePath(index);
  if (queue.computeResources.length > 1) {
    warnings.push({
      path: `${path}.ComputeResources`,
      message: `AWS Batch takes one compute resource per queue; the ${queue.computeResources.length} of queue '${queue.name}' were merged into one compute environment (instance types joined, vCPU counts added).`,
    });
  }
  const allTypes = [...new Set(queue.computeResources.flatMap((cr) => cr.instanceTypes))];
  const platform: Platform = allTypes.some(isFargate) ? "FARGATE" : "EC2";
  const instanceTypes = platform === "FARGATE" ? [] : allTypes;
  if (platform === "FARGATE" && allTypes.length > 1) {
    warnings.push({
      path: `${path}.ComputeResources[0].InstanceTypes`,
      message: `Queue '${queue.name}' runs on Fargate (instance type 'fargate'); the other instance types (${allTypes.filter((t) => !isFargate(t)).join(", ")}) were dropped because one compute environment cannot mix Fargate and EC2.`,
    });
  }

  queue.computeResources.forEach((cr, crIndex) => {
    const crPath = `${path}.ComputeResources[${crIndex}]`;
    if (cr.minCount !== undefined || cr.maxCount !== undefined) {
      warnings.push({
        path: `${crPath}.MinCount`,
        message:
          "MinCount/MaxCount are Slurm node counts; AWS Batch sizes by vCPUs (MinvCpus, MaxvCpus), so they were ignored.",
      });
    }
    if (cr.efa !== undefined || cr.disableHyperthreading !== undefined) {
      warnings.push({
        path: `${crPath}.Efa`,
        message:
          "Efa and DisableSimultaneousMultithreading are not supported on AWS Batch compute environments; they were ignored.",
      });
    }
  });

  let minVcpus = queue.computeResources.reduce((sum, cr) => sum + (cr.minVcpus ?? DEFAULT_VCPUS.min), 0);
  const maxVcpus = queue.computeResources.reduce((sum, cr) => sum + (cr.maxVcpus ?? DEFAULT_VCPUS.max), 0);
  if (minVcpus > maxVcpus) {
    warnings.push({
      path: `${path}.ComputeResources[0].MinvCpus`,
      message: `MinvCpus (${minVcpus}) is above MaxvCpus (${maxVcpus}); MinvCpus was lowered to ${maxVcpus}.`,
    });
    minVcpus = maxVcpus;
  }
  const desiredGiven = queue.computeResources.some((cr) => cr.desiredVcpus !== undefined);
  const desiredSum = queue.computeResources.reduce(
    (sum, cr) => sum + (cr.desiredVcpus ?? cr.minVcpus ?? 0),
    0,
  );
  const desiredVcpus = Math.min(Math.max(desiredSum, minVcpus), maxVcpus);
  if (desiredGiven && desiredVcpus !== desiredSum) {
    warnings.push({
      path: `${path}.ComputeResources[0].DesiredvCpus`,
      message: `DesiredvCpus (${desiredSum}) must lie between MinvCpus (${minVcpus}) and MaxvCpus (${maxVcpus}); it was set to ${desiredVcpus}.`,
    });
  }

  if (queue.spotBidPercentage !== undefined && (queue.capacityType !== "SPOT" || platform === "FARGATE")) {
    warnings.push({
      path: `${path}.ComputeResources[0].SpotBidPercentage`,
      message:
        platform === "FARGATE"
          ? "SpotBidPercentage (spot_bid_percentage) does not apply to Fargate Spot; it was ignored."
          : "SpotBidPercentage (spot_bid_percentage) only applies to Spot queues (CapacityType SPOT, cluster_type = spot); it was ignored.",
    });
  }
  if (queue.placementGroup === true) {
    warnings.push({
      path: `${path}.Networking.PlacementGroup`,
      message: "Placement groups are not set on AWS Batch compute environments by this API; it was ignored.",
    });
  }

  const subnetIds = queueSubnets(spec, queue);
  if (queue.subnetIds.length === 0 && subnetIds.length > 0) {
    warnings.push({
      path: `${path}.Networking.SubnetIds`,
      message: `Queue '${queue.name}' names no subnet; it uses the head node's subnet ${subnetIds[0]}.`,
    });
  }
  let subnets: CfnValue = subnetIds;
  if (subnetIds.length === 0) {
    needs.subnetsParameter = true;
    subnets = ref(SUBNETS_PARAMETER);
    warnings.push({
      path: `${path}.Networking.SubnetIds`,
      message: `Queue '${queue.name}' has no subnet; the template takes them as parameter ${SUBNETS_PARAMETER}, and the API cannot create the stack until the config names one.`,
    });
  }
  let securityGroups: CfnValue = queue.securityGroupIds ?? [];
  if ((queue.securityGroupIds ?? []).length === 0) {
    needs.createdSecurityGroup = true;
    securityGroups = [ref(CREATED_SECURITY_GROUP)];
  }

  return {
    queue,
    index,
    platform,
    instanceTypes,
    minVcpus,
    desiredVcpus,
    maxVcpus,
    subnets,
    securityGroups,
  };
}

function computeEnvironment(
  plan: PlannedQueue,
  clusterName: string,
  serviceRoleArn: string | undefined,
): CfnResource {
  const { queue } = plan;
  let computeResources: { [key: string]: CfnValue };
  if (plan.platform === "FARGATE") {
    computeResources = {
      Type: queue.capacityType === "SPOT" ? "FARGATE_SPOT" : "FARGATE",
      MaxvCpus: plan.maxVcpus,
      Subnets: plan.subnets,
      SecurityGroupIds: plan.securityGroups,
    };
  } else {
    const spot = queue.capacityType === "SPOT";
    computeResources = {
      Type: spot ? "SPOT" : "EC2",
      AllocationStrategy: spot ? "SPOT_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
      MinvCpus: plan.minVcpus,
      DesiredvCpus: plan.desiredVcpus,
      MaxvCpus: plan.maxVcpus,
      InstanceTypes: [...plan.instanceTypes],
      Subnets: plan.subnets,
      SecurityGroupIds: plan.securityGroups,
      InstanceRole: getAtt("InstanceProfile", "Arn"),
      // Batch does not copy stack tags to the instances it launches; these make them findable.
      Tags: { Name: `${clusterName}-${queue.name}`, "hpc-cluster-api:cluster-name": clusterName },
      ...(spot && queue.spotBidPercentage !== undefined ? { BidPercentage: queue.spotBidPercentage } : {}),
    };
  }
  return {
    Type: "AWS::Batch::ComputeEnvironment",
    Properties: {
      // Named after the stack: the API's IAM policy allows Batch actions only on our stack-name prefixes,
      // and the job state rule matches our queues by the same prefix (generated names would not match).
      ComputeEnvironmentName: sub(`\${AWS::StackName}-ce${plan.index + 1}`),
      Type: "MANAGED",
      State: "ENABLED",
      ComputeResources: computeResources,
      ...(serviceRoleArn === undefined ? {} : { ServiceRole: serviceRoleArn }),
    },
  };
}

function jobDefinition(platform: Platform, settings: JobDefinitionSettings): CfnResource {
  const logConfiguration: { [key: string]: CfnValue } = { LogDriver: "awslogs" };
  if (settings.logGroup !== undefined) logConfiguration.Options = { "awslogs-group": settings.logGroup };
  const container: { [key: string]: CfnValue } = {
    Image: settings.image,
    ResourceRequirements: [
      { Type: "VCPU", Value: String(settings.vcpus) },
      { Type: "MEMORY", Value: String(settings.memoryMiB) },
    ],
    LogConfiguration: logConfiguration,
  };
  if (platform === "FARGATE") {
    // Fargate pulls the image and writes logs with the execution role; EC2 jobs use the instance role.
    container.ExecutionRoleArn = getAtt("JobExecutionRole", "Arn");
    container.FargatePlatformConfiguration = { PlatformVersion: "LATEST" };
  }
  return {
    Type: "AWS::Batch::JobDefinition",
    Properties: {
      JobDefinitionName: sub(`\${AWS::StackName}-${platform === "FARGATE" ? "fargate-job" : "job"}`),
      Type: "container",
      PlatformCapabilities: [platform],
      ContainerProperties: container,
      RetryStrategy: { Attempts: settings.retryAttempts },
    },
  };
}

function serviceRole(service: string, managedPolicy: string): CfnResource {
  return {
    Type: "AWS::IAM::Role",
    Properties: {
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
      },
      ManagedPolicyArns: [sub(`arn:\${AWS::Partition}:iam::aws:policy/${managedPolicy}`)],
    },
  };
}

/** Logical ids of queue `index`'s resources. */
export function batchQueueLogicalIds(index: number): { computeEnvironment: string; jobQueue: string } {
  return { computeEnvironment: `Queue${index + 1}ComputeEnvironment`, jobQueue: `Queue${index + 1}JobQueue` };
}

/** Builds the AWS Batch stack for an `awsbatch` spec. Total: never throws for a valid spec. */
export function buildBatchTemplate(spec: ClusterSpec, options: TemplateOptions): TemplateBuild {
  const warnings: ConfigWarning[] = [];
  const needs = { subnetsParameter: false, createdSecurityGroup: false };
  const plans = spec.queues.map((queue, index) => planQueue(spec, queue, index, needs, warnings));
  const settings: JobDefinitionSettings = { ...DEFAULT_JOB_DEFINITION, ...options.jobDefinition };

  if (spec.sharedStorage.length > 0) {
    warnings.push({
      path: "SharedStorage",
      message:
        "AWS Batch clusters made by this API have no head node to share storage from; SharedStorage was ignored.",
    });
  }
  if (options.region !== undefined && spec.region !== undefined && spec.region !== options.region) {
    warnings.push({
      path: "Region",
      message: `The config names region ${spec.region}, but this API creates clusters in ${options.region}.`,
    });
  }

  const parameters: { [name: string]: CfnParameter } = {};
  const resources: { [logicalId: string]: CfnResource } = {};
  const outputs: { [name: string]: CfnOutput } = {};
  const platforms = new Set(plans.map((p) => p.platform));

  if (needs.subnetsParameter) {
    parameters[SUBNETS_PARAMETER] = {
      Type: "List<AWS::EC2::Subnet::Id>",
      Description: "Subnets for compute environments whose queue names none (the config gave none).",
    };
  }
  if (needs.createdSecurityGroup) {
    let vpcId: CfnValue = spec.networking.vpcId ?? "";
    if (spec.networking.vpcId === undefined) {
      parameters[VPC_PARAMETER] = {
        Type: "AWS::EC2::VPC::Id",
        Description:
          "VPC of the compute security group (the config names neither security groups nor a VPC).",
      };
      vpcId = ref(VPC_PARAMETER);
    }
    resources[CREATED_SECURITY_GROUP] = {
      Type: "AWS::EC2::SecurityGroup",
      Properties: {
        GroupDescription: description(`AWS Batch compute instances of cluster ${options.clusterName}`),
        VpcId: vpcId,
        SecurityGroupEgress: [
          { IpProtocol: "-1", CidrIp: "0.0.0.0/0", Description: "ECS agent, image pulls" },
        ],
      },
    };
    resources[`${CREATED_SECURITY_GROUP}SelfIngress`] = {
      Type: "AWS::EC2::SecurityGroupIngress",
      Properties: {
        GroupId: ref(CREATED_SECURITY_GROUP),
        SourceSecurityGroupId: ref(CREATED_SECURITY_GROUP),
        IpProtocol: "-1",
        Description: "Traffic between the nodes of a multi-node parallel job",
      },
    };
  }
  if (platforms.has("EC2")) {
    resources.InstanceRole = serviceRole("ec2.amazonaws.com", ECS_INSTANCE_POLICY);
    resources.InstanceProfile = {
      Type: "AWS::IAM::InstanceProfile",
      Properties: { Roles: [ref("InstanceRole")] },
    };
    resources.Ec2JobDefinition = jobDefinition("EC2", settings);
  }
  if (platforms.has("FARGATE")) {
    resources.JobExecutionRole = serviceRole("ecs-tasks.amazonaws.com", ECS_TASK_EXECUTION_POLICY);
    resources.FargateJobDefinition = jobDefinition("FARGATE", settings);
  }

  for (const plan of plans) {
    const ids = batchQueueLogicalIds(plan.index);
    resources[ids.computeEnvironment] = computeEnvironment(
      plan,
      options.clusterName,
      options.batchServiceRoleArn,
    );
    resources[ids.jobQueue] = {
      Type: "AWS::Batch::JobQueue",
      Properties: {
        JobQueueName: sub(`\${AWS::StackName}-queue${plan.index + 1}`),
        Priority: 1,
        State: "ENABLED",
        ComputeEnvironmentOrder: [{ Order: 1, ComputeEnvironment: ref(ids.computeEnvironment) }],
      },
    };
    if (plans.length > 1) {
      outputs[`Queue${plan.index + 1}JobQueueArn`] = {
        Description: `Job queue of queue '${plan.queue.name}'`,
        Value: ref(ids.jobQueue),
      };
      outputs[`Queue${plan.index + 1}ComputeEnvironmentArn`] = {
        Description: `Compute environment of queue '${plan.queue.name}'`,
        Value: ref(ids.computeEnvironment),
      };
    }
  }

  // The spec schema guarantees at least one queue.
  const first = plans[0] as PlannedQueue;
  const firstIds = batchQueueLogicalIds(0);
  const jobDefinitionId = first.platform === "FARGATE" ? "FargateJobDefinition" : "Ec2JobDefinition";
  outputs[BATCH_OUTPUTS.jobQueueArn] = {
    Description: `Job queue of queue '${first.queue.name}' (the default queue)`,
    Value: ref(firstIds.jobQueue),
  };
  outputs[BATCH_OUTPUTS.computeEnvironmentArn] = {
    Description: `Compute environment of queue '${first.queue.name}'`,
    Value: ref(firstIds.computeEnvironment),
  };
  outputs[BATCH_OUTPUTS.jobDefinitionArn] = {
    Description: "Default job definition",
    Value: ref(jobDefinitionId),
  };
  if (platforms.size > 1) {
    outputs.Ec2JobDefinitionArn = {
      Description: "Default job definition for EC2 queues",
      Value: ref("Ec2JobDefinition"),
    };
    outputs.FargateJobDefinitionArn = {
      Description: "Default job definition for Fargate queues",
      Value: ref("FargateJobDefinition"),
    };
  }

  return {
    template: {
      AWSTemplateFormatVersion: "2010-09-09",
      Description: description(`hpc-cluster-api: AWS Batch cluster ${options.clusterName}`),
      ...(Object.keys(parameters).length > 0 ? { Parameters: parameters } : {}),
      Resources: resources,
      Outputs: outputs,
    },
    warnings,
  };
}
