// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text a rule is created with
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PC3_SLURM } from "../../fixtures/sample-configs.ts";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(async () => {
  await api.close();
});

const create = (body: Record<string, unknown>) => api.request("POST", "/v1/triggers", { json: body });

/** A valid per-batch rule in the blog's style: a ParallelCluster 3 template, its cluster deleted when done. */
function perBatchRule(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "genomics-runs",
    bucket: "my-sequencer-output",
    prefix: "runs/",
    clusterName: "genomics",
    mode: "per-batch",
    whenDone: "delete",
    clusterTemplate: { configuration: PC3_SLURM },
    job: {
      name: "align-${input.prefix}",
      command: ["/fsx/bin/align-run.sh", "--input", "${input.uri}"],
      environment: { RUN_MARKER: "${input.key}" },
    },
    ...overrides,
  };
}

/** A valid per-object rule with a job template that is changed per case. */
function ruleWith(name: string, job: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return { name, bucket: "my-data-bucket", clusterName: "batch1", job, ...overrides };
}

describe("trigger rules over HTTP", () => {
  it("creates a rule (201 with its Location), reads it, lists it and deletes it (204), after which it is gone", async () => {
    const created = await create(perBatchRule());
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/v1/triggers/genomics-runs");
    expect(created.json).toMatchObject({
      name: "genomics-runs",
      bucket: "my-sequencer-output",
      prefix: "runs/",
      clusterName: "genomics",
      mode: "per-batch",
      whenDone: "delete",
      clusterTemplate: { configuration: PC3_SLURM },
      job: { name: "align-${input.prefix}", command: ["/fsx/bin/align-run.sh", "--input", "${input.uri}"] },
      createdBy: "local",
      recentFailures: [],
      warnings: [],
      links: { self: "/v1/triggers/genomics-runs", cluster: "/v1/clusters/genomics" },
    });

    const read = await api.request("GET", "/v1/triggers/genomics-runs");
    expect(read.status).toBe(200);
    const { warnings: _createOnly, ...stored } = created.json;
    expect(read.json).toEqual(stored);

    const listed = await api.request("GET", "/v1/triggers");
    expect(listed.status).toBe(200);
    expect(listed.json.items).toContainEqual({
      name: "genomics-runs",
      bucket: "my-sequencer-output",
      prefix: "runs/",
      clusterName: "genomics",
      mode: "per-batch",
      whenDone: "delete",
      createdAt: created.json.createdAt,
      links: created.json.links,
    });

    const deleted = await api.request("DELETE", "/v1/triggers/genomics-runs");
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    const gone = await api.request("GET", "/v1/triggers/genomics-runs");
    expect(gone.status).toBe(404);
    expect(gone.json.type).toBe("urn:hpc-cluster-api:problem:trigger-not-found");
    const again = await api.request("DELETE", "/v1/triggers/genomics-runs");
    expect(again.status).toBe(404);
    expect(again.json.type).toBe("urn:hpc-cluster-api:problem:trigger-not-found");
  });

  it("applies the defaults: per-object, keep, and a text template decoded from base64", async () => {
    const response = await create({
      ...perBatchRule({ name: "defaults" }),
      mode: undefined,
      whenDone: undefined,
      clusterTemplate: {
        configuration: Buffer.from(PC3_SLURM).toString("base64"),
        configurationEncoding: "base64",
      },
    });

    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      mode: "per-object",
      whenDone: "keep",
      clusterTemplate: { configuration: PC3_SLURM },
    });
  });

  it("creates a rule whose cluster does not exist and has no template, and warns about it", async () => {
    const response = await create(ruleWith("no-cluster", { name: "j", command: ["true"] }));

    expect(response.status).toBe(201);
    expect(response.json.warnings).toEqual([
      expect.objectContaining({ path: "body.clusterName", message: expect.stringMatching(/'batch1'/) }),
    ]);
  });

  it("shows a base64 job script decoded, as the job will run it", async () => {
    const script = '#!/bin/sh\necho "$HPC_INPUT_URI"\n';
    const response = await create(
      ruleWith("script-rule", {
        name: "j",
        script: Buffer.from(script).toString("base64"),
        scriptEncoding: "base64",
      }),
    );

    expect(response.status).toBe(201);
    expect(response.json.job.script).toBe(script);
  });

  it("pages the listing with limit and nextToken", async () => {
    for (const name of ["page-a", "page-b", "page-c"]) {
      expect((await create(ruleWith(name, { name: "j", command: ["true"] }))).status).toBe(201);
    }
    const names: string[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ limit: "2", ...(token ? { nextToken: token } : {}) });
      const page = await api.request("GET", `/v1/triggers?${query}`);
      expect(page.status).toBe(200);
      expect(page.json.items.length).toBeLessThanOrEqual(2);
      names.push(...page.json.items.map((item: { name: string }) => item.name));
      token = page.json.nextToken;
    } while (token);

    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["page-a", "page-b", "page-c"]));
  });

  it("refuses a second rule with the same name with 409 trigger-exists, leaving the first as it was", async () => {
    expect((await create(perBatchRule({ name: "taken" }))).status).toBe(201);

    const duplicate = await create(perBatchRule({ name: "taken", bucket: "another-bucket" }));

    expect(duplicate.status).toBe(409);
    expect(duplicate.json.type).toBe("urn:hpc-cluster-api:problem:trigger-exists");
    expect(duplicate.json.errors).toContainEqual(expect.objectContaining({ path: "body.name" }));
    expect((await api.request("GET", "/v1/triggers/taken")).json.bucket).toBe("my-sequencer-output");
  });
});

