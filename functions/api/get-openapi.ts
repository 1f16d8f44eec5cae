import { existsSync, readFileSync } from "node:fs";
import { withoutLocalOnlyPaths } from "#shared/http/deployed-contract.ts";
import { type HttpResult, httpHandler } from "#shared/http/http-handler.ts";

/**
 * Read once at init: next to the bundle on Lambda (the CDK app copies it there), at the repository root
 * when run from source.
 */
const specPath = [
  new URL("./openapi.yaml", import.meta.url),
  new URL("../../openapi.yaml", import.meta.url),
].find((url) => existsSync(url));
if (!specPath) throw new Error("openapi.yaml not found next to the handler nor at the repository root");
const text = readFileSync(specPath, "utf8");
// On Lambda, the routes API Gateway does not have (the local server's own) are no part of the contract.
const spec = process.env.AWS_LAMBDA_FUNCTION_NAME ? withoutLocalOnlyPaths(text) : text;

/** GET /openapi.yaml: the contract this deployment serves. */
export async function getOpenApi(): Promise<HttpResult> {
  return { statusCode: 200, text: spec, contentType: "application/yaml" };
}

export const handler = httpHandler(getOpenApi);
