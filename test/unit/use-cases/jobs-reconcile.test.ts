import { describe, expect, it } from "vitest";
import type { Job, JobObservation, JobStatus } from "#shared/domain/job.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";
import { makeReconcileJobs } from "#shared/use-cases/reconcile-jobs.ts";
import { makeSettleWaitingJobs } from "#shared/use-cases/waiting-jobs.ts";
import { makeJobTestDeps, storeJob, storeReadyCluster } from "../../support/fakes.ts";

function setup() {
  const deps = makeJobTestDeps();
  return { deps, reconcile: makeReconcileJobs(deps, makeApplyJobObservation(deps)) };
}

function observed(job: Job, status: JobStatus, fields: Partial<JobObservation> = {}): JobObservation {
  return {
    jobId: job.jobId,
    ...(job.externalId ? { externalId: job.externalId } : {}),
    status,
    attempts: [],
    time: "2024-05-01T10:05:00.000Z",
    ...fields,
  };
}

function ids(jobs: readonly Job[] | undefined): string[] {
  return (jobs ?? []).map((job) => job.jobId);
}

const ABANDONED = "The submission never reached the scheduler (interrupted); submit the job again.";

describe("reconcileJobs", () => {
  it("describes each cluster's submitted active jobs in one call and applies what the scheduler reports", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps, { name: "alpha" });
    const beta = await storeReadyCluster(deps, { name: "beta" });
    const running = await storeJob(deps, alpha, { status: "RUNNABLE", externalId: "a-1" });
    const finishing = await storeJob(deps, alpha, { status: "RUNNING", externalId: "a-2" });
    await storeJob(deps, alpha, { status: "SUCCEEDED", externalId: "a-3" });
    const waiting = await storeJob(deps, beta, { externalId: "b-1" });
    deps.schedulers.of("alpha").observations = [
      observed(running, "RUNNING", { startedAt: "2024-05-01T10:04:00.000Z" }),
      observed(finishing, "SUCCEEDED", {
        attempts: [{ exitCode: 0 }],
        stoppedAt: "2024-05-01T10:05:00.000Z",
      }),
    ];
    deps.schedulers.of("beta").observations = [observed(waiting, "RUNNABLE")];

    const report = await reconcile();

    expect(report).toEqual({ examined: 3, refreshed: 3, abandoned: 0, failed: 0 });
    expect(deps.schedulers.of("alpha").describeCalls.map(ids)).toEqual([[running.jobId, finishing.jobId]]);
    expect(deps.schedulers.of("beta").describeCalls.map(ids)).toEqual([[waiting.jobId]]);
    expect(await deps.jobs.get("alpha", running.jobId)).toMatchObject({
      status: "RUNNING",
      startedAt: "2024-05-01T10:04:00.000Z",
    });
    expect(await deps.jobs.get("alpha", finishing.jobId)).toMatchObject({
      status: "SUCCEEDED",
      stoppedAt: "2024-05-01T10:05:00.000Z",
    });
    expect((await deps.jobs.get("beta", waiting.jobId))?.status).toBe("RUNNABLE");
  });

  it("counts only the reports that changed something as refreshed", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps);
    const running = await storeJob(deps, alpha, { status: "RUNNING", externalId: "a-1" });
    const stale = await storeJob(deps, alpha, { status: "RUNNING", externalId: "a-2" });
    deps.schedulers.of("alpha").observations = [observed(running, "RUNNING"), observed(stale, "RUNNABLE")];

    const report = await reconcile();

    expect(report).toEqual({ examined: 2, refreshed: 0, abandoned: 0, failed: 0 });
  });

  it("has nothing to do on the next pass once the jobs it refreshed have finished", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps);
    const job = await storeJob(deps, alpha, { status: "RUNNING", externalId: "a-1" });
    deps.schedulers.of("alpha").observations = [observed(job, "FAILED", { statusReason: "exit 1" })];
    await reconcile();

    const second = await reconcile();

    expect(second).toEqual({ examined: 0, refreshed: 0, abandoned: 0, failed: 0 });
    expect(deps.schedulers.of("alpha").describeCalls).toHaveLength(1);
  });

  it("fails a SUBMITTED job that never reached the scheduler once it is older than the threshold", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps);
    const stranded = await storeJob(deps, alpha);
    deps.clock.advance(250_000);
    const young = await storeJob(deps, alpha);
    deps.clock.advance(51_000);

    const report = await reconcile();

    expect(report).toEqual({ examined: 2, refreshed: 0, abandoned: 1, failed: 0 });
    expect(await deps.jobs.get("alpha", stranded.jobId)).toMatchObject({
      status: "FAILED",
      statusReason: ABANDONED,
      updatedAt: "2024-05-01T10:05:01.000Z",
    });
    expect(await deps.jobs.get("alpha", young.jobId)).toEqual(young);
    expect(deps.schedulers.of("alpha").describeCalls).toEqual([]);
  });

  it("counts as abandoned only the records it failed", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps);
    // The scheduler reported progress before its submit answered, then the process stopped.
    const progressed = await storeJob(deps, alpha, { status: "RUNNING" });
    deps.clock.advance(301_000);

    const report = await reconcile();

    expect(report.abandoned).toBe(0);
    expect(await deps.jobs.get("alpha", progressed.jobId)).toEqual(progressed);
  });

  it("counts a describe that throws as failed and goes on with the other clusters", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps, { name: "alpha" });
    const beta = await storeReadyCluster(deps, { name: "beta" });
    const onAlpha = await storeJob(deps, alpha, { status: "RUNNING", externalId: "a-1" });
    const onBeta = await storeJob(deps, beta, { status: "RUNNING", externalId: "b-1" });
    deps.schedulers.of("alpha").describeError = new Error("throttled");
    deps.schedulers.of("alpha").observations = [observed(onAlpha, "SUCCEEDED")];
    deps.schedulers.of("beta").observations = [observed(onBeta, "SUCCEEDED")];

    const report = await reconcile();

    expect(report).toEqual({ examined: 2, refreshed: 1, abandoned: 0, failed: 1 });
    expect((await deps.jobs.get("alpha", onAlpha.jobId))?.status).toBe("RUNNING");
    expect((await deps.jobs.get("beta", onBeta.jobId))?.status).toBe("SUCCEEDED");
  });

  it("reads every active job, past the first page of the active-jobs listing", async () => {
    const { deps, reconcile } = setup();
    const alpha = await storeReadyCluster(deps);
    const jobs: Job[] = [];
    for (let i = 0; i < 150; i++) jobs.push(await storeJob(deps, alpha, { externalId: `a-${i}` }));

    const report = await reconcile();

    expect(report.examined).toBe(150);
    expect(deps.schedulers.of("alpha").describeCalls.map(ids)).toEqual([ids(jobs)]);
  });
});

