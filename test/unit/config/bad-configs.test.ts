import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { ConfigInvalidError, DomainError, PayloadTooLargeError } from "#shared/domain/errors.ts";
import { fixture, fixtureNames, lineOf, slurmConfigWithQueues, thrownBy } from "./config-fixtures.ts";

interface BadCase {
  readonly name: string;
  readonly text: () => string;
  readonly path: string;
  /** The line to expect, found in the text; undefined when the issue carries none. */
  readonly line?: (text: string) => number;
  readonly message: string;
}

const fromFile = (name: string) => () => fixture(name);

const CASES: readonly BadCase[] = [
  {
    name: "a YAML syntax error",
    text: fromFile("bad-yaml-syntax.yaml"),
    path: "configuration",
    line: (t) => lineOf(t, " Scheduling:"),
    message: "YAML syntax error",
  },
  {
    name: "a YAML mapping that is no cluster config (foo: bar)",
    text: fromFile("bad-not-a-cluster.yaml"),
    path: "configuration",
    line: () => 1,
    message: "HeadNode and Scheduling",
  },
  {
    name: "a Kubernetes manifest",
    text: fromFile("bad-kubernetes-manifest.yaml"),
    path: "configuration",
    line: () => 1,
    message: "Kubernetes manifest",
  },
  {
    name: "a YAML document that is a list",
    text: () => "- HeadNode\n- Scheduling\n",
    path: "configuration",
    line: () => 1,
    message: "must be a mapping",
  },
  {
    name: "a missing HeadNode",
    text: fromFile("bad-missing-headnode.yaml"),
    path: "HeadNode",
    line: () => 1,
    message: "HeadNode is required",
  },
  {
    name: "a misspelt Scheduling section",
    text: fromFile("bad-missing-scheduling-typo.yaml"),
    path: "Scheduling",
    line: () => 1,
    message: "did you mean 'Scheduling'?",
  },
  {
    name: "MaxCount written as a word",
    text: fromFile("bad-maxcount-string.yaml"),
    path: "Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount",
    line: (t) => lineOf(t, "MaxCount: ten"),
    message: "must be an integer",
  },
  {
    name: "MinCount above MaxCount",
    text: fromFile("bad-mincount-over-maxcount.yaml"),
    path: "Scheduling.SlurmQueues[0].ComputeResources[0].MinCount",
    line: (t) => lineOf(t, "MinCount: 20"),
    message: "greater than the maximum",
  },
  {
    name: "a queue name that breaks the naming rule (Queue_1)",
    text: fromFile("bad-queue-name.yaml"),
    path: "Scheduling.SlurmQueues[0].Name",
    line: (t) => lineOf(t, "Name: Queue_1"),
    message: "lower-case",
  },
  {
    name: "51 queues",
    text: () => slurmConfigWithQueues(51),
    path: "Scheduling.SlurmQueues",
    line: (t) => lineOf(t, "SlurmQueues:"),
    message: "at most 50 queues",
  },
  {
    name: "the sge scheduler in YAML",
    text: fromFile("bad-scheduler-sge.yaml"),
    path: "Scheduling.Scheduler",
    line: (t) => lineOf(t, "Scheduler: sge"),
    message: "removed in ParallelCluster 3",
  },
  {
    name: "the sge scheduler in INI",
    text: fromFile("bad-scheduler-sge.ini"),
    path: "[cluster default].scheduler",
    line: (t) => lineOf(t, "scheduler = sge"),
    message: "not supported any more",
  },
  {
    name: "MinvCpus above MaxvCpus",
    text: fromFile("bad-batch-vcpus.yaml"),
    path: "Scheduling.AwsBatchQueues[0].ComputeResources[0].MinvCpus",
    line: (t) => lineOf(t, "MinvCpus: 64"),
    message: "more than the maximum",
  },
  {
    name: "an INI reference to a missing [vpc] section",
    text: fromFile("bad-missing-vpc-section.ini"),
    path: "[cluster default].vpc_settings",
    line: (t) => lineOf(t, "vpc_settings = public"),
    message: "[vpc public]",
  },
  {
    name: "an INI max_queue_size written as a word",
    text: fromFile("bad-max-queue-size-word.ini"),
    path: "[cluster default].max_queue_size",
    line: (t) => lineOf(t, "max_queue_size = ten"),
    message: "whole number",
  },
  {
    name: "a JSON syntax error",
    text: fromFile("bad-json-syntax.json"),
    path: "configuration",
    line: (t) => lineOf(t, '"Name": "queue1" "ComputeResources"'),
    message: "JSON syntax error",
  },
  {
    name: "a normalized JSON spec with a wrong type",
    text: fromFile("bad-spec-wrong-type.json"),
    path: "queues[0].computeResources[0].instanceTypes",
    line: (t) => lineOf(t, '"instanceTypes": "t2.micro"'),
    message: "expected array",
  },
  {
    name: "a ParallelCluster 3 JSON with MaxCount as a word",
    text: () => fixture("pcluster3-full-slurm.json").replace('"MaxCount": 64', '"MaxCount": "ten"'),
    path: "Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount",
    line: (t) => lineOf(t, '"MaxCount": "ten"'),
    message: "must be an integer",
  },
  {
    name: "an unsupported storage type",
    text: () => fixture("pcluster3-full-slurm.yaml").replace("StorageType: Efs", "StorageType: FsxOntap"),
    path: "SharedStorage[2].StorageType",
    line: (t) => lineOf(t, "StorageType: FsxOntap"),
    message: "Ebs, FsxLustre or Efs",
  },
  {
    name: "both InstanceType and Instances on one compute resource",
    text: () =>
      [
        "HeadNode:",
        "  InstanceType: t2.micro",
        "Scheduling:",
        "  Scheduler: slurm",
        "  SlurmQueues:",
        "    - Name: queue1",
        "      ComputeResources:",
        "        - Name: mixed",
        "          InstanceType: t2.micro",
        "          Instances:",
        "            - InstanceType: t3.micro",
      ].join("\n"),
    path: "Scheduling.SlurmQueues[0].ComputeResources[0].Instances",
    line: (t) => lineOf(t, "Instances:"),
    message: "not both",
  },
  {
    name: "an empty configuration",
    text: () => "  \n\n",
    path: "configuration",
    message: "empty",
  },
];

