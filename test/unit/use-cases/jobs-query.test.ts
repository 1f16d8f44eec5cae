import { describe, expect, it } from "vitest";
import { ClusterNotFoundError, JobNotFoundError } from "#shared/domain/errors.ts";
import { jobOf, makeGetJob, makeGetJobLogs, makeListJobs } from "#shared/use-cases/query-jobs.ts";
import { type JobTestDeps, makeJobTestDeps, storeJob, storeReadyCluster } from "../../support/fakes.ts";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the promise resolved"),
    (thrown: unknown) => thrown,
  );
}

/**
 * A cluster `alpha` that was deleted at 10:30 with one job, and its successor of the same name created at
 * 11:00 with two jobs (11:00 and 11:10).
 */
async function twoIncarnations(deps: JobTestDeps) {
  const old = await storeReadyCluster(deps, { clusterId: "cluster-alpha-1" });
  const oldJob = await storeJob(deps, old, { name: "old" });
  deps.clock.set("2024-05-01T10:30:00.000Z");
  await deps.store.update(
    "alpha",
    { version: old.version, clusterId: old.clusterId },
    { status: "DELETE_COMPLETE", updatedAt: deps.clock.now().toISOString() },
  );
  deps.clock.set("2024-05-01T11:00:00.000Z");
  const current = await storeReadyCluster(deps, { clusterId: "cluster-alpha-2" });
  const first = await storeJob(deps, current, { name: "first" });
  deps.clock.set("2024-05-01T11:10:00.000Z");
  const second = await storeJob(deps, current, { name: "second", status: "RUNNING", externalId: "ext-2" });
  return { current, oldJob, first, second };
}

describe("jobOf and getJob", () => {
  it("answers a job of the cluster with its cluster", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster, {
      status: "FAILED",
      attempts: [{ exitCode: 1, statusReason: "Essential container in task exited" }],
    });

    const found = await jobOf(deps, "alpha", stored.jobId);
    const job = await makeGetJob(deps)("alpha", stored.jobId);

    expect(found).toEqual({ cluster, job: stored });
    expect(job).toEqual(stored);
  });

  it("still answers for the jobs of a deleted cluster, which are its history", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps, { status: "DELETE_COMPLETE" });
    const stored = await storeJob(deps, cluster, { status: "SUCCEEDED" });

    expect(await makeGetJob(deps)("alpha", stored.jobId)).toEqual(stored);
  });

  it("does not find a job of an earlier cluster of the same name", async () => {
    const deps = makeJobTestDeps();
    const { oldJob } = await twoIncarnations(deps);

    const error = await rejection(makeGetJob(deps)("alpha", oldJob.jobId));

    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(error).toMatchObject({ clusterName: "alpha", jobId: oldJob.jobId });
  });

  it("does not find a job nobody submitted, or any job of a cluster nobody created", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);

    const unknownJob = await rejection(makeGetJob(deps)("alpha", deps.ids.next()));
    const unknownCluster = await rejection(makeGetJob(deps)("ghost", deps.ids.next()));

    expect(unknownJob).toBeInstanceOf(JobNotFoundError);
    expect(unknownCluster).toBeInstanceOf(ClusterNotFoundError);
  });
});

