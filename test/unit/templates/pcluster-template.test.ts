import { describe, expect, it } from "vitest";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import type { CfnValue } from "#shared/domain/templates/index.ts";
import {
  buildPclusterTemplate,
  PCLUSTER_SERVICE_TOKEN_PARAMETER,
  pclusterProvisioningIssues,
} from "#shared/domain/templates/pcluster-template.ts";

const HEAD_SUBNET = "subnet-0123456789abcdef0";

function slurmSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return ClusterSpecSchema.parse({
    sourceFormat: "pcluster3-yaml",
    scheduler: "slurm",
    os: "alinux2023",
    headNode: { instanceType: "c5.xlarge", subnetId: HEAD_SUBNET },
    networking: {},
    sharedStorage: [{ kind: "efs", name: "home", mountDir: "/shared", settings: { Encrypted: true } }],
    tags: { project: "cfd" },
    queues: [
      {
        name: "compute",
        capacityType: "SPOT",
        subnetIds: [HEAD_SUBNET],
        computeResources: [{ name: "cr", instanceTypes: ["c5.large"], minCount: 1, maxCount: 8 }],
      },
      {
        name: "gpu",
        capacityType: "ONDEMAND",
        subnetIds: [HEAD_SUBNET],
        computeResources: [{ name: "g", instanceTypes: ["g5.xlarge"], maxCount: 2 }],
      },
    ],
    ...overrides,
  });
}

function clusterResource(spec: ClusterSpec, region?: string) {
  const { template, warnings } = buildPclusterTemplate(spec, {
    clusterName: "cfd-cluster",
    ...(region === undefined ? {} : { region }),
  });
  const resource = template.Resources.PclusterCluster;
  if (resource === undefined) throw new Error("no PclusterCluster resource");
  return { template, warnings, resource, properties: resource.Properties ?? {} };
}

describe("a Slurm cluster template", () => {
  it("has exactly one Custom::PclusterCluster resource", () => {
    const { template, resource } = clusterResource(slurmSpec());
    expect(Object.keys(template.Resources)).toEqual(["PclusterCluster"]);
    expect(resource.Type).toBe("Custom::PclusterCluster");
  });

  it("takes the provider's service token as the PclusterServiceToken parameter", () => {
    const { template, properties } = clusterResource(slurmSpec());
    expect(PCLUSTER_SERVICE_TOKEN_PARAMETER).toBe("PclusterServiceToken");
    expect(template.Parameters).toEqual({
      PclusterServiceToken: expect.objectContaining({ Type: "String", MinLength: 1 }),
    });
    expect(properties.ServiceToken).toEqual({ Ref: "PclusterServiceToken" });
  });

  it("names the ParallelCluster cluster after the API's cluster", () => {
    expect(clusterResource(slurmSpec()).properties.ClusterName).toBe("cfd-cluster");
  });

  it("carries the ParallelCluster 3 configuration as a map", () => {
    const { properties } = clusterResource(slurmSpec());
    expect(properties.ClusterConfiguration).toEqual({
      Region: { Ref: "AWS::Region" },
      Image: { Os: "alinux2023" },
      HeadNode: { InstanceType: "c5.xlarge", Networking: { SubnetId: HEAD_SUBNET } },
      Scheduling: {
        Scheduler: "slurm",
        SlurmQueues: [
          {
            Name: "compute",
            CapacityType: "SPOT",
            Networking: { SubnetIds: [HEAD_SUBNET] },
            ComputeResources: [{ Name: "cr", InstanceType: "c5.large", MinCount: 1, MaxCount: 8 }],
          },
          {
            Name: "gpu",
            CapacityType: "ONDEMAND",
            Networking: { SubnetIds: [HEAD_SUBNET] },
            ComputeResources: [{ Name: "g", InstanceType: "g5.xlarge", MaxCount: 2 }],
          },
        ],
      },
      SharedStorage: [
        { Name: "home", MountDir: "/shared", StorageType: "Efs", EfsSettings: { Encrypted: true } },
      ],
      Tags: [
        { Key: "project", Value: "cfd" },
        { Key: "hpc-cluster-api:cluster-name", Value: "cfd-cluster" },
      ],
    });
  });

  it("tags the cluster's instances with the cluster name, which the API's command permissions require", () => {
    const { properties } = clusterResource(slurmSpec({ tags: { "hpc-cluster-api:cluster-name": "forged" } }));
    const tags = (properties.ClusterConfiguration as { Tags: { Key: string; Value: string }[] }).Tags;
    expect(tags.filter((tag) => tag.Key === "hpc-cluster-api:cluster-name")).toEqual([
      { Key: "hpc-cluster-api:cluster-name", Value: "cfd-cluster" },
    ]);
  });

  it("uses the deployment's region when it is known", () => {
    const { properties } = clusterResource(slurmSpec(), "eu-central-1");
    expect((properties.ClusterConfiguration as Record<string, CfnValue>).Region).toBe("eu-central-1");
  });

  it("outputs the head node's instance id and private IP from the custom resource's attributes", () => {
    const { template } = clusterResource(slurmSpec());
    expect(template.Outputs?.HeadNodeInstanceId?.Value).toEqual({
      "Fn::GetAtt": ["PclusterCluster", "headNode.instanceId"],
    });
    expect(template.Outputs?.HeadNodePrivateIp?.Value).toEqual({
      "Fn::GetAtt": ["PclusterCluster", "headNode.privateIpAddress"],
    });
    expect(template.Outputs?.ValidationMessages?.Value).toEqual({
      "Fn::GetAtt": ["PclusterCluster", "validationMessages"],
    });
  });

  it("passes the conversion's warnings on", () => {
    const { warnings } = clusterResource(slurmSpec({ os: "centos7" }));
    expect(warnings.map((w) => w.path)).toEqual(["Image.Os"]);
  });

  it("is reported as not creatable only when no subnet is named anywhere", () => {
    expect(pclusterProvisioningIssues(slurmSpec())).toEqual([]);
    const noSubnet = slurmSpec({
      headNode: { instanceType: "c5.xlarge" },
      queues: [
        {
          name: "q",
          capacityType: "ONDEMAND",
          subnetIds: [],
          computeResources: [{ name: "c", instanceTypes: ["c5.large"] }],
        },
      ],
    });
    expect(pclusterProvisioningIssues(noSubnet).map((i) => i.path)).toEqual(["HeadNode.Networking.SubnetId"]);
    // Still a template (for a dry run), with warnings saying what is missing.
    expect(clusterResource(noSubnet).warnings.length).toBeGreaterThan(0);
  });
});
