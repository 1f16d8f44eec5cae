import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  type DomainError,
  PayloadTooLargeError,
  RequestValidationError,
  UnsupportedMediaTypeError,
} from "#shared/domain/errors.ts";
import type { HttpRequest } from "#shared/http/http-handler.ts";
import { toProblem } from "#shared/http/problem.ts";
import { formatPath, parseJsonBody, parsePathParams, parseQuery } from "#shared/http/request-parsing.ts";
import { ClusterNameParamsSchema, ListClustersQuerySchema } from "#shared/http/request-schemas.ts";

function request(overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: "POST",
    path: "/v1/clusters",
    headers: { "content-type": "application/json" },
    query: {},
    pathParams: {},
    body: "{}",
    requestId: "req-1",
    principal: "alice",
    ...overrides,
  };
}

function thrownBy(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error("expected the call to throw");
}

const BodySchema = z.strictObject({
  name: z.string().min(1),
  queues: z
    .array(
      z.strictObject({
        name: z.string(),
        computeResources: z.array(z.strictObject({ maxCount: z.number() })),
      }),
    )
    .default([]),
  tags: z.record(z.string(), z.string()).default({}),
});

const options = { maxBytes: 1024 };

describe("parseJsonBody", () => {
  it("returns the parsed body with the schema's defaults", () => {
    const body = parseJsonBody(request({ body: '{"name":"alpha"}' }), BodySchema, options);

    expect(body).toEqual({ name: "alpha", queues: [], tags: {} });
  });

  it.each([
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/merge-patch+json",
  ])("accepts the content type %s", (contentType) => {
    const body = parseJsonBody(
      request({ headers: { "content-type": contentType }, body: '{"name":"a"}' }),
      BodySchema,
      options,
    );

    expect(body.name).toBe("a");
  });

  it.each([["text/plain"], ["application/x-www-form-urlencoded"], ["application/jsonp"], [undefined]])(
    "refuses the content type %s with a 415",
    (contentType) => {
      const headers: Record<string, string> =
        contentType === undefined ? {} : { "content-type": contentType };

      const error = thrownBy(() =>
        parseJsonBody(request({ headers, body: '{"name":"a"}' }), BodySchema, options),
      );

      expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
      expect(toProblem(error, {}).problem.status).toBe(415);
      expect(error.issues).toEqual([{ path: "header.content-type", message: "must be application/json" }]);
    },
  );

  it.each(["{", '{"name": "a",}', "name=alpha", "'single'"])(
    "refuses the malformed JSON %j with a 400 at body",
    (text) => {
      const error = thrownBy(() => parseJsonBody(request({ body: text }), BodySchema, options));

      expect(error).toBeInstanceOf(RequestValidationError);
      expect(toProblem(error, {}).problem.status).toBe(400);
      expect(error.issues).toEqual([{ path: "body", message: "malformed JSON" }]);
    },
  );

  it.each([undefined, "", "   "])("refuses the empty body %j with a 400 at body", (body) => {
    const error = thrownBy(() => parseJsonBody(request({ body }), BodySchema, options));

    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error.issues.map((issue) => issue.path)).toEqual(["body"]);
  });

  it("refuses a body over the size limit with a 413, counting bytes rather than characters", () => {
    const text = JSON.stringify({ name: "\u00e9".repeat(600) }); // 600 characters, 1200 bytes

    const error = thrownBy(() => parseJsonBody(request({ body: text }), BodySchema, options));

    expect(text.length).toBeLessThan(options.maxBytes);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(toProblem(error, {}).problem.status).toBe(413);
  });

  it("accepts a body of exactly the size limit", () => {
    const text = JSON.stringify({ name: "" }).replace('""', `"${"a".repeat(options.maxBytes - 11)}"`);

    expect(Buffer.byteLength(text)).toBe(options.maxBytes);
    expect(parseJsonBody(request({ body: text }), BodySchema, options).name).toHaveLength(
      options.maxBytes - 11,
    );
  });

  it("checks the size before the content type, so an oversized body is never looked at", () => {
    const error = thrownBy(() =>
      parseJsonBody(request({ headers: {}, body: "x".repeat(options.maxBytes + 1) }), BodySchema, options),
    );

    expect(error).toBeInstanceOf(PayloadTooLargeError);
  });

  it("maps schema issues to paths like body.queues[0].computeResources[1].maxCount", () => {
    const body = JSON.stringify({
      name: "",
      queues: [{ name: "q", computeResources: [{ maxCount: 1 }, { maxCount: "many" }] }],
    });

    const error = thrownBy(() => parseJsonBody(request({ body }), BodySchema, options));

    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(
      ["body.name", "body.queues[0].computeResources[1].maxCount"].sort(),
    );
    expect(error.message).toMatch(/^The request body is invalid: body\./);
  });

  it("names unknown keys, nested ones included, and says to remove them", () => {
    const body = JSON.stringify({
      name: "a",
      colour: "red",
      queues: [{ name: "q", computeResources: [], bogus: 1 }],
    });

    const error = thrownBy(() => parseJsonBody(request({ body }), BodySchema, options));

    expect(error.issues).toEqual(
      expect.arrayContaining([
        { path: "body.colour", message: "unknown field 'colour': remove it" },
        { path: "body.queues[0].bogus", message: "unknown field 'bogus': remove it" },
      ]),
    );
    expect(error.issues).toHaveLength(2);
  });

  it("says where a record value is wrong by its key", () => {
    const error = thrownBy(() =>
      parseJsonBody(
        request({ body: JSON.stringify({ name: "a", tags: { owner: 7 } }) }),
        BodySchema,
        options,
      ),
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["body.tags.owner"]);
  });

  it("refuses a JSON value that is not an object at body", () => {
    const error = thrownBy(() => parseJsonBody(request({ body: "[1,2]" }), BodySchema, options));

    expect(error.issues.map((issue) => issue.path)).toEqual(["body"]);
  });
});