describe("listJobs", () => {
  it("lists the current cluster's jobs newest first, hiding those of an earlier cluster of that name", async () => {
    const deps = makeJobTestDeps();
    const { first, second } = await twoIncarnations(deps);

    const page = await makeListJobs(deps)("alpha", { limit: 10 });

    expect(page.items.map((job) => job.jobId)).toEqual([second.jobId, first.jobId]);
    expect(page.nextToken).toBeUndefined();
  });

  it("keeps a later createdAfter the caller gave", async () => {
    const deps = makeJobTestDeps();
    const { second } = await twoIncarnations(deps);

    const page = await makeListJobs(deps)("alpha", { limit: 10, createdAfter: "2024-05-01T11:05:00.000Z" });

    expect(page.items.map((job) => job.jobId)).toEqual([second.jobId]);
  });

  it("raises an earlier createdAfter to the cluster's creation", async () => {
    const deps = makeJobTestDeps();
    const { first, second } = await twoIncarnations(deps);

    const page = await makeListJobs(deps)("alpha", { limit: 10, createdAfter: "2024-05-01T09:00:00.000Z" });

    expect(page.items.map((job) => job.jobId)).toEqual([second.jobId, first.jobId]);
  });

  it("compares a createdAfter with a UTC offset by its instant, not its text", async () => {
    const deps = makeJobTestDeps();
    const { first, second } = await twoIncarnations(deps);
    const listJobs = makeListJobs(deps);

    // 12:00+05:00 is 07:00Z, before the cluster; 08:05-03:00 is 11:05Z, after its first job.
    const early = await listJobs("alpha", { limit: 10, createdAfter: "2024-05-01T12:00:00+05:00" });
    const late = await listJobs("alpha", { limit: 10, createdAfter: "2024-05-01T08:05:00-03:00" });

    expect(early.items.map((job) => job.jobId)).toEqual([second.jobId, first.jobId]);
    expect(late.items.map((job) => job.jobId)).toEqual([second.jobId]);
  });

  it("passes the status filter, the time range and the page size on to the store", async () => {
    const deps = makeJobTestDeps();
    const { first, second } = await twoIncarnations(deps);
    const listJobs = makeListJobs(deps);

    const running = await listJobs("alpha", { limit: 10, status: "RUNNING" });
    const before = await listJobs("alpha", { limit: 10, createdBefore: "2024-05-01T11:05:00.000Z" });
    const firstPage = await listJobs("alpha", { limit: 1 });
    const secondPage = await listJobs("alpha", { limit: 1, nextToken: firstPage.nextToken ?? "" });

    expect(running.items.map((job) => job.jobId)).toEqual([second.jobId]);
    expect(before.items.map((job) => job.jobId)).toEqual([first.jobId]);
    expect(firstPage.items.map((job) => job.jobId)).toEqual([second.jobId]);
    expect(secondPage.items.map((job) => job.jobId)).toEqual([first.jobId]);
  });

  it("refuses a cluster nobody created with ClusterNotFoundError", async () => {
    const deps = makeJobTestDeps();

    const error = await rejection(makeListJobs(deps)("ghost", { limit: 10 }));

    expect(error).toBeInstanceOf(ClusterNotFoundError);
  });
});

describe("getJobLogs", () => {
  it("answers no lines for a job not yet at the scheduler, without asking it", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster);
    deps.schedulers.of("alpha").logLines = [{ message: "should not be read" }];

    const logs = await makeGetJobLogs(deps)("alpha", stored.jobId, { limit: 100 });

    expect(logs).toEqual({ lines: [] });
    expect(deps.schedulers.of("alpha").logsCalls).toEqual([]);
  });

  it("answers the scheduler's lines and next token, passing the request on", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster, { status: "RUNNING", externalId: "ext-1" });
    const scheduler = deps.schedulers.of("alpha");
    scheduler.logLines = [{ at: "2024-05-01T10:00:05.000Z", message: "hello" }, { message: "world" }];
    scheduler.logsNextToken = "page-2";
    const request = { attempt: 2, limit: 50, nextToken: "page-1" };

    const logs = await makeGetJobLogs(deps)("alpha", stored.jobId, request);

    expect(logs).toEqual({ lines: scheduler.logLines, nextToken: "page-2" });
    expect(scheduler.logsCalls).toEqual([{ job: stored, request }]);
  });

  it("does not read the logs of a job of an earlier cluster of the same name", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps, { clusterId: "cluster-alpha-2" });
    const old = await storeJob(
      deps,
      { name: "alpha", clusterId: "cluster-alpha-1" },
      { externalId: "ext-1" },
    );

    const error = await rejection(makeGetJobLogs(deps)("alpha", old.jobId, { limit: 10 }));

    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(deps.schedulers.of("alpha").logsCalls).toEqual([]);
  });
});
