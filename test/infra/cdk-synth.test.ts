import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Any attempt to reach the network during synthesis goes to a closed local port and fails at once. */
const OFFLINE_ENV = {
  ...process.env,
  HTTP_PROXY: "http://127.0.0.1:9",
  HTTPS_PROXY: "http://127.0.0.1:9",
  http_proxy: "http://127.0.0.1:9",
  https_proxy: "http://127.0.0.1:9",
  NO_PROXY: "",
  no_proxy: "",
};

let outdir: string;
let templates: string[];

// `npm run synth` is `cdk synth --quiet`; the same CLI, with an output directory of its own so parallel
// runs do not share cdk.out. It runs infra/app.ts, whose cdk-nag plugin fails synthesis on any finding.
beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), "hpc-cluster-api-cdk-out-"));
  await run(join(ROOT, "node_modules", ".bin", "cdk"), ["synth", "--quiet", "--output", outdir], {
    cwd: ROOT,
    env: OFFLINE_ENV,
    timeout: 240_000,
    maxBuffer: 32 * 1024 * 1024,
  });
  templates = readdirSync(outdir)
    .filter((file) => file.endsWith(".template.json"))
    .map((file) => join(outdir, file));
}, 300_000);

describe("cdk synth", () => {
  it("synthesizes both stacks from cdk.json without the network", () => {
    expect(templates.map((t) => t.slice(outdir.length + 1)).sort()).toEqual([
      "HpcClusterApi-Stateful.template.json",
      "HpcClusterApi-Stateless.template.json",
    ]);
  });
});

describe("cfn-lint", () => {
  it("finds nothing in the synthesized templates but W3005 (CDK's explicit DependsOn)", async () => {
    let version: string;
    try {
      version = (await run("cfn-lint", ["--version"])).stdout.trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      console.warn(
        "cfn-lint is not on the PATH: the synthesized templates were NOT linted (pip install cfn-lint).",
      );
      // Locally that is a warning; CI must have the linter, or it would claim a check it never ran.
      expect(process.env.CI, "cfn-lint must be installed where CI=true").not.toBe("true");
      return;
    }
    const result = await run("cfn-lint", ["--ignore-checks", "W3005", "--", ...templates], {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => error);

    expect(version).toMatch(/^cfn-lint \d+\./);
    expect(`${result.stdout ?? ""}${result.stderr ?? ""}`.trim()).toBe("");
  });
});
