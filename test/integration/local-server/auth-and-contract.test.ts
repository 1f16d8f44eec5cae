import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi({ apiToken: "s3cret-token" });
});
afterAll(async () => {
  await api.close();
});

const auth = { authorization: "Bearer s3cret-token" };

describe("a local server started with API_TOKEN", () => {
  it("answers 401 problem+json without the token or with a wrong one", async () => {
    const denied = await api.request("GET", "/health");
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(denied.json.type).toBe("urn:hpc-cluster-api:problem:unauthorized");
    expect((await api.request("GET", "/health", { headers: { authorization: "Bearer nope" } })).status).toBe(
      401,
    );
    expect(
      (await api.request("GET", "/v1/clusters", { headers: { authorization: "s3cret-token" } })).status,
    ).toBe(401);
  });

  it("serves with the token, including its own contract at /openapi.yaml", async () => {
    expect((await api.request("GET", "/health", { headers: auth })).status).toBe(200);
    const spec = await api.request("GET", "/openapi.yaml", { headers: auth });
    expect(spec.headers.get("content-type")).toBe("application/yaml");
    expect(spec.text).toMatch(/^openapi: 3\.1\.0/);
  });
});
