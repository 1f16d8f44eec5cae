// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text hpcctl must send as typed
import { describe, expect, it } from "vitest";
import { ApiClient } from "../../../cli/api-client.ts";
import { runCli } from "../../../cli/main.ts";
import { loadSpec, validateAt } from "../../support/openapi-contract.ts";
import { cli, type FakeAnswer, type SeenRequest, Sink } from "./cli-harness.ts";

const CONFIG = "HeadNode:\n  InstanceType: t3.micro\n";

/** A rule as listed (`TriggerSummary`). */
function summary(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    bucket: "photos",
    prefix: "raw/",
    suffix: ".jpg",
    clusterName: "img",
    mode: "per-object",
    whenDone: "keep",
    createdAt: "2025-01-15T11:00:00.000Z",
    links: { self: `/v1/triggers/${name}`, cluster: "/v1/clusters/img" },
    ...extra,
  };
}

/** A rule as read (`Trigger`). */
function rule(name: string, extra: Record<string, unknown> = {}) {
  return {
    ...summary(name),
    job: {
      name: "thumb",
      command: ["convert", "${input.uri}", "-resize", "256"],
      environment: { OUT: "s3://out/${input.key}" },
    },
    createdBy: "arn:aws:iam::123456789012:user/alice",
    recentFailures: [],
    ...extra,
  };
}

const problem = (status: number, code: string, title: string, detail: string, extra = {}): FakeAnswer => ({
  status,
  json: { type: `urn:hpc-cluster-api:problem:${code}`, title, status, detail, ...extra },
});

const created =
  (extra: Record<string, unknown> = {}) =>
  (request: SeenRequest): FakeAnswer => ({
    status: 201,
    json: rule(String((request.body as { name?: unknown }).name), extra),
  });

/** The job template the first request sent. */
const sentJob = (run: { readonly seen: readonly SeenRequest[] }): unknown =>
  (run.seen[0]?.body as { job?: unknown } | undefined)?.job;

const BASE = ["triggers", "create", "thumbs", "--bucket", "photos", "--cluster", "img"];

