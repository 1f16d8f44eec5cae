import { describe, expect, it } from "vitest";
import type { Job, JobAttempt, JobSpec } from "#shared/domain/job.ts";
import { jobResource, jobSummaryResource } from "#shared/http/representations.ts";
import { assertMatchesContract, loadSpec, type ObservedResponse } from "../../support/openapi-contract.ts";

/**
 * The job responses are built by `jobResource` / `jobSummaryResource`; these tests render domain jobs
 * through them and hold the result against `openapi.yaml`, so the schemas mirror the representation
 * functions: every field they can write is declared, and exactly the ones they always write are required.
 */

type Json = Record<string, unknown>;

const JOB_ID = "01JHMT19E0DXJJAB0872XDCNPE";
const JOB_PATH = `/v1/clusters/genomics/jobs/${JOB_ID}`;

/** Every field of an attempt; `Required` makes a field added to the domain type a compile error here. */
const fullAttempt = {
  startedAt: "2025-01-15T11:04:40.118Z",
  stoppedAt: "2025-01-15T11:12:18.530Z",
  exitCode: 137,
  statusReason: "Host EC2 (instance i-0f1e2d3c4b5a69788) terminated.",
  logStream: "genomics-jobdef/default/8d3f0c2a61b94e7c9a5d1e0f2b3c4d5e",
} satisfies Required<JobAttempt>;

/** Every field of a spec (both `command` and `script`, which a real job never has together). */
const fullSpec = {
  command: ["sh", "-c", "echo $HOME; exit 3"],
  script: "#!/bin/sh\necho hi\n",
  image: "public.ecr.aws/docker/library/busybox:1.36",
  vcpus: 0.5,
  memoryMiB: 512,
  environment: { SAMPLE_ID: "42" },
  arraySize: 5,
  dependsOn: [{ jobId: "01JHMRRX009TPJ338CQDEGBA2B", type: "N_TO_N" }],
  retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: "3", action: "EXIT" }] },
  timeoutSeconds: 600,
  nodes: 2,
  logGroup: "/hpc/genomics/jobs",
  inputUri: "s3://my-bucket/input/sample42.fq",
} satisfies Required<JobSpec>;

const minimalSpec: JobSpec = { command: ["true"], environment: {}, dependsOn: [] };

/** Every field of a stored job, the ones the API never shows (`clusterId`, `version`, ...) included. */
const fullJob = {
  jobId: JOB_ID,
  clusterName: "genomics",
  clusterId: "7d2e9a41-6c0b-4f3e-8d15-2a9b0c4e6f17",
  name: "align-sample-42",
  status: "FAILED",
  statusReason: "Essential container in task exited",
  spec: fullSpec,
  scheduler: "awsbatch",
  externalId: "4c2b9d1e-7f3a-4e8b-9a61-0d5e2f7c8b93",
  attempts: [fullAttempt, {}],
  arrayProgress: { SUCCEEDED: 4, FAILED: 1 },
  createdAt: "2025-01-15T11:02:03.456Z",
  updatedAt: "2025-01-15T11:31:06.204Z",
  startedAt: "2025-01-15T11:04:40.118Z",
  stoppedAt: "2025-01-15T11:31:05.870Z",
  createdBy: "arn:aws:iam::123456789012:user/alice",
  lastEventAt: "2025-01-15T11:31:05.870Z",
  origin: {
    triggerName: "genomics-runs",
    input: {
      uri: "s3://my-sequencer-output/runs/7/",
      bucket: "my-sequencer-output",
      key: "runs/7/_SUCCESS",
      prefix: "runs/7/",
      size: "0",
    },
    whenDone: "delete",
  },
  waitingForCluster: true,
  version: 7,
} satisfies Required<Job>;

const minimalJob: Job = {
  jobId: JOB_ID,
  clusterName: "genomics",
  clusterId: "7d2e9a41-6c0b-4f3e-8d15-2a9b0c4e6f17",
  name: "j",
  status: "SUBMITTED",
  spec: minimalSpec,
  scheduler: "local",
  attempts: [],
  createdAt: "2025-01-15T11:02:03.456Z",
  updatedAt: "2025-01-15T11:02:03.456Z",
  createdBy: "local",
  version: 1,
};

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function schema(name: string): { properties: string[]; required: string[] } {
  const spec = loadSpec();
  const schemas = isObject(spec) && isObject(spec.components) ? spec.components.schemas : undefined;
  const node = isObject(schemas) ? schemas[name] : undefined;
  if (!isObject(node) || !isObject(node.properties)) throw new Error(`no object schema ${name}`);
  return {
    properties: Object.keys(node.properties).sort(),
    required: Array.isArray(node.required) ? node.required.map(String).sort() : [],
  };
}

