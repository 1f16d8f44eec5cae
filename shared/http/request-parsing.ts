import {
  type FieldIssue,
  PayloadTooLargeError,
  RequestValidationError,
  UnsupportedMediaTypeError,
} from "../domain/errors.ts";
import type * as z from "../domain/zod.ts";
import type { HttpRequest } from "./http-handler.ts";

/** Renders a zod issue path as `body.tags.owner` / `body.queues[0].name`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === "number" ? `[${part}]` : `${out ? "." : ""}${String(part)}`;
  return out;
}

/** Converts zod issues into field issues under `prefix` (`body`, `query`, `path`). */
export function zodIssues(prefix: string, error: z.core.$ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: formatPath(prefix, [...issue.path, key]),
        message: `unknown ${prefix === "query" ? "query parameter" : "field"} '${key}': remove it`,
      }));
    }
    if (issue.code === "invalid_key") {
      // zod's own message is "Invalid key in record": the rule the key broke is in the inner issues.
      const rules = issue.issues.map((inner) => inner.message).join("; ");
      return [{ path: formatPath(prefix, issue.path), message: `this key is not allowed: ${rules}` }];
    }
    return [{ path: formatPath(prefix, issue.path), message: issue.message }];
  });
}

function parseWith<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  prefix: string,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = zodIssues(prefix, result.error);
    const first = issues[0];
    throw new RequestValidationError(
      first ? `${what} is invalid: ${first.path}: ${first.message}` : `${what} is invalid.`,
      issues,
    );
  }
  return result.data;
}

/** Validates path parameters. */
export function parsePathParams<S extends z.ZodMiniType>(request: HttpRequest, schema: S): z.output<S> {
  return parseWith(schema, request.pathParams, "path", "A path parameter");
}

/** Validates the query string. */
export function parseQuery<S extends z.ZodMiniType>(request: HttpRequest, schema: S): z.output<S> {
  return parseWith(schema, request.query, "query", "The query string");
}

/** The media type of the request body, lower-cased, without parameters. */
export function mediaType(request: HttpRequest): string | undefined {
  return request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
}

/** Rejects bodies larger than `maxBytes` before anything parses them. */
export function assertBodySize(request: HttpRequest, maxBytes: number): void {
  if (request.body !== undefined && Buffer.byteLength(request.body, "utf8") > maxBytes) {
    throw new PayloadTooLargeError(`The request body is larger than ${Math.floor(maxBytes / 1024)} KiB.`);
  }
}

/** Parses a JSON body (Content-Type application/json) and validates it. */
export function parseJsonBody<S extends z.ZodMiniType>(
  request: HttpRequest,
  schema: S,
  options: { readonly maxBytes: number },
): z.output<S> {
  assertBodySize(request, options.maxBytes);
  const type = mediaType(request);
  if (type !== "application/json" && !type?.endsWith("+json")) {
    throw new UnsupportedMediaTypeError(
      `Send the body as JSON with 'Content-Type: application/json' (got ${type ?? "no Content-Type"}).`,
      [{ path: "header.content-type", message: "must be application/json" }],
    );
  }
  if (request.body === undefined || request.body.trim() === "") {
    throw new RequestValidationError("The request body is empty; send a JSON object.", [
      { path: "body", message: "a JSON object is required" },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(request.body);
  } catch (error) {
    throw new RequestValidationError(`The request body is not valid JSON: ${(error as Error).message}`, [
      { path: "body", message: "malformed JSON" },
    ]);
  }
  const reserved = prototypeKeyPath(value);
  if (reserved !== undefined) {
    const path = formatPath("body", reserved);
    throw new RequestValidationError(
      `The request body is invalid: ${path}: '__proto__' is not a usable key.`,
      [{ path, message: "'__proto__' is not a usable key: remove it or rename it" }],
    );
  }
  return parseWith(schema, value, "body", "The request body");
}

/** A value met while walking a JSON document, with how it was reached (paths built only when needed). */
interface Visit {
  readonly value: unknown;
  readonly key?: PropertyKey;
  readonly parent?: Visit;
}

/**
 * Where the first `__proto__` key of a parsed JSON value is. JSON.parse makes it an own property, but
 * zod's records drop it without a word (and without checking its value), so the caller would see
 * their input silently changed. Walked with a stack: a deeply nested body must not overflow ours.
 */
function prototypeKeyPath(root: unknown): PropertyKey[] | undefined {
  const pending: Visit[] = [{ value: root }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    const { value } = visit;
    if (value === null || typeof value !== "object") continue;
    for (const [key, item] of Object.entries(value)) {
      const child: Visit = { value: item, key: Array.isArray(value) ? Number(key) : key, parent: visit };
      if (key === "__proto__" && !Array.isArray(value)) return pathOf(child);
      pending.push(child);
    }
  }
  return undefined;
}

function pathOf(visit: Visit): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) path.unshift(at.key);
  return path;
}
