import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import {
  type Pcluster3Config,
  pcluster3ConfigYaml,
  toPcluster3Config,
} from "#shared/domain/templates/pcluster3-config.ts";

const HEAD_SUBNET = "subnet-0123456789abcdef0";
const COMPUTE_SUBNET = "subnet-0fedcba9876543210";

type SpecInput = Partial<Omit<ClusterSpec, "queues">> & { queues?: Partial<ClusterSpec["queues"][number]>[] };

/** A valid Slurm spec; `queues` entries are laid over a default on-demand queue. */
function slurmSpec(overrides: SpecInput = {}): ClusterSpec {
  const { queues, ...rest } = overrides;
  const base = {
    name: "compute",
    capacityType: "ONDEMAND",
    subnetIds: [COMPUTE_SUBNET],
    computeResources: [{ name: "cr", instanceTypes: ["c5.large"], minCount: 0, maxCount: 4 }],
  };
  return ClusterSpecSchema.parse({
    sourceFormat: "pcluster2-ini",
    scheduler: "slurm",
    os: "alinux2",
    headNode: { instanceType: "c5.xlarge", subnetId: HEAD_SUBNET, keyName: "mykey" },
    networking: {},
    sharedStorage: [],
    tags: {},
    queues: (queues ?? [{}]).map((q) => ({ ...base, ...q })),
    ...rest,
  });
}

interface Row {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly region?: string;
  /** A subset of the config that must be there. */
  readonly expected: object;
  /** Paths that must be absent (dotted, with numeric list indexes). */
  readonly absent?: readonly string[];
  /** The warnings' paths, in order. */
  readonly warnings: readonly string[];
}