interface BadCase {
  readonly title: string;
  readonly body: Record<string, unknown>;
  readonly status: number;
  readonly type: string;
  /** The issue path the answer must name (exactly, or as a prefix when it ends with `*`). */
  readonly path: string;
}

const badCases: BadCase[] = [
  {
    title: "a rule with no bucket",
    body: { ...perBatchRule({ name: "bad-no-bucket" }), bucket: undefined },
    status: 400,
    type: "request-invalid",
    path: "body.bucket",
  },
  {
    title: "a bucket name S3 would refuse (upper case)",
    body: perBatchRule({ name: "bad-bucket-case", bucket: "My-Bucket" }),
    status: 400,
    type: "request-invalid",
    path: "body.bucket",
  },
  {
    title: "a bucket name formatted as an IP address",
    body: perBatchRule({ name: "bad-bucket-ip", bucket: "192.168.5.4" }),
    status: 400,
    type: "request-invalid",
    path: "body.bucket",
  },
  {
    title: "a prefix with a '..' segment",
    body: perBatchRule({ name: "bad-prefix-dots", prefix: "runs/../../etc/" }),
    status: 400,
    type: "request-invalid",
    path: "body.prefix",
  },
  {
    title: "a prefix with a leading '/'",
    body: perBatchRule({ name: "bad-prefix-slash", prefix: "/runs/" }),
    status: 400,
    type: "request-invalid",
    path: "body.prefix",
  },
  {
    title: "an unknown mode",
    body: perBatchRule({ name: "bad-mode", mode: "per-prefix" }),
    status: 400,
    type: "request-invalid",
    path: "body.mode",
  },
  {
    title: "a cluster template that does not parse",
    body: perBatchRule({
      name: "bad-template",
      clusterTemplate: { configuration: "HeadNode:\n  InstanceType: [t3.micro\nScheduling: {}\n" },
    }),
    status: 422,
    type: "config-invalid",
    path: "body.clusterTemplate.configuration*",
  },
  {
    title: "a cluster template with a bad value, named by its path in the document",
    body: perBatchRule({
      name: "bad-template-value",
      clusterTemplate: { configuration: PC3_SLURM.replace("MaxCount: 4", "MaxCount: ten") },
    }),
    status: 422,
    type: "config-invalid",
    path: "body.clusterTemplate.configuration.Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount",
  },
  {
    title: "a job template with an unknown ${input.x} placeholder",
    body: ruleWith("bad-placeholder", { name: "j", command: ["cat", "${input.x}"] }),
    status: 400,
    type: "request-invalid",
    path: "body.job.command[1]",
  },
  {
    title: "an unknown placeholder in the job name",
    body: ruleWith("bad-name-placeholder", { name: "j-${input.path}", command: ["true"] }),
    status: 400,
    type: "request-invalid",
    path: "body.job.name",
  },
  {
    title: "a job with neither command nor script",
    body: ruleWith("bad-no-command", { name: "j" }),
    status: 400,
    type: "request-invalid",
    path: "body.job.command",
  },
  {
    title: "a job with both command and script",
    body: ruleWith("bad-both", { name: "j", command: ["true"], script: "true\n" }),
    status: 400,
    type: "request-invalid",
    path: "body.job.command",
  },
  {
    title: "a job asking for no vCPUs",
    body: ruleWith("bad-vcpus", { name: "j", command: ["true"], vcpus: 0 }),
    status: 400,
    type: "request-invalid",
    path: "body.job.vcpus",
  },
  {
    title: "a job that names dependencies, which a rule cannot have",
    body: ruleWith("bad-depends", {
      name: "j",
      command: ["true"],
      dependsOn: [{ jobId: "01JHMT19E0DXJJAB0872XDCNPE" }],
    }),
    status: 400,
    type: "request-invalid",
    path: "body.job.dependsOn",
  },
  {
    title: "a job script that is not base64 when it says it is",
    body: ruleWith("bad-script", { name: "j", script: "echo hi!", scriptEncoding: "base64" }),
    status: 400,
    type: "request-invalid",
    path: "body.job.script",
  },
  {
    title: "a rule name with characters names do not have",
    body: perBatchRule({ name: "bad_name" }),
    status: 400,
    type: "request-invalid",
    path: "body.name",
  },
];

