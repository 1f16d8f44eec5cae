import { describe, expect, it } from "vitest";
import { ApiClient } from "../../../cli/api-client.ts";
import { ClusterSchema } from "../../../cli/api-types.ts";
import { jobExitCode } from "../../../cli/commands/jobs.ts";
import {
  ApiError,
  EXIT_CODES,
  errorLines,
  exitCodeFor,
  InterruptedError,
  OutcomeError,
  UsageError,
} from "../../../cli/errors.ts";
import { cli, type FakeAnswer, fakeFetch } from "./cli-harness.ts";

const CLUSTER = {
  name: "cfd",
  clusterId: "01JHMR0000000000000000000A",
  status: "CREATE_COMPLETE",
  scheduler: "slurm",
  stackName: "hpc-cfd",
  createdAt: "2025-01-15T11:50:00Z",
  updatedAt: "2025-01-15T11:55:00Z",
  links: { self: "/v1/clusters/cfd", events: "/v1/clusters/cfd/events" },
};

const problem = (status: number, code: string, title: string, detail: string, extra = {}): FakeAnswer => ({
  status,
  json: { type: `urn:hpc-cluster-api:problem:${code}`, title, status, detail, requestId: "req-1", ...extra },
});

describe("the exit-code mapping", () => {
  it("maps each kind of failure to its documented code", () => {
    expect(exitCodeFor(new UsageError("missing NAME"))).toBe(2);
    expect(exitCodeFor(new ApiError({ title: "Cluster not found", detail: "x", status: 404 }))).toBe(3);
    expect(exitCodeFor(new OutcomeError("cluster cfd: CREATE_FAILED: x"))).toBe(1);
    expect(exitCodeFor(new InterruptedError("SIGINT"))).toBe(130);
    expect(exitCodeFor(new InterruptedError("SIGTERM"))).toBe(143);
    expect(exitCodeFor(new Error("a bug"))).toBe(EXIT_CODES.api);
  });

  it("takes a finished job's exit code from its last attempt", () => {
    const job = (status: "SUCCEEDED" | "FAILED" | "CANCELLED", codes: (number | undefined)[]) => ({
      jobId: "01JHMT19E0DXJJAB0872XDCNPE",
      clusterName: "cfd",
      name: "j",
      status,
      createdAt: "2025-01-15T11:59:00Z",
      updatedAt: "2025-01-15T11:59:30Z",
      attempts: codes.map((exitCode) => (exitCode === undefined ? {} : { exitCode })),
    });
    expect(jobExitCode(job("SUCCEEDED", [0]))).toBe(0);
    expect(jobExitCode(job("FAILED", [1, 3]))).toBe(3);
    expect(jobExitCode(job("FAILED", [137]))).toBe(137);
    expect(jobExitCode(job("FAILED", [undefined]))).toBe(1);
    expect(jobExitCode(job("FAILED", []))).toBe(1);
    expect(jobExitCode(job("FAILED", [300]))).toBe(1);
    expect(jobExitCode(job("CANCELLED", [143]))).toBe(1);
  });

  it("prints a problem as `title: detail`, its field issues below, and the request id of a 5xx", () => {
    const lines = errorLines(
      new ApiError({
        title: "Invalid cluster configuration",
        detail: "The configuration is not a valid cluster configuration (1 issue).",
        status: 422,
        issues: [{ path: "Scheduling.Scheduler", message: "'sge' is not supported", line: 11 }],
        requestId: "r-422",
      }),
    );
    expect(lines).toEqual([
      "Invalid cluster configuration: The configuration is not a valid cluster configuration (1 issue).",
      "  Scheduling.Scheduler (line 11): 'sge' is not supported",
    ]);
    expect(
      errorLines(
        new ApiError({ title: "Internal error", detail: "internal error", status: 500, requestId: "r-9" }),
      ),
    ).toContain("  request id: r-9");
  });
});