describe("triggers create", () => {
  it("sends the rule with the job's command and placeholders exactly as typed, and the template as base64", async () => {
    const run = await cli(
      [
        ...BASE,
        "--prefix",
        "raw/",
        "--suffix",
        ".jpg",
        "--template",
        "cluster.yaml",
        "--mode",
        "per-batch",
        "--when-done",
        "delete",
        "--job-name",
        "thumb-${input.size}",
        "--env",
        "OUT=s3://out/${input.key}",
        "--env",
        "HOME_DIR=${HOME}",
        "--timeout",
        "600",
        "--retry-attempts",
        "2",
        "--",
        "convert",
        "${input.uri}",
        "-resize",
        "256",
      ],
      { files: { "cluster.yaml": CONFIG }, route: created() },
    );
    expect(run.code).toBe(0);
    expect(run.seen.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      "POST /v1/triggers",
    ]);
    expect(run.seen[0]?.body).toEqual({
      name: "thumbs",
      bucket: "photos",
      prefix: "raw/",
      suffix: ".jpg",
      clusterName: "img",
      clusterTemplate: {
        configuration: Buffer.from(CONFIG).toString("base64"),
        configurationEncoding: "base64",
      },
      job: {
        name: "thumb-${input.size}",
        command: ["convert", "${input.uri}", "-resize", "256"],
        environment: { OUT: "s3://out/${input.key}", HOME_DIR: "${HOME}" },
        retryStrategy: { attempts: 2 },
        timeoutSeconds: 600,
      },
      mode: "per-batch",
      whenDone: "delete",
    });
    expect(validateAt("/components/schemas/CreateTriggerRequest", run.seen[0]?.body)).toEqual([]);
  });

  it("leaves out what was not given, so the API's defaults apply, and names the job from the command", async () => {
    const run = await cli([...BASE, "--", "./process", "${input.key}"], { route: created() });
    expect(run.code).toBe(0);
    expect(run.seen[0]?.body).toEqual({
      name: "thumbs",
      bucket: "photos",
      clusterName: "img",
      job: { name: "process", command: ["./process", "${input.key}"] },
    });
  });

  it("sends a script as base64 with the resource options the jobs commands do not have", async () => {
    const script = '#!/bin/sh\necho "processing $IN"\n';
    const run = await cli(
      [
        ...BASE,
        "--script",
        "process.sh",
        "--env",
        "IN=${input.uri}",
        "--image",
        "public.ecr.aws/docker/library/alpine:3",
        "--vcpus",
        "0.5",
        "--memory",
        "2048",
        "--array",
        "4",
      ],
      { files: { "process.sh": script }, route: created() },
    );
    expect(run.code).toBe(0);
    expect(sentJob(run)).toEqual({
      name: "process-sh",
      script: Buffer.from(script).toString("base64"),
      scriptEncoding: "base64",
      environment: { IN: "${input.uri}" },
      arraySize: 4,
      image: "public.ecr.aws/docker/library/alpine:3",
      vcpus: 0.5,
      memoryMiB: 2048,
    });
    expect(validateAt("/components/schemas/CreateTriggerRequest", run.seen[0]?.body)).toEqual([]);
  });

  it("sends a --job JSON file's fields as they are", async () => {
    const job = {
      name: "align",
      command: ["bwa", "mem", "${input.uri}"],
      environment: { SAMPLE: "${input.key}" },
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: "137", action: "RETRY" }] },
    };
    const run = await cli([...BASE, "--job", "job.json"], {
      files: { "job.json": JSON.stringify(job) },
      route: created(),
    });
    expect(run.code).toBe(0);
    expect(sentJob(run)).toEqual(job);
  });

  it("reads a --job YAML file, placeholders included, into the same fields", async () => {
    const yaml = [
      "name: align",
      "command:",
      "  - bwa",
      "  - mem",
      "  - ${input.uri}",
      "environment:",
      "  SAMPLE: ${input.key}",
      "  SIZE: '${input.size}'",
      "timeoutSeconds: 3600",
      "",
    ].join("\n");
    const run = await cli([...BASE, "--job", "job.yaml"], { files: { "job.yaml": yaml }, route: created() });
    expect(run.code).toBe(0);
    expect(sentJob(run)).toEqual({
      name: "align",
      command: ["bwa", "mem", "${input.uri}"],
      environment: { SAMPLE: "${input.key}", SIZE: "${input.size}" },
      timeoutSeconds: 3600,
    });
  });

  it("prints the created rule's key facts, and the API's warnings on stderr", async () => {
    const run = await cli([...BASE, "--template", "c.yaml", "--", "convert", "${input.uri}"], {
      files: { "c.yaml": CONFIG },
      route: created({
        clusterTemplate: { configuration: CONFIG },
        warnings: [
          {
            path: "body.clusterTemplate.configuration.HeadNode.Ssh",
            message: "no key pair: nobody can log in",
            line: 1,
          },
        ],
      }),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Name: +thumbs$/m);
    expect(run.stdout).toMatch(/^Cluster: +img \(created from the rule's template when absent\)$/m);
    expect(run.stdout).toMatch(/^Runs: +convert '\$\{input\.uri\}' -resize 256$/m);
    expect(run.stdout).toMatch(/^Environment: +OUT=s3:\/\/out\/\$\{input\.key\}$/m);
    expect(run.stdout).not.toMatch(/warning/);
    expect(run.stderr).toBe(
      "warning: body.clusterTemplate.configuration.HeadNode.Ssh (line 1): no key pair: nobody can log in\n",
    );
  });

  it("prints the API's rule unchanged with --output json, warnings still on stderr", async () => {
    const warnings = [
      {
        path: "body.clusterName",
        message: "No cluster named 'img' exists and the rule has no clusterTemplate.",
      },
    ];
    const run = await cli([...BASE, "-o", "json", "--", "convert", "${input.uri}"], {
      route: created({ warnings }),
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(rule("thumbs", { warnings }));
    expect(run.stderr).toBe(
      "warning: body.clusterName: No cluster named 'img' exists and the rule has no clusterTemplate.\n",
    );
  });

  it("renders a 409 problem with its field issue and exits 3", async () => {
    const run = await cli([...BASE, "--", "true"], {
      route: () =>
        problem(
          409,
          "trigger-exists",
          "Trigger rule already exists",
          "A trigger rule named 'thumbs' already exists; rules are immutable: delete it first or pick another name.",
          { errors: [{ path: "body.name", message: "already taken by another rule" }] },
        ),
    });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      "Trigger rule already exists: A trigger rule named 'thumbs' already exists; rules are immutable: delete it first or pick another name.\n" +
        "  body.name: already taken by another rule\n",
    );
  });

  it("renders a 400 naming the unknown placeholder, and a 422 naming the template's line", async () => {
    const placeholder = await cli([...BASE, "--", "convert", "${input.url}"], {
      route: () =>
        problem(
          400,
          "request-invalid",
          "Invalid request",
          "The job template names a placeholder that does not exist.",
          {
            errors: [{ path: "body.job.command[1]", message: "unknown placeholder ${input.url}" }],
          },
        ),
    });
    expect(placeholder.code).toBe(3);
    expect(placeholder.stderr).toBe(
      "Invalid request: The job template names a placeholder that does not exist.\n" +
        "  body.job.command[1]: unknown placeholder ${input.url}\n",
    );
    const template = await cli([...BASE, "--template", "c.yaml", "--", "true"], {
      files: { "c.yaml": CONFIG },
      route: () =>
        problem(
          422,
          "config-invalid",
          "Invalid cluster configuration",
          "The clusterTemplate cannot create a cluster.",
          {
            errors: [
              {
                path: "body.clusterTemplate.configuration.HeadNode.InstanceType",
                message: "unknown",
                line: 2,
              },
            ],
          },
        ),
    });
    expect(template.code).toBe(3);
    expect(template.stderr).toBe(
      "Invalid cluster configuration: The clusterTemplate cannot create a cluster.\n" +
        "  body.clusterTemplate.configuration.HeadNode.InstanceType (line 2): unknown\n",
    );
  });

  describe("refuses a wrong command line with exit 2, before any request", () => {
    const cases: readonly [string, readonly string[], Readonly<Record<string, string>>, RegExp][] = [
      [
        "no job at all",
        [...BASE],
        {},
        /^hpcctl: missing the job: --job FILE, --script FILE, or -- CMD ARGS\.\.\.$/m,
      ],
      [
        "a --job file and a command",
        [...BASE, "--job", "j.json", "--", "true"],
        { "j.json": "{}" },
        /^hpcctl: give the job either with --job FILE or with options \(-- CMD ARGS\.\.\.\), not both$/m,
      ],
      [
        "a --job file and a job option",
        [...BASE, "--job", "j.json", "--env", "A=1"],
        { "j.json": "{}" },
        /^hpcctl: give the job either with --job FILE or with options \(--env\), not both$/m,
      ],
      ["a script and a command", [...BASE, "--script", "s.sh", "--", "true"], { "s.sh": "x" }, /not both/],
      [
        "no --bucket",
        ["triggers", "create", "thumbs", "--cluster", "img", "--", "true"],
        {},
        /^hpcctl: missing --bucket$/m,
      ],
      [
        "no --cluster",
        ["triggers", "create", "thumbs", "--bucket", "b", "--", "true"],
        {},
        /^hpcctl: missing --cluster$/m,
      ],
      [
        "no NAME",
        ["triggers", "create", "--bucket", "b", "--cluster", "c", "--", "true"],
        {},
        /^hpcctl: missing NAME$/m,
      ],
      [
        "an unknown mode",
        [...BASE, "--mode", "per-file", "--", "true"],
        {},
        /^hpcctl: --mode must be one of per-object, per-batch \(got 'per-file'\)$/m,
      ],
      [
        "an unknown when-done",
        [...BASE, "--when-done", "stop", "--", "true"],
        {},
        /^hpcctl: --when-done must be one of keep, delete \(got 'stop'\)$/m,
      ],
      [
        "vCPUs that are not a number",
        [...BASE, "--vcpus", "two", "--", "true"],
        {},
        /^hpcctl: --vcpus takes a positive number/m,
      ],
      ["no vCPUs", [...BASE, "--vcpus", "0", "--", "true"], {}, /^hpcctl: --vcpus takes a positive number/m],
      [
        "memory that is not whole",
        [...BASE, "--memory", "1.5", "--", "true"],
        {},
        /^hpcctl: --memory takes a whole number/m,
      ],
      [
        "an unreadable template",
        [...BASE, "--template", "missing.yaml", "--", "true"],
        {},
        /^hpcctl: cannot read the configuration file 'missing.yaml' \(ENOENT\)$/m,
      ],
      [
        "an unreadable job file",
        [...BASE, "--job", "missing.json"],
        {},
        /^hpcctl: cannot read the job file 'missing.json' \(ENOENT\)$/m,
      ],
      [
        "an empty job file",
        [...BASE, "--job", "j.yaml"],
        { "j.yaml": "\n" },
        /^hpcctl: the job file 'j.yaml' is empty$/m,
      ],
      [
        "a job file that does not parse",
        [...BASE, "--job", "j.yaml"],
        { "j.yaml": "name: a\ncommand: [convert, ${input.uri}]\n" },
        /^hpcctl: the job file 'j.yaml' is neither JSON nor YAML: .* at line 2, column \d+ \(quote \$\{input\.<field>\}/m,
      ],
      [
        "a job file that is not a mapping",
        [...BASE, "--job", "j.json"],
        { "j.json": '["convert"]' },
        /^hpcctl: the job file 'j.json' must hold the job's fields .* as a mapping$/m,
      ],
      [
        "a command without --",
        [...BASE, "convert", "${input.uri}"],
        {},
        /^hpcctl: unexpected argument 'convert \$\{input\.uri\}' \(put the job's command after '--'\)$/m,
      ],
    ];
    it.each(cases)("%s", async (_what, argv, files) => {
      const run = await cli(argv, { files });
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/Usage: hpcctl triggers create NAME/);
    });
    it.each(cases)("%s: says what is wrong", async (_what, argv, files, message) => {
      const run = await cli(argv, { files });
      expect(run.stderr).toMatch(message);
    });
  });
});

describe("triggers list", () => {
  const pages = (request: SeenRequest): FakeAnswer =>
    request.url.searchParams.get("nextToken") === "page2"
      ? {
          json: {
            items: [
              summary("nightly", {
                bucket: "data",
                prefix: "runs/",
                suffix: undefined,
                clusterName: "batch",
                mode: "per-batch",
                whenDone: "delete",
              }),
            ],
          },
        }
      : {
          json: {
            items: [summary("thumbs")],
            nextToken: "page2",
          },
        };

  it("follows nextToken and prints every rule as an aligned table", async () => {
    const run = await cli(["triggers", "list"], { route: pages });
    expect(run.code).toBe(0);
    expect(run.seen.map((request) => `${request.url.pathname}${request.url.search}`)).toEqual([
      "/v1/triggers?limit=100",
      "/v1/triggers?limit=100&nextToken=page2",
    ]);
    expect(run.stdout.split("\n")).toEqual([
      "NAME     BUCKET  PREFIX  SUFFIX  CLUSTER  MODE        WHEN-DONE",
      "thumbs   photos  raw/    .jpg    img      per-object  keep",
      "nightly  data    runs/   -       batch    per-batch   delete",
      "",
    ]);
  });

  it("prints { items } with every page merged in JSON", async () => {
    const run = await cli(["triggers", "list", "-o", "json"], { route: pages });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).items.map((item: { name: string }) => item.name)).toEqual([
      "thumbs",
      "nightly",
    ]);
  });

  it("says so on stderr when there are no rules, leaving stdout empty", async () => {
    const run = await cli(["triggers", "list"], { route: () => ({ json: { items: [] } }) });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("No trigger rules.\n");
  });
});

describe("triggers get", () => {
  const failures = [
    {
      at: "2025-01-15T11:58:00.123Z",
      bucket: "photos",
      key: "raw/a b.jpg",
      reason: "cluster img does not exist and the rule has no template",
    },
    { at: "2025-01-15T11:50:00Z", bucket: "photos", key: "raw/c.jpg", reason: "cluster img: CREATE_FAILED" },
  ];

  it("shows the rule and its recent failures, newest first, for people", async () => {
    const run = await cli(["triggers", "get", "thumbs"], {
      route: () => ({
        json: rule("thumbs", { mode: "per-batch", suffix: undefined, recentFailures: failures }),
      }),
    });
    expect(run.code).toBe(0);
    expect(run.seen[0]?.url.pathname).toBe("/v1/triggers/thumbs");
    expect(run.stdout).toMatch(/^Batch marker: +_SUCCESS$/m);
    expect(run.stdout).toMatch(/^Cluster: +img \(must exist\)$/m);
    expect(run.stdout).toMatch(/^Created: +2025-01-15T11:00:00\.000Z \(1h ago\)$/m);
    expect(run.stdout).toMatch(/^Recent failures: +2 \(below\)$/m);
    expect(run.stdout.split("\n").slice(-5)).toEqual([
      "Recent failures (newest first):",
      "TIME                  OBJECT              REASON",
      "2025-01-15T11:58:00Z  photos/raw/a b.jpg  cluster img does not exist and the rule has no template",
      "2025-01-15T11:50:00Z  photos/raw/c.jpg    cluster img: CREATE_FAILED",
      "",
    ]);
  });

  it("prints the API's rule unchanged in JSON", async () => {
    const body = rule("thumbs", { recentFailures: failures });
    const run = await cli(["triggers", "get", "thumbs", "-o", "json"], { route: () => ({ json: body }) });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(body);
  });

  it("exits 3 with the problem's words for a rule that does not exist", async () => {
    const run = await cli(["triggers", "get", "nope"], {
      route: () =>
        problem(
          404,
          "trigger-not-found",
          "Trigger rule not found",
          "No trigger rule 'nope'. List them with GET /v1/triggers.",
        ),
    });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      "Trigger rule not found: No trigger rule 'nope'. List them with GET /v1/triggers.\n",
    );
  });
});

