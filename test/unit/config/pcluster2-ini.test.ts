import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { ConfigInvalidError } from "#shared/domain/errors.ts";
import { fixture, fixtureNames, lineOf, parseFixture, thrownBy } from "./config-fixtures.ts";

describe("the ParallelCluster 2 configs published in the HPC blog posts", () => {
  it.each(fixtureNames("seed-"))("%s parses as pasted", (name) => {
    const { spec } = parseFixture(name);
    expect(spec.sourceFormat).toBe("pcluster2-ini");
  });

  it("fds-smv-cluster keeps its settings and warns about its lost headers and placeholders", () => {
    const text = fixture("seed-fds-smv-cluster.ini");
    const { spec, warnings } = parseClusterConfig(text);

    expect(spec.scheduler).toBe("slurm");
    expect(spec.os).toBe("alinux2");
    expect(spec.region).toBeUndefined();
    expect(spec.headNode).toEqual({ instanceType: "t2.micro", dcv: true });
    expect(spec.networking).toEqual({ placementGroup: true });
    expect(spec.queues).toEqual([
      {
        name: "compute",
        capacityType: "ONDEMAND",
        subnetIds: [],
        placementGroup: true,
        computeResources: [
          {
            name: "t2-micro",
            instanceTypes: ["t2.micro"],
            minCount: 0,
            maxCount: 100,
            disableHyperthreading: true,
            efa: true,
          },
        ],
      },
    ]);
    expect(spec.sharedStorage).toEqual([
      {
        kind: "fsx-lustre",
        name: "fsxshared",
        mountDir: "/fsx",
        settings: {
          StorageCapacity: 1200,
          ImportPath: "s3://fds-smv-bucket-unique",
          ExportPath: "s3://fds-smv-bucket-unique",
          ImportedFileChunkSize: 1024,
        },
      },
    ]);
    expect(spec.tags).toEqual({ Name: "fds-smv" });

    expect(warnings).toContainEqual({
      path: "[aws].aws_region_name",
      line: lineOf(text, "aws_region_name"),
      message: expect.stringContaining("placeholder"),
    });
    expect(warnings).toContainEqual({
      path: "[global].cluster_template",
      line: lineOf(text, "cluster_template"),
      message: expect.stringContaining("before any section header"),
    });
    for (const needle of [
      "key_name = <Key-Name>",
      "vpc_id = vpc-<VPC-ID>",
      "master_subnet_id = subnet-<SUBNET-ID>",
    ]) {
      expect(warnings.find((w) => w.line === lineOf(text, needle))?.message).toContain("placeholder");
    }
    expect(warnings).toContainEqual({
      path: "[aliases].ssh",
      line: lineOf(text, "ssh = ssh"),
      message: expect.stringContaining("[fsx fsxshared]"),
    });
    expect(warnings.some((w) => w.path === "[cluster fds-smv-cluster].scheduler")).toBe(true);
  });

  it("starccm straightens its typographic quotes and reads the keys under the wrong header", () => {
    const text = fixture("seed-starccm-cluster.ini");
    const { spec, warnings } = parseClusterConfig(text);

    expect(spec.region).toBe("us-east-2");
    expect(spec.os).toBe("centos7");
    expect(spec.scheduler).toBe("slurm");
    expect(spec.headNode).toEqual({ instanceType: "c5.xlarge", dcv: true });
    const [queue] = spec.queues;
    expect(queue?.capacityType).toBe("ONDEMAND");
    expect(queue?.placementGroup).toBe(true);
    expect(queue?.computeResources).toEqual([
      {
        name: "c5n-18xlarge",
        instanceTypes: ["c5n.18xlarge"],
        // maintain_initial_size = true keeps initial_queue_size nodes running.
        minCount: 2,
        maxCount: 100,
        disableHyperthreading: true,
        efa: true,
      },
    ]);
    expect(spec.sharedStorage).toEqual([
      {
        kind: "fsx-lustre",
        name: "fsxshared",
        mountDir: "/fsx",
        settings: {
          StorageCapacity: 1200,
          ImportedFileChunkSize: 1024,
          ImportPath: "s3://benchmark-starccm",
          ExportPath: "s3://benchmark-starccm",
        },
      },
    ]);
    expect(spec.tags).toEqual({ Name: "STARCCM" });

    expect(warnings).toContainEqual({
      path: "[cluster default].tags",
      line: lineOf(text, "tags ="),
      message: expect.stringContaining("typographic quotes"),
    });
    for (const key of ["update_check", "sanity_check", "cluster_template"]) {
      expect(warnings).toContainEqual({
        path: `[global].${key}`,
        line: lineOf(text, `${key} =`),
        message: expect.stringContaining("[vpc public]"),
      });
    }
  });

  it("the Grafana monitoring fragment, with no section at all, becomes a default cluster", () => {
    const text = fixture("seed-grafana-monitoring-fragment.ini");
    const { spec, warnings } = parseClusterConfig(text);

    expect(spec.os).toBe("alinux2");
    expect(spec.tags).toEqual({ Grafana: "true" });
    expect(spec.headNode.instanceType).toBe("t2.micro");
    expect(spec.queues[0]?.computeResources[0]).toMatchObject({
      instanceTypes: ["t2.micro"],
      minCount: 0,
      maxCount: 10,
    });
    expect(spec.sharedStorage).toEqual([]);
    expect(warnings[0]).toMatchObject({
      path: "[cluster default]",
      message: expect.stringContaining("no [cluster] section"),
    });
    expect(warnings).toContainEqual({
      path: "[cluster default].post_install",
      line: lineOf(text, "post_install ="),
      message: expect.stringContaining("placeholder"),
    });
  });
});