describe("API and network errors exit 3 with the problem's title and detail on stderr", () => {
  it("reports a problem in its own words", async () => {
    const run = await cli(["clusters", "get", "nope"], {
      route: () => problem(404, "cluster-not-found", "Cluster not found", "No cluster named 'nope' exists."),
    });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("Cluster not found: No cluster named 'nope' exists.\n");
  });

  it("reports API Gateway's own refusal", async () => {
    const run = await cli(["clusters", "list"], {
      route: () => ({
        status: 403,
        json: { message: "Missing Authentication Token" },
        contentType: "application/json",
      }),
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toBe("Forbidden: Missing Authentication Token\n");
  });

  it("reports an API that cannot be reached", async () => {
    const run = await cli(["clusters", "list"], {
      route: () => {
        throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
      },
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^Network error: cannot reach http:\/\/127\.0\.0\.1:3000 \(ECONNREFUSED\)/);
  });

  it("uses HPC_API_URL, and --endpoint over it", async () => {
    const fromEnv = await cli(["clusters", "list"], {
      env: { HPC_API_URL: "http://api.example:8080/base/" },
      route: () => ({ json: { items: [] } }),
    });
    expect(fromEnv.seen[0]?.url.href).toBe("http://api.example:8080/base/v1/clusters?limit=100");
    const fromFlag = await cli(["clusters", "list", "--endpoint", "http://other:1"], {
      env: { HPC_API_URL: "http://api.example:8080" },
      route: () => ({ json: { items: [] } }),
    });
    expect(fromFlag.seen[0]?.url.origin).toBe("http://other:1");
  });

  it("reports an answer that is not the expected JSON", async () => {
    const notJson = await cli(["clusters", "get", "cfd"], {
      route: () => ({ status: 502, text: "<html>Bad Gateway</html>", contentType: "text/html" }),
    });
    expect(notJson.code).toBe(3);
    expect(notJson.stderr).toMatch(/^Bad Gateway: <html>Bad Gateway<\/html>/);
    const wrongShape = await cli(["clusters", "get", "cfd"], { route: () => ({ json: { name: "cfd" } }) });
    expect(wrongShape.code).toBe(3);
    expect(wrongShape.stderr).toMatch(/^Unexpected response: GET \/v1\/clusters\/cfd answered JSON/);
  });
});

describe("retries", () => {
  const client = (route: () => FakeAnswer) =>
    new ApiClient({ endpoint: "http://api.test", fetch: fakeFetch(route), retryDelaysMs: [1, 1] });

  it("retries a GET after a 503 and succeeds", async () => {
    let calls = 0;
    const api = client(() =>
      ++calls === 1 ? problem(503, "service-unavailable", "Service unavailable", "retry") : { json: CLUSTER },
    );
    await expect(api.get("/v1/clusters/cfd", ClusterSchema)).resolves.toMatchObject({ name: "cfd" });
    expect(calls).toBe(2);
  });

  it("gives up after its last retry with the last problem", async () => {
    let calls = 0;
    const api = client(() => {
      calls += 1;
      return problem(503, "service-unavailable", "Service unavailable", "retry");
    });
    await expect(api.get("/v1/clusters/cfd", ClusterSchema)).rejects.toMatchObject({
      title: "Service unavailable",
    });
    expect(calls).toBe(3);
  });

  it("never retries a create, which carries no client token, nor a 4xx", async () => {
    let calls = 0;
    const api = client(() => {
      calls += 1;
      return calls === 1
        ? problem(503, "service-unavailable", "Service unavailable", "retry")
        : problem(404, "cluster-not-found", "Cluster not found", "no");
    });
    await expect(api.post("/v1/clusters", { name: "x" }, ClusterSchema)).rejects.toMatchObject({
      title: "Service unavailable",
    });
    await expect(api.get("/v1/clusters/x", ClusterSchema)).rejects.toMatchObject({ status: 404 });
    expect(calls).toBe(2);
  });
});
