import { execFile } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { buildStackTemplate, type CfnTemplate } from "#shared/domain/templates/index.ts";

/*
 * Every template shape the builders make goes through cfn-lint (W3005, "DependsOn is already implied",
 * is the one check ignored). cfn-lint is a Python tool: when it is missing this file says so in one
 * line, passes locally and fails on CI, where it must be installed.
 */

const execFileAsync = promisify(execFile);

function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    if (dir === "") return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const SUBNET = "subnet-0123456789abcdef0";
const SUBNET_B = "subnet-0fedcba9876543210";
const SG = "sg-0123456789abcdef0";
const VPC = "vpc-0123456789abcdef0";

type QueueInput = Partial<ClusterSpec["queues"][number]>;

function spec(
  scheduler: "slurm" | "awsbatch",
  queues: QueueInput[],
  extra: Partial<Omit<ClusterSpec, "queues">> = {},
): ClusterSpec {
  const base = {
    name: "q",
    capacityType: "ONDEMAND",
    subnetIds: [SUBNET],
    computeResources: [{ name: "c", instanceTypes: ["c5.large"], maxVcpus: 16, maxCount: 4 }],
  };
  return ClusterSpecSchema.parse({
    sourceFormat: "json",
    scheduler,
    os: "alinux2",
    headNode: { instanceType: "t3.micro", subnetId: SUBNET, keyName: "key" },
    networking: { vpcId: VPC },
    sharedStorage: [],
    tags: { project: "lint" },
    queues: queues.map((q, i) => ({ ...base, name: `q${i}`, ...q })),
    ...extra,
  });
}

const fargate = { computeResources: [{ name: "f", instanceTypes: ["fargate"], maxVcpus: 8 }] };

const CASES: Record<string, ClusterSpec> = {
  "batch-on-demand": spec("awsbatch", [{ securityGroupIds: [SG] }]),
  "batch-spot-bid": spec("awsbatch", [
    { capacityType: "SPOT", spotBidPercentage: 60, securityGroupIds: [SG] },
  ]),
  "batch-created-sg": spec("awsbatch", [{}]),
  "batch-multi-queue": spec("awsbatch", [
    {},
    { capacityType: "SPOT", subnetIds: [SUBNET_B] },
    { securityGroupIds: [SG] },
  ]),
  "batch-fargate": spec("awsbatch", [{ ...fargate, securityGroupIds: [SG] }]),
  "batch-fargate-spot-and-ec2": spec("awsbatch", [{}, { ...fargate, capacityType: "SPOT" }]),
  "batch-parameters": spec("awsbatch", [{ subnetIds: [] }], {
    headNode: { instanceType: "t3.micro" },
    networking: {},
  }),
  "slurm-single": spec("slurm", [{}]),
  "slurm-multi-storage": spec(
    "slurm",
    [
      { placementGroup: true, computeResources: [{ name: "e", instanceTypes: ["c5n.18xlarge"], efa: true }] },
      { capacityType: "SPOT", computeResources: [{ name: "f", instanceTypes: ["c5.large", "c6i.large"] }] },
    ],
    {
      region: "us-east-1",
      sharedStorage: [
        { kind: "fsx-lustre", name: "fsx", mountDir: "/fsx", settings: { StorageCapacity: 1200 } },
      ],
    },
  ),
};

function fixtureTemplates(): Record<string, CfnTemplate> {
  const out: Record<string, CfnTemplate> = {};
  for (const dir of ["test/fixtures/configs", "test/fixtures"]) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith("bad-") || entry.name === "biome.json") continue;
      if (!/\.(ini|conf|cfg|ya?ml|json)$/.test(entry.name)) continue;
      const parsed = parseClusterConfig(readFileSync(join(dir, entry.name), "utf8")).spec;
      out[`fixture-${entry.name}`] = buildStackTemplate(parsed, { clusterName: "fixture" }).template;
    }
  }
  return out;
}

let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** True when cfn-lint can run; otherwise one line, and a failure on CI. */
function cfnLintAvailable(): boolean {
  if (onPath("cfn-lint")) return true;
  const why = "cfn-lint is not on the PATH (pip install cfn-lint): the generated templates were not linted.";
  if (process.env.CI) throw new Error(`${why} CI must lint them.`);
  if (!warned) console.warn(`[cfn-lint] ${why} This passes here and fails on CI.`);
  warned = true;
  return false;
}
let warned = false;

/** Writes the templates to files and runs one cfn-lint over all of them (its start-up is most of its time). */
async function lint(
  templates: Record<string, CfnTemplate>,
): Promise<{ code: number; output: string; files: number }> {
  dir ??= await mkdtemp(join(tmpdir(), "cfn-lint-"));
  const files: string[] = [];
  for (const [name, template] of Object.entries(templates)) {
    const file = join(dir, `${name.replace(/[^a-zA-Z0-9.-]/g, "_")}.json`);
    await writeFile(file, JSON.stringify(template, null, 2));
    files.push(file);
  }
  return execFileAsync("cfn-lint", ["--ignore-checks", "W3005", "--", ...files], {
    maxBuffer: 10 * 1024 * 1024,
  }).then(
    () => ({ code: 0, output: "", files: files.length }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === "number" ? error.code : -1,
      output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
      files: files.length,
    }),
  );
}

describe("cfn-lint", () => {
  it("finds nothing wrong with any template the builders make", async () => {
    if (!cfnLintAvailable()) return;
    const templates: Record<string, CfnTemplate> = { ...fixtureTemplates() };
    for (const [name, clusterSpec] of Object.entries(CASES)) {
      templates[name] = buildStackTemplate(clusterSpec, { clusterName: `lint-${name}` }).template;
    }

    const result = await lint(templates);

    expect(result.output).toBe("");
    expect(result.code).toBe(0);
    expect(result.files).toBeGreaterThan(Object.keys(CASES).length);
  }, 180_000);

  it("does report a broken template, so a clean run means something", async () => {
    if (!cfnLintAvailable()) return;
    const good = buildStackTemplate(CASES["batch-on-demand"] as ClusterSpec, {
      clusterName: "broken",
    }).template;
    const broken = JSON.parse(
      JSON.stringify(good).replace("BEST_FIT_PROGRESSIVE", "BEST_GUESS"),
    ) as CfnTemplate;

    const result = await lint({ "broken-allocation-strategy": broken });

    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/E3030.*best_guess/i);
  }, 180_000);
});