describe("reconcileJobs with jobs whose cluster is gone", () => {
  it("ends the active jobs of a deleted cluster with a reason, and asks no scheduler about them", async () => {
    const { deps, reconcile } = setup();
    const gone = await storeReadyCluster(deps, { name: "gone" });
    const job = await storeJob(deps, gone, { status: "RUNNING", externalId: "g-1" });
    const current = await deps.store.get("gone");
    if (!current) throw new Error("cluster not stored");
    await deps.store.update(
      "gone",
      { version: current.version, clusterId: current.clusterId },
      { status: "DELETE_COMPLETE", updatedAt: deps.clock.now().toISOString() },
    );

    const report = await reconcile();

    expect(report.abandoned).toBe(1);
    expect(deps.schedulers.of("gone").describeCalls).toHaveLength(0);
    expect(await deps.jobs.get("gone", job.jobId)).toMatchObject({
      status: "FAILED",
      statusReason: "The cluster the job ran on was deleted before the job finished.",
    });
    expect((await reconcile()).examined).toBe(0);
  });
});

describe("reconcileJobs polling at once (the local server's AWS mode)", () => {
  it("never abandons a submission younger than two minutes, even with a zero threshold", async () => {
    const base = makeJobTestDeps();
    const deps = { ...base, settings: { ...base.settings, reconcileAfterSeconds: 0 } };
    const reconcile = makeReconcileJobs(deps, makeApplyJobObservation(deps));
    const cluster = await storeReadyCluster(deps, { name: "busy" });
    const inFlight = await storeJob(deps, cluster, {});
    base.clock.advance(60_000);

    expect((await reconcile()).abandoned).toBe(0);
    expect((await deps.jobs.get("busy", inFlight.jobId))?.status).toBe("SUBMITTED");

    base.clock.advance(61_000);
    expect((await reconcile()).abandoned).toBe(1);
  });
});

describe("reconcileJobs and jobs waiting for their cluster", () => {
  function setupWithSettle() {
    const deps = makeJobTestDeps();
    const settled: string[] = [];
    const settle = makeSettleWaitingJobs(deps, async (job) => {
      settled.push(job.jobId);
    });
    return { deps, settled, reconcile: makeReconcileJobs(deps, makeApplyJobObservation(deps), settle) };
  }

  it("never abandons a job that waits for its cluster, however long the cluster takes", async () => {
    const { deps, reconcile } = setupWithSettle();
    const cluster = await storeReadyCluster(deps, { name: "slow", status: "CREATE_IN_PROGRESS" });
    const waiting = await storeJob(deps, cluster, { waitingForCluster: true });
    deps.clock.advance(3 * 3600_000);

    const report = await reconcile();

    expect(report.abandoned).toBe(0);
    expect(await deps.jobs.get("slow", waiting.jobId)).toMatchObject({
      status: "SUBMITTED",
      waitingForCluster: true,
    });
    expect(deps.schedulers.of("slow").submitCalls).toHaveLength(0);
  });

  it("submits the waiting jobs of a cluster whose CREATE_COMPLETE event was missed", async () => {
    const { deps, reconcile } = setupWithSettle();
    const cluster = await storeReadyCluster(deps, { name: "ready" });
    const waiting = await storeJob(deps, cluster, { waitingForCluster: true });

    const report = await reconcile();

    expect(report.refreshed).toBe(1);
    expect(await deps.jobs.get("ready", waiting.jobId)).toMatchObject({
      waitingForCluster: false,
      externalId: "ext-1",
    });
    // A second pass finds nothing waiting: exactly one submission.
    await reconcile();
    expect(deps.schedulers.of("ready").submitCalls).toHaveLength(1);
  });

  it("fails the waiting jobs of a cluster that failed to create, with its reason", async () => {
    const { deps, reconcile, settled } = setupWithSettle();
    const cluster = await storeReadyCluster(deps, {
      name: "broken",
      status: "CREATE_FAILED",
      failureReason: "HeadNode (AWS::EC2::Instance): capacity",
    });
    const waiting = await storeJob(deps, cluster, { waitingForCluster: true });

    await reconcile();

    const failed = await deps.jobs.get("broken", waiting.jobId);
    expect(failed).toMatchObject({ status: "FAILED", waitingForCluster: false });
    expect(failed?.statusReason).toBe(
      "Cluster broken failed to create: HeadNode (AWS::EC2::Instance): capacity",
    );
    expect(settled).toEqual([waiting.jobId]);
  });
});
