import { describe, expect, it } from "vitest";
import { InterruptedError } from "../../../cli/errors.ts";
import { cli, type FakeAnswer, type SeenRequest } from "./cli-harness.ts";

const CONFIG = "HeadNode:\n  InstanceType: t3.micro\n";

function cluster(name: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    clusterId: `id-${name}`,
    status,
    scheduler: "awsbatch",
    stackName: `hpc-${name}`,
    createdAt: "2025-01-15T11:50:00Z",
    updatedAt: "2025-01-15T11:55:00Z",
    links: { self: `/v1/clusters/${name}`, events: `/v1/clusters/${name}/events` },
    ...extra,
  };
}

const notFound = (name: string): FakeAnswer => ({
  status: 404,
  json: {
    type: "urn:hpc-cluster-api:problem:cluster-not-found",
    title: "Cluster not found",
    status: 404,
    detail: `No cluster named '${name}' exists.`,
  },
});

const exists = (name: string): FakeAnswer => ({
  status: 409,
  json: {
    type: "urn:hpc-cluster-api:problem:cluster-exists",
    title: "Cluster already exists",
    status: 409,
    detail: `A cluster named '${name}' already exists (status CREATE_IN_PROGRESS).`,
  },
});

/** Statuses a GET of the cluster answers in turn (the last one repeats); undefined is a 404. */
function statusSequence(name: string, statuses: readonly (string | undefined)[], post: () => FakeAnswer) {
  let reads = 0;
  return (request: SeenRequest): FakeAnswer => {
    if (request.method === "POST") return post();
    if (request.url.pathname.endsWith("/events")) return { json: { items: [] } };
    const status = statuses[Math.min(reads++, statuses.length - 1)];
    return status === undefined
      ? notFound(name)
      : { json: cluster(name, status, { failureReason: "HeadNode failed" }) };
  };
}

const requests = (seen: readonly SeenRequest[]) =>
  seen.map((request) => `${request.method} ${request.url.pathname}`);

