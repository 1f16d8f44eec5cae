import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  ClusterNotFoundError,
  MethodNotAllowedError,
  RequestValidationError,
} from "#shared/domain/errors.ts";
import { type HttpFunction, httpHandler, toHttpRequest, toProxyResult } from "#shared/http/http-handler.ts";
import { PROBLEM_CONTENT_TYPE } from "#shared/http/problem.ts";

function apiEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    resource: "/v1/clusters/{name}",
    path: "/v1/clusters/alpha",
    httpMethod: "GET",
    headers: { Accept: "application/json" },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { name: "alpha" },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      requestId: "apigw-req-1",
      identity: { userArn: "arn:aws:iam::123456789012:user/alice" },
    } as unknown as APIGatewayProxyEvent["requestContext"],
    ...overrides,
  };
}

const context = { awsRequestId: "lambda-req-1", functionName: "test" } as Context;

async function invoke(fn: HttpFunction, event = apiEvent()): Promise<APIGatewayProxyResult> {
  const handler = httpHandler(fn);
  return handler(event, context);
}

describe("httpHandler", () => {
  it("answers a handler's JSON result with its status, JSON body and the request id", async () => {
    const result = await invoke(async (request) => ({
      statusCode: 200,
      json: { name: request.pathParams.name },
    }));

    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({
      "Content-Type": "application/json",
      "X-Request-Id": "apigw-req-1",
    });
    expect(JSON.parse(result.body)).toEqual({ name: "alpha" });
  });

  it("answers a thrown domain error as problem+json with its status", async () => {
    const result = await invoke(async (request) => {
      throw new ClusterNotFoundError(request.pathParams.name ?? "");
    });

    expect(result.statusCode).toBe(404);
    expect(result.headers).toMatchObject({
      "Content-Type": PROBLEM_CONTENT_TYPE,
      "X-Request-Id": "apigw-req-1",
    });
    expect(JSON.parse(result.body)).toMatchObject({
      type: "urn:hpc-cluster-api:problem:cluster-not-found",
      status: 404,
      detail: "No cluster named 'alpha' exists.",
      requestId: "apigw-req-1",
      instance: "/v1/clusters/alpha",
    });
  });

  it("answers a validation error with its field issues", async () => {
    const issues = [{ path: "query.limit", message: "limit must be at most 100" }];

    const result = await invoke(async () => {
      throw new RequestValidationError("The query string is invalid", issues);
    });

    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).errors).toEqual(issues);
  });

  it("adds the error's headers, such as Allow on a 405", async () => {
    const result = await invoke(async () => {
      throw new MethodNotAllowedError("no PUT here", ["GET", "DELETE"]);
    });

    expect(result.statusCode).toBe(405);
    expect(result.headers).toMatchObject({ Allow: "GET, DELETE", "Content-Type": PROBLEM_CONTENT_TYPE });
  });

  it("answers a plain Error with a 500 that does not leak its message or stack", async () => {
    const error = new Error("connect ECONNREFUSED 10.0.0.7:8000 table=prod-secret-table");

    const result = await invoke(async () => {
      throw error;
    });

    expect(result.statusCode).toBe(500);
    expect(result.headers).toMatchObject({ "Content-Type": PROBLEM_CONTENT_TYPE });
    expect(result.body).not.toContain("ECONNREFUSED");
    expect(result.body).not.toContain("prod-secret-table");
    expect(result.body).not.toContain("http-handler.test.ts");
    expect(JSON.parse(result.body)).toMatchObject({ status: 500, requestId: "apigw-req-1" });
  });

  it("answers a thrown string with a 500 that does not leak it", async () => {
    const result = await invoke(async () => {
      throw "raw secret string";
    });

    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain("raw secret string");
  });

  it("uses the Lambda request id when the event carries none", async () => {
    const event = apiEvent({ requestContext: {} as APIGatewayProxyEvent["requestContext"] });

    const result = await invoke(async () => {
      throw new ClusterNotFoundError("alpha");
    }, event);

    expect(result.headers).toMatchObject({ "X-Request-Id": "lambda-req-1" });
    expect(JSON.parse(result.body).requestId).toBe("lambda-req-1");
  });
});

