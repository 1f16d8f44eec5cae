import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PC3_SLURM } from "../../fixtures/sample-configs.ts";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

const PC3 = PC3_SLURM;

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(async () => {
  await api.close();
});

const create = (body: Record<string, unknown>) => api.request("POST", "/v1/clusters", { json: body });
const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

interface Case {
  readonly title: string;
  readonly send: () => Promise<{
    status: number;
    json: { type: string; errors?: { path: string; line?: number }[] };
  }>;
  readonly status: number;
  readonly type: string;
  readonly path?: string;
  readonly line?: number;
}

const cases: Case[] = [
  {
    title: "a configuration that is not base64",
    send: () => create({ name: "c1", configuration: "hello world!", configurationEncoding: "base64" }),
    status: 400,
    type: "request-invalid",
    path: "body",
  },
  {
    title: "base64 of binary garbage",
    send: () =>
      create({
        name: "c1",
        configuration: b64(Buffer.from([0, 159, 146, 150, 255, 0, 1])),
        configurationEncoding: "base64",
      }),
    status: 422,
    type: "config-invalid",
  },
  {
    title: "a YAML syntax error, with its line",
    send: () =>
      create({ name: "c1", configuration: "HeadNode:\n  InstanceType: [t3.micro\nScheduling: {}\n" }),
    status: 422,
    type: "config-invalid",
  },
  {
    title: "a valid YAML that is not a cluster config",
    send: () => create({ name: "c1", configuration: "apiVersion: v1\nkind: Pod\n" }),
    status: 422,
    type: "config-invalid",
  },
  {
    title: "a config without its Scheduling section",
    send: () => create({ name: "c1", configuration: "HeadNode:\n  InstanceType: t3.micro\n" }),
    status: 422,
    type: "config-invalid",
    path: "Scheduling",
  },
  {
    title: "a wrong type, named by path and line",
    send: () => create({ name: "c1", configuration: PC3.replace("MaxCount: 4", "MaxCount: ten") }),
    status: 422,
    type: "config-invalid",
    path: "Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount",
    line: 16,
  },
  {
    title: "an INI that references a missing section",
    send: () => create({ name: "c1", configuration: "[cluster default]\nvpc_settings = nowhere\n" }),
    status: 422,
    type: "config-invalid",
  },
  {
    title: "a JSON config with a syntax error",
    send: () => create({ name: "c1", configuration: '{"HeadNode": {"InstanceType": "t3.micro",}' }),
    status: 422,
    type: "config-invalid",
  },
  {
    title: "a name with spaces",
    send: () => create({ name: "my cluster", configuration: PC3 }),
    status: 400,
    type: "request-invalid",
    path: "body.name",
  },
  {
    title: "a name of 61 characters",
    send: () => create({ name: `a${"b".repeat(60)}`, configuration: PC3 }),
    status: 400,
    type: "request-invalid",
    path: "body.name",
  },
  {
    title: "a name with shell metacharacters",
    send: () => create({ name: "c1;rm -rf /", configuration: PC3 }),
    status: 400,
    type: "request-invalid",
    path: "body.name",
  },
  {
    title: "an unknown field in the body",
    send: () => create({ name: "c1", configuration: PC3, sheduler: "slurm" }),
    status: 400,
    type: "request-invalid",
    path: "body.sheduler",
  },
  {
    title: "malformed JSON",
    send: () =>
      api.request("POST", "/v1/clusters", {
        body: '{"name": "c1",',
        headers: { "content-type": "application/json" },
      }),
    status: 400,
    type: "request-invalid",
    path: "body",
  },
  {
    title: "a body that is not JSON at all",
    send: () =>
      api.request("POST", "/v1/clusters", { body: "name=c1", headers: { "content-type": "text/plain" } }),
    status: 415,
    type: "unsupported-media-type",
  },
  {
    title: "a body over the limit",
    send: () => create({ name: "c1", configuration: `# ${"x".repeat(300 * 1024)}\n${PC3}` }),
    status: 413,
    type: "payload-too-large",
  },
  {
    title: "an unknown command",
    send: () => api.request("POST", "/pcluster?command=rm&cluster_name=c1", { body: b64(PC3) }),
    status: 400,
    type: "request-invalid",
    path: "query.command",
  },
  {
    title: "a cluster_name with shell metacharacters",
    send: () => api.request("POST", "/pcluster?command=create&cluster_name=c1%24(id)", { body: b64(PC3) }),
    status: 400,
    type: "request-invalid",
    path: "query.cluster_name",
  },
  ...["; rm -rf /", "`id`", "$(reboot)", "--nowait --config /etc/passwd"].map(
    (flags): Case => ({
      title: `additional_parameters ${JSON.stringify(flags)}`,
      send: () =>
        api.request("POST", "/pcluster?command=create&cluster_name=c1", {
          body: b64(PC3),
          headers: { additional_parameters: flags },
        }),
      status: 400,
      type: "request-invalid",
      path: "header.additional_parameters",
    }),
  ),
  {
    title: "create without a body on the command endpoint",
    send: () => api.request("POST", "/pcluster?command=create&cluster_name=c1"),
    status: 400,
    type: "request-invalid",
    path: "body",
  },
  {
    title: "an unknown nextToken",
    send: () => api.request("GET", "/v1/clusters?nextToken=bm90LWEtdG9rZW4"),
    status: 400,
    type: "invalid-next-token",
  },
  {
    title: "a limit out of range",
    send: () => api.request("GET", "/v1/clusters?limit=101"),
    status: 400,
    type: "request-invalid",
    path: "query.limit",
  },
  {
    title: "an unknown status filter",
    send: () => api.request("GET", "/v1/clusters?status=RUNNING"),
    status: 400,
    type: "request-invalid",
    path: "query.status",
  },
  {
    title: "a status request for a cluster nobody has",
    send: () => api.request("GET", "/v1/clusters/nobody"),
    status: 404,
    type: "cluster-not-found",
  },
  {
    title: "a delete of a cluster nobody has",
    send: () => api.request("DELETE", "/v1/clusters/nobody"),
    status: 404,
    type: "cluster-not-found",
  },
  {
    title: "a wrong method",
    send: () => api.request("PUT", "/v1/clusters/c1", { json: {} }),
    status: 405,
    type: "method-not-allowed",
  },
  {
    title: "an unknown route",
    send: () => api.request("GET", "/v2/everything", { contract: false }),
    status: 404,
    type: "route-not-found",
  },
];

describe("bad input over HTTP: a clear 4xx problem, never a 500, never a partial record", () => {
  it.each(cases)("answers $status $type for $title", async ({ send, status, type, path, line }) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.json.type).toBe(`urn:hpc-cluster-api:problem:${type}`);
    if (path) expect(response.json.errors?.map((e) => e.path)).toContain(path);
    if (line) expect(response.json.errors?.find((e) => e.path === path)?.line).toBe(line);
  });

  it("names the allowed methods on a 405", async () => {
    const response = await api.request("PATCH", "/v1/clusters/c1", { json: {} });
    expect(response.headers.get("allow")).toBe("GET, DELETE");
  });

  it("has written nothing and still serves after all of them", async () => {
    const list = await api.request("GET", "/v1/clusters");
    expect(list.json).toEqual({ items: [] });
    const health = await api.request("GET", "/health");
    expect(health.json).toMatchObject({ status: "ok", backend: "local" });
  });
});
