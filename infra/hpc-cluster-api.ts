import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { App, Environment } from "aws-cdk-lib";
import { loadOpenApiRoutes } from "./openapi-routes.ts";
import { StatefulStack } from "./stateful-stack.ts";
import { StatelessStack } from "./stateless-stack.ts";

/** The repository root (this file is `infra/hpc-cluster-api.ts`). */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Stack names. They must not start with a cluster stack prefix (`hpc-`, `parallelcluster-`): the
 * stack-status rule and the CloudFormation grants would then cover the app's own stacks.
 */
export const STACK_NAMES = {
  stateful: "HpcClusterApi-Stateful",
  stateless: "HpcClusterApi-Stateless",
} as const;

export interface HpcClusterApiOptions {
  /** Account and region; omitted, the stacks are environment-agnostic (no lookups are made). */
  readonly env?: Environment;
  /** Defaults to the repository this file is in. */
  readonly projectRoot?: string;
}

/** Both stacks of the app, the stateless one wired to the stateful one's resources. */
export function createStacks(
  app: App,
  options: HpcClusterApiOptions = {},
): { stateful: StatefulStack; stateless: StatelessStack } {
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;
  const { version } = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as {
    version: string;
  };
  const env = options.env === undefined ? {} : { env: options.env };
  const stateful = new StatefulStack(app, STACK_NAMES.stateful, {
    ...env,
    description: "hpc-cluster-api: table, buckets and input queue (retained)",
  });
  const stateless = new StatelessStack(app, STACK_NAMES.stateless, {
    ...env,
    description: "hpc-cluster-api: functions, REST API, event rules, dashboard and alarms",
    stateful,
    projectRoot,
    routes: loadOpenApiRoutes(join(projectRoot, "openapi.yaml")),
    apiVersion: version,
  });
  return { stateful, stateless };
}