function at(config: Pcluster3Config, path: string): unknown {
  let node: unknown = config;
  for (const part of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

const ROWS: readonly Row[] = [
  {
    name: "a single-queue cluster keeps its head node, queue, OS and region",
    spec: slurmSpec({ region: "eu-west-1" }),
    expected: {
      Region: "eu-west-1",
      Image: { Os: "alinux2" },
      HeadNode: {
        InstanceType: "c5.xlarge",
        Networking: { SubnetId: HEAD_SUBNET },
        Ssh: { KeyName: "mykey" },
      },
      Scheduling: {
        Scheduler: "slurm",
        SlurmQueues: [
          {
            Name: "compute",
            CapacityType: "ONDEMAND",
            Networking: { SubnetIds: [COMPUTE_SUBNET] },
            ComputeResources: [{ Name: "cr", InstanceType: "c5.large", MinCount: 0, MaxCount: 4 }],
          },
        ],
      },
    },
    absent: ["SharedStorage", "Tags", "HeadNode.Dcv", "Scheduling.SlurmQueues.0.Networking.PlacementGroup"],
    warnings: [],
  },
  {
    name: "a multi-queue (queue_settings) cluster keeps each queue, Spot, EFA, SMT and placement groups",
    spec: slurmSpec({
      queues: [
        {
          name: "ondemand",
          placementGroup: true,
          computeResources: [
            {
              name: "small",
              instanceTypes: ["c5n.18xlarge"],
              maxCount: 2,
              efa: true,
              disableHyperthreading: true,
            },
          ],
        },
        {
          name: "spot",
          capacityType: "SPOT",
          computeResources: [{ name: "cheap", instanceTypes: ["m5.large"] }],
        },
      ],
    }),
    expected: {
      Scheduling: {
        SlurmQueues: [
          {
            Name: "ondemand",
            Networking: { PlacementGroup: { Enabled: true } },
            ComputeResources: [
              {
                Name: "small",
                InstanceType: "c5n.18xlarge",
                MaxCount: 2,
                Efa: { Enabled: true },
                DisableSimultaneousMultithreading: true,
              },
            ],
          },
          {
            Name: "spot",
            CapacityType: "SPOT",
            ComputeResources: [{ Name: "cheap", InstanceType: "m5.large" }],
          },
        ],
      },
    },
    absent: [
      "Scheduling.SlurmQueues.1.ComputeResources.0.MinCount",
      "Scheduling.SlurmQueues.1.Networking.PlacementGroup",
    ],
    warnings: [],
  },
  {
    name: "several instance types become a flexible Instances list",
    spec: slurmSpec({
      queues: [{ computeResources: [{ name: "flex", instanceTypes: ["c5.large", "c6i.large"] }] }],
    }),
    expected: {
      Scheduling: {
        SlurmQueues: [
          {
            ComputeResources: [
              { Name: "flex", Instances: [{ InstanceType: "c5.large" }, { InstanceType: "c6i.large" }] },
            ],
          },
        ],
      },
    },
    absent: ["Scheduling.SlurmQueues.0.ComputeResources.0.InstanceType"],
    warnings: [],
  },
  {
    name: "the cluster-wide placement group applies to queues that set none",
    spec: slurmSpec({ networking: { placementGroup: true } }),
    expected: { Scheduling: { SlurmQueues: [{ Networking: { PlacementGroup: { Enabled: true } } }] } },
    warnings: [],
  },
  {
    name: "security groups and DCV carry over",
    spec: slurmSpec({
      headNode: { instanceType: "c5.xlarge", subnetId: HEAD_SUBNET, securityGroupIds: ["sg-1"], dcv: true },
      queues: [{ securityGroupIds: ["sg-2"] }],
    }),
    expected: {
      HeadNode: { Networking: { SecurityGroups: ["sg-1"] }, Dcv: { Enabled: true } },
      Scheduling: { SlurmQueues: [{ Networking: { SecurityGroups: ["sg-2"] } }] },
    },
    warnings: [],
  },
  {
    name: "a queue without a subnet uses the head node's (compute_subnet_id's default), with a warning",
    spec: slurmSpec({ queues: [{ subnetIds: [] }] }),
    expected: { Scheduling: { SlurmQueues: [{ Networking: { SubnetIds: [HEAD_SUBNET] } }] } },
    warnings: ["Scheduling.SlurmQueues[0].Networking.SubnetIds"],
  },
  {
    name: "a head node without a subnet uses the first queue subnet, with a warning",
    spec: slurmSpec({ headNode: { instanceType: "t3.micro" } }),
    expected: { HeadNode: { InstanceType: "t3.micro", Networking: { SubnetId: COMPUTE_SUBNET } } },
    absent: ["HeadNode.Ssh"],
    warnings: ["HeadNode.Networking.SubnetId"],
  },
  {
    name: "Amazon Linux 1 becomes alinux2, with a warning on Image.Os",
    spec: slurmSpec({ os: "alinux" }),
    expected: { Image: { Os: "alinux2" } },
    warnings: ["Image.Os"],
  },
  {
    name: "CentOS 7 becomes rocky8, with a warning on Image.Os",
    spec: slurmSpec({ os: "centos7" }),
    expected: { Image: { Os: "rocky8" } },
    warnings: ["Image.Os"],
  },
  {
    name: "an unknown OS falls back to alinux2023, with a warning on Image.Os",
    spec: slurmSpec({ os: "windows2022" }),
    expected: { Image: { Os: "alinux2023" } },
    warnings: ["Image.Os"],
  },
  {
    name: "a Spot bid percentage cannot be converted: dropped with a warning",
    spec: slurmSpec({ queues: [{ capacityType: "SPOT", spotBidPercentage: 50 }] }),
    expected: { Scheduling: { SlurmQueues: [{ CapacityType: "SPOT" }] } },
    absent: ["Scheduling.SlurmQueues.0.ComputeResources.0.SpotPrice"],
    warnings: ["Scheduling.SlurmQueues[0].ComputeResources.SpotPrice"],
  },
  {
    name: "AWS Batch vCPU counts cannot be converted: dropped with a warning",
    spec: slurmSpec({
      queues: [{ computeResources: [{ name: "cr", instanceTypes: ["c5.large"], maxVcpus: 8 }] }],
    }),
    expected: {
      Scheduling: { SlurmQueues: [{ ComputeResources: [{ Name: "cr", InstanceType: "c5.large" }] }] },
    },
    absent: ["Scheduling.SlurmQueues.0.ComputeResources.0.MaxvCpus"],
    warnings: ["Scheduling.SlurmQueues[0].ComputeResources[0].MinvCpus"],
  },
  {
    name: "shared storage keeps known settings and drops unknown ones, naming each",
    spec: slurmSpec({
      sharedStorage: [
        {
          kind: "fsx-lustre",
          name: "fsx",
          mountDir: "/fsx",
          settings: { StorageCapacity: 1200, ImportPath: "s3://bucket", shared_dir: "/fsx" },
        },
        { kind: "ebs", name: "scratch", mountDir: "/scratch", settings: { VolumeType: "gp3", Size: 100 } },
        { kind: "efs", name: "home", mountDir: "/home2", settings: {} },
      ],
    }),
    expected: {
      SharedStorage: [
        {
          Name: "fsx",
          MountDir: "/fsx",
          StorageType: "FsxLustre",
          FsxLustreSettings: { StorageCapacity: 1200, ImportPath: "s3://bucket" },
        },
        { Name: "scratch", StorageType: "Ebs", EbsSettings: { VolumeType: "gp3", Size: 100 } },
        { Name: "home", MountDir: "/home2", StorageType: "Efs" },
      ],
    },
    absent: ["SharedStorage.0.FsxLustreSettings.shared_dir", "SharedStorage.2.EfsSettings"],
    warnings: ["SharedStorage[0].FsxLustreSettings.shared_dir"],
  },
  {
    name: "tags become a Key/Value list, reserved prefixes dropped with a warning",
    spec: slurmSpec({ tags: { project: "cfd", "parallelcluster:version": "2.11" } }),
    expected: { Tags: [{ Key: "project", Value: "cfd" }] },
    warnings: ["Tags.parallelcluster:version"],
  },
  {
    name: "the deployment's region wins over the config's, with a warning",
    spec: slurmSpec({ region: "eu-west-1" }),
    region: "us-east-1",
    expected: { Region: "us-east-1" },
    warnings: ["Region"],
  },
  {
    name: "an AWS Batch spec is written as Slurm queues, with a warning on the scheduler",
    spec: slurmSpec({ scheduler: "awsbatch" }),
    expected: { Scheduling: { Scheduler: "slurm" } },
    warnings: ["Scheduling.Scheduler"],
  },
];

describe("ClusterSpec to ParallelCluster 3 conversion", () => {
  it.each(ROWS)("$name", (row) => {
    const { config, warnings } = toPcluster3Config(
      row.spec,
      row.region === undefined ? {} : { region: row.region },
    );
    expect(config).toMatchObject(row.expected);
    for (const path of row.absent ?? []) expect(at(config, path), path).toBeUndefined();
    expect(warnings.map((w) => w.path)).toEqual(row.warnings);
    for (const warning of warnings) expect(warning.message.length).toBeGreaterThan(20);
  });

  it("leaves Region out when neither the config nor the deployment names one", () => {
    expect(toPcluster3Config(slurmSpec()).config).not.toHaveProperty("Region");
  });

  it("writes YAML that reads back as the same configuration", () => {
    const { config } = toPcluster3Config(
      slurmSpec({ sharedStorage: [{ kind: "ebs", name: "s", mountDir: "/s", settings: { Size: 10 } }] }),
    );
    expect(parse(pcluster3ConfigYaml(config))).toEqual(config);
  });
});

describe("ParallelCluster 2 INI to ParallelCluster 3", () => {
  it("converts a single-queue INI cluster (initial/max_queue_size) to one Slurm queue", () => {
    const ini = [
      "[aws]",
      "aws_region_name = eu-west-1",
      "[global]",
      "cluster_template = default",
      "[cluster default]",
      "key_name = mykey",
      "base_os = alinux2",
      "scheduler = slurm",
      "master_instance_type = t2.micro",
      "compute_instance_type = t2.micro",
      "initial_queue_size = 0",
      "max_queue_size = 4",
      "vpc_settings = public",
      "[vpc public]",
      "vpc_id = vpc-0123456789abcdef0",
      `master_subnet_id = ${HEAD_SUBNET}`,
      `compute_subnet_id = ${COMPUTE_SUBNET}`,
    ].join("\n");
    const { config, warnings } = toPcluster3Config(parseClusterConfig(ini).spec);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      Region: "eu-west-1",
      Image: { Os: "alinux2" },
      HeadNode: {
        InstanceType: "t2.micro",
        Networking: { SubnetId: HEAD_SUBNET },
        Ssh: { KeyName: "mykey" },
      },
      Scheduling: {
        Scheduler: "slurm",
        SlurmQueues: [
          {
            CapacityType: "ONDEMAND",
            Networking: { SubnetIds: [COMPUTE_SUBNET] },
            ComputeResources: [{ InstanceType: "t2.micro", MinCount: 0, MaxCount: 4 }],
          },
        ],
      },
    });
  });

  it("converts a queue_settings INI cluster to one Slurm queue per [queue] section", () => {
    const ini = [
      "[aws]",
      "aws_region_name = us-east-1",
      "[global]",
      "cluster_template = default",
      "[cluster default]",
      "base_os = alinux2",
      "scheduler = slurm",
      "master_instance_type = c5.xlarge",
      "vpc_settings = public",
      "queue_settings = ondemand, spot",
      "fsx_settings = fs",
      "[vpc public]",
      "vpc_id = vpc-0123456789abcdef0",
      `master_subnet_id = ${HEAD_SUBNET}`,
      "[queue ondemand]",
      "compute_resource_settings = small",
      "enable_efa = true",
      "[queue spot]",
      "compute_type = spot",
      "compute_resource_settings = cheap",
      "[compute_resource small]",
      "instance_type = c5n.18xlarge",
      "max_count = 2",
      "[compute_resource cheap]",
      "instance_type = m5.large",
      "max_count = 10",
      "[fsx fs]",
      "shared_dir = /fsx",
      "storage_capacity = 1200",
    ].join("\n");
    const { config } = toPcluster3Config(parseClusterConfig(ini).spec);
    expect(config.Scheduling.SlurmQueues).toMatchObject([
      {
        Name: "ondemand",
        CapacityType: "ONDEMAND",
        Networking: { SubnetIds: [HEAD_SUBNET] },
        ComputeResources: [
          { Name: "small", InstanceType: "c5n.18xlarge", MaxCount: 2, Efa: { Enabled: true } },
        ],
      },
      { Name: "spot", CapacityType: "SPOT", ComputeResources: [{ Name: "cheap", InstanceType: "m5.large" }] },
    ]);
    expect(config.SharedStorage).toMatchObject([
      { MountDir: "/fsx", StorageType: "FsxLustre", FsxLustreSettings: { StorageCapacity: 1200 } },
    ]);
  });
});