/** hpcctl on an API that answers every request with `status` and no body (a 204, which `Response` cannot carry a body for). */
async function cliNoContent(argv: readonly string[], status: number) {
  const stdout = new Sink();
  const stderr = new Sink();
  const seen: SeenRequest[] = [];
  const fetchNoContent = (async (input: URL | string, init?: RequestInit) => {
    seen.push({ method: init?.method ?? "GET", url: new URL(String(input)) });
    return new Response(null, { status });
  }) as typeof fetch;
  const code = await runCli({
    argv,
    env: {},
    stdout,
    stderr,
    createClient: async (settings) =>
      new ApiClient({ endpoint: settings.endpoint, fetch: fetchNoContent, retryDelaysMs: [] }),
  });
  return { code, stdout: stdout.text, stderr: stderr.text, seen };
}

describe("triggers delete", () => {
  it("deletes the rule by name and says so on stdout", async () => {
    const run = await cliNoContent(["triggers", "delete", "thumbs"], 204);
    expect(run.code).toBe(0);
    expect(run.seen.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      "DELETE /v1/triggers/thumbs",
    ]);
    expect(run.stdout).toBe("Trigger rule thumbs deleted.\n");
  });

  it("prints nothing on stdout in JSON, the exit code telling it worked", async () => {
    const run = await cliNoContent(["triggers", "delete", "thumbs", "-o", "json"], 204);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
  });

  it("exits 3 with the problem's words for a rule that does not exist", async () => {
    const run = await cli(["triggers", "delete", "nope"], {
      route: () => problem(404, "trigger-not-found", "Trigger rule not found", "No trigger rule 'nope'."),
    });
    expect(run.code).toBe(3);
    expect(run.seen.map((request) => request.method)).toEqual(["DELETE"]);
    expect(run.stderr).toBe("Trigger rule not found: No trigger rule 'nope'.\n");
  });
});