describe("bad trigger rules: a 4xx problem naming the field, and nothing written", () => {
  it.each(badCases)("$title → $status $type at $path", async ({ body, status, type, path }) => {
    const response = await create(body);

    expect(response.status).toBe(status);
    expect(response.json.type).toBe(`urn:hpc-cluster-api:problem:${type}`);
    const paths: string[] = (response.json.errors ?? []).map((issue: { path: string }) => issue.path);
    if (path.endsWith("*"))
      expect(
        paths.some((p) => p.startsWith(path.slice(0, -1))),
        paths.join(),
      ).toBe(true);
    else expect(paths).toContain(path);

    // Some bad names cannot even be read back: only a readable name is looked up.
    if (/^[a-zA-Z][a-zA-Z0-9-]{0,59}$/.test(String(body.name))) {
      const lookup = await api.request("GET", `/v1/triggers/${String(body.name)}`);
      expect(lookup.status).toBe(404);
    }
  });

  it("answers a malformed name in the path with 400 naming path.name", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await api.request(method, "/v1/triggers/bad_name");
      expect(response.status).toBe(400);
      expect(response.json.errors).toContainEqual(expect.objectContaining({ path: "path.name" }));
    }
  });

  it("answers a limit out of range and an unknown nextToken with 400", async () => {
    const limit = await api.request("GET", "/v1/triggers?limit=0");
    expect(limit.status).toBe(400);
    expect(limit.json.errors).toContainEqual(expect.objectContaining({ path: "query.limit" }));
    const token = await api.request("GET", "/v1/triggers?nextToken=bm90LWEtdG9rZW4");
    expect(token.status).toBe(400);
    expect(token.json.type).toBe("urn:hpc-cluster-api:problem:invalid-next-token");
  });
});
