import { readFileSync } from "node:fs";
import { parse } from "yaml";

/**
 * The API's routes, read from `openapi.yaml`: the one place paths, methods and handlers are declared.
 * The CDK app deploys exactly these (and the local server routes by the same file), so a route cannot
 * exist in one and not the other.
 */

/** HTTP methods an OpenAPI path item can hold. */
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/** A request parameter API Gateway can check for presence before the handler runs. */
export interface RouteParameter {
  readonly name: string;
  readonly in: "path" | "query" | "header";
  readonly required: boolean;
}

/** One operation of the spec. */
export interface OpenApiRoute {
  /** The path as written in the spec, e.g. `/v1/clusters/{name}`. */
  readonly path: string;
  /** Upper case, as API Gateway writes it. */
  readonly method: string;
  readonly operationId: string;
  /** `x-handler`: the entry file is `functions/api/<handler>.ts`. */
  readonly handler: string;
  readonly parameters: readonly RouteParameter[];
  /**
   * The `application/json` request body schema with every `$ref` inlined, when the operation has one.
   * Still OpenAPI 3.1 (JSON Schema 2020-12): see {@link toGatewayModelSchema} for what API Gateway can use.
   */
  readonly jsonBodySchema?: JsonObject;
  readonly jsonBodyRequired: boolean;
  /** `x-local-only: true`: served by the local server only, never deployed (e.g. `POST /local/s3-events`). */
  readonly localOnly: boolean;
}

/** A JSON object as the YAML parser returns it. */
export type JsonObject = { readonly [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows one local `$ref` (`#/components/...`); other objects come back as they are. */
function deref(doc: JsonObject, value: unknown): unknown {
  let current = value;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string"; hops++) {
    const ref: string = current.$ref;
    if (hops > 32 || !ref.startsWith("#/")) throw new Error(`openapi.yaml: cannot follow $ref ${ref}`);
    let target: unknown = doc;
    for (const part of ref.slice(2).split("/")) {
      const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) throw new Error(`openapi.yaml: $ref ${ref} points nowhere`);
    current = target;
  }
  return current;
}

/** Inlines every local `$ref` of a schema, recursively. The spec's request schemas are not recursive. */
function inline(doc: JsonObject, value: unknown, depth = 0): unknown {
  if (depth > 64) throw new Error("openapi.yaml: schema nests too deeply (a recursive $ref?)");
  const resolved = deref(doc, value);
  if (Array.isArray(resolved)) return resolved.map((item) => inline(doc, item, depth + 1));
  if (!isObject(resolved)) return resolved;
  return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, inline(doc, v, depth + 1)]));
}

function toParameter(doc: JsonObject, raw: unknown, where: string): RouteParameter | undefined {
  const parameter = deref(doc, raw);
  if (!isObject(parameter) || typeof parameter.name !== "string") {
    throw new Error(`openapi.yaml: ${where} has a parameter without a name`);
  }
  const location = parameter.in;
  if (location !== "path" && location !== "query" && location !== "header") return undefined;
  return { name: parameter.name, in: location, required: parameter.required === true };
}

/** Operation-level parameters override path-level ones with the same name and location. */
function mergeParameters(
  doc: JsonObject,
  pathLevel: unknown,
  operationLevel: unknown,
  where: string,
): RouteParameter[] {
  const merged = new Map<string, RouteParameter>();
  for (const list of [pathLevel, operationLevel]) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new Error(`openapi.yaml: ${where} parameters is not a list`);
    for (const raw of list) {
      const parameter = toParameter(doc, raw, where);
      if (parameter !== undefined) merged.set(`${parameter.in}:${parameter.name}`, parameter);
    }
  }
  return [...merged.values()];
}

/** Parses an OpenAPI document's text into its routes. Throws on an operation without `x-handler`. */
export function parseOpenApiRoutes(text: string): OpenApiRoute[] {
  const doc: unknown = parse(text);
  if (!isObject(doc) || !isObject(doc.paths)) throw new Error("openapi.yaml: no paths");
  const routes: OpenApiRoute[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths)) {
    const item = deref(doc, rawItem);
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const handler = operation["x-handler"];
      const operationId = operation.operationId;
      if (typeof handler !== "string" || !/^[a-z][a-z0-9-]*$/.test(handler)) {
        throw new Error(`openapi.yaml: ${where} needs an x-handler naming functions/api/<x-handler>.ts`);
      }
      if (typeof operationId !== "string") throw new Error(`openapi.yaml: ${where} needs an operationId`);
      const body = deref(doc, operation.requestBody);
      const content = isObject(body) && isObject(body.content) ? body.content : undefined;
      const json = content !== undefined ? deref(doc, content["application/json"]) : undefined;
      const schema = isObject(json) && json.schema !== undefined ? inline(doc, json.schema) : undefined;
      routes.push({
        path,
        method: method.toUpperCase(),
        operationId,
        handler,
        parameters: mergeParameters(doc, item.parameters, operation.parameters, where),
        ...(isObject(schema) ? { jsonBodySchema: schema } : {}),
        jsonBodyRequired: isObject(body) && body.required === true,
        localOnly: operation["x-local-only"] === true,
      });
    }
  }
  return routes;
}

/** Reads and parses the spec file. */
export function loadOpenApiRoutes(specPath: string): OpenApiRoute[] {
  return parseOpenApiRoutes(readFileSync(specPath, "utf8"));
}

/** The routes API Gateway serves: every route but the local server's own (`x-local-only`). */
export function deployedRoutes(routes: readonly OpenApiRoute[]): OpenApiRoute[] {
  return routes.filter((route) => !route.localOnly);
}

/** The handler names the spec uses, each once, in order of first use. */
export function handlerNames(routes: readonly OpenApiRoute[]): string[] {
  return [...new Set(routes.map((route) => route.handler))];
}

/**
 * Keywords kept when a request schema becomes an API Gateway model (JSON Schema draft 4). Everything
 * else is dropped: `pattern` (API Gateway's regex dialect is not ECMAScript's, and the spec uses `\p{L}`),
 * `format`, `propertyNames` and the 2020-12 keywords draft 4 lacks. Dropping a keyword only ever makes
 * the model accept more, so API Gateway rejects a subset of what the handler's zod schema rejects: it
 * turns away malformed envelopes early and the handler stays the judge of everything else.
 */
const MODEL_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
]);

/** The conservative draft-4 subset of an inlined request schema (see {@link MODEL_KEYWORDS}). */
export function toGatewayModelSchema(schema: JsonObject): JsonObject {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!MODEL_KEYWORDS.has(key)) continue;
    if (key === "properties" && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, isObject(sub) ? toGatewayModelSchema(sub) : {}]),
      );
    } else if ((key === "items" || key === "additionalProperties") && isObject(value)) {
      out[key] = toGatewayModelSchema(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}