describe("clusters create", () => {
  it("sends the configuration as base64 with the tags, and prints the API's cluster as JSON", async () => {
    const run = await cli(
      ["clusters", "create", "cfd", "--config", "c.yaml", "--tag", "team=cfd", "-o", "json"],
      {
        files: { "c.yaml": CONFIG },
        route: () => ({ status: 202, json: cluster("cfd", "CREATE_IN_PROGRESS") }),
      },
    );
    expect(run.code).toBe(0);
    expect(run.seen[0]?.body).toEqual({
      name: "cfd",
      configurationEncoding: "base64",
      configuration: Buffer.from(CONFIG).toString("base64"),
      tags: { team: "cfd" },
    });
    expect(JSON.parse(run.stdout)).toEqual(cluster("cfd", "CREATE_IN_PROGRESS"));
  });

  it("with --wait exits 1 when the cluster ends CREATE_FAILED, naming the status and the reason", async () => {
    const run = await cli(["clusters", "create", "cfd", "--config", "c.yaml", "--wait"], {
      files: { "c.yaml": CONFIG },
      route: statusSequence("cfd", ["CREATE_IN_PROGRESS", "CREATE_FAILED"], () => ({
        status: 202,
        json: cluster("cfd", "CREATE_IN_PROGRESS"),
      })),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^Status: +CREATE_FAILED$/m);
    expect(run.stderr).toMatch(/^cluster cfd: CREATE_IN_PROGRESS \(\d+m?s\)/m);
    expect(run.stderr.trimEnd().split("\n").at(-1)).toBe("cluster cfd: CREATE_FAILED: HeadNode failed");
  });
});

describe("clusters ensure", () => {
  it("creates a cluster that does not exist, then waits for it", async () => {
    const run = await cli(["clusters", "ensure", "burst", "--config", "c.yaml", "--wait", "-o", "json"], {
      files: { "c.yaml": CONFIG },
      route: statusSequence("burst", [undefined, "CREATE_IN_PROGRESS", "CREATE_COMPLETE"], () => ({
        status: 202,
        json: cluster("burst", "CREATE_IN_PROGRESS"),
      })),
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).status).toBe("CREATE_COMPLETE");
    expect(requests(run.seen).filter((line) => line.startsWith("POST"))).toHaveLength(1);
  });

  it("returns at once, creating nothing, when the cluster is already complete", async () => {
    const run = await cli(["clusters", "ensure", "burst", "--config", "c.yaml", "--wait"], {
      files: { "c.yaml": CONFIG },
      route: statusSequence("burst", ["CREATE_COMPLETE"], () => ({ status: 500, json: {} })),
    });
    expect(run.code).toBe(0);
    expect(requests(run.seen)).toEqual(["GET /v1/clusters/burst"]);
  });

  it("counts a parallel caller's creation (409 cluster-exists) as its own", async () => {
    const run = await cli(["clusters", "ensure", "burst", "--config", "c.yaml", "--wait"], {
      files: { "c.yaml": CONFIG },
      route: statusSequence("burst", [undefined, "CREATE_IN_PROGRESS", "CREATE_COMPLETE"], () =>
        exists("burst"),
      ),
    });
    expect(run.code).toBe(0);
    expect(requests(run.seen).slice(0, 3)).toEqual([
      "GET /v1/clusters/burst",
      "POST /v1/clusters",
      "GET /v1/clusters/burst",
    ]);
  });

  it("waits for a cluster being deleted to be gone, then creates it again", async () => {
    const run = await cli(["clusters", "ensure", "burst", "--config", "c.yaml"], {
      files: { "c.yaml": CONFIG },
      route: statusSequence("burst", ["DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"], () => ({
        status: 202,
        json: cluster("burst", "CREATE_IN_PROGRESS"),
      })),
    });
    expect(run.code).toBe(0);
    expect(requests(run.seen).at(-1)).toBe("POST /v1/clusters");
    expect(run.stdout).toMatch(/^Status: +CREATE_IN_PROGRESS$/m);
  });

  it("exits 1 with --wait on a cluster that already failed", async () => {
    const run = await cli(["clusters", "ensure", "burst", "--config", "c.yaml", "--wait"], {
      files: { "c.yaml": CONFIG },
      route: statusSequence("burst", ["CREATE_FAILED"], () => ({ status: 500, json: {} })),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cluster burst: CREATE_FAILED: HeadNode failed/);
  });
});

describe("listings follow nextToken and print every item", () => {
  const pages = (request: SeenRequest): FakeAnswer =>
    request.url.searchParams.get("nextToken") === "page2"
      ? { json: { items: [cluster("c", "CREATE_FAILED")] } }
      : {
          json: {
            items: [cluster("a", "CREATE_COMPLETE"), cluster("b", "CREATE_IN_PROGRESS")],
            nextToken: "page2",
          },
        };

  it("as { items } in JSON", async () => {
    const run = await cli(["clusters", "list", "-o", "json"], { route: pages });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).items.map((item: { name: string }) => item.name)).toEqual(["a", "b", "c"]);
    expect(run.seen.map((request) => request.url.search)).toEqual([
      "?limit=100",
      "?limit=100&nextToken=page2",
    ]);
  });

  it("as an aligned table for people", async () => {
    const run = await cli(["clusters", "list"], { route: pages });
    expect(run.stdout.split("\n")).toEqual([
      "NAME  STATUS              SCHEDULER  HEAD NODE  AGE",
      "a     CREATE_COMPLETE     awsbatch   -          10m",
      "b     CREATE_IN_PROGRESS  awsbatch   -          10m",
      "c     CREATE_FAILED       awsbatch   -          10m",
      "",
    ]);
  });
});

describe("clusters events", () => {
  it("prints the history oldest first in a table, and as the API's page in JSON", async () => {
    const items = [
      { at: "2025-01-15T11:51:00.000Z", status: "CREATE_COMPLETE", source: "stack-event" },
      {
        at: "2025-01-15T11:50:00.000Z",
        status: "CREATE_IN_PROGRESS",
        source: "api",
        reason: "create requested",
      },
    ];
    const table = await cli(["clusters", "events", "cfd"], { route: () => ({ json: { items } }) });
    expect(table.stdout.split("\n").slice(0, 3)).toEqual([
      "TIME                  STATUS              SOURCE       REASON",
      "2025-01-15T11:50:00Z  CREATE_IN_PROGRESS  api          create requested",
      "2025-01-15T11:51:00Z  CREATE_COMPLETE     stack-event",
    ]);
    const json = await cli(["clusters", "events", "cfd", "-o", "json"], {
      route: () => ({ json: { items } }),
    });
    expect(JSON.parse(json.stdout)).toEqual({ items });
  });
});