describe("invalid configurations", () => {
  it.each(CASES)("report $name at the offending path and line", (bad) => {
    const text = bad.text();
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    const issue = error.issues.find((i) => i.path === bad.path);
    expect(issue, JSON.stringify(error.issues)).toBeDefined();
    expect(issue?.line).toBe(bad.line?.(text));
    expect(issue?.message).toContain(bad.message);
    // The summary names the first problem in document order.
    expect(error.message).toContain(error.issues[0]?.path);
  });

  it("collect every problem of a document, not just the first", () => {
    const text = fixture("bad-many-problems.yaml");
    const error = thrownBy(() => parseClusterConfig(text));
    const at = (path: string) => error.issues.find((i) => i.path === path);
    expect(at("Region")?.line).toBe(lineOf(text, "mars-1"));
    expect(at("HeadNode.InstanceType")?.message).toContain("did you mean 'InstanceType'?");
    expect(at("Scheduling.SlurmQueues[0].ComputeResources[0].Name")?.line).toBe(lineOf(text, "Big_Nodes"));
    expect(at("Scheduling.SlurmQueues[0].ComputeResources[0].InstanceType")?.message).toContain("c5.xlarge");
    expect(at("Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount")?.line).toBe(
      lineOf(text, "MaxCount: -1"),
    );
    expect(at("Scheduling.SlurmQueues[1].Name")?.message).toContain("used twice");
    expect(at("Scheduling.SlurmQueues[1].CapacityType")?.line).toBe(lineOf(text, "RESERVED"));
    expect(
      at("Scheduling.SlurmQueues[1].ComputeResources[0].DisableSimultaneousMultithreading"),
    ).toBeDefined();
    // A MaxCount that is itself wrong is not compared with MinCount as well.
    expect(at("Scheduling.SlurmQueues[0].ComputeResources[0].MinCount")).toBeUndefined();
    expect(error.issues.map((i) => i.line)).toEqual(
      [...error.issues.map((i) => i.line)].sort((a, b) => (a ?? 0) - (b ?? 0)),
    );
  });

  it("report the Spot bid percentage outside 1-100 alongside the vCPU problem", () => {
    const text = fixture("bad-batch-vcpus.yaml");
    const error = thrownBy(() => parseClusterConfig(text));
    expect(error.issues).toContainEqual({
      path: "Scheduling.AwsBatchQueues[0].ComputeResources[0].SpotBidPercentage",
      line: lineOf(text, "SpotBidPercentage: 150"),
      message: expect.stringContaining("between 1 and 100"),
    });
  });

  it.each(fixtureNames("bad-seed-batch-"))(
    "refuse the AWS Batch compute environment %s from the blog posts, saying what it is",
    (name) => {
      const error = thrownBy(() => parseClusterConfig(fixture(name)));
      expect(error).toBeInstanceOf(ConfigInvalidError);
      expect(error.issues[0]?.message).toContain("AWS Batch compute environment");
    },
  );

  it("refuse an oversized text as too large", () => {
    const text = `${fixture("pcluster3-minimal-slurm.yaml")}#${"x".repeat(256 * 1024)}\n`;
    expect(thrownBy(() => parseClusterConfig(text))).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe("hostile or broken input", () => {
  it("stops a YAML alias bomb with a config error", () => {
    const lines = ["q0: &q0 {Name: q, ComputeResources: [{Name: c, InstanceType: t2.micro}]}"];
    for (let level = 1; level <= 6; level++) {
      lines.push(`q${level}: &q${level} [${Array.from({ length: 10 }, () => `*q${level - 1}`).join(", ")}]`);
    }
    lines.push("HeadNode: {InstanceType: t2.micro}", "Scheduling: {Scheduler: slurm, SlurmQueues: *q6}");
    const error = thrownBy(() => parseClusterConfig(lines.join("\n")));
    expect(error).toBeInstanceOf(ConfigInvalidError);
  });

  it("answers only with domain errors, whatever the text", () => {
    // Deterministic mutations of real configs: truncations, swapped characters, stray brackets.
    const sources = [
      fixture("pcluster3-full-slurm.yaml"),
      fixture("pcluster3-full-slurm.json"),
      fixture("pcluster2-multi-queue.ini"),
      fixture("seed-starccm-cluster.ini"),
    ];
    const junk = ["[", "{", "]", "}", ":", "=", "\n", "-", "*", "&", "!", '"', "\t", "#", "<x>", "\u201c"];
    let seed = 42;
    const next = (limit: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % limit;
    };
    let domainErrors = 0;
    for (let round = 0; round < 300; round++) {
      const source = sources[round % sources.length] ?? "";
      let text = source.slice(0, next(source.length + 1));
      for (let k = 0; k < 3; k++) {
        const at = next(text.length + 1);
        text = text.slice(0, at) + (junk[next(junk.length)] ?? "") + text.slice(at);
      }
      try {
        parseClusterConfig(text);
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        domainErrors++;
      }
    }
    expect(domainErrors).toBeGreaterThan(0);
  });

  it("answers a deeply nested document with a config error", () => {
    expect(thrownBy(() => parseClusterConfig(`HeadNode: ${"[".repeat(5000)}`))).toBeInstanceOf(
      ConfigInvalidError,
    );
    expect(thrownBy(() => parseClusterConfig(`{"HeadNode": ${"[".repeat(5000)}`))).toBeInstanceOf(
      ConfigInvalidError,
    );
  });
});