describe("toHttpRequest", () => {
  it("lower-cases header names and drops headers without a value", () => {
    const event = apiEvent({
      headers: { "Content-Type": "application/json", "X-Custom-Thing": "1", Missing: undefined },
    });

    const request = toHttpRequest(event, context);

    expect(request.headers).toEqual({ "content-type": "application/json", "x-custom-thing": "1" });
  });

  it("decodes a base64 body", () => {
    const text = '{"name":"caf\u00e9"}';
    const event = apiEvent({ body: Buffer.from(text, "utf8").toString("base64"), isBase64Encoded: true });

    expect(toHttpRequest(event, context).body).toBe(text);
  });

  it("keeps a text body as it is", () => {
    const event = apiEvent({ body: "Y29uZmln", isBase64Encoded: false });

    expect(toHttpRequest(event, context).body).toBe("Y29uZmln");
  });

  it("has no body when the event has none", () => {
    expect(toHttpRequest(apiEvent({ body: null }), context).body).toBeUndefined();
  });

  it("turns null headers, query and path parameters into empty records", () => {
    const event = apiEvent({
      headers: null as unknown as APIGatewayProxyEvent["headers"],
      queryStringParameters: null,
      pathParameters: null,
    });

    const request = toHttpRequest(event, context);

    expect(request.headers).toEqual({});
    expect(request.query).toEqual({});
    expect(request.pathParams).toEqual({});
  });

  it("keeps query and path parameters, and the method and path", () => {
    const event = apiEvent({
      httpMethod: "DELETE",
      path: "/v1/clusters/beta",
      queryStringParameters: { limit: "10", skip: undefined },
      pathParameters: { name: "beta" },
    });

    const request = toHttpRequest(event, context);

    expect(request).toMatchObject({
      method: "DELETE",
      path: "/v1/clusters/beta",
      query: { limit: "10" },
      pathParams: { name: "beta" },
      requestId: "apigw-req-1",
    });
  });

  it.each([
    [{ userArn: "arn:aws:iam::1:user/alice", user: "AIDA", caller: "c" }, "arn:aws:iam::1:user/alice"],
    [{ userArn: null, user: "local-user", caller: "c" }, "local-user"],
    [{ userArn: null, user: null, caller: "AROA:session" }, "AROA:session"],
    [{ userArn: null, user: null, caller: null }, "anonymous"],
  ])("takes the principal from identity %j as %s", (identity, principal) => {
    const event = apiEvent({
      requestContext: { requestId: "r", identity } as unknown as APIGatewayProxyEvent["requestContext"],
    });

    expect(toHttpRequest(event, context).principal).toBe(principal);
  });
});

describe("toProxyResult", () => {
  it("serializes JSON as application/json", () => {
    const result = toProxyResult({ statusCode: 202, json: { status: "CREATE_IN_PROGRESS" } }, "req-9");

    expect(result).toEqual({
      statusCode: 202,
      headers: { "Content-Type": "application/json", "X-Request-Id": "req-9" },
      body: '{"status":"CREATE_IN_PROGRESS"}',
    });
  });

  it("sends text as text/plain in UTF-8", () => {
    const result = toProxyResult({ statusCode: 200, text: "Status: CREATE_COMPLETE\n" }, "req-9");

    expect(result.headers).toMatchObject({ "Content-Type": "text/plain; charset=utf-8" });
    expect(result.body).toBe("Status: CREATE_COMPLETE\n");
  });

  it("honours a given content type and extra headers", () => {
    const result = toProxyResult(
      {
        statusCode: 200,
        text: "openapi: 3.0.3",
        contentType: "application/yaml",
        headers: { "Cache-Control": "max-age=60" },
      },
      "req-9",
    );

    expect(result.headers).toEqual({
      "Content-Type": "application/yaml",
      "X-Request-Id": "req-9",
      "Cache-Control": "max-age=60",
    });
  });

  it("sends an empty body when there is neither JSON nor text", () => {
    const result = toProxyResult({ statusCode: 204 }, "req-9");

    expect(result.statusCode).toBe(204);
    expect(result.body).toBe("");
  });

  it("sends an empty text as an empty text/plain body", () => {
    const result = toProxyResult({ statusCode: 200, text: "" }, "req-9");

    expect(result.body).toBe("");
    expect(result.headers).toMatchObject({ "Content-Type": "text/plain; charset=utf-8" });
  });
});