describe("ParallelCluster 2 multiple-queue mode", () => {
  it("maps queues, compute resources, networking and storage", () => {
    const text = fixture("pcluster2-multi-queue.ini");
    const { spec, warnings } = parseClusterConfig(text);

    expect(spec.region).toBe("us-west-2");
    expect(spec.headNode).toEqual({
      instanceType: "c5.xlarge",
      subnetId: "subnet-0a1b2c3d",
      keyName: "lab-key",
      securityGroupIds: ["sg-0123abcd"],
    });
    expect(spec.networking).toEqual({ vpcId: "vpc-0a1b2c3d", placementGroup: true });
    expect(spec.queues.map((q) => [q.name, q.capacityType, q.placementGroup])).toEqual([
      ["ondemand", "ONDEMAND", true],
      ["spot", "SPOT", undefined],
    ]);
    expect(spec.queues.every((q) => q.subnetIds[0] === "subnet-0e1f2a3b")).toBe(true);
    expect(spec.queues[0]?.computeResources).toEqual([
      {
        name: "c5n-large",
        instanceTypes: ["c5n.18xlarge"],
        minCount: 1,
        maxCount: 32,
        disableHyperthreading: true,
        efa: true,
      },
    ]);
    expect(
      spec.queues[1]?.computeResources.map((cr) => [cr.name, cr.instanceTypes, cr.minCount, cr.maxCount]),
    ).toEqual([
      ["small", ["c5.large"], 0, 20],
      ["medium", ["c5.2xlarge"], 0, 8],
    ]);
    expect(spec.sharedStorage).toEqual([
      {
        kind: "ebs",
        name: "home",
        mountDir: "/home2",
        settings: { VolumeType: "gp2", Size: 50, Encrypted: true },
      },
      { kind: "ebs", name: "data", mountDir: "/data", settings: { SnapshotId: "snap-0123456789abcdef0" } },
      { kind: "efs", name: "tools", mountDir: "/efs", settings: { PerformanceMode: "maxIO" } },
    ]);
    expect(spec.tags).toEqual({ team: "cfd", env: "test" });
    expect(warnings).toEqual([
      {
        path: "[ebs data].shared_dir",
        line: lineOf(text, "shared_dir = data"),
        message: expect.stringContaining("/data"),
      },
    ]);
  });

  it("refuses a queue section that queue_settings names but the file lacks", () => {
    const text = fixture("pcluster2-multi-queue.ini").replace(
      "queue_settings = ondemand, spot",
      "queue_settings = ondemand, gpu",
    );
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.issues).toContainEqual({
      path: "[cluster multi].queue_settings",
      line: lineOf(text, "queue_settings"),
      message: expect.stringContaining("[queue gpu]"),
    });
  });
});

