import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { buildStackTemplate, templateProvisioningIssues } from "#shared/domain/templates/index.ts";

const FIXTURE_DIRS = ["test/fixtures/configs", "test/fixtures"];

/** Fixture configs meant to parse: not the `bad-*` ones, not tool files. */
function fixtureConfigs(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const dir of FIXTURE_DIRS) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith("bad-") || entry.name === "biome.json") continue;
      if (!/\.(ini|conf|cfg|ya?ml|json)$/.test(entry.name)) continue;
      out.push({ name: join(dir, entry.name), text: readFileSync(join(dir, entry.name), "utf8") });
    }
  }
  return out;
}

function spec(scheduler: "slurm" | "awsbatch"): ClusterSpec {
  return ClusterSpecSchema.parse({
    sourceFormat: "json",
    scheduler,
    os: "alinux2",
    headNode: { instanceType: "t3.micro", subnetId: "subnet-0123456789abcdef0" },
    networking: { vpcId: "vpc-0123456789abcdef0" },
    sharedStorage: [],
    tags: {},
    queues: [
      {
        name: "q",
        capacityType: "ONDEMAND",
        subnetIds: ["subnet-0123456789abcdef0"],
        computeResources: [{ name: "c", instanceTypes: ["c5.large"] }],
      },
    ],
  });
}

describe("buildStackTemplate", () => {
  it("builds an AWS Batch stack for awsbatch and a ParallelCluster resource for slurm", () => {
    const batch = buildStackTemplate(spec("awsbatch"), { clusterName: "c" }).template;
    const slurm = buildStackTemplate(spec("slurm"), { clusterName: "c" }).template;
    expect(Object.values(batch.Resources).map((r) => r.Type)).toContain("AWS::Batch::ComputeEnvironment");
    expect(Object.values(slurm.Resources).map((r) => r.Type)).toEqual(["Custom::PclusterCluster"]);
  });

  it("is total: every queue count and capacity type up to the schema's limits gives a template", () => {
    for (const scheduler of ["slurm", "awsbatch"] as const) {
      for (const count of [1, 7, 50]) {
        const base = spec(scheduler);
        const many: ClusterSpec = {
          ...base,
          networking: {},
          headNode: { instanceType: "t3.micro" },
          queues: Array.from({ length: count }, (_, i) => ({
            name: `q${i}`,
            capacityType: i % 2 === 0 ? "SPOT" : "ONDEMAND",
            subnetIds: [],
            computeResources: [
              { name: "c", instanceTypes: i % 3 === 0 ? ["fargate"] : ["c5.large", "m5.large"] },
            ],
          })),
        };
        const { template } = buildStackTemplate(ClusterSpecSchema.parse(many), { clusterName: "c" });
        expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
        expect(templateProvisioningIssues(many).length).toBeGreaterThan(0);
      }
    }
  });

  it("reports nothing that keeps a complete spec from being created", () => {
    expect(templateProvisioningIssues(spec("slurm"))).toEqual([]);
    expect(templateProvisioningIssues(spec("awsbatch"))).toEqual([]);
  });
});

describe("the fixture configs", () => {
  const fixtures = fixtureConfigs();

  it("are there to test", () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures.map((f) => [f.name, f.text] as const))(
    "%s parses and produces a template",
    (_name, text) => {
      const { spec: parsed } = parseClusterConfig(text);
      const { template } = buildStackTemplate(parsed, { clusterName: "fixture" });
      const types = Object.values(template.Resources).map((r) => r.Type);
      if (parsed.scheduler === "slurm") expect(types).toEqual(["Custom::PclusterCluster"]);
      else expect(types.filter((t) => t === "AWS::Batch::JobQueue")).toHaveLength(parsed.queues.length);
    },
  );
});
