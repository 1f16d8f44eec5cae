import { describe, expect, it } from "vitest";
import { assertMatchesContract, type ObservedResponse } from "../../support/openapi-contract.ts";

/** A cluster as `GET /v1/clusters/{name}` would answer it, built here rather than read from the spec. */
function aCluster(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "cluster1",
    clusterId: "c0ffee00-0000-4000-8000-000000000001",
    status: "CREATE_COMPLETE",
    scheduler: "slurm",
    stackName: "parallelcluster-cluster1",
    createdAt: "2025-03-01T12:00:00.000Z",
    updatedAt: "2025-03-01T12:15:00.000Z",
    createdBy: "local",
    tags: {},
    configuration: {
      sourceFormat: "pcluster3-yaml",
      scheduler: "slurm",
      os: "alinux2",
      headNode: { instanceType: "t3.micro" },
      queues: [
        {
          name: "q1",
          capacityType: "ONDEMAND",
          subnetIds: ["subnet-1"],
          computeResources: [{ name: "cr1", instanceTypes: ["t3.micro"], maxCount: 2 }],
        },
      ],
      networking: {},
      sharedStorage: [],
      tags: {},
    },
    warnings: [],
    rollbackOnFailure: true,
    links: { self: "/v1/clusters/cluster1", events: "/v1/clusters/cluster1/events" },
    ...overrides,
  };
}

function aProblem(type: string, status: number): Record<string, unknown> {
  return { type: `urn:hpc-cluster-api:problem:${type}`, title: "A title", status, detail: "What happened." };
}

