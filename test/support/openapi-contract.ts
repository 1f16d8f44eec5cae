import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";

/**
 * A contract checker for `openapi.yaml`: given a response the API really produced, it says whether the
 * spec documents it (route, status, media type, required headers, body schema). Unit tests of handlers and
 * integration tests of the local server call it on every response they see, so the code cannot drift
 * from the contract unnoticed.
 */

/** A response as a test observed it, whatever produced it (a handler's result, an HTTP call). */
export interface ObservedResponse {
  method: string;
  /** The request path; a query string is ignored. */
  path: string;
  status: number;
  /** Header names in any case. */
  headers: Record<string, string | undefined>;
  body: string;
}

/** One operation of the spec, as routers (the local server, the CDK app) need it. */
export interface OperationInfo {
  /** Upper case, e.g. `GET`. */
  method: string;
  /** The path template, e.g. `/v1/clusters/{name}`. */
  path: string;
  operationId: string;
  /** The Lambda entry file under `functions/api/`, without extension. */
  handler: string;
}

/** The `$id` the spec is loaded under in ajv, so `$ref`s into `#/components/schemas` resolve. */
export const SPEC_ID = "urn:hpc-cluster-api:openapi";

const SPEC_URL = new URL("../../openapi.yaml", import.meta.url);
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

type Json = Record<string, unknown>;

interface IndexedOperation extends OperationInfo {
  readonly segments: readonly string[];
  readonly pointer: string;
}

interface Loaded {
  readonly spec: Json;
  readonly ajv: Ajv2020;
  readonly operations: readonly IndexedOperation[];
  readonly validators: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Escapes one JSON-pointer segment (RFC 6901). */
export function pointerSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

function unescapeSegment(segment: string): string {
  return segment.replaceAll("~1", "/").replaceAll("~0", "~");
}

function at(root: unknown, pointer: string): unknown {
  if (pointer === "" || pointer === "#") return root;
  const parts = pointer.replace(/^#?\//, "").split("/").map(unescapeSegment);
  let node: unknown = root;
  for (const part of parts) {
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Json)[part];
  }
  return node;
}

/**
 * Follows local `$ref`s (`#/components/...`) until a node without one, returning it with its pointer, so
 * a schema inside it can be handed to ajv by pointer.
 */
export function deref(node: unknown, pointer: string): { node: unknown; pointer: string } {
  const spec = load().spec;
  let current = node;
  let where = pointer;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string"; hops++) {
    if (hops > 20) throw new Error(`$ref loop at ${where}`);
    const ref = current.$ref;
    if (!ref.startsWith("#/")) throw new Error(`only local $refs are supported, got ${ref} at ${where}`);
    where = ref.slice(1);
    current = at(spec, where);
    if (current === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return { node: current, pointer: where };
}

function load(): Loaded {
  if (loaded) return loaded;
  const spec = parse(readFileSync(SPEC_URL, "utf8")) as unknown;
  if (!isObject(spec) || !isObject(spec.paths)) throw new Error("openapi.yaml has no paths");

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
  const addFormats = addFormatsModule.default ?? addFormatsModule;
  addFormats(ajv);
  // OpenAPI's own formats are annotations here: accept any value rather than warn about them.
  for (const format of ["int32", "int64", "float", "double", "byte", "binary", "password"]) {
    ajv.addFormat(format, true);
  }
  // The whole document is one schema resource: every validator is a `$ref` into it by JSON pointer.
  ajv.addSchema({ ...spec, $id: SPEC_ID });

  const operations: IndexedOperation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    if (!isObject(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId ?? ""),
        handler: String(op["x-handler"] ?? ""),
        segments: path.split("/").slice(1),
        pointer: `/paths/${pointerSegment(path)}/${method}`,
      });
    }
  }
  loaded = { spec, ajv, operations, validators: new Map() };
  return loaded;
}

/** The parsed `openapi.yaml` (parsed once per process). */
export function loadSpec(): unknown {
  return load().spec;
}

/** Every operation in the spec, in document order. */
export function operations(): Array<{ method: string; path: string; operationId: string; handler: string }> {
  return load().operations.map(({ method, path, operationId, handler }) => ({
    method,
    path,
    operationId,
    handler,
  }));
}

/**
 * Validates `value` against the schema at `pointer` in the spec (e.g. `/components/schemas/Cluster`).
 * Returns the problems, empty when valid. Validators are compiled once per pointer.
 */
export function validateAt(pointer: string, value: unknown): string[] {
  const { ajv, validators } = load();
  let validate = validators.get(pointer);
  if (!validate) {
    const fragment = pointer.split("/").map(encodeURIComponent).join("/");
    validate = ajv.compile({ $ref: `${SPEC_ID}#${fragment}` });
    validators.set(pointer, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath === "" ? "(root)" : e.instancePath;
    const extra = e.keyword === "additionalProperties" ? ` '${String(e.params.additionalProperty)}'` : "";
    return `${where} ${e.message ?? e.keyword}${extra}`;
  });
}

