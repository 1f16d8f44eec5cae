import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deref, loadSpec, operations, pointerSegment, validateAt } from "../../support/openapi-contract.ts";

type Json = Record<string, unknown>;

const FUNCTIONS_API = new URL("../../../functions/api/", import.meta.url);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function spec(): Json {
  const s = loadSpec();
  if (!isObject(s)) throw new Error("openapi.yaml is not a mapping");
  return s;
}

function operationAt(path: string, method: string): Json {
  const paths = spec().paths;
  const item = isObject(paths) ? paths[path] : undefined;
  const op = isObject(item) ? item[method.toLowerCase()] : undefined;
  if (!isObject(op)) throw new Error(`no ${method} ${path}`);
  return op;
}

interface ExampleCase {
  /** Where the example is, for the failure message. */
  readonly where: string;
  /** The JSON pointer of the schema it must satisfy. */
  readonly schemaPointer: string;
  readonly value: unknown;
}

/** Keys whose values are example payloads, not parts of the description: never walked into. */
const PAYLOAD_KEYS = new Set(["example", "examples", "value", "default", "const", "enum"]);

/** Subschema positions of JSON Schema 2020-12 that hold one schema or a map/array of schemas. */
const SCHEMA_CHILDREN = ["items", "additionalProperties", "propertyNames", "not", "if", "then", "else"];
const SCHEMA_MAPS = ["properties", "patternProperties", "dependentSchemas", "$defs"];
const SCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"];

/** Examples on schemas (`examples: [...]`), at every depth of a schema. */
function collectSchemaExamples(schema: unknown, pointer: string, out: ExampleCase[]): void {
  if (!isObject(schema)) return;
  if (Array.isArray(schema.examples)) {
    schema.examples.forEach((value, i) => {
      out.push({ where: `${pointer}/examples/${i}`, schemaPointer: pointer, value });
    });
  }
  for (const key of SCHEMA_CHILDREN) collectSchemaExamples(schema[key], `${pointer}/${key}`, out);
  for (const key of SCHEMA_MAPS) {
    const map = schema[key];
    if (!isObject(map)) continue;
    for (const [name, child] of Object.entries(map)) {
      collectSchemaExamples(child, `${pointer}/${key}/${pointerSegment(name)}`, out);
    }
  }
  for (const key of SCHEMA_LISTS) {
    const list = schema[key];
    if (!Array.isArray(list)) continue;
    for (const [i, child] of list.entries()) collectSchemaExamples(child, `${pointer}/${key}/${i}`, out);
  }
}

/**
 * Examples beside a `schema` (media types, parameters, headers), anywhere in the document, with
 * `examples` entries resolved through `#/components/examples`.
 */
function collectObjectExamples(node: unknown, pointer: string, out: ExampleCase[]): void {
  if (Array.isArray(node)) {
    for (const [i, child] of node.entries()) collectObjectExamples(child, `${pointer}/${i}`, out);
    return;
  }
  if (!isObject(node)) return;
  if (node.schema !== undefined) {
    const schemaPointer = `${pointer}/schema`;
    if ("example" in node) out.push({ where: `${pointer}/example`, schemaPointer, value: node.example });
    if (isObject(node.examples)) {
      for (const [name, entry] of Object.entries(node.examples)) {
        const where = `${pointer}/examples/${pointerSegment(name)}`;
        const { node: example, pointer: resolvedAt } = deref(entry, where);
        if (!isObject(example) || !("value" in example))
          throw new Error(`example without a value at ${resolvedAt}`);
        out.push({
          where: resolvedAt === where ? where : `${where} (${resolvedAt})`,
          schemaPointer,
          value: example.value,
        });
      }
    }
  }
  for (const [key, child] of Object.entries(node)) {
    if (PAYLOAD_KEYS.has(key) || key === "schema" || key === "schemas") continue;
    collectObjectExamples(child, `${pointer}/${pointerSegment(key)}`, out);
  }
}

function allExamples(): ExampleCase[] {
  const out: ExampleCase[] = [];
  const root = spec();
  collectObjectExamples(root.paths, "/paths", out);
  const components = isObject(root.components) ? root.components : {};
  for (const section of ["responses", "parameters", "requestBodies", "headers"]) {
    collectObjectExamples(components[section], `/components/${section}`, out);
  }
  const schemas = isObject(components.schemas) ? components.schemas : {};
  for (const [name, schema] of Object.entries(schemas)) {
    collectSchemaExamples(schema, `/components/schemas/${pointerSegment(name)}`, out);
  }
  return out;
}

function responsesOf(op: Json): Array<[string, Json, string]> {
  const responses = isObject(op.responses) ? op.responses : {};
  return Object.entries(responses).map(([status, response]) => {
    const { node, pointer } = deref(response, `(inline ${status})`);
    if (!isObject(node)) throw new Error(`response ${status} is not an object`);
    return [status, node, pointer];
  });
}