function json(
  method: string,
  path: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): ObservedResponse {
  return {
    method,
    path,
    status,
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

function problem(
  method: string,
  path: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return json(method, path, status, body, { "Content-Type": "application/problem+json", ...headers });
}

describe("assertMatchesContract", () => {
  it("accepts a valid cluster from GET /v1/clusters/{name}", () => {
    expect(() => assertMatchesContract(json("GET", "/v1/clusters/cluster1", 200, aCluster()))).not.toThrow();
  });

  it("rejects a cluster without its status, naming the missing property", () => {
    const { status: _status, ...withoutStatus } = aCluster();
    expect(() => assertMatchesContract(json("GET", "/v1/clusters/cluster1", 200, withoutStatus))).toThrow(
      /required property 'status'/,
    );
  });

  it("rejects a field the contract does not declare, such as the stored record's version", () => {
    expect(() =>
      assertMatchesContract(json("GET", "/v1/clusters/cluster1", 200, aCluster({ version: 3 }))),
    ).toThrow(/additional properties 'version'/);
  });

  it("rejects a status the operation does not document", () => {
    expect(() => assertMatchesContract(json("GET", "/v1/clusters/cluster1", 201, aCluster()))).toThrow(
      /undocumented status 201/,
    );
  });

  it("rejects a content type the response does not declare", () => {
    const r = {
      ...json("GET", "/v1/clusters/cluster1", 200, aCluster()),
      headers: { "content-type": "text/html" },
    };
    expect(() => assertMatchesContract(r)).toThrow(/content-type text\/html/);
  });

  it("rejects a response without a content type when the response has a body", () => {
    const r = { ...json("GET", "/v1/clusters/cluster1", 200, aCluster()), headers: {} };
    expect(() => assertMatchesContract(r)).toThrow(/content-type \(none\)/);
  });

  it("ignores the charset parameter and the case of header names", () => {
    const r = json("GET", "/v1/clusters/cluster1", 200, aCluster(), {
      "Content-Type": "application/json; charset=utf-8",
    });
    expect(() => assertMatchesContract(r)).not.toThrow();
  });

  it("accepts a problem+json body for a 404", () => {
    const r = problem("GET", "/v1/clusters/nope", 404, aProblem("cluster-not-found", 404));
    expect(() => assertMatchesContract(r)).not.toThrow();
  });

  it("rejects a problem whose status differs from the HTTP status", () => {
    const r = problem("GET", "/v1/clusters/nope", 404, aProblem("cluster-not-found", 400));
    expect(() => assertMatchesContract(r)).toThrow(/problem status 400 differs from the HTTP status 404/);
  });

  it("rejects a problem type the contract does not list", () => {
    const r = problem("GET", "/v1/clusters/nope", 404, aProblem("no-such-thing", 404));
    expect(() => assertMatchesContract(r)).toThrow(/\/type must be equal to one of the allowed values/);
  });

  it("rejects a 500 that leaks more than the problem fields", () => {
    const r = problem("GET", "/v1/clusters/cluster1", 500, {
      ...aProblem("internal", 500),
      stack: "Error: boom\n    at handler (index.js:1:1)",
    });
    expect(() => assertMatchesContract(r)).toThrow(/additional properties 'stack'/);
  });

  it("rejects a route the contract does not document", () => {
    expect(() => assertMatchesContract(json("GET", "/v2/clusters", 200, { items: [] }))).toThrow(
      /undocumented route/,
    );
  });

  it("rejects a method the path does not document, unless the answer is the documented 405", () => {
    expect(() => assertMatchesContract(json("PUT", "/v1/clusters/cluster1", 200, aCluster()))).toThrow(
      /has no PUT operation/,
    );
    const notAllowed = problem("PUT", "/v1/clusters/cluster1", 405, aProblem("method-not-allowed", 405), {
      Allow: "GET, DELETE",
    });
    expect(() => assertMatchesContract(notAllowed)).not.toThrow();
  });

  it("rejects a 405 without its Allow header", () => {
    const r = problem("PUT", "/v1/clusters/cluster1", 405, aProblem("method-not-allowed", 405));
    expect(() => assertMatchesContract(r)).toThrow(/missing required header Allow/);
  });

  it("requires the Location header on a 202 from createCluster", () => {
    const body = aCluster({ status: "CREATE_IN_PROGRESS" });
    expect(() => assertMatchesContract(json("POST", "/v1/clusters", 202, body))).toThrow(/Location/);
    expect(() =>
      assertMatchesContract(json("POST", "/v1/clusters", 202, body, { Location: "/v1/clusters/cluster1" })),
    ).not.toThrow();
  });

  it("requires Retry-After on a 503", () => {
    const r = problem("DELETE", "/v1/clusters/cluster1", 503, aProblem("service-unavailable", 503));
    expect(() => assertMatchesContract(r)).toThrow(/Retry-After/);
    expect(() =>
      assertMatchesContract({ ...r, headers: { ...r.headers, "retry-after": "5" } }),
    ).not.toThrow();
  });

  it("strips the query string before matching the path", () => {
    const r = json("GET", "/v1/clusters?limit=10&status=CREATE_COMPLETE", 200, { items: [] });
    expect(() => assertMatchesContract(r)).not.toThrow();
  });

  it("rejects an empty page that still carries a nextToken", () => {
    const r = json("GET", "/v1/clusters", 200, { items: [], nextToken: "abc" });
    expect(() => assertMatchesContract(r)).toThrow(/fewer than 1 items/);
  });

  it("matches the events path rather than the cluster path for /events", () => {
    const page = { items: [{ at: "2025-03-01T12:00:00.000Z", status: "CREATE_IN_PROGRESS", source: "api" }] };
    expect(() => assertMatchesContract(json("GET", "/v1/clusters/cluster1/events", 200, page))).not.toThrow();
  });

  it("rejects a body that is not JSON under a JSON content type", () => {
    const r = { ...json("GET", "/health", 200, {}), body: "ok" };
    expect(() => assertMatchesContract(r)).toThrow(/not JSON/);
  });

  it("checks text answers of the command endpoint as strings, on both of its paths", () => {
    for (const path of ["/pcluster?command=delete&cluster_name=cluster1", "/Prod/pcluster?command=delete"]) {
      const r: ObservedResponse = {
        method: "POST",
        path,
        status: 202,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: "Deleting: cluster1\n",
      };
      expect(() => assertMatchesContract(r)).not.toThrow();
    }
  });

  it("checks JSON answers of the command endpoint against CommandResult", () => {
    const good = json("POST", "/pcluster?command=version", 200, { command: "version", lines: ["2.11.9"] });
    expect(() => assertMatchesContract(good)).not.toThrow();
    const bad = json("POST", "/pcluster?command=version", 200, { command: "upgrade", lines: [] });
    expect(() => assertMatchesContract(bad)).toThrow(/\/command must be equal to one of the allowed values/);
  });
});
