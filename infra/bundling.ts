/**
 * How every function is bundled, in one place with no CDK import, so the house function (what is
 * deployed) and `npm run bench` (what is measured) cannot disagree.
 */

/** The Lambda runtime ships the AWS SDK v3 (and its @smithy dependencies): never bundle them. */
export const BUNDLE_EXTERNALS = ["@aws-sdk/*", "@smithy/*"];

/** Lets a CommonJS dependency call `require` inside the ESM bundle. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __houseCreateRequire } from 'node:module'; const require = __houseCreateRequire(import.meta.url);";

/**
 * Module aliases, as paths relative to the project root. yaml's ESM build lets esbuild drop what the
 * parser never calls; its CommonJS build (what Node resolves) cannot be tree-shaken.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  yaml: "node_modules/yaml/browser/index.js",
};