describe("the triggers group", () => {
  it("lists its commands in the top-level help", async () => {
    const run = await cli(["--help"]);
    expect(run.code).toBe(0);
    for (const command of ["create", "list", "get", "delete"])
      expect(run.stdout).toMatch(new RegExp(`^  hpcctl triggers ${command} `, "m"));
  });

  it("reminds people in create's help to single-quote placeholders", async () => {
    const run = await cli(["triggers", "create", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/single-quote them/);
    expect(run.stdout).toMatch(/-- convert '\$\{input\.uri\}'/);
  });
});

/** An example of `openapi.yaml` (`#/components/examples/<name>`), as the API documents its answers. */
function specExample(name: string): Record<string, unknown> {
  const spec = loadSpec() as { components: { examples: Record<string, { value: Record<string, unknown> }> } };
  const example = spec.components.examples[name];
  if (!example) throw new Error(`openapi.yaml has no example ${name}`);
  return example.value;
}

describe("hpcctl and its fake API agree with openapi.yaml", () => {
  it("the fake answers are documented shapes", () => {
    expect(validateAt("/components/schemas/Trigger", rule("thumbs"))).toEqual([]);
    expect(
      validateAt(
        "/components/schemas/Trigger",
        rule("thumbs", {
          clusterTemplate: { configuration: CONFIG },
          recentFailures: [
            { at: "2025-01-15T11:58:00.123Z", bucket: "photos", key: "raw/a.jpg", reason: "x" },
          ],
          warnings: [{ path: "body.clusterName", message: "no such cluster" }],
        }),
      ),
    ).toEqual([]);
    expect(
      validateAt("/components/schemas/TriggerList", { items: [summary("thumbs")], nextToken: "page2" }),
    ).toEqual([]);
  });

  it("reads the documented rule with a failure", async () => {
    const example = specExample("TriggerWithFailure");
    const run = await cli(["triggers", "get", "csv-ingest"], { route: () => ({ json: example }) });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Runs: +python3 \/opt\/ingest\.py '\$\{input\.uri\}' --bytes '\$\{input\.size\}'$/m,
    );
    expect(run.stdout).toMatch(
      /^2025-01-15T09:12:44Z {2}my-data-bucket\/incoming\/2025-01-15\/orders\.csv {2}No cluster/m,
    );
  });

  it("reads the documented page of rules", async () => {
    const example = specExample("TriggerListPage");
    const run = await cli(["triggers", "list"], { route: () => ({ json: example }) });
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n").map((line) => line.split(/ +/)[0])).toEqual([
      "NAME",
      "csv-ingest",
      "genomics-runs",
      "",
    ]);
  });

  it("reads the documented answer to a create, warning included", async () => {
    const example = specExample("TriggerCreatedWithWarning");
    const run = await cli(
      [
        "triggers",
        "create",
        "csv-ingest",
        "--bucket",
        "my-data-bucket",
        "--prefix",
        "incoming/",
        "--suffix",
        ".csv",
        "--cluster",
        "batch1",
        "--job-name",
        "ingest-${input.key}",
        "--image",
        "public.ecr.aws/docker/library/python:3.12",
        "--vcpus",
        "1",
        "--memory",
        "2048",
        "--",
        "python3",
        "/opt/ingest.py",
        "${input.uri}",
        "--bytes",
        "${input.size}",
      ],
      { route: () => ({ status: 201, json: example }) },
    );
    expect(run.code).toBe(0);
    // The documented rule is what this line asks for: its fields, the job's empty environment left out.
    const { job, name, bucket, prefix, suffix, clusterName } = example;
    const { environment: _empty, ...asked } = job as Record<string, unknown>;
    expect(run.seen[0]?.body).toEqual({ name, bucket, prefix, suffix, clusterName, job: asked });
    expect(validateAt("/components/schemas/CreateTriggerRequest", run.seen[0]?.body)).toEqual([]);
    expect(run.stderr).toMatch(/^warning: body\.clusterName: No cluster named 'batch1' exists/m);
  });
});
