import type { ClusterSpec } from "../cluster-spec.ts";
import type { FieldIssue } from "../errors.ts";
import { type CfnValue, description, getAtt, ref } from "./cfn.ts";
import { toPcluster3Config } from "./pcluster3-config.ts";
import type { TemplateBuild, TemplateOptions } from "./template-options.ts";

/**
 * ClusterSpec (scheduler `slurm`) -> a stack with one `Custom::PclusterCluster`, ParallelCluster's
 * CloudFormation custom resource (ParallelCluster >= 3.6): properties `ServiceToken`, `ClusterName` and
 * `ClusterConfiguration` (the ParallelCluster 3 configuration as a map, which the provider reads as one).
 *
 * The service token is the `ServiceToken` output of the ParallelCluster provider stack that the operator
 * deploys; it reaches the stack as the parameter {@link PCLUSTER_SERVICE_TOKEN_PARAMETER} at CreateStack.
 * The provider flattens `pcluster describe-cluster` into dotted attributes, so the head node comes back as
 * `headNode.instanceId` and `headNode.privateIpAddress`.
 */

/** The template parameter that carries the provider's service token. */
export const PCLUSTER_SERVICE_TOKEN_PARAMETER = "PclusterServiceToken";

/** Logical id of the custom resource. */
export const PCLUSTER_RESOURCE = "PclusterCluster";

/** Names of the outputs of a ParallelCluster stack. */
export const PCLUSTER_OUTPUTS = {
  headNodeInstanceId: "HeadNodeInstanceId",
  headNodePrivateIp: "HeadNodePrivateIp",
  validationMessages: "ValidationMessages",
} as const;

/** Plain JSON copy without `undefined` members, typed for a template. */
function toCfnValue(value: unknown): CfnValue {
  return JSON.parse(JSON.stringify(value)) as CfnValue;
}

/** Why this spec cannot become a ParallelCluster cluster as it stands (beyond what ParallelCluster checks). */
export function pclusterProvisioningIssues(spec: ClusterSpec): FieldIssue[] {
  const anySubnet = spec.headNode.subnetId ?? spec.queues.find((q) => q.subnetIds.length > 0)?.subnetIds[0];
  if (anySubnet !== undefined) return [];
  return [
    {
      path: "HeadNode.Networking.SubnetId",
      message:
        "ParallelCluster needs a subnet for the head node and its queues (master_subnet_id in ParallelCluster 2).",
    },
  ];
}

/** The tag that marks a cluster's instances as this API's (and names the cluster). */
export const CLUSTER_NAME_TAG = "hpc-cluster-api:cluster-name";

/** Builds the ParallelCluster stack for a `slurm` spec. Total: never throws for a valid spec. */
export function buildPclusterTemplate(spec: ClusterSpec, options: TemplateOptions): TemplateBuild {
  const region = options.region;
  const { config, warnings } = toPcluster3Config(spec, region === undefined ? {} : { region });
  // Without a known region, the cluster goes where the stack is; ParallelCluster rejects any other.
  const clusterConfiguration = { ...(toCfnValue(config) as { [key: string]: CfnValue }) };
  if (config.Region === undefined) clusterConfiguration.Region = ref("AWS::Region");
  // ParallelCluster copies these tags to its instances: the API's IAM lets job commands reach only head
  // nodes that carry this one, so one deployment cannot run commands on another's clusters.
  clusterConfiguration.Tags = [
    ...(config.Tags ?? [])
      .filter((tag) => tag.Key !== CLUSTER_NAME_TAG)
      .map((tag) => ({ Key: tag.Key, Value: tag.Value })),
    { Key: CLUSTER_NAME_TAG, Value: options.clusterName },
  ];

  return {
    template: {
      AWSTemplateFormatVersion: "2010-09-09",
      Description: description(`hpc-cluster-api: ParallelCluster (Slurm) cluster ${options.clusterName}`),
      Parameters: {
        [PCLUSTER_SERVICE_TOKEN_PARAMETER]: {
          Type: "String",
          Description:
            "ServiceToken output of the ParallelCluster custom resource provider stack (deployment setting PCLUSTER_SERVICE_TOKEN)",
          MinLength: 1,
        },
      },
      Resources: {
        [PCLUSTER_RESOURCE]: {
          Type: "Custom::PclusterCluster",
          Properties: {
            ServiceToken: ref(PCLUSTER_SERVICE_TOKEN_PARAMETER),
            ClusterName: options.clusterName,
            ClusterConfiguration: clusterConfiguration,
          },
        },
      },
      Outputs: {
        [PCLUSTER_OUTPUTS.headNodeInstanceId]: {
          Description: "EC2 instance id of the head node",
          Value: getAtt(PCLUSTER_RESOURCE, "headNode.instanceId"),
        },
        [PCLUSTER_OUTPUTS.headNodePrivateIp]: {
          Description: "Private IP address of the head node",
          Value: getAtt(PCLUSTER_RESOURCE, "headNode.privateIpAddress"),
        },
        [PCLUSTER_OUTPUTS.validationMessages]: {
          Description: "ParallelCluster's validation messages from the last create or update",
          Value: getAtt(PCLUSTER_RESOURCE, "validationMessages"),
        },
      },
    },
    warnings,
  };
}