describe("openapi.yaml operations", () => {
  const ops = operations();

  it("lists the API's operations", () => {
    expect(ops.map((o) => o.operationId).sort()).toEqual(
      [
        "cancelJob",
        "createCluster",
        "createTrigger",
        "deleteCluster",
        "deleteTrigger",
        "getCluster",
        "getHealth",
        "getJob",
        "getJobLogs",
        "getOpenApi",
        "getTrigger",
        "injectS3Events",
        "listClusterEvents",
        "listClusters",
        "listJobs",
        "listTriggers",
        "pclusterCommand",
        "pclusterCommandProd",
        "submitJob",
      ].sort(),
    );
  });

  it("gives every operation a unique operationId", () => {
    const ids = ops.map((o) => o.operationId);
    expect(ids.every((id) => id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("names a kebab-case x-handler for every operation", () => {
    for (const op of ops) {
      expect(op.handler, `${op.method} ${op.path}`).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    }
  });

  it("names, in every x-handler, a Lambda entry file that exists under functions/api/", () => {
    const missing = [...new Set(ops.map((o) => o.handler))].filter(
      (handler) => !existsSync(new URL(`${handler}.ts`, FUNCTIONS_API)),
    );
    expect(missing, "x-handler values without a functions/api/<x-handler>.ts file").toEqual([]);
  });

  it("serves both pcluster command paths from the same handler with the same contract", () => {
    const plain = operationAt("/pcluster", "post");
    const prod = operationAt("/Prod/pcluster", "post");
    const { operationId: _a, summary: _b, ...plainRest } = plain;
    const { operationId: _c, summary: _d, ...prodRest } = prod;
    expect(prodRest).toEqual(plainRest);
  });

  it("documents 401, 404 and 405 on every operation through the shared components", () => {
    for (const op of ops) {
      const responses = operationAt(op.path, op.method).responses as Json;
      expect(responses["401"], op.operationId).toEqual({ $ref: "#/components/responses/Unauthorized" });
      expect(responses["404"], op.operationId).toEqual({ $ref: "#/components/responses/NotFound" });
      expect(responses["405"], op.operationId).toEqual({ $ref: "#/components/responses/MethodNotAllowed" });
    }
  });

  it("answers every 4xx and 5xx of the API itself with an RFC 9457 problem", () => {
    for (const op of ops) {
      for (const [status, response] of responsesOf(operationAt(op.path, op.method))) {
        // 403 comes from API Gateway's IAM check, before any of our code runs.
        if (!/^[45]/.test(status) || status === "403") continue;
        const content = response.content as Json;
        expect(Object.keys(content), `${op.operationId} ${status}`).toEqual(["application/problem+json"]);
        expect((content["application/problem+json"] as Json).schema, `${op.operationId} ${status}`).toEqual({
          $ref: "#/components/schemas/Problem",
        });
      }
    }
  });

  it("gives every 2xx response an example for each media type it declares", () => {
    for (const op of ops) {
      for (const [status, response] of responsesOf(operationAt(op.path, op.method))) {
        if (!status.startsWith("2")) continue;
        // A 204 declares no media type, so it has nothing to give an example of.
        const content = (response.content as Json | undefined) ?? {};
        for (const [media, mediaObject] of Object.entries(content)) {
          const m = mediaObject as Json;
          const count =
            (m.example === undefined ? 0 : 1) + Object.keys((m.examples as Json | undefined) ?? {}).length;
          expect(count, `${op.operationId} ${status} ${media}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it("documents an example for every problem type it lists", () => {
    const problem = (spec().components as Json).schemas as Json;
    const types = (((problem.Problem as Json).properties as Json).type as Json).enum as string[];
    const exampleTypes = new Set(
      Object.values((spec().components as Json).examples as Json)
        .map((e) => ((e as Json).value as Json).type)
        .filter((t) => typeof t === "string"),
    );
    expect(types.filter((t) => !exampleTypes.has(t))).toEqual([]);
  });
});

describe("openapi.yaml examples", () => {
  const examples = allExamples();

  it("finds the examples of the requests, the responses, the parameters and the schemas", () => {
    const where = examples.map((e) => e.where);
    expect(where.some((w) => w.startsWith("/paths/") && w.includes("/requestBody/"))).toBe(true);
    expect(where.some((w) => w.startsWith("/paths/") && w.includes("/responses/"))).toBe(true);
    expect(where.some((w) => w.startsWith("/components/parameters/"))).toBe(true);
    expect(where.some((w) => w.startsWith("/components/schemas/"))).toBe(true);
    expect(where.some((w) => w.includes("/headers/"))).toBe(true);
  });

  it("validates every example against its schema", () => {
    const failures = examples.flatMap((e) =>
      validateAt(e.schemaPointer, e.value).map((issue) => `${e.where}: ${issue}`),
    );
    expect(failures).toEqual([]);
  });

  it("gives each problem example the status of the response it documents", () => {
    const mismatched: string[] = [];
    for (const op of operations()) {
      for (const [status, response] of responsesOf(operationAt(op.path, op.method))) {
        const media = (response.content as Json | undefined)?.["application/problem+json"];
        const entries = isObject(media) && isObject(media.examples) ? Object.entries(media.examples) : [];
        for (const [name, entry] of entries) {
          const { node } = deref(entry, name);
          const value = isObject(node) ? node.value : undefined;
          if (!isObject(value) || String(value.status) !== status) {
            mismatched.push(`${op.operationId} ${status} ${name}`);
          }
        }
      }
    }
    expect(mismatched).toEqual([]);
  });
});
