import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

const CONFIG = `HeadNode:
  InstanceType: t3.micro
Scheduling:
  Scheduler: awsbatch
  AwsBatchQueues:
    - Name: queue1
      ComputeResources:
        - Name: cr1
          InstanceTypes: [optimal]
          MaxvCpus: 4
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
`;

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi({ stackDelayMs: 100 });
  expect(
    (await api.request("POST", "/v1/clusters", { json: { name: "work", configuration: CONFIG } })).status,
  ).toBe(202);
  await api.waitForStatus("work", "CREATE_COMPLETE");
});
afterAll(async () => {
  await api.close();
});

const submit = (body: Record<string, unknown>, cluster = "work") =>
  api.request("POST", `/v1/clusters/${cluster}/jobs`, { json: body });

async function waitForJob(jobId: string, statuses: readonly string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api.request("GET", `/v1/clusters/work/jobs/${jobId}`);
    if (statuses.includes(job.json.status)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${jobId} is ${job.json.status}, not ${statuses.join("/")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function allLogLines(jobId: string, attempt?: number): Promise<string[]> {
  const lines: string[] = [];
  let token: string | undefined;
  do {
    const query = new URLSearchParams({
      limit: "2",
      ...(attempt ? { attempt: String(attempt) } : {}),
      ...(token ? { nextToken: token } : {}),
    });
    const page = await api.request("GET", `/v1/clusters/work/jobs/${jobId}/logs?${query}`);
    expect(page.status).toBe(200);
    lines.push(...page.json.lines.map((line: { message: string }) => line.message));
    token = page.json.nextToken;
  } while (token);
  return lines;
}

describe("jobs on a local cluster, run for real", () => {
  it("runs a command as exactly its argv, never through a shell of the API's own, and serves its output", async () => {
    const response = await submit({
      name: "hello",
      command: ["sh", "-c", 'echo "hello $WHO"; echo second line; exit 0'],
      environment: { WHO: "$(id) `whoami`; rm -rf /" },
    });
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe(`/v1/clusters/work/jobs/${response.json.jobId}`);
    expect(response.json).toMatchObject({ name: "hello", clusterName: "work" });

    const done = await waitForJob(response.json.jobId, ["SUCCEEDED", "FAILED"]);
    expect(done.json.status).toBe("SUCCEEDED");
    expect(await allLogLines(response.json.jobId)).toEqual(["hello $(id) `whoami`; rm -rf /", "second line"]);
  });

  it("retries by AWS Batch's rules: exits 1, 1, 0 under attempts 3 succeeds on attempt 3", async () => {
    const script =
      'echo "attempt $AWS_BATCH_JOB_ATTEMPT"\n[ "$AWS_BATCH_JOB_ATTEMPT" -ge 3 ] && exit 0\nexit 1\n';
    const response = await submit({
      name: "flaky",
      script: Buffer.from(script).toString("base64"),
      scriptEncoding: "base64",
      retryStrategy: { attempts: 3 },
    });
    expect(response.status).toBe(202);
    const done = await waitForJob(response.json.jobId, ["SUCCEEDED", "FAILED"]);
    expect(done.json.status).toBe("SUCCEEDED");
    expect(done.json.attempts.map((a: { exitCode: number }) => a.exitCode)).toEqual([1, 1, 0]);
    expect(await allLogLines(response.json.jobId, 2)).toEqual(["attempt 2"]);
  });

  it("fails at once when an evaluateOnExit rule says EXIT for that exit code", async () => {
    const response = await submit({
      name: "exit3",
      command: ["sh", "-c", "exit 3"],
      retryStrategy: { attempts: 5, evaluateOnExit: [{ onExitCode: "3", action: "EXIT" }] },
    });
    const done = await waitForJob(response.json.jobId, ["SUCCEEDED", "FAILED"]);
    expect(done.json.status).toBe("FAILED");
    expect(done.json.attempts).toHaveLength(1);
  });

  it("cancels a running job, which ends CANCELLED", async () => {
    const response = await submit({ name: "sleeper", command: ["sleep", "60"] });
    await waitForJob(response.json.jobId, ["RUNNING"]);
    const cancel = await api.request("DELETE", `/v1/clusters/work/jobs/${response.json.jobId}`);
    expect(cancel.status).toBe(202);
    const done = await waitForJob(response.json.jobId, ["CANCELLED", "FAILED", "SUCCEEDED"], 15_000);
    expect(done.json.status).toBe("CANCELLED");
  });

  it("answers a repeated clientToken with the first job, and runs it once", async () => {
    const body = { name: "once", command: ["true"], clientToken: "job-once-1" };
    const first = await submit(body);
    const second = await submit(body);
    expect(second.status).toBe(202);
    expect(second.json.jobId).toBe(first.json.jobId);
    const list = await api.request("GET", "/v1/clusters/work/jobs?limit=100");
    expect(list.json.items.filter((job: { name: string }) => job.name === "once")).toHaveLength(1);
  });

  it("submits through the command endpoint in sbatch's words", async () => {
    const response = await api.request("POST", "/pcluster?command=submit-job&cluster_name=work", {
      body: Buffer.from("echo from-sbatch\n").toString("base64"),
      headers: { additional_parameters: "--job-name classic --time 5" },
    });
    expect(response.status).toBe(202);
    const jobId = /^Submitted batch job ([0-9A-Z]{26})\n$/.exec(response.text)?.[1] ?? "";
    const done = await waitForJob(jobId, ["SUCCEEDED", "FAILED"]);
    expect(done.json).toMatchObject({ name: "classic", status: "SUCCEEDED", spec: { timeoutSeconds: 300 } });
  });

  it("lists the cluster's jobs newest first and by status", async () => {
    const all = await api.request("GET", "/v1/clusters/work/jobs?limit=100");
    const created = all.json.items.map((job: { createdAt: string }) => job.createdAt);
    expect(created).toEqual([...created].sort().reverse());
    const failed = await api.request("GET", "/v1/clusters/work/jobs?status=FAILED");
    expect(failed.json.items.map((job: { name: string }) => job.name)).toContain("exit3");
    expect(failed.json.items.every((job: { status: string }) => job.status === "FAILED")).toBe(true);
  });
});

describe("bad job submissions get a 4xx naming the field", () => {
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    [
      "attempts 0",
      { name: "j", command: ["true"], retryStrategy: { attempts: 0 } },
      400,
      "body.retryStrategy.attempts",
    ],
    [
      "attempts 11",
      { name: "j", command: ["true"], retryStrategy: { attempts: 11 } },
      400,
      "body.retryStrategy.attempts",
    ],
    [
      "six evaluateOnExit rules",
      {
        name: "j",
        command: ["true"],
        retryStrategy: {
          attempts: 2,
          evaluateOnExit: Array.from({ length: 6 }, () => ({ onExitCode: "1", action: "EXIT" })),
        },
      },
      400,
      "body.retryStrategy.evaluateOnExit",
    ],
    [
      "a wildcard in the middle",
      {
        name: "j",
        command: ["true"],
        retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: "1*3", action: "RETRY" }] },
      },
      400,
      "body.retryStrategy.evaluateOnExit[0].onExitCode",
    ],
    ["an array of 1", { name: "j", command: ["true"], arraySize: 1 }, 400, "body.arraySize"],
    ["an array of 10,001", { name: "j", command: ["true"], arraySize: 10_001 }, 400, "body.arraySize"],
    [
      "a timeout under 60 s",
      { name: "j", command: ["true"], timeoutSeconds: 59 },
      400,
      "body.timeoutSeconds",
    ],
    ["a job name with shell metacharacters", { name: "j;rm -rf /", command: ["true"] }, 400, "body.name"],
    [
      "an environment name with shell metacharacters",
      { name: "j", command: ["true"], environment: { "A$(id)": "x" } },
      400,
      "body.environment.A$(id)",
    ],
    [
      "a log group with shell metacharacters",
      { name: "j", command: ["true"], logGroup: "/x`id`" },
      400,
      "body.logGroup",
    ],
    ["both command and script", { name: "j", command: ["true"], script: "true" }, 400, "body.command"],
    ["neither command nor script", { name: "j" }, 400, "body.command"],
    [
      "a script that is not base64",
      { name: "j", script: "not base64!", scriptEncoding: "base64" },
      400,
      "body.script",
    ],
    [
      "a dependency on an unknown job",
      { name: "j", command: ["true"], dependsOn: [{ jobId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }] },
      400,
      "body.dependsOn[0].jobId",
    ],
    [
      "a malformed dependency id",
      { name: "j", command: ["true"], dependsOn: [{ jobId: "$(id)" }] },
      400,
      "body.dependsOn[0].jobId",
    ],
  ];

  it.each(cases)("refuses %s", async (_title, body, status, path) => {
    const response = await submit(body);
    expect(response.status).toBe(status);
    expect(response.json.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("answers 404 for an unknown cluster and for an unknown job", async () => {
    expect((await submit({ name: "j", command: ["true"] }, "nowhere")).status).toBe(404);
    const missing = await api.request("GET", "/v1/clusters/work/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    expect(missing.status).toBe(404);
    expect(missing.json.type).toBe("urn:hpc-cluster-api:problem:job-not-found");
  });

  it("answers 409 with the cluster's status when the cluster is not ready", async () => {
    const created = await api.request("POST", "/v1/clusters", {
      json: { name: "notyet", configuration: CONFIG },
    });
    expect(created.status).toBe(202);
    const response = await submit({ name: "j", command: ["true"] }, "notyet");
    expect(response.status).toBe(409);
    expect(response.json.type).toBe("urn:hpc-cluster-api:problem:cluster-not-ready");
    expect(response.json.detail).toMatch(/CREATE_IN_PROGRESS/);
  });
});
