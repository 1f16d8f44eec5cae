import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { BUNDLE_ALIASES, BUNDLE_EXTERNALS, ESM_REQUIRE_BANNER } from "../infra/bundling.ts";
import { deployedRoutes, handlerNames, loadOpenApiRoutes } from "../infra/openapi-routes.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * The bundle options of the deployed functions (infra's house function): ESM, minified, the AWS SDK
 * external because the Lambda runtime ships it. Kept here so the benchmark measures what is deployed.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  external: BUNDLE_EXTERNALS,
  alias: Object.fromEntries(
    Object.entries(BUNDLE_ALIASES).map(([module, path]) => [module, join(ROOT, path)]),
  ),
  banner: { js: ESM_REQUIRE_BANNER },
  logLevel: "warning",
} as const;

/** Every Lambda entry point: functions/api/*.ts (the deployed routes' handlers) and functions/events/*.ts. */
export function entryPoints(): string[] {
  const deployed = new Set(handlerNames(deployedRoutes(loadOpenApiRoutes(join(ROOT, "openapi.yaml")))));
  return ["api", "events"].flatMap((dir) =>
    readdirSync(join(ROOT, "functions", dir))
      .filter((file) => file.endsWith(".ts"))
      .filter((file) => dir !== "api" || deployed.has(file.replace(/\.ts$/, "")))
      .map((file) => join(ROOT, "functions", dir, file)),
  );
}

/** Bundles each entry to `outDir/<dir>-<name>.mjs` and returns the sizes in bytes. */
export async function bundleAll(outDir: string): Promise<Record<string, { file: string; bytes: number }>> {
  const out: Record<string, { file: string; bytes: number }> = {};
  for (const entry of entryPoints()) {
    const name = entry
      .slice(join(ROOT, "functions").length + 1)
      .replace(/\.ts$/, "")
      .replace("/", "-");
    const file = join(outDir, `${name}.mjs`);
    await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile: file });
    out[name] = { file, bytes: statSync(file).size };
  }
  return out;
}
