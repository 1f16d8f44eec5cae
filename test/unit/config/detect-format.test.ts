import { describe, expect, it } from "vitest";
import { detectConfigFormat } from "#shared/domain/config/index.ts";
import { fixture, fixtureNames } from "./config-fixtures.ts";

describe("detectConfigFormat", () => {
  it.each(fixtureNames("seed-"))("reads the blog-post config %s as ParallelCluster 2 INI", (name) => {
    expect(detectConfigFormat(fixture(name))).toBe("pcluster2-ini");
  });

  it.each(fixtureNames("pcluster2-"))("reads %s as ParallelCluster 2 INI", (name) => {
    expect(detectConfigFormat(fixture(name))).toBe("pcluster2-ini");
  });

  it.each(fixtureNames("pcluster3-").filter((name) => name.endsWith(".yaml")))(
    "reads %s as ParallelCluster 3 YAML",
    (name) => {
      expect(detectConfigFormat(fixture(name))).toBe("pcluster3-yaml");
    },
  );

  it("reads a document starting with a brace as JSON, after whitespace and a BOM", () => {
    expect(detectConfigFormat('\uFEFF  \n {"scheduler": "slurm"}')).toBe("json");
  });

  it("does not take a YAML value containing '=' for an INI setting", () => {
    const yaml = [
      "Region: us-east-1",
      "CustomActions:",
      "  OnNodeStart:",
      "    Script: https://example.com/setup.sh?mode=fast&retry=3",
    ].join("\n");
    expect(detectConfigFormat(yaml)).toBe("pcluster3-yaml");
  });

  it("does not take an INI value containing ':' for a YAML mapping", () => {
    const ini = [
      "[vpc public]",
      "import_path = s3://bucket/data",
      "ssh = ssh {CFN_USER}@{MASTER_IP} {ARGS}",
    ].join("\n");
    expect(detectConfigFormat(ini)).toBe("pcluster2-ini");
    expect(detectConfigFormat("my_setting = s3://bucket/data\nother_setting = 1\n")).toBe("pcluster2-ini");
  });

  it("falls back to YAML for text that is neither, so the YAML parser can say what is wrong", () => {
    expect(detectConfigFormat("just some words")).toBe("pcluster3-yaml");
    expect(detectConfigFormat("- a\n- b\n")).toBe("pcluster3-yaml");
  });
});
