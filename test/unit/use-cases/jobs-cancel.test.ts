import { describe, expect, it } from "vitest";
import { ClusterNotFoundError, JobNotFoundError } from "#shared/domain/errors.ts";
import type { JobStatus } from "#shared/domain/job.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";
import { CANCEL_REASON_PREFIX, makeCancelJob } from "#shared/use-cases/cancel-job.ts";
import { HookedJobStore, makeJobTestDeps, storeJob, storeReadyCluster } from "../../support/fakes.ts";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the promise resolved"),
    (thrown: unknown) => thrown,
  );
}

describe("cancelJob", () => {
  it.each<JobStatus>(["SUCCEEDED", "FAILED", "CANCELLED"])(
    "answers a %s job as it is, without asking the scheduler",
    async (status) => {
      const deps = makeJobTestDeps();
      const cluster = await storeReadyCluster(deps);
      const stored = await storeJob(deps, cluster, { status, externalId: "ext-1" });

      const result = await makeCancelJob(deps)("alpha", stored.jobId, "alice");

      expect(result).toEqual(stored);
      expect(deps.schedulers.of("alpha").cancelCalls).toEqual([]);
      expect(await deps.jobs.get("alpha", stored.jobId)).toEqual(stored);
    },
  );

  it("cancels a job that never reached the scheduler directly, recording who cancelled it", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster);
    deps.clock.advance(1_000);

    const result = await makeCancelJob(deps)("alpha", stored.jobId, "alice");

    expect(result).toMatchObject({
      status: "CANCELLED",
      statusReason: `${CANCEL_REASON_PREFIX} by alice`,
      updatedAt: "2024-05-01T10:00:01.000Z",
      version: 2,
    });
    expect(await deps.jobs.get("alpha", stored.jobId)).toEqual(result);
    expect(deps.schedulers.of("alpha").cancelCalls).toEqual([]);
  });

  it("asks the scheduler to cancel a submitted job, with a reason naming the principal", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster, { status: "RUNNING", externalId: "ext-1" });

    const result = await makeCancelJob(deps)("alpha", stored.jobId, "arn:aws:iam::123456789012:user/alice");

    const calls = deps.schedulers.of("alpha").cancelCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]?.job).toEqual(stored);
    expect(calls[0]?.reason.startsWith(CANCEL_REASON_PREFIX)).toBe(true);
    expect(calls[0]?.reason).toContain("arn:aws:iam::123456789012:user/alice");
    expect(result.status).toBe("RUNNING");
    expect(await deps.jobs.get("alpha", stored.jobId)).toEqual(stored);
  });

  it("records the job CANCELLED when the scheduler reports the cancel back as a FAILED job", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster, { status: "RUNNING", externalId: "ext-1" });
    await makeCancelJob(deps)("alpha", stored.jobId, "alice");
    const reason = deps.schedulers.of("alpha").cancelCalls[0]?.reason;

    const outcome = await makeApplyJobObservation(deps)("alpha", {
      jobId: stored.jobId,
      externalId: "ext-1",
      status: "FAILED",
      ...(reason ? { statusReason: reason } : {}),
      attempts: [{ exitCode: 137, statusReason: reason }],
      stoppedAt: "2024-05-01T10:00:30.000Z",
      time: "2024-05-01T10:00:30.000Z",
    });

    expect(outcome.kind).toBe("applied");
    expect(await deps.jobs.get("alpha", stored.jobId)).toMatchObject({
      status: "CANCELLED",
      statusReason: `${CANCEL_REASON_PREFIX} by alice`,
      stoppedAt: "2024-05-01T10:00:30.000Z",
    });
  });

  it("keeps the reason within the 255 characters schedulers accept", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster, { status: "RUNNABLE", externalId: "ext-1" });

    await makeCancelJob(deps)("alpha", stored.jobId, "p".repeat(400));

    const reason = deps.schedulers.of("alpha").cancelCalls[0]?.reason ?? "";
    expect(reason).toHaveLength(255);
    expect(reason.startsWith(`${CANCEL_REASON_PREFIX} by ppp`)).toBe(true);
  });

  it("does not find a job of an earlier cluster of the same name", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps, { clusterId: "cluster-alpha-2" });
    const old = await storeJob(
      deps,
      { name: "alpha", clusterId: "cluster-alpha-1" },
      { externalId: "ext-1" },
    );

    const error = await rejection(makeCancelJob(deps)("alpha", old.jobId, "alice"));

    expect(error).toBeInstanceOf(JobNotFoundError);
    expect(deps.schedulers.of("alpha").cancelCalls).toEqual([]);
    expect(await deps.jobs.get("alpha", old.jobId)).toEqual(old);
  });

  it("does not find a job nobody submitted, or a cluster nobody created", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const cancelJob = makeCancelJob(deps);

    const unknownJob = await rejection(cancelJob("alpha", deps.ids.next(), "alice"));
    const unknownCluster = await rejection(cancelJob("ghost", deps.ids.next(), "alice"));

    expect(unknownJob).toBeInstanceOf(JobNotFoundError);
    expect(unknownCluster).toBeInstanceOf(ClusterNotFoundError);
  });

  it("passes on the scheduler's refusal and leaves the record as it was", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster, { status: "RUNNING", externalId: "ext-1" });
    const refusal = new Error("throttled");
    deps.schedulers.of("alpha").cancelError = refusal;

    const error = await rejection(makeCancelJob(deps)("alpha", stored.jobId, "alice"));

    expect(error).toBe(refusal);
    expect(await deps.jobs.get("alpha", stored.jobId)).toEqual(stored);
  });

  it("asks the scheduler when the job got its scheduler id between the read and the write", async () => {
    const jobs = new HookedJobStore();
    const deps = makeJobTestDeps({ jobs });
    const cluster = await storeReadyCluster(deps);
    const stored = await storeJob(deps, cluster);
    jobs.afterGet = async (call) => {
      // The submit finishes right after the cancel read the record.
      if (call === 1) await jobs.rawUpdate("alpha", stored.jobId, { externalId: "ext-7" });
    };

    const result = await makeCancelJob(deps)("alpha", stored.jobId, "alice");

    const calls = deps.schedulers.of("alpha").cancelCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]?.job.externalId).toBe("ext-7");
    expect(result).toMatchObject({ status: "SUBMITTED", externalId: "ext-7" });
  });
});
