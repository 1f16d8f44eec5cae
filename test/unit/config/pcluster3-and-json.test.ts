import { describe, expect, it } from "vitest";
import type { ClusterSpec } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { fixture, lineOf, parseFixture } from "./config-fixtures.ts";

function withoutSource(spec: ClusterSpec): Omit<ClusterSpec, "sourceFormat"> {
  const { sourceFormat: _ignored, ...rest } = spec;
  return rest;
}

describe("the documented minimal ParallelCluster 3 configurations", () => {
  it("parse for slurm", () => {
    const { spec, warnings } = parseFixture("pcluster3-minimal-slurm.yaml");
    expect(warnings).toEqual([]);
    expect(spec).toEqual({
      sourceFormat: "pcluster3-yaml",
      scheduler: "slurm",
      region: "us-east-1",
      os: "alinux2",
      headNode: { instanceType: "t2.micro", subnetId: "subnet-12345678", keyName: "ec2-key-name" },
      queues: [
        {
          name: "queue1",
          capacityType: "ONDEMAND",
          subnetIds: ["subnet-12345678"],
          computeResources: [{ name: "t2micro", instanceTypes: ["t2.micro"], minCount: 0, maxCount: 10 }],
        },
      ],
      networking: {},
      sharedStorage: [],
      tags: {},
    });
  });

  it("parse for awsbatch", () => {
    const { spec, warnings } = parseFixture("pcluster3-minimal-awsbatch.yaml");
    expect(warnings).toEqual([]);
    expect(spec.scheduler).toBe("awsbatch");
    expect(spec.queues).toEqual([
      {
        name: "queue1",
        capacityType: "ONDEMAND",
        subnetIds: ["subnet-12345678"],
        computeResources: [
          { name: "optimal", instanceTypes: ["optimal"], minVcpus: 0, desiredVcpus: 0, maxVcpus: 10 },
        ],
      },
    ]);
  });
});

describe("a fuller ParallelCluster 3 configuration", () => {
  const { spec, warnings } = parseFixture("pcluster3-full-slurm.yaml");

  it("accepts the real ParallelCluster keys the spec does not model, without warnings", () => {
    expect(warnings).toEqual([]);
  });

  it("maps the head node, the queues and their compute resources", () => {
    expect(spec.region).toBe("eu-west-1");
    expect(spec.os).toBe("ubuntu2204");
    expect(spec.headNode).toEqual({
      instanceType: "c5.2xlarge",
      subnetId: "subnet-0a1b2c3d",
      securityGroupIds: ["sg-0123abcd"],
      keyName: "hpc-key",
      dcv: true,
    });
    expect(spec.queues.map((q) => [q.name, q.capacityType, q.placementGroup, q.subnetIds.length])).toEqual([
      ["mpi", "ONDEMAND", true, 1],
      ["spot-mixed", "SPOT", undefined, 2],
    ]);
    expect(spec.queues[0]?.computeResources[0]).toEqual({
      name: "c5n-18xlarge",
      instanceTypes: ["c5n.18xlarge"],
      minCount: 2,
      maxCount: 64,
      disableHyperthreading: true,
      efa: true,
    });
    expect(spec.queues[1]?.computeResources).toEqual([
      {
        name: "large",
        instanceTypes: ["c5.4xlarge", "c5a.4xlarge", "c6i.4xlarge"],
        minCount: 0,
        maxCount: 100,
      },
      { name: "gpu", instanceTypes: ["g4dn.xlarge"], minCount: 0, maxCount: 4 },
    ]);
    expect(spec.networking.placementGroup).toBe(true);
  });

  it("maps the three kinds of shared storage with their ParallelCluster 3 setting names", () => {
    expect(spec.sharedStorage).toEqual([
      {
        kind: "fsx-lustre",
        name: "scratch",
        mountDir: "/fsx",
        settings: {
          StorageCapacity: 1200,
          DeploymentType: "SCRATCH_2",
          ImportPath: "s3://my-data-bucket/input",
          ExportPath: "s3://my-data-bucket/output",
        },
      },
      {
        kind: "ebs",
        name: "home-ebs",
        mountDir: "/shared",
        settings: { VolumeType: "gp3", Size: 200, Encrypted: true },
      },
      {
        kind: "efs",
        name: "tools",
        mountDir: "/efs",
        settings: { PerformanceMode: "generalPurpose", ThroughputMode: "bursting" },
      },
    ]);
    expect(spec.tags).toEqual({ project: "cfd", "cost-center": "1234" });
  });
});

describe("unknown ParallelCluster 3 keys", () => {
  it("are warned about with their path, line and the key they probably meant", () => {
    const text = fixture("pcluster3-unknown-keys.yaml");
    const { spec, warnings } = parseClusterConfig(text);
    expect(warnings).toEqual([
      {
        path: "Regoin",
        line: lineOf(text, "Regoin"),
        message: expect.stringContaining("did you mean 'Region'?"),
      },
      {
        path: "HeadNode.Ssh.KeyNme",
        line: lineOf(text, "KeyNme"),
        message: expect.stringContaining("did you mean 'KeyName'?"),
      },
      {
        path: "Scheduling.SlurmQueues[0].CapacityTyp",
        line: lineOf(text, "CapacityTyp"),
        message: expect.stringContaining("did you mean 'CapacityType'?"),
      },
      {
        path: "Scheduling.SlurmQueues[0].ComputeResources[0].Favourite",
        line: lineOf(text, "Favourite"),
        message: expect.not.stringContaining("did you mean"),
      },
    ]);
    // The misspelt keys are ignored, so their defaults apply.
    expect(spec.region).toBeUndefined();
    expect(spec.headNode.keyName).toBeUndefined();
    expect(spec.queues[0]?.capacityType).toBe("ONDEMAND");
  });
});

describe("JSON configurations", () => {
  it("give the same spec for the ParallelCluster 3 structure written as JSON as for the YAML", () => {
    const fromYaml = parseFixture("pcluster3-full-slurm.yaml");
    const fromJson = parseFixture("pcluster3-full-slurm.json");
    expect(fromJson.spec.sourceFormat).toBe("json");
    expect(withoutSource(fromJson.spec)).toEqual(withoutSource(fromYaml.spec));
    expect(fromJson.warnings).toEqual(fromYaml.warnings);
  });

  it("give back the same spec when the normalized spec of a YAML config is sent as JSON", () => {
    const fromYaml = parseFixture("pcluster3-full-slurm.yaml");
    const { sourceFormat: _dropped, ...normalized } = fromYaml.spec;
    const roundTripped = parseClusterConfig(JSON.stringify(normalized, null, 2));
    expect(roundTripped.spec).toEqual({ ...fromYaml.spec, sourceFormat: "json" });
    expect(roundTripped.warnings).toEqual([]);
  });

  it("accept the API's normalized spec shape", () => {
    const { spec } = parseFixture("cluster-spec-normalized.json");
    expect(withoutSource(spec)).toEqual(withoutSource(parseFixture("pcluster3-minimal-slurm.yaml").spec));
  });

  it("warn about unknown keys of the normalized spec with a did-you-mean and a line", () => {
    const text = fixture("cluster-spec-normalized.json").replace('"os"', '"oss"');
    const { warnings } = parseClusterConfig(text);
    expect(warnings).toContainEqual({
      path: "oss",
      line: lineOf(text, '"oss"'),
      message: expect.stringContaining("'os'"),
    });
  });
});