describe("ParallelCluster 2 with AWS Batch", () => {
  it("maps the vCPU limits, the instance type list and the Spot bid", () => {
    const { spec } = parseFixture("pcluster2-awsbatch.ini");
    expect(spec.scheduler).toBe("awsbatch");
    expect(spec.queues).toEqual([
      {
        name: "compute",
        capacityType: "SPOT",
        spotBidPercentage: 85,
        subnetIds: ["subnet-12345678"],
        computeResources: [
          {
            name: "compute",
            instanceTypes: ["c5.large", "m5.xlarge", "c5"],
            minVcpus: 0,
            desiredVcpus: 8,
            maxVcpus: 256,
          },
        ],
      },
    ]);
  });

  it("fills in the ParallelCluster 2 defaults: optimal instances and 0/4/20 vCPUs", () => {
    const { spec } = parseClusterConfig("[cluster default]\nscheduler = awsbatch\n");
    expect(spec.queues[0]?.computeResources[0]).toEqual({
      name: "optimal",
      instanceTypes: ["optimal"],
      minVcpus: 0,
      desiredVcpus: 4,
      maxVcpus: 20,
    });
  });
});

describe("ParallelCluster 2 details", () => {
  it("keeps nodes at zero unless maintain_initial_size is true", () => {
    const base =
      "[cluster default]\ncompute_instance_type = c5.large\ninitial_queue_size = 3\nmax_queue_size = 9\n";
    expect(parseClusterConfig(base).spec.queues[0]?.computeResources[0]?.minCount).toBe(0);
    const maintained = `${base}maintain_initial_size = TRUE\n`;
    expect(parseClusterConfig(maintained).spec.queues[0]?.computeResources[0]?.minCount).toBe(3);
  });

  it("uses the cluster named by cluster_template among several", () => {
    const text =
      "[global]\ncluster_template = big\n[cluster small]\nmax_queue_size = 2\n[cluster big]\nmax_queue_size = 200\n";
    expect(parseClusterConfig(text).spec.queues[0]?.computeResources[0]?.maxCount).toBe(200);
  });

  it("warns about an unknown setting with a did-you-mean, naming section, key and line", () => {
    const text = "[cluster default]\nmaster_instnce_type = c5.xlarge\n";
    const { warnings } = parseClusterConfig(text);
    expect(warnings).toContainEqual({
      path: "[cluster default].master_instnce_type",
      line: 2,
      message: expect.stringContaining("did you mean 'master_instance_type'?"),
    });
  });

  it("ignores AWS credentials with a warning that does not repeat the secret", () => {
    const text =
      "[aws]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t/value\n[cluster default]\n";
    const { warnings } = parseClusterConfig(text);
    const credentialWarnings = warnings.filter((w) => w.path.startsWith("[aws].aws_"));
    expect(credentialWarnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).not.toContain("s3cr3t");
  });

  it("refuses 'key: value' lines, which ParallelCluster 2 files do not use", () => {
    const error = thrownBy(() => parseClusterConfig("[cluster default]\nscheduler: slurm\n"));
    expect(error.issues).toContainEqual({
      path: "[cluster default].scheduler",
      line: 2,
      message: expect.stringContaining("scheduler = slurm"),
    });
  });

  it("refuses a cluster_template that names no [cluster] section", () => {
    const error = thrownBy(() => parseClusterConfig("[global]\ncluster_template = prod\n[cluster test]\n"));
    expect(error.issues[0]).toMatchObject({ path: "[global].cluster_template", line: 2 });
    expect(error.issues[0]?.message).toContain("[cluster test]");
  });

  it("refuses a file without any cluster settings", () => {
    const error = thrownBy(() => parseClusterConfig("[global]\nupdate_check = true\n"));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.issues[0]?.message).toContain("[cluster NAME]");
  });
});
