import { describe, expect, it } from "vitest";
import { ApiClient } from "../../../cli/api-client.ts";
import { createSigV4Signer, isAwsEndpoint, regionFor } from "../../../cli/sigv4.ts";

/**
 * Vectors of AWS's published SigV4 test suite ("aws-sig-v4-test-suite", linked from the AWS General
 * Reference page "Signature Version 4 test suite"): each `.req` request and its expected `.authz`
 * Authorization header, signed at 20150830T123600Z in us-east-1 for the service `service` with the
 * suite's documented example credentials. (The suite's two `post-x-www-form-urlencoded*` vectors are
 * left out: their published `.authz` does not match the signature of their own published `.creq`.)
 */
const SUITE = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken:
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
  date: new Date("2015-08-30T12:36:00Z"),
  scope: "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
};

interface Vector {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly sessionToken?: boolean;
  readonly authz: string;
}

const authz = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=${SUITE.scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;

const VECTORS: readonly Vector[] = [
  {
    name: "get-vanilla",
    method: "GET",
    url: "https://example.amazonaws.com/",
    authz: authz("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
  },
  {
    name: "get-vanilla-query-order-key-case",
    method: "GET",
    url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
    authz: authz("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
  },
  {
    name: "get-vanilla-query-order-value",
    method: "GET",
    url: "https://example.amazonaws.com/?Param1=value2&Param1=value1",
    authz: authz("host;x-amz-date", "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
  },
  {
    name: "get-vanilla-utf8-query",
    method: "GET",
    url: "https://example.amazonaws.com/?ሴ=bar",
    authz: authz("host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
  },
  {
    name: "get-header-value-trim",
    method: "GET",
    url: "https://example.amazonaws.com/",
    headers: { "My-Header1": " value1", "My-Header2": ' "a   b   c"' },
    authz: authz(
      "host;my-header1;my-header2;x-amz-date",
      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ),
  },
  {
    name: "post-vanilla",
    method: "POST",
    url: "https://example.amazonaws.com/",
    authz: authz("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
  },
  {
    name: "post-header-key-sort",
    method: "POST",
    url: "https://example.amazonaws.com/",
    headers: { "My-Header1": "value1" },
    authz: authz(
      "host;my-header1;x-amz-date",
      "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
    ),
  },
  {
    name: "post-sts-header-before",
    method: "POST",
    url: "https://example.amazonaws.com/",
    sessionToken: true,
    authz: authz(
      "host;x-amz-date;x-amz-security-token",
      "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    ),
  },
];

function suiteSigner(withToken = false) {
  return createSigV4Signer({
    region: "us-east-1",
    service: "service",
    credentials: {
      accessKeyId: SUITE.accessKeyId,
      secretAccessKey: SUITE.secretAccessKey,
      ...(withToken ? { sessionToken: SUITE.sessionToken } : {}),
    },
    now: () => SUITE.date,
  });
}

describe("SigV4 signing against AWS's published test suite", () => {
  it.each(VECTORS)("reproduces the Authorization header of the $name vector", async (vector) => {
    const signed = await suiteSigner(vector.sessionToken)({
      method: vector.method,
      url: new URL(vector.url),
      headers: vector.headers ?? {},
      ...(vector.body !== undefined ? { body: vector.body } : {}),
    });
    expect(signed.authorization).toBe(vector.authz);
    expect(signed["x-amz-date"]).toBe("20150830T123600Z");
  });

  it("sends the session token of temporary credentials in x-amz-security-token", async () => {
    const signed = await suiteSigner(true)({
      method: "GET",
      url: new URL("https://example.amazonaws.com/"),
      headers: {},
    });
    expect(signed["x-amz-security-token"]).toBe(SUITE.sessionToken);
  });

  it("adds no x-amz-content-sha256 header, which API Gateway does not need", async () => {
    const signed = await suiteSigner()({
      method: "GET",
      url: new URL("https://example.amazonaws.com/"),
      headers: {},
    });
    expect(Object.keys(signed)).not.toContain("x-amz-content-sha256");
  });
});

describe("which endpoints are signed, and for which region", () => {
  it("signs API Gateway hosts and nothing else", () => {
    expect(isAwsEndpoint(new URL("https://abcde12345.execute-api.eu-west-1.amazonaws.com/Prod/"))).toBe(true);
    expect(isAwsEndpoint(new URL("http://127.0.0.1:3000"))).toBe(false);
    expect(isAwsEndpoint(new URL("https://amazonaws.com.evil.example/"))).toBe(false);
  });

  it("takes the region from the host first, then AWS_REGION, then AWS_DEFAULT_REGION", () => {
    const gateway = new URL("https://abcde12345.execute-api.ap-southeast-2.amazonaws.com/Prod/");
    expect(regionFor(gateway, { AWS_REGION: "us-east-1" })).toBe("ap-southeast-2");
    const vpce = new URL("https://vpce-0123.execute-api.amazonaws.com/");
    expect(regionFor(vpce, { AWS_REGION: "eu-central-1", AWS_DEFAULT_REGION: "us-west-2" })).toBe(
      "eu-central-1",
    );
    expect(regionFor(vpce, { AWS_DEFAULT_REGION: "us-west-2" })).toBe("us-west-2");
    expect(regionFor(vpce, {})).toBeUndefined();
  });
});

describe("the API client with a signer", () => {
  it("sends the signed headers, under the endpoint's stage path, and never a host header of its own", async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const fakeFetch = (async (url: URL | string, init?: RequestInit) => {
      seen.push({ url: String(url), headers: { ...(init?.headers as Record<string, string>) } });
      return new Response(JSON.stringify({ items: [] }), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    }) as typeof fetch;
    const client = new ApiClient({
      endpoint: "https://abcde12345.execute-api.us-east-1.amazonaws.com/Prod/",
      signer: createSigV4Signer({
        region: "us-east-1",
        credentials: { accessKeyId: SUITE.accessKeyId, secretAccessKey: SUITE.secretAccessKey },
        now: () => SUITE.date,
      }),
      fetch: fakeFetch,
    });
    const { ClusterPageSchema } = await import("../../../cli/api-types.ts");
    await client.get("/v1/clusters", ClusterPageSchema, { query: { status: "CREATE_COMPLETE" } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe(
      "https://abcde12345.execute-api.us-east-1.amazonaws.com/Prod/v1/clusters?status=CREATE_COMPLETE",
    );
    const headers = seen[0]?.headers ?? {};
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/execute-api\/aws4_request, SignedHeaders=accept;host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.host).toBeUndefined();
  });
});