describe("parseQuery", () => {
  it("returns the typed query with defaults", () => {
    expect(parseQuery(request({ query: { limit: "10" } }), ListClustersQuerySchema)).toEqual({ limit: 10 });
    expect(parseQuery(request({ query: {} }), ListClustersQuerySchema)).toEqual({ limit: 50 });
  });

  it("names an unknown query parameter as query.<name>", () => {
    const error = thrownBy(() => parseQuery(request({ query: { limt: "10" } }), ListClustersQuerySchema));

    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error.issues).toEqual([
      { path: "query.limt", message: "unknown query parameter 'limt': remove it" },
    ]);
    expect(error.message).toContain("query.limt");
  });

  it("names a bad value by its parameter", () => {
    const error = thrownBy(() =>
      parseQuery(request({ query: { limit: "1000", status: "RUNNING" } }), ListClustersQuerySchema),
    );

    expect(error.issues.map((issue) => issue.path).sort()).toEqual(["query.limit", "query.status"]);
  });
});

describe("parsePathParams", () => {
  it("returns valid path parameters and names a bad one as path.<name>", () => {
    expect(parsePathParams(request({ pathParams: { name: "alpha" } }), ClusterNameParamsSchema)).toEqual({
      name: "alpha",
    });

    const error = thrownBy(() =>
      parsePathParams(request({ pathParams: { name: "9lives" } }), ClusterNameParamsSchema),
    );

    expect(error.issues.map((issue) => issue.path)).toEqual(["path.name"]);
  });
});

describe("formatPath", () => {
  it.each([
    ["body", [], "body"],
    ["body", ["name"], "body.name"],
    ["body", ["tags", "owner"], "body.tags.owner"],
    ["body", ["queues", 0, "name"], "body.queues[0].name"],
    ["body", ["matrix", 1, 2], "body.matrix[1][2]"],
    ["body", [0], "body[0]"],
    ["", ["name"], "name"],
    ["", [0, "name"], "[0].name"],
    ["query", ["cluster_name"], "query.cluster_name"],
  ] as [string, PropertyKey[], string][])("formats %j + %j as %j", (prefix, path, expected) => {
    expect(formatPath(prefix, path)).toBe(expected);
  });
});
