import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type PolicyValidationPluginReport } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { createStacks, PROJECT_ROOT } from "../../infra/hpc-cluster-api.ts";
import { HouseNagChecks } from "../../infra/nag-suppressions.ts";
import type { StatefulStack } from "../../infra/stateful-stack.ts";
import type { StatelessStack } from "../../infra/stateless-stack.ts";

/** One synthesis of the whole app, as `cdk synth` does it (same context), into a temporary directory. */
export interface SynthesizedApp {
  readonly app: App;
  readonly outdir: string;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
  readonly statefulTemplate: Template;
  readonly statelessTemplate: Template;
  /** cdk-nag's AwsSolutions report after the app's acknowledgements. */
  readonly nag: PolicyValidationPluginReport;
}

/** Synthesizes the app (bundling every function with esbuild): call once per test file. */
export function synthApp(): SynthesizedApp {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), "hpc-cluster-api-infra-"));
  const app = new App({ outdir, context: cdkJson.context });
  const { stateful, stateless } = createStacks(app);
  app.synth();
  const nag = new HouseNagChecks(app).validateScope(app);
  return {
    app,
    outdir,
    stateful,
    stateless,
    statefulTemplate: Template.fromStack(stateful),
    statelessTemplate: Template.fromStack(stateless),
    nag,
  };
}
