import { describe, expect, it } from "vitest";
import { ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import * as z from "#shared/domain/zod.ts";
import {
  ClusterNameParamsSchema,
  CreateClusterBodySchema,
  CreateTriggerBodySchema,
  JobLogsQuerySchema,
  JobParamsSchema,
  ListClustersQuerySchema,
  ListEventsQuerySchema,
  ListJobsQuerySchema,
  ListTriggersQuerySchema,
  PclusterCommandQuerySchema,
  SubmitJobBodySchema,
  TriggerNameParamsSchema,
} from "#shared/http/request-schemas.ts";
import { deref, loadSpec } from "../../support/openapi-contract.ts";

/**
 * The zod schemas at the edge and `openapi.yaml` describe the same inputs twice. These tests reduce both
 * to flat "facts" (`$.name.pattern = ...`, `$.properties = [...]`) and compare them, so a field, a
 * default or an enum value added on one side only fails here with a readable diff.
 */

type Json = Record<string, unknown>;
type Facts = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The request contract: everything that decides whether an input is accepted and what it defaults to. */
const REQUEST_KEYWORDS = [
  "type",
  "enum",
  "const",
  "pattern",
  "default",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "format",
  "minItems",
  "maxItems",
  "additionalProperties",
] as const;
/** The normalized configuration: its shape (names, required-ness, types, enums). */
const SHAPE_KEYWORDS = ["type", "enum"] as const;

interface FactOptions {
  readonly keywords: readonly string[];
  /** Compare key constraints of maps (zod writes `propertyNames: {type: string}` for every record). */
  readonly propertyNames: boolean;
  /** Follows `$ref`s (spec side only; zod output is self-contained). */
  readonly resolve: (node: unknown) => unknown;
}

function normalize(keyword: string, value: unknown): unknown {
  if (keyword === "enum" && Array.isArray(value)) return [...value].map(String).sort();
  if (keyword === "type" && Array.isArray(value)) return [...value].sort();
  return value;
}

/**
 * Keywords that restate what another keyword already says, so one side may write them and the other not:
 * zod's `int()` bounds every integer to the safe range (a bound no JSON client can exceed exactly), and
 * zod writes its own regex beside `format: date-time` where the spec names the format alone.
 */
function isImplied(schema: Json, keyword: string): boolean {
  const value = schema[keyword];
  if (keyword === "maximum") return value === Number.MAX_SAFE_INTEGER;
  if (keyword === "minimum") return value === Number.MIN_SAFE_INTEGER;
  if (keyword === "pattern") return schema.format === "date-time";
  return false;
}

function collectFacts(node: unknown, options: FactOptions, path = "$", out: Facts = {}): Facts {
  const schema = options.resolve(node);
  if (!isObject(schema)) return out;
  for (const keyword of options.keywords) {
    const value = schema[keyword];
    // A schema-valued additionalProperties is a map's values: compared by recursion below.
    if (value === undefined || (keyword === "additionalProperties" && typeof value !== "boolean")) continue;
    if (isImplied(schema, keyword)) continue;
    out[`${path}.${keyword}`] = normalize(keyword, value);
  }
  if (isObject(schema.properties)) {
    out[`${path}.properties`] = Object.keys(schema.properties).sort();
    out[`${path}.required`] = Array.isArray(schema.required) ? [...schema.required].map(String).sort() : [];
    for (const [name, child] of Object.entries(schema.properties)) {
      collectFacts(child, options, `${path}.${name}`, out);
    }
  }
  if (schema.items !== undefined) collectFacts(schema.items, options, `${path}[]`, out);
  if (isObject(schema.additionalProperties)) {
    collectFacts(schema.additionalProperties, options, `${path}{value}`, out);
  }
  if (options.propertyNames && schema.propertyNames !== undefined) {
    collectFacts(schema.propertyNames, options, `${path}{key}`, out);
  }
  return out;
}

function spec(): Json {
  const s = loadSpec();
  if (!isObject(s)) throw new Error("openapi.yaml is not a mapping");
  return s;
}

/** Follows `$ref`s and keeps their siblings (OpenAPI 3.1 allows both), so constraints on either count. */
function resolveSpec(node: unknown): unknown {
  if (!isObject(node) || typeof node.$ref !== "string") return node;
  const { $ref: _ref, ...siblings } = node;
  const target = deref(node, "(drift)").node;
  return isObject(target) ? { ...target, ...siblings } : target;
}

function zodFacts(schema: z.core.$ZodType, keywords: readonly string[], propertyNames: boolean): Facts {
  const jsonSchema = z.toJSONSchema(schema, { io: "input" });
  return collectFacts(jsonSchema, { keywords, propertyNames, resolve: (n) => n });
}

function specFacts(schema: unknown, keywords: readonly string[], propertyNames: boolean): Facts {
  return collectFacts(schema, { keywords, propertyNames, resolve: resolveSpec });
}

function operation(path: string, method: string): Json {
  const paths = spec().paths;
  const item = isObject(paths) ? paths[path] : undefined;
  const op = isObject(item) ? item[method] : undefined;
  if (!isObject(op)) throw new Error(`openapi.yaml has no ${method.toUpperCase()} ${path}`);
  return op;
}

/**
 * The parameters `in` one place (query, path), path-level and operation-level together, as one object
 * schema: each parameter a property, `required: true` ones required.
 */
function parametersAsSchema(path: string, method: string, location: "query" | "path"): Json {
  const paths = spec().paths as Json;
  const item = paths[path] as Json;
  const declared = [
    ...((item.parameters as unknown[] | undefined) ?? []),
    ...((operation(path, method).parameters as unknown[] | undefined) ?? []),
  ];
  const properties: Json = {};
  const required: string[] = [];
  for (const entry of declared) {
    const parameter = resolveSpec(entry);
    if (!isObject(parameter) || parameter.in !== location) continue;
    const name = String(parameter.name);
    properties[name] = parameter.schema;
    if (parameter.required === true) required.push(name);
  }
  return { type: "object", properties, required };
}

function requestBodySchema(path: string, method: string): unknown {
  const body = resolveSpec(operation(path, method).requestBody);
  const content = isObject(body) && isObject(body.content) ? body.content : {};
  const media = content["application/json"];
  if (!isObject(media)) throw new Error(`${method.toUpperCase()} ${path} takes no application/json body`);
  return media.schema;
}

/**
 * Query strings cannot say "no other parameter" in OpenAPI, while the zod query schemas are strict (an
 * unknown parameter is a 400, as the spec's description says): that one fact is left out for queries.
 */
function withoutRootAdditionalProperties(facts: Facts): Facts {
  const { "$.additionalProperties": _strict, ...rest } = facts;
  return rest;
}

describe("request schemas and openapi.yaml", () => {
  it("describe the createCluster body alike", () => {
    expect(specFacts(requestBodySchema("/v1/clusters", "post"), REQUEST_KEYWORDS, true)).toEqual(
      zodFacts(CreateClusterBodySchema, REQUEST_KEYWORDS, true),
    );
  });

  it("describe the listClusters query parameters alike", () => {
    expect(specFacts(parametersAsSchema("/v1/clusters", "get", "query"), REQUEST_KEYWORDS, true)).toEqual(
      withoutRootAdditionalProperties(zodFacts(ListClustersQuerySchema, REQUEST_KEYWORDS, true)),
    );
  });

  it("describe the listClusterEvents query parameters alike", () => {
    const facts = specFacts(
      parametersAsSchema("/v1/clusters/{name}/events", "get", "query"),
      REQUEST_KEYWORDS,
      true,
    );
    expect(facts).toEqual(
      withoutRootAdditionalProperties(zodFacts(ListEventsQuerySchema, REQUEST_KEYWORDS, true)),
    );
  });

  it("describe the pcluster command query parameters alike, on both command paths", () => {
    const expected = withoutRootAdditionalProperties(
      zodFacts(PclusterCommandQuerySchema, REQUEST_KEYWORDS, true),
    );
    for (const path of ["/pcluster", "/Prod/pcluster"]) {
      expect(specFacts(parametersAsSchema(path, "post", "query"), REQUEST_KEYWORDS, true), path).toEqual(
        expected,
      );
    }
  });

  it("describe the cluster name path parameter alike wherever it appears", () => {
    const expected = zodFacts(ClusterNameParamsSchema, REQUEST_KEYWORDS, true);
    for (const [path, method] of [
      ["/v1/clusters/{name}", "get"],
      ["/v1/clusters/{name}", "delete"],
      ["/v1/clusters/{name}/events", "get"],
      ["/v1/clusters/{name}/jobs", "post"],
      ["/v1/clusters/{name}/jobs", "get"],
    ] as const) {
      expect(specFacts(parametersAsSchema(path, method, "path"), REQUEST_KEYWORDS, true), path).toEqual(
        expected,
      );
    }
  });

  it("describe the submitJob body alike", () => {
    expect(specFacts(requestBodySchema("/v1/clusters/{name}/jobs", "post"), REQUEST_KEYWORDS, true)).toEqual(
      zodFacts(SubmitJobBodySchema, REQUEST_KEYWORDS, true),
    );
  });

  it("describe the listJobs query parameters alike", () => {
    const facts = specFacts(
      parametersAsSchema("/v1/clusters/{name}/jobs", "get", "query"),
      REQUEST_KEYWORDS,
      true,
    );
    expect(facts).toEqual(
      withoutRootAdditionalProperties(zodFacts(ListJobsQuerySchema, REQUEST_KEYWORDS, true)),
    );
  });

  it("describe the getJobLogs query parameters alike", () => {
    const facts = specFacts(
      parametersAsSchema("/v1/clusters/{name}/jobs/{jobId}/logs", "get", "query"),
      REQUEST_KEYWORDS,
      true,
    );
    expect(facts).toEqual(
      withoutRootAdditionalProperties(zodFacts(JobLogsQuerySchema, REQUEST_KEYWORDS, true)),
    );
  });

  it("describe the cluster name and job id path parameters alike wherever they appear", () => {
    const expected = zodFacts(JobParamsSchema, REQUEST_KEYWORDS, true);
    for (const [path, method] of [
      ["/v1/clusters/{name}/jobs/{jobId}", "get"],
      ["/v1/clusters/{name}/jobs/{jobId}", "delete"],
      ["/v1/clusters/{name}/jobs/{jobId}/logs", "get"],
    ] as const) {
      expect(
        specFacts(parametersAsSchema(path, method, "path"), REQUEST_KEYWORDS, true),
        `${method} ${path}`,
      ).toEqual(expected);
    }
  });
});

describe("trigger request schemas and openapi.yaml", () => {
  it("describe the createTrigger body alike, its job template and cluster template included", () => {
    expect(specFacts(requestBodySchema("/v1/triggers", "post"), REQUEST_KEYWORDS, true)).toEqual(
      zodFacts(CreateTriggerBodySchema, REQUEST_KEYWORDS, true),
    );
  });

  it("describe the listTriggers query parameters alike", () => {
    expect(specFacts(parametersAsSchema("/v1/triggers", "get", "query"), REQUEST_KEYWORDS, true)).toEqual(
      withoutRootAdditionalProperties(zodFacts(ListTriggersQuerySchema, REQUEST_KEYWORDS, true)),
    );
  });

  it("describe the trigger name path parameter alike wherever it appears", () => {
    const expected = zodFacts(TriggerNameParamsSchema, REQUEST_KEYWORDS, true);
    for (const method of ["get", "delete"] as const) {
      expect(
        specFacts(parametersAsSchema("/v1/triggers/{name}", method, "path"), REQUEST_KEYWORDS, true),
        method,
      ).toEqual(expected);
    }
  });
});

describe("ClusterSpecSchema and components.schemas.ClusterSpec", () => {
  const clusterSpec = (spec().components as Json).schemas as Json;

  it("have the same property names, required lists, types and enums at every depth", () => {
    expect(specFacts(clusterSpec.ClusterSpec, SHAPE_KEYWORDS, false)).toEqual(
      zodFacts(ClusterSpecSchema, SHAPE_KEYWORDS, false),
    );
  });
});

describe("the drift comparison itself", () => {
  it("notices a property added to the zod schema only", () => {
    const widened = z.extend(CreateClusterBodySchema, { priority: z.optional(z.number()) });
    expect(specFacts(requestBodySchema("/v1/clusters", "post"), REQUEST_KEYWORDS, true)).not.toEqual(
      zodFacts(widened, REQUEST_KEYWORDS, true),
    );
  });

  it("notices a nested property added to the spec only", () => {
    const edited = structuredClone(clusterSpecComponents());
    const queue = edited.QueueSpec as Json;
    (queue.properties as Json).maxJobs = { type: "integer" };
    const facts = collectFacts(edited.ClusterSpec, {
      keywords: SHAPE_KEYWORDS,
      propertyNames: false,
      resolve: (node) => resolveIn(edited, node),
    });
    expect(facts).not.toEqual(zodFacts(ClusterSpecSchema, SHAPE_KEYWORDS, false));
    expect(facts["$.queues[].properties"]).toContain("maxJobs");
  });

  it("notices a default that differs", () => {
    const changed = z.extend(CreateClusterBodySchema, {
      rollbackOnFailure: z._default(z.boolean(), false),
    });
    const diff = zodFacts(changed, REQUEST_KEYWORDS, true);
    expect(diff["$.rollbackOnFailure.default"]).toBe(false);
    expect(specFacts(requestBodySchema("/v1/clusters", "post"), REQUEST_KEYWORDS, true)).not.toEqual(diff);
  });

  it("notices an integer bound that differs, though zod's implicit safe-integer bound is none", () => {
    const spec = specFacts(
      parametersAsSchema("/v1/clusters/{name}/jobs/{jobId}/logs", "get", "query"),
      REQUEST_KEYWORDS,
      true,
    );
    const bounded = z.extend(JobLogsQuerySchema, {
      attempt: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(10))),
    });
    expect(zodFacts(bounded, REQUEST_KEYWORDS, true)["$.attempt.maximum"]).toBe(10);
    expect(spec).not.toEqual(withoutRootAdditionalProperties(zodFacts(bounded, REQUEST_KEYWORDS, true)));
  });

  it("notices a time parameter that lost its date-time format, pattern or not", () => {
    const spec = specFacts(
      parametersAsSchema("/v1/clusters/{name}/jobs", "get", "query"),
      REQUEST_KEYWORDS,
      true,
    );
    const plain = z.extend(ListJobsQuerySchema, {
      createdAfter: z.optional(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T.*Z$/))),
    });
    const facts = zodFacts(plain, REQUEST_KEYWORDS, true);
    expect(facts["$.createdAfter.pattern"]).toBeDefined();
    expect(spec).not.toEqual(withoutRootAdditionalProperties(facts));
  });
});

function clusterSpecComponents(): Json {
  return (spec().components as Json).schemas as Json;
}

/** `$ref` resolution against an edited copy of `components.schemas`. */
function resolveIn(schemas: Json, node: unknown): unknown {
  if (!isObject(node) || typeof node.$ref !== "string") return node;
  const prefix = "#/components/schemas/";
  if (!node.$ref.startsWith(prefix)) throw new Error(`unexpected $ref ${node.$ref}`);
  return schemas[node.$ref.slice(prefix.length)];
}
