import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { proxyResultViolation, toProxyEvent } from "#local/api-gateway.ts";
import { loadRoutes, type Route } from "#local/route-table.ts";
import { toHttpRequest } from "#shared/http/http-handler.ts";

const routes = loadRoutes(new URL("../../../openapi.yaml", import.meta.url));

function route(operationId: string): Route {
  const found = routes.find((candidate) => candidate.operationId === operationId);
  if (!found) throw new Error(`no route ${operationId} in openapi.yaml`);
  return found;
}

/** The parts of a Node request `toProxyEvent` reads. */
function incoming(rawHeaders: string[] = []): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2)
    headers[(rawHeaders[i] ?? "").toLowerCase()] = rawHeaders[i + 1] ?? "";
  return {
    rawHeaders,
    headers,
    httpVersion: "1.1",
    socket: { remoteAddress: "192.0.2.10" },
  } as unknown as IncomingMessage;
}

describe("proxyResultViolation", () => {
  it.each([
    ["a JSON result", { statusCode: 200, headers: { "Content-Type": "application/json" }, body: "{}" }],
    ["a result without headers or body", { statusCode: 204 }],
    ["a null body", { statusCode: 204, body: null }],
    [
      "scalar header values",
      { statusCode: 200, headers: { "Content-Length": 2, "X-Cache": true }, body: "ok" },
    ],
    [
      "multi-value headers",
      { statusCode: 200, multiValueHeaders: { "Set-Cookie": ["a=1", "b=2"] }, body: "" },
    ],
    ["a base64 flag", { statusCode: 200, body: "aGk=", isBase64Encoded: true }],
    ["the lowest and highest status codes", { statusCode: 100, body: "" }],
    ["status 599", { statusCode: 599, body: "" }],
  ])("accepts %s", (_what, result) => {
    expect(proxyResultViolation(result)).toBeUndefined();
  });

  it.each([
    ["undefined", undefined, "the result is not an object"],
    ["null", null, "the result is not an object"],
    ["a string", "200 OK", "the result is not an object"],
    ["a number", 200, "the result is not an object"],
    ["no statusCode", { body: "" }, "statusCode is not an HTTP status code"],
    ["a string statusCode", { statusCode: "200", body: "" }, "statusCode is not an HTTP status code"],
    ["a fractional statusCode", { statusCode: 200.5, body: "" }, "statusCode is not an HTTP status code"],
    ["statusCode 99", { statusCode: 99, body: "" }, "statusCode is not an HTTP status code"],
    ["statusCode 600", { statusCode: 600, body: "" }, "statusCode is not an HTTP status code"],
    ["an object body", { statusCode: 200, body: { ok: true } }, "body is not a string"],
    ["a number body", { statusCode: 200, body: 42 }, "body is not a string"],
    [
      "a string base64 flag",
      { statusCode: 200, body: "", isBase64Encoded: "false" },
      "isBase64Encoded is not a boolean",
    ],
    [
      "headers that are not an object",
      { statusCode: 200, headers: "Content-Type: x" },
      "headers is not an object",
    ],
    ["null headers", { statusCode: 200, headers: null }, "headers is not an object"],
    [
      "an object header value",
      { statusCode: 200, headers: { "X-A": { nested: 1 } } },
      "a header value is not a scalar",
    ],
    [
      "an array header value",
      { statusCode: 200, headers: { "X-A": ["1"] } },
      "a header value is not a scalar",
    ],
    [
      "null multiValueHeaders",
      { statusCode: 200, multiValueHeaders: null },
      "multiValueHeaders is not an object",
    ],
    [
      "a string multiValueHeaders value",
      { statusCode: 200, multiValueHeaders: { "X-A": "1" } },
      "a multiValueHeaders value is not an array",
    ],
  ])("refuses %s", (_what, result, violation) => {
    expect(proxyResultViolation(result)).toBe(violation);
  });
});

describe("toProxyEvent", () => {
  it("fills resource, path, method and path parameters from the matched route", () => {
    const url = new URL("http://localhost:3000/v1/clusters/alpha");

    const event = toProxyEvent(incoming(), url, route("getCluster"), { name: "alpha" }, "", "alice");

    expect(event).toMatchObject({
      resource: "/v1/clusters/{name}",
      path: "/v1/clusters/alpha",
      httpMethod: "GET",
      pathParameters: { name: "alpha" },
      stageVariables: null,
      isBase64Encoded: false,
    });
    expect(event.requestContext).toMatchObject({
      resourcePath: "/v1/clusters/{name}",
      httpMethod: "GET",
      path: "/v1/clusters/alpha",
      stage: "local",
      protocol: "HTTP/1.1",
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("has null path parameters for a route without any", () => {
    const event = toProxyEvent(
      incoming(),
      new URL("http://localhost/health"),
      route("getHealth"),
      {},
      "",
      "alice",
    );

    expect(event.pathParameters).toBeNull();
  });

  it("gives query parameters single-valued (the last one) and multi-valued (all of them)", () => {
    const url = new URL(
      "http://localhost/v1/clusters?limit=10&status=CREATE_COMPLETE&status=DELETE_FAILED&q=a%20b",
    );

    const event = toProxyEvent(incoming(), url, route("listClusters"), {}, "", "alice");

    expect(event.queryStringParameters).toEqual({ limit: "10", status: "DELETE_FAILED", q: "a b" });
    expect(event.multiValueQueryStringParameters).toEqual({
      limit: ["10"],
      status: ["CREATE_COMPLETE", "DELETE_FAILED"],
      q: ["a b"],
    });
  });

  it("has null query parameters when there is no query string", () => {
    const event = toProxyEvent(
      incoming(),
      new URL("http://localhost/v1/clusters"),
      route("listClusters"),
      {},
      "",
      "alice",
    );

    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
  });

  it("keeps header names as sent, single- and multi-valued", () => {
    const request = incoming([
      "Content-Type",
      "application/json",
      "X-Trace",
      "a",
      "X-Trace",
      "b",
      "User-Agent",
      "curl/8",
    ]);

    const event = toProxyEvent(
      request,
      new URL("http://localhost/v1/clusters"),
      route("createCluster"),
      {},
      "{}",
      "alice",
    );

    expect(event.headers).toEqual({
      "Content-Type": "application/json",
      "X-Trace": "b",
      "User-Agent": "curl/8",
    });
    expect(event.multiValueHeaders).toEqual({
      "Content-Type": ["application/json"],
      "X-Trace": ["a", "b"],
      "User-Agent": ["curl/8"],
    });
    expect(event.requestContext.identity).toMatchObject({ userAgent: "curl/8", sourceIp: "192.0.2.10" });
  });

  it("has a null body when the request has none, and the text otherwise", () => {
    const url = new URL("http://localhost/v1/clusters");

    expect(toProxyEvent(incoming(), url, route("createCluster"), {}, "", "alice").body).toBeNull();
    expect(toProxyEvent(incoming(), url, route("createCluster"), {}, '{"name":"a"}', "alice").body).toBe(
      '{"name":"a"}',
    );
  });

  it("carries the local user as the principal the handlers see", () => {
    const event = toProxyEvent(
      incoming(),
      new URL("http://localhost/health"),
      route("getHealth"),
      {},
      "",
      "local-alice",
    );

    const request = toHttpRequest(event, { awsRequestId: "unused" });

    expect(event.requestContext.identity.user).toBe("local-alice");
    expect(request.principal).toBe("local-alice");
    expect(request.requestId).toBe(event.requestContext.requestId);
  });
});
