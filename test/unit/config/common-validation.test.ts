import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { ConfigInvalidError } from "#shared/domain/errors.ts";
import { fixture, lineOf, thrownBy } from "./config-fixtures.ts";

/** The normalized JSON sample with some fields replaced. */
function specJson(changes: Record<string, unknown>): string {
  return JSON.stringify({ ...JSON.parse(fixture("cluster-spec-normalized.json")), ...changes }, null, 2);
}

describe("validation shared by every format", () => {
  it("refuses more than 50 tags", () => {
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`key${i}`, "v"]));
    const error = thrownBy(() => parseClusterConfig(specJson({ tags })));
    expect(error.issues).toContainEqual(
      expect.objectContaining({ path: "tags", message: expect.stringContaining("50") }),
    );
  });

  it("accepts exactly 50 tags and keys and values at their length limits", () => {
    const tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`key${i}`, "v"]));
    tags["k".repeat(128)] = "v".repeat(256);
    expect(Object.keys(parseClusterConfig(specJson({ tags })).spec.tags)).toHaveLength(50);
  });

  it("refuses a tag key over 128 characters, a value over 256 and the reserved aws: prefix", () => {
    const long = "k".repeat(129);
    const error = thrownBy(() =>
      parseClusterConfig(specJson({ tags: { [long]: "v", big: "v".repeat(257), "aws:owner": "me" } })),
    );
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([`tags.${long}`, "tags.big", "tags.aws:owner"]));
  });

  it("refuses a region that is not a region name", () => {
    const error = thrownBy(() => parseClusterConfig(specJson({ region: "Virginia" })));
    expect(error.issues[0]).toMatchObject({ path: "region", message: expect.stringContaining("us-east-1") });
  });

  it("refuses identifiers that are not subnet, security group or VPC IDs", () => {
    const text = fixture("pcluster3-minimal-slurm.yaml").replace(
      "      - subnet-12345678",
      "      - my-subnet",
    );
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error.issues).toEqual([
      {
        path: "Scheduling.SlurmQueues[0].Networking.SubnetIds[0]",
        line: lineOf(text, "my-subnet"),
        message: expect.stringContaining("subnet ID"),
      },
    ]);
  });

  it("accepts bare families and optimal as AWS Batch instance types but not for slurm", () => {
    const batch = fixture("pcluster3-minimal-awsbatch.yaml").replace(
      "      - optimal",
      "      - c5\n      - m5.large",
    );
    expect(parseClusterConfig(batch).spec.queues[0]?.computeResources[0]?.instanceTypes).toEqual([
      "c5",
      "m5.large",
    ]);
    const slurm = fixture("pcluster3-minimal-slurm.yaml").replace(
      "InstanceType: t2.micro\n      Min",
      "InstanceType: c5\n      Min",
    );
    const error = thrownBy(() => parseClusterConfig(slurm));
    expect(error.issues[0]).toMatchObject({
      path: "Scheduling.SlurmQueues[0].ComputeResources[0].InstanceType",
    });
  });

  it("requires Amazon Linux 2 for AWS Batch", () => {
    const text = fixture("pcluster3-minimal-awsbatch.yaml").replace("Os: alinux2", "Os: ubuntu2204");
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error.issues[0]).toMatchObject({ path: "Image.Os", line: lineOf(text, "Os: ubuntu2204") });
  });

  it("warns about an operating system ParallelCluster 3 does not know", () => {
    const text = fixture("pcluster3-minimal-slurm.yaml").replace("Os: alinux2", "Os: alinux");
    expect(parseClusterConfig(text).warnings).toContainEqual(expect.objectContaining({ path: "Image.Os" }));
  });

  it("refuses slurm compute resources without node counts in the normalized JSON", () => {
    const queues = [{ name: "q", computeResources: [{ name: "cr", instanceTypes: ["c5.large"] }] }];
    const error = thrownBy(() => parseClusterConfig(specJson({ queues })));
    expect(error.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        "queues[0].computeResources[0].minCount",
        "queues[0].computeResources[0].maxCount",
      ]),
    );
  });

  it("refuses a second AWS Batch queue", () => {
    const queue = {
      name: "q",
      computeResources: [{ name: "cr", instanceTypes: ["optimal"], minVcpus: 0, maxVcpus: 8 }],
    };
    const error = thrownBy(() =>
      parseClusterConfig(specJson({ scheduler: "awsbatch", queues: [queue, { ...queue, name: "r" }] })),
    );
    expect(error.issues[0]).toMatchObject({
      path: "queues",
      message: expect.stringContaining("exactly one queue"),
    });
  });

  it("reports a bad ParallelCluster 2 queue name at its section", () => {
    const text = fixture("pcluster2-multi-queue.ini").replaceAll("spot", "Spot_Queue");
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.issues).toContainEqual({
      path: "[queue Spot_Queue]",
      line: lineOf(text, "[queue Spot_Queue]"),
      message: expect.stringContaining("lower-case"),
    });
  });

  it("refuses two storages mounted on the same directory", () => {
    const text = fixture("pcluster3-full-slurm.yaml").replace("MountDir: /efs", "MountDir: /fsx");
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error.issues).toEqual([
      {
        path: "SharedStorage[2].MountDir",
        line: lineOf(text, "Name: tools") - 1,
        message: expect.stringContaining("/fsx"),
      },
    ]);
  });
});