function segmentsMatch(template: readonly string[], actual: readonly string[]): boolean {
  if (template.length !== actual.length) return false;
  return template.every((t, i) =>
    t.startsWith("{") && t.endsWith("}") ? actual[i] !== "" : t === actual[i],
  );
}

/** How literal a template is: literal segments win over `{param}` ones, as OpenAPI asks. */
function literalCount(segments: readonly string[]): number {
  return segments.filter((s) => !s.startsWith("{")).length;
}

function findPathOperations(path: string): IndexedOperation[] {
  const actual = path.split("/").slice(1);
  const matching = load().operations.filter((op) => segmentsMatch(op.segments, actual));
  const best = Math.max(...matching.map((op) => literalCount(op.segments)));
  return matching.filter((op) => literalCount(op.segments) === best);
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(";")[0]?.trim().toLowerCase() || undefined;
}

function mediaMatches(declared: string, actual: string): boolean {
  const d = declared.toLowerCase();
  if (d === actual || d === "*/*") return true;
  return d.endsWith("/*") && actual.startsWith(d.slice(0, -1));
}

function isJsonMedia(media: string): boolean {
  return media === "application/json" || media.endsWith("+json");
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function snippet(body: string): string {
  return body.length > 300 ? `${body.slice(0, 300)}...` : body;
}

/**
 * Throws an `Error` naming every way `r` departs from `openapi.yaml`: an undocumented route or status, a
 * media type the response does not declare, a missing required header, a body that does not match its
 * schema, or a problem whose `status` is not the HTTP status.
 *
 * A `405` on a documented path with an undocumented method is checked against that path's `405`
 * response (every operation shares one), since that is how the API answers such requests.
 */
export function assertMatchesContract(r: ObservedResponse): void {
  const method = r.method.toUpperCase();
  const path = r.path.split(/[?#]/)[0] ?? "";
  const label = `${method} ${path} -> ${r.status}`;
  const spec = load().spec;

  const onPath = findPathOperations(path);
  let op = onPath.find((o) => o.method === method);
  if (!op && onPath.length > 0 && r.status === 405) op = onPath[0];
  if (!op) {
    throw new Error(
      onPath.length === 0
        ? `${label}: undocumented route: no path in openapi.yaml matches ${path}`
        : `${label}: undocumented route: ${path} has no ${method} operation (it has ${onPath.map((o) => o.method).join(", ")})`,
    );
  }

  const responses = at(spec, `${op.pointer}/responses`);
  if (!isObject(responses)) throw new Error(`${label}: ${op.operationId} documents no responses`);
  const key =
    String(r.status) in responses ? String(r.status) : "default" in responses ? "default" : undefined;
  if (!key) {
    throw new Error(
      `${label}: undocumented status ${r.status} for ${op.operationId} (documented: ${Object.keys(responses).join(", ")})`,
    );
  }
  const { node: response, pointer: responsePointer } = deref(
    responses[key],
    `${op.pointer}/responses/${pointerSegment(key)}`,
  );
  if (!isObject(response)) throw new Error(`${label}: response ${key} of ${op.operationId} is not an object`);

  const problems: string[] = [];
  const headers = lowerCaseKeys(r.headers);

  if (isObject(response.headers)) {
    for (const [name, header] of Object.entries(response.headers)) {
      const { node } = deref(header, `${responsePointer}/headers/${pointerSegment(name)}`);
      if (isObject(node) && node.required === true && headers[name.toLowerCase()] === undefined) {
        problems.push(`missing required header ${name}`);
      }
    }
  }

  const content = isObject(response.content) ? response.content : undefined;
  if (!content || Object.keys(content).length === 0) {
    if (r.body !== "")
      problems.push(`response ${key} declares no body, but one was sent: ${snippet(r.body)}`);
  } else {
    const media = mediaTypeOf(headers["content-type"]);
    const declared = Object.keys(content).find((d) => media !== undefined && mediaMatches(d, media));
    if (!media || !declared) {
      problems.push(
        `content-type ${media ?? "(none)"} is not one response ${key} declares (${Object.keys(content).join(", ")})`,
      );
    } else {
      let value: unknown = r.body;
      let parsed = true;
      if (isJsonMedia(media)) {
        try {
          value = JSON.parse(r.body);
        } catch {
          parsed = false;
          problems.push(`body is not JSON although the content-type is ${media}: ${snippet(r.body)}`);
        }
      }
      const mediaObject = content[declared];
      if (parsed && isObject(mediaObject) && mediaObject.schema !== undefined) {
        const schemaPointer = `${responsePointer}/content/${pointerSegment(declared)}/schema`;
        for (const issue of validateAt(schemaPointer, value)) problems.push(`body ${issue}`);
      }
      if (parsed && media === "application/problem+json" && isObject(value) && value.status !== r.status) {
        problems.push(`problem status ${String(value.status)} differs from the HTTP status ${r.status}`);
      }
    }
  }

  if (problems.length > 0) {
    throw new Error(
      `${label} does not match openapi.yaml (${op.operationId}, response ${key}):\n  - ${problems.join("\n  - ")}\nbody: ${snippet(r.body)}`,
    );
  }
}