function keys(value: object): string[] {
  return Object.keys(value).sort();
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

describe("the job schemas mirror the representation functions", () => {
  it("declare every field jobResource writes and require exactly the ones it always writes", () => {
    expect(schema("Job").properties).toEqual(keys(jobResource(fullJob)));
    expect(schema("Job").required).toEqual(keys(jobResource(minimalJob)));
  });

  it("declare every field jobSummaryResource writes and require exactly the ones it always writes", () => {
    expect(schema("JobSummary").properties).toEqual(keys(jobSummaryResource(fullJob)));
    expect(schema("JobSummary").required).toEqual(keys(jobSummaryResource(minimalJob)));
  });

  it("declare every field of a job's spec and attempts, requiring only what the domain requires", () => {
    expect(schema("JobSpec").properties).toEqual(keys(fullSpec));
    // `command` and `script` are one-of-two: neither is required on its own.
    const { command: _oneOfTwo, ...alwaysWritten } = minimalSpec;
    expect(schema("JobSpec").required).toEqual(keys(alwaysWritten));
    expect(schema("JobAttempt").properties).toEqual(keys(fullAttempt));
    expect(schema("JobAttempt").required).toEqual([]);
  });

  it("accept a job rendered with every optional field, and one rendered with none", () => {
    for (const job of [fullJob, minimalJob]) {
      expect(() => assertMatchesContract(json("GET", JOB_PATH, 200, jobResource(job)))).not.toThrow();
    }
  });

  it("accept a page of rendered job summaries from listJobs", () => {
    const page = { items: [jobSummaryResource(fullJob), jobSummaryResource(minimalJob)], nextToken: "abc" };
    expect(() => assertMatchesContract(json("GET", "/v1/clusters/genomics/jobs", 200, page))).not.toThrow();
  });
});

describe("the job operations in openapi.yaml", () => {
  it("require the Location header on a 202 from submitJob", () => {
    const body = jobResource(minimalJob);
    expect(() => assertMatchesContract(json("POST", "/v1/clusters/genomics/jobs", 202, body))).toThrow(
      /missing required header Location/,
    );
    expect(() =>
      assertMatchesContract(
        json("POST", "/v1/clusters/genomics/jobs", 202, body, { Location: body.links.self }),
      ),
    ).not.toThrow();
  });

  it("answer a cancel with 202 and the job, and document no 200 for it", () => {
    const body = jobResource(fullJob);
    expect(() => assertMatchesContract(json("DELETE", JOB_PATH, 202, body))).not.toThrow();
    expect(() => assertMatchesContract(json("DELETE", JOB_PATH, 200, body))).toThrow(
      /undocumented status 200/,
    );
  });

  it("reject a job status the contract does not list", () => {
    const body = { ...jobResource(minimalJob), status: "TIMED_OUT" };
    expect(() => assertMatchesContract(json("GET", JOB_PATH, 200, body))).toThrow(
      /\/status must be equal to one of the allowed values/,
    );
  });

  it("match the logs path rather than the job path, and check log lines", () => {
    const page = { lines: [{ at: "2025-01-15T11:14:05.002Z", message: "hello" }, { message: "" }] };
    expect(() => assertMatchesContract(json("GET", `${JOB_PATH}/logs`, 200, page))).not.toThrow();
    expect(() =>
      assertMatchesContract(json("GET", `${JOB_PATH}/logs`, 200, { lines: [{ at: "2025-01-15" }] })),
    ).toThrow(/required property 'message'/);
  });

  it("reject an empty page of jobs that still carries a nextToken", () => {
    const r = json("GET", "/v1/clusters/genomics/jobs", 200, { items: [], nextToken: "abc" });
    expect(() => assertMatchesContract(r)).toThrow(/fewer than 1 items/);
  });

  it("accept the JSON answer of command=submit-job with the job it submitted", () => {
    const body = {
      command: "submit-job",
      lines: [`Submitted batch job ${JOB_ID}`],
      job: jobSummaryResource(minimalJob),
    };
    expect(() =>
      assertMatchesContract(json("POST", "/pcluster?command=submit-job", 202, body)),
    ).not.toThrow();
  });

  it("accept the job problems where they can happen", () => {
    for (const [method, path, type, status] of [
      ["GET", JOB_PATH, "job-not-found", 404],
      ["DELETE", JOB_PATH, "job-not-found", 404],
      ["POST", "/v1/clusters/genomics/jobs", "cluster-not-ready", 409],
      ["POST", "/v1/clusters/genomics/jobs", "job-exists", 409],
      ["POST", "/pcluster?command=submit-job", "cluster-not-ready", 409],
    ] as const) {
      const problem = {
        type: `urn:hpc-cluster-api:problem:${type}`,
        title: "A title",
        status,
        detail: "Why.",
      };
      const r = json(method, path, status, problem, { "Content-Type": "application/problem+json" });
      expect(() => assertMatchesContract(r), `${method} ${path} ${type}`).not.toThrow();
    }
  });
});
