import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { withoutLocalOnlyPaths } from "#shared/http/deployed-contract.ts";

const spec = readFileSync(new URL("../../../openapi.yaml", import.meta.url), "utf8");

type Doc = { paths: Record<string, Record<string, { "x-local-only"?: boolean }>> } & Record<string, unknown>;

describe("the deployed contract", () => {
  it("leaves out exactly the local-only paths and keeps everything else as written", () => {
    const full = parse(spec) as Doc;
    const deployed = parse(withoutLocalOnlyPaths(spec)) as Doc;

    const localOnly = Object.keys(full.paths).filter((path) =>
      Object.values(full.paths[path] ?? {}).some((operation) => operation?.["x-local-only"] === true),
    );
    expect(localOnly).toContain("/local/s3-events");
    expect(Object.keys(deployed.paths)).toEqual(
      Object.keys(full.paths).filter((p) => !localOnly.includes(p)),
    );
    for (const path of Object.keys(deployed.paths)) expect(deployed.paths[path]).toEqual(full.paths[path]);
    expect(deployed.components).toEqual(full.components);
    expect(deployed.info).toEqual(full.info);
  });

  it("handles a local-only path at the end of the paths and one that is not", () => {
    const text = [
      "openapi: 3.1.0",
      "paths:",
      "  /a:",
      "    get:",
      "      x-handler: a",
      "  /local/b:",
      "    post:",
      "      x-local-only: true",
      "",
      "  /c:",
      "    get:",
      "      description: |",
      "        Not like /local/b, which has",
      "        x-local-only: true",
      "  /local/d:",
      "    post:",
      "      x-local-only: true",
      "components: {}",
    ].join("\n");

    expect(Object.keys((parse(withoutLocalOnlyPaths(text)) as Doc).paths)).toEqual(["/a", "/c"]);
  });
});

describe("GET /openapi.yaml", () => {
  it("serves the contract without local-only paths on Lambda", async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "hpc-get-openapi";
    try {
      const { getOpenApi } = await import("#functions/api/get-openapi.ts");
      const served = await getOpenApi();
      expect(served.text).not.toContain("/local/s3-events");
      expect(served.text).toContain("/v1/triggers");
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    }
  });
});
