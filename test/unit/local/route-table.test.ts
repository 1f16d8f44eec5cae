import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadRoutes, matchRoute } from "#local/route-table.ts";

const SPEC = new URL("../../../openapi.yaml", import.meta.url);
const routes = loadRoutes(SPEC);

describe("loadRoutes from openapi.yaml", () => {
  it("reads every operation with its method, path template and handler", () => {
    const table = routes.map(
      (route) => `${route.method} ${route.template} ${route.operationId} ${route.handler}`,
    );

    expect(table).toEqual(
      expect.arrayContaining([
        "POST /v1/clusters createCluster create-cluster",
        "GET /v1/clusters listClusters list-clusters",
        "GET /v1/clusters/{name} getCluster get-cluster",
        "DELETE /v1/clusters/{name} deleteCluster delete-cluster",
        "GET /v1/clusters/{name}/events listClusterEvents list-cluster-events",
        "GET /health getHealth health",
        "GET /openapi.yaml getOpenApi get-openapi",
        "POST /pcluster pclusterCommand pcluster-command",
      ]),
    );
  });

  it("gives each operation one route", () => {
    const ids = routes.map((route) => route.operationId);

    expect(new Set(ids).size).toBe(ids.length);
  });

  it("names the path parameters of a template", () => {
    const route = routes.find((candidate) => candidate.template === "/v1/clusters/{name}/events");

    expect(route?.paramNames).toEqual(["name"]);
  });

  describe("with a broken spec", () => {
    const dir = mkdtempSync(join(tmpdir(), "route-table-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("refuses an operation without x-handler, naming it", () => {
      const path = join(dir, "no-handler.yaml");
      writeFileSync(path, "paths:\n  /things:\n    get:\n      operationId: listThings\n");

      expect(() => loadRoutes(path)).toThrow("GET /things lacks operationId or x-handler");
    });
  });
});

describe("matchRoute", () => {
  it.each([
    ["GET", "/v1/clusters", "listClusters", {}],
    ["POST", "/v1/clusters", "createCluster", {}],
    ["GET", "/v1/clusters/alpha", "getCluster", { name: "alpha" }],
    ["DELETE", "/v1/clusters/Blog-1", "deleteCluster", { name: "Blog-1" }],
    ["GET", "/v1/clusters/alpha/events", "listClusterEvents", { name: "alpha" }],
    ["GET", "/health", "getHealth", {}],
    ["GET", "/openapi.yaml", "getOpenApi", {}],
    ["POST", "/pcluster", "pclusterCommand", {}],
  ])("routes %s %s to %s with parameters %j", (method, path, operationId, params) => {
    const match = matchRoute(routes, method, path);

    expect(match).toMatchObject({ kind: "route", route: { operationId }, params });
  });

  it("accepts a trailing slash", () => {
    expect(matchRoute(routes, "GET", "/v1/clusters/")).toMatchObject({
      kind: "route",
      route: { operationId: "listClusters" },
    });
    expect(matchRoute(routes, "GET", "/v1/clusters/alpha/")).toMatchObject({
      kind: "route",
      params: { name: "alpha" },
    });
  });

  it("passes a decoded path parameter on as it is", () => {
    expect(matchRoute(routes, "GET", "/v1/clusters/al pha")).toMatchObject({ params: { name: "al pha" } });
  });

  it.each([
    ["PUT", "/v1/clusters", ["POST", "GET"]],
    ["PATCH", "/v1/clusters/alpha", ["GET", "DELETE"]],
    ["POST", "/health", ["GET"]],
    ["GET", "/pcluster", ["POST"]],
  ])("answers %s %s as method-not-allowed with the methods the path has", (method, path, allowed) => {
    const match = matchRoute(routes, method, path);

    expect(match.kind).toBe("method-not-allowed");
    expect(match.kind === "method-not-allowed" && [...match.allowed].sort()).toEqual([...allowed].sort());
  });

  it.each([
    "/v1/nope",
    "/v1/clusters/alpha/events/extra",
    "/v1/clusters//events",
    "/v2/clusters",
    "/openapiXyaml",
    "/v1/clusters/alpha//",
    "",
  ])("answers %j as not found", (path) => {
    expect(matchRoute(routes, "GET", path)).toEqual({ kind: "not-found" });
  });
});
