// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text a rule is created with
import { describe, expect, it } from "vitest";
import type { JobSpec } from "#shared/domain/job.ts";
import type { TriggerFailure, TriggerRule } from "#shared/domain/trigger.ts";
import { triggerResource, triggerSummaryResource } from "#shared/http/representations.ts";
import { assertMatchesContract, loadSpec, type ObservedResponse } from "../../support/openapi-contract.ts";

/**
 * The trigger responses are built by `triggerResource` / `triggerSummaryResource`; these tests render
 * domain rules through them and hold the result against `openapi.yaml`, as the job contract tests do.
 */

type Json = Record<string, unknown>;

const failure = {
  at: "2025-01-15T09:12:44.120Z",
  bucket: "my-data-bucket",
  key: "incoming/orders.csv",
  reason: "No cluster named 'batch1' exists.",
} satisfies Required<TriggerFailure>;

/** Every field a rule's job template can hold (both `command` and `script`, which no rule has together). */
const fullTemplateSpec = {
  command: ["python3", "/opt/ingest.py", "${input.uri}"],
  script: '#!/bin/sh\necho "$HPC_INPUT_URI"\n',
  image: "public.ecr.aws/docker/library/python:3.12",
  vcpus: 0.5,
  memoryMiB: 512,
  environment: { KEY: "${input.key}" },
  arraySize: 4,
  dependsOn: [],
  retryStrategy: { attempts: 2 },
  timeoutSeconds: 600,
  nodes: 2,
  logGroup: "/hpc-cluster-api/ingest",
  inputUri: "s3://never/shown",
} satisfies Required<JobSpec>;

/** Every field of a stored rule, the ones the API never shows (`version`) included. */
const fullRule = {
  name: "csv-ingest",
  bucket: "my-data-bucket",
  prefix: "incoming/",
  suffix: ".csv",
  clusterName: "batch1",
  clusterTemplate: { configuration: "HeadNode:\n  InstanceType: t3.micro\n" },
  job: { name: "ingest-${input.key}", spec: fullTemplateSpec },
  mode: "per-batch",
  whenDone: "delete",
  createdAt: "2025-01-15T09:05:00.000Z",
  createdBy: "arn:aws:iam::123456789012:user/alice",
  recentFailures: [failure],
  version: 3,
} satisfies Required<TriggerRule>;

const minimalRule: TriggerRule = {
  name: "r",
  bucket: "abc",
  clusterName: "c",
  job: { name: "j", spec: { command: ["true"], environment: {}, dependsOn: [] } },
  mode: "per-object",
  whenDone: "keep",
  createdAt: "2025-01-15T09:05:00.000Z",
  createdBy: "local",
  recentFailures: [],
  version: 1,
};

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function schema(name: string): { properties: string[]; required: string[] } {
  const spec = loadSpec();
  const schemas = isObject(spec) && isObject(spec.components) ? spec.components.schemas : undefined;
  const node = isObject(schemas) ? schemas[name] : undefined;
  if (!isObject(node) || !isObject(node.properties)) throw new Error(`no object schema ${name}`);
  return {
    properties: Object.keys(node.properties).sort(),
    required: Array.isArray(node.required) ? node.required.map(String).sort() : [],
  };
}

function keys(value: object): string[] {
  return Object.keys(value).sort();
}

function json(
  method: string,
  path: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): ObservedResponse {
  return {
    method,
    path,
    status,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? "" : JSON.stringify(body),
  };
}

describe("the trigger schemas mirror the representation functions", () => {
  it("declare every field triggerResource writes and require exactly the ones it always writes", () => {
    expect(schema("Trigger").properties).toEqual(keys(triggerResource(fullRule, [])));
    expect(schema("Trigger").required).toEqual(keys(triggerResource(minimalRule)));
  });

  it("declare every field triggerSummaryResource writes and require exactly the ones it always writes", () => {
    expect(schema("TriggerSummary").properties).toEqual(keys(triggerSummaryResource(fullRule)));
    expect(schema("TriggerSummary").required).toEqual(keys(triggerSummaryResource(minimalRule)));
  });

  it("show a rule's job template in the submission's fields, never its dependencies or input URI", () => {
    const { dependsOn: _none, inputUri: _fromTheEvent, ...shown } = fullTemplateSpec;
    expect(schema("TriggerJobTemplate").properties).toEqual(keys({ name: "", ...shown }));
    expect(triggerResource(fullRule).job).not.toHaveProperty("dependsOn");
    expect(triggerResource(fullRule).job).not.toHaveProperty("inputUri");
  });

  it("accept a rule rendered with every optional field, and one rendered with none", () => {
    for (const rule of [fullRule, minimalRule]) {
      const path = `/v1/triggers/${rule.name}`;
      expect(() => assertMatchesContract(json("GET", path, 200, triggerResource(rule)))).not.toThrow();
    }
  });

  it("accept a page of rendered rule summaries from listTriggers", () => {
    const page = { items: [triggerSummaryResource(fullRule), triggerSummaryResource(minimalRule)] };
    expect(() => assertMatchesContract(json("GET", "/v1/triggers", 200, page))).not.toThrow();
  });
});

describe("the trigger operations in openapi.yaml", () => {
  it("require the Location header on a 201 from createTrigger", () => {
    const body = triggerResource(minimalRule, []);
    expect(() => assertMatchesContract(json("POST", "/v1/triggers", 201, body))).toThrow(
      /missing required header Location/,
    );
    expect(() =>
      assertMatchesContract(json("POST", "/v1/triggers", 201, body, { Location: body.links.self })),
    ).not.toThrow();
  });

  it("answer a delete with 204 and no body", () => {
    expect(() => assertMatchesContract(json("DELETE", "/v1/triggers/r", 204, undefined))).not.toThrow();
    expect(() => assertMatchesContract(json("DELETE", "/v1/triggers/r", 204, { deleted: true }))).toThrow(
      /declares no body/,
    );
  });

  it("reject a mode the contract does not list", () => {
    const body = { ...triggerResource(minimalRule), mode: "per-prefix" };
    expect(() => assertMatchesContract(json("GET", "/v1/triggers/r", 200, body))).toThrow(
      /\/mode must be equal to one of the allowed values/,
    );
  });

  it("accept the trigger problems where they can happen", () => {
    for (const [method, path, type, status] of [
      ["GET", "/v1/triggers/r", "trigger-not-found", 404],
      ["DELETE", "/v1/triggers/r", "trigger-not-found", 404],
      ["POST", "/v1/triggers", "trigger-exists", 409],
      ["POST", "/v1/triggers", "config-invalid", 422],
      ["POST", "/v1/triggers", "request-invalid", 400],
    ] as const) {
      const problem = {
        type: `urn:hpc-cluster-api:problem:${type}`,
        title: "A title",
        status,
        detail: "Why.",
      };
      const r = json(method, path, status, problem, { "Content-Type": "application/problem+json" });
      expect(() => assertMatchesContract(r), `${method} ${path} ${type}`).not.toThrow();
    }
  });
});