/** A fake job that runs through `statuses` (one per read), with output pages served by attempt. */
function jobApi(options: {
  readonly statuses: readonly string[];
  readonly attempts: readonly (readonly { exitCode?: number }[])[];
  readonly logs: (attempt: string | null, token: string | null, read: number) => FakeAnswer;
}) {
  let reads = 0;
  let logReads = 0;
  const job = (i: number) => ({
    jobId: "01JHMT19E0DXJJAB0872XDCNPE",
    clusterName: "cfd",
    name: "sh",
    status: options.statuses[Math.min(i, options.statuses.length - 1)],
    createdAt: "2025-01-15T11:59:00Z",
    updatedAt: "2025-01-15T11:59:30Z",
    scheduler: "local",
    attempts: options.attempts[Math.min(i, options.attempts.length - 1)] ?? [],
    links: {},
  });
  return (request: SeenRequest): FakeAnswer => {
    if (request.method === "POST") return { status: 202, json: job(0) };
    if (request.method === "DELETE") return { status: 202, json: { ...job(reads), status: "CANCELLED" } };
    if (request.url.pathname.endsWith("/logs"))
      return options.logs(
        request.url.searchParams.get("attempt"),
        request.url.searchParams.get("nextToken"),
        logReads++,
      );
    return { json: job(reads++) };
  };
}

describe("jobs run", () => {
  it("streams each attempt's lines once, in order, and exits with the last attempt's exit code", async () => {
    const run = await cli(["jobs", "run", "cfd", "--retry-attempts", "2", "--", "sh", "-c", "work"], {
      route: jobApi({
        statuses: ["RUNNING", "RUNNING", "RUNNABLE", "FAILED"],
        attempts: [[], [], [{ exitCode: 1 }], [{ exitCode: 1 }, { exitCode: 3 }]],
        logs: (attempt, token, read) => {
          if (attempt === "1" && token === null)
            return { json: { lines: [{ message: "one" }], nextToken: "t1" } };
          if (attempt === "1" && token === "t1")
            return { json: { lines: read < 2 ? [] : [{ message: "two" }] } };
          if (attempt === "2") return { json: { lines: [{ message: "retry" }] } };
          return { json: { lines: [] } };
        },
      }),
    });
    expect(run.stdout).toBe("one\ntwo\nretry\n");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^job 01JHMT19E0DXJJAB0872XDCNPE submitted to cluster cfd$/m);
    expect(run.seen[0]?.body).toMatchObject({
      command: ["sh", "-c", "work"],
      retryStrategy: { attempts: 2 },
    });
  });

  it("exits 1 when the job is cancelled", async () => {
    const run = await cli(["jobs", "run", "cfd", "--", "sleep", "60"], {
      route: jobApi({ statuses: ["CANCELLED"], attempts: [[]], logs: () => ({ json: { lines: [] } }) }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/job 01JHMT19E0DXJJAB0872XDCNPE: CANCELLED/);
  });

  it("cancels the remote job on SIGTERM and exits 143", async () => {
    const controller = new AbortController();
    const run = await cli(["jobs", "run", "cfd", "--", "sleep", "60"], {
      signal: controller.signal,
      route: (() => {
        const api = jobApi({ statuses: ["RUNNING"], attempts: [[]], logs: () => ({ json: { lines: [] } }) });
        return (request: SeenRequest) => {
          if (request.method === "GET" && !request.url.pathname.endsWith("/logs"))
            setTimeout(() => controller.abort(new InterruptedError("SIGTERM")), 10);
          return api(request);
        };
      })(),
    });
    expect(run.code).toBe(143);
    expect(requests(run.seen)).toContain("DELETE /v1/clusters/cfd/jobs/01JHMT19E0DXJJAB0872XDCNPE");
    expect(run.stderr).toMatch(/SIGTERM: cancelling job 01JHMT19E0DXJJAB0872XDCNPE on cluster cfd/);
  });
});
