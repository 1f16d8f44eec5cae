import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { Route } from "./route-table.ts";

/** An API Gateway caller identity with every field API Gateway sends, null unless given. */
export function apiGatewayIdentity(
  given: Partial<APIGatewayProxyEvent["requestContext"]["identity"]>,
): APIGatewayProxyEvent["requestContext"]["identity"] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: "127.0.0.1",
    user: null,
    userAgent: null,
    userArn: null,
    ...given,
  };
}

/**
 * Groups name/value pairs as API Gateway does: the last value of each name, and all of them in order.
 * The client picks the names, so they are collected in a `Map` and made own properties at the end: a
 * name such as `constructor` or `__proto__` must neither read `Object.prototype` nor replace it.
 */
function collect(pairs: Iterable<readonly [string, string]>): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  return {
    single: Object.fromEntries([...grouped].map(([name, values]) => [name, values.at(-1) ?? ""])),
    multi: Object.fromEntries(grouped),
  };
}

/**
 * Builds the API Gateway REST (v1) proxy event that API Gateway would hand the Lambda function for this
 * request, so the local server runs the very handlers Lambda runs.
 */
export function toProxyEvent(
  request: IncomingMessage,
  url: URL,
  route: Route,
  params: Record<string, string>,
  body: string,
  principal: string,
): APIGatewayProxyEvent {
  const rawHeaders: Array<readonly [string, string]> = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    rawHeaders.push([request.rawHeaders[i] ?? "", request.rawHeaders[i + 1] ?? ""]);
  }
  const { single: headers, multi: multiValueHeaders } = collect(rawHeaders);
  const { single: query, multi: multiQuery } = collect(url.searchParams);
  const hasQuery = Object.keys(query).length > 0;
  const requestId = randomUUID();
  const sourceIp = request.socket.remoteAddress ?? "127.0.0.1";
  return {
    resource: route.template,
    path: url.pathname,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: route.paramNames.length > 0 ? params : null,
    stageVariables: null,
    body: body === "" ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: route.method,
      identity: apiGatewayIdentity({
        sourceIp,
        user: principal,
        userAgent: request.headers["user-agent"] ?? null,
      }),
      path: url.pathname,
      stage: "local",
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.operationId,
      resourcePath: route.template,
    },
  };
}

/** A Lambda context good enough for handlers that read the request id and the remaining time. */
export function lambdaContext(functionName: string, requestId: string, timeoutMs = 29_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Checks a handler's answer against API Gateway's proxy response contract; undefined when it holds. */
export function proxyResultViolation(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null) return "the result is not an object";
  const r = result as Partial<Record<keyof APIGatewayProxyResult, unknown>>;
  if (
    typeof r.statusCode !== "number" ||
    !Number.isInteger(r.statusCode) ||
    r.statusCode < 100 ||
    r.statusCode > 599
  ) {
    return "statusCode is not an HTTP status code";
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== "string") return "body is not a string";
  if (r.isBase64Encoded !== undefined && typeof r.isBase64Encoded !== "boolean")
    return "isBase64Encoded is not a boolean";
  if (r.headers !== undefined) {
    if (typeof r.headers !== "object" || r.headers === null) return "headers is not an object";
    for (const value of Object.values(r.headers)) {
      if (!["string", "number", "boolean"].includes(typeof value)) return "a header value is not a scalar";
    }
  }
  if (r.multiValueHeaders !== undefined) {
    if (typeof r.multiValueHeaders !== "object" || r.multiValueHeaders === null)
      return "multiValueHeaders is not an object";
    for (const value of Object.values(r.multiValueHeaders))
      if (!Array.isArray(value)) return "a multiValueHeaders value is not an array";
  }
  return undefined;
}
