import { describe, expect, it } from "vitest";
import type { ClusterStatus } from "#shared/domain/cluster.ts";
import {
  ClusterNotFoundError,
  ClusterNotReadyError,
  ConcurrentModificationError,
  IdempotencyConflictError,
  JobNotFoundError,
  RequestValidationError,
} from "#shared/domain/errors.ts";
import type { Job } from "#shared/domain/job.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";
import { CANCEL_REASON_PREFIX, makeCancelJob } from "#shared/use-cases/cancel-job.ts";
import { mutateJob } from "#shared/use-cases/mutate-job.ts";
import { makeSubmitJob, type SubmitJobCommand } from "#shared/use-cases/submit-job.ts";
import {
  HookedJobStore,
  type JobTestDeps,
  jobSpec,
  makeJobTestDeps,
  storeJob,
  storeReadyCluster,
} from "../../support/fakes.ts";

function command(overrides: Partial<SubmitJobCommand> = {}): SubmitJobCommand {
  return { clusterName: "alpha", name: "sim", spec: jobSpec(), principal: "alice", ...overrides };
}

async function allJobs(deps: JobTestDeps, clusterName = "alpha") {
  return (await deps.jobs.list(clusterName, { limit: 100 })).items;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the promise resolved"),
    (thrown: unknown) => thrown,
  );
}

describe("submitJob", () => {
  it("records the job as SUBMITTED before submitting it, then records the scheduler's id", async () => {
    const deps = makeJobTestDeps();
    const cluster = await storeReadyCluster(deps);
    const scheduler = deps.schedulers.of("alpha");
    let recordDuringSubmit: Job | undefined;
    scheduler.beforeSubmitReturns = async (job) => {
      recordDuringSubmit = await deps.jobs.get("alpha", job.jobId);
    };

    const { job, replayed } = await makeSubmitJob(deps)(command());

    expect(replayed).toBe(false);
    expect(recordDuringSubmit).toMatchObject({ status: "SUBMITTED", version: 1 });
    expect(recordDuringSubmit?.externalId).toBeUndefined();
    expect(scheduler.submitCalls).toHaveLength(1);
    expect(scheduler.submitCalls[0]?.job.jobId).toBe(job.jobId);
    expect(scheduler.submitCalls[0]?.cluster.clusterId).toBe(cluster.clusterId);
    expect(job).toMatchObject({
      clusterName: "alpha",
      clusterId: cluster.clusterId,
      name: "sim",
      status: "SUBMITTED",
      externalId: "ext-1",
      scheduler: "local",
      spec: jobSpec(),
      attempts: [],
      createdAt: "2024-05-01T10:00:00.000Z",
      createdBy: "alice",
      version: 2,
    });
    expect(job.jobId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(await deps.jobs.get("alpha", job.jobId)).toEqual(job);
  });

  it("refuses a cluster nobody created with ClusterNotFoundError and records nothing", async () => {
    const deps = makeJobTestDeps();

    const error = await rejection(makeSubmitJob(deps)(command({ clusterName: "ghost" })));

    expect(error).toBeInstanceOf(ClusterNotFoundError);
    expect(await allJobs(deps, "ghost")).toEqual([]);
    expect(deps.schedulers.of("ghost").submitCalls).toEqual([]);
  });

  it("treats a DELETE_COMPLETE cluster as not found", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps, { status: "DELETE_COMPLETE" });

    const error = await rejection(makeSubmitJob(deps)(command()));

    expect(error).toBeInstanceOf(ClusterNotFoundError);
    expect(await allJobs(deps)).toEqual([]);
  });

  it.each<ClusterStatus>(["CREATE_IN_PROGRESS", "CREATE_FAILED", "DELETE_IN_PROGRESS", "DELETE_FAILED"])(
    "refuses a %s cluster with ClusterNotReadyError naming that status",
    async (status) => {
      const deps = makeJobTestDeps();
      await storeReadyCluster(deps, { status });

      const error = await rejection(makeSubmitJob(deps)(command()));

      expect(error).toBeInstanceOf(ClusterNotReadyError);
      expect(error).toMatchObject({ clusterName: "alpha", status });
      expect((error as Error).message).toContain(status);
      expect(await allJobs(deps)).toEqual([]);
      expect(deps.schedulers.of("alpha").submitCalls).toEqual([]);
    },
  );

  it.each<ClusterStatus>(["CREATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED"])(
    "takes jobs while the cluster is %s (its compute is up)",
    async (status) => {
      const deps = makeJobTestDeps();
      await storeReadyCluster(deps, { status });

      const { job } = await makeSubmitJob(deps)(command());

      expect(job.status).toBe("SUBMITTED");
      expect(deps.schedulers.of("alpha").submitCalls).toHaveLength(1);
    },
  );

  it("runs the scheduler's validate before anything is recorded, so a refused job leaves no trace", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const scheduler = deps.schedulers.of("alpha");
    const refusal = new RequestValidationError("too many tags", [{ path: "body.name", message: "bad" }]);
    scheduler.validateHook = () => {
      throw refusal;
    };
    const submitJob = makeSubmitJob(deps);

    const error = await rejection(submitJob(command({ clientToken: "tok-1" })));

    expect(error).toBe(refusal);
    expect(scheduler.validateCalls).toEqual([{ name: "sim", spec: jobSpec() }]);
    expect(scheduler.submitCalls).toEqual([]);
    expect(await allJobs(deps)).toEqual([]);
    scheduler.validateHook = undefined;
    const retried = await submitJob(command({ clientToken: "tok-1" }));
    expect(retried.replayed).toBe(false);
    expect(scheduler.submitCalls).toHaveLength(1);
  });

  it("refuses a dependency on an unknown job, naming body.dependsOn[i].jobId, and records nothing", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const submitJob = makeSubmitJob(deps);
    const { job: first } = await submitJob(command({ name: "first" }));
    const unknownId = deps.ids.next();

    const error = await rejection(
      submitJob(
        command({
          name: "second",
          spec: jobSpec({ dependsOn: [{ jobId: first.jobId }, { jobId: unknownId, type: "SEQUENTIAL" }] }),
        }),
      ),
    );

    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as RequestValidationError).issues).toEqual([
      { path: "body.dependsOn[1].jobId", message: `no job ${unknownId} on cluster alpha` },
    ]);
    expect((await allJobs(deps)).map((job) => job.name)).toEqual(["first"]);
    expect(deps.schedulers.of("alpha").submitCalls).toHaveLength(1);
  });

  it("refuses a dependency on a job of an earlier cluster of the same name", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps, { clusterId: "cluster-alpha-2" });
    const old = await storeJob(deps, { name: "alpha", clusterId: "cluster-alpha-1" });

    const error = await rejection(
      makeSubmitJob(deps)(command({ spec: jobSpec({ dependsOn: [{ jobId: old.jobId }] }) })),
    );

    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as RequestValidationError).issues.map((issue) => issue.path)).toEqual([
      "body.dependsOn[0].jobId",
    ]);
  });

  it("submits a job whose dependencies are jobs of this cluster, with the dependencies in its spec", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const submitJob = makeSubmitJob(deps);
    const { job: first } = await submitJob(command({ name: "first" }));
    const dependsOn = [{ jobId: first.jobId, type: "N_TO_N" as const }];

    const { job } = await submitJob(command({ name: "second", spec: jobSpec({ dependsOn }) }));

    expect(job.spec.dependsOn).toEqual(dependsOn);
    expect(deps.schedulers.of("alpha").submitCalls[1]?.job.spec.dependsOn).toEqual(dependsOn);
  });

  it("leaves the record FAILED with the scheduler's reason when submit throws, and rethrows", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const scheduler = deps.schedulers.of("alpha");
    scheduler.submitError = new Error("queue is disabled");

    const error = await rejection(makeSubmitJob(deps)(command()));

    expect(error).toBe(scheduler.submitError);
    const [summary] = await allJobs(deps);
    const record = await deps.jobs.get("alpha", summary?.jobId ?? "");
    expect(record).toMatchObject({
      status: "FAILED",
      statusReason: "The scheduler refused the job: queue is disabled",
    });
    expect(record?.externalId).toBeUndefined();
  });

  it("releases the clientToken of a refused submission, so the same token may be used again", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const scheduler = deps.schedulers.of("alpha");
    const submitJob = makeSubmitJob(deps);
    scheduler.submitError = new Error("throttled");
    await rejection(submitJob(command({ clientToken: "tok-1" })));
    scheduler.submitError = undefined;

    const retried = await submitJob(command({ clientToken: "tok-1" }));

    expect(retried.replayed).toBe(false);
    expect(retried.job).toMatchObject({ status: "SUBMITTED", externalId: "ext-2" });
    expect(scheduler.submitCalls).toHaveLength(2);
    expect((await allJobs(deps)).map((job) => job.status)).toEqual(["SUBMITTED", "FAILED"]);
  });

  it("answers a repeated request with the same clientToken with the same job and submits it once", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const submitJob = makeSubmitJob(deps);

    const first = await submitJob(command({ clientToken: "tok-1" }));
    deps.clock.advance(5_000);
    const second = await submitJob(command({ clientToken: "tok-1" }));

    expect(first.replayed).toBe(false);
    expect(second.replayed).toBe(true);
    expect(second.job).toEqual(first.job);
    expect(deps.schedulers.of("alpha").submitCalls).toHaveLength(1);
    expect(await allJobs(deps)).toHaveLength(1);
  });

  it("refuses the same clientToken with a different request with IdempotencyConflictError", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const submitJob = makeSubmitJob(deps);
    await submitJob(command({ clientToken: "tok-1" }));

    const error = await rejection(
      submitJob(command({ clientToken: "tok-1", spec: jobSpec({ command: ["echo", "other"] }) })),
    );

    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect((error as IdempotencyConflictError).issues.map((issue) => issue.path)).toEqual([
      "body.clientToken",
    ]);
    expect(deps.schedulers.of("alpha").submitCalls).toHaveLength(1);
    expect(await allJobs(deps)).toHaveLength(1);
  });

  it("keeps clientTokens of different clusters apart", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps, { name: "alpha" });
    await storeReadyCluster(deps, { name: "beta" });
    const submitJob = makeSubmitJob(deps);

    const onAlpha = await submitJob(command({ clusterName: "alpha", clientToken: "tok-1" }));
    const onBeta = await submitJob(command({ clusterName: "beta", clientToken: "tok-1" }));

    expect(onBeta.replayed).toBe(false);
    expect(onBeta.job.jobId).not.toBe(onAlpha.job.jobId);
    expect(onBeta.job.clusterName).toBe("beta");
  });

  it("records the scheduler's id but keeps the progress it reported before submit returned", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const applyJobObservation = makeApplyJobObservation(deps);
    deps.schedulers.of("alpha").beforeSubmitReturns = async (job) => {
      await applyJobObservation("alpha", {
        jobId: job.jobId,
        status: "RUNNING",
        attempts: [],
        startedAt: "2024-05-01T10:00:00.500Z",
        time: "2024-05-01T10:00:00.500Z",
      });
    };

    const { job } = await makeSubmitJob(deps)(command());

    expect(job).toMatchObject({
      status: "RUNNING",
      externalId: "ext-1",
      startedAt: "2024-05-01T10:00:00.500Z",
    });
    expect(await deps.jobs.get("alpha", job.jobId)).toEqual(job);
  });

  it("keeps a finished status reported before submit returned, with the scheduler's id", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const applyJobObservation = makeApplyJobObservation(deps);
    deps.schedulers.of("alpha").beforeSubmitReturns = async (job, externalId) => {
      await applyJobObservation("alpha", {
        jobId: job.jobId,
        externalId,
        status: "SUCCEEDED",
        attempts: [{ exitCode: 0, stoppedAt: "2024-05-01T10:00:01.000Z" }],
        stoppedAt: "2024-05-01T10:00:01.000Z",
        time: "2024-05-01T10:00:01.000Z",
      });
    };

    const { job } = await makeSubmitJob(deps)(command());

    expect(job).toMatchObject({ status: "SUCCEEDED", externalId: "ext-1", attempts: [{ exitCode: 0 }] });
  });

  it("forwards a cancel that arrived while the submission was on its way to the scheduler", async () => {
    const deps = makeJobTestDeps();
    await storeReadyCluster(deps);
    const scheduler = deps.schedulers.of("alpha");
    const cancelJob = makeCancelJob(deps);
    scheduler.beforeSubmitReturns = async (job) => {
      await cancelJob("alpha", job.jobId, "bob");
    };

    const { job } = await makeSubmitJob(deps)(command());

    expect(job).toMatchObject({ status: "CANCELLED", externalId: "ext-1" });
    expect(scheduler.cancelCalls).toHaveLength(1);
    expect(scheduler.cancelCalls[0]?.job.externalId).toBe("ext-1");
    expect(scheduler.cancelCalls[0]?.reason).toBe(`${CANCEL_REASON_PREFIX} by bob`);
  });

  it("does not call a job the scheduler accepted refused when recording its id fails", async () => {
    const jobs = new HookedJobStore();
    const deps = makeJobTestDeps({ jobs });
    await storeReadyCluster(deps);
    const scheduler = deps.schedulers.of("alpha");
    const outage = new Error("store unavailable");
    scheduler.beforeSubmitReturns = async () => {
      const failFrom = jobs.updateCalls + 1;
      jobs.beforeUpdate = async (call) => {
        if (call === failFrom) throw outage;
      };
    };
    const submitJob = makeSubmitJob(deps);

    const error = await rejection(submitJob(command({ clientToken: "tok-1" })));
    const retry = await rejection(submitJob(command({ clientToken: "tok-1" })));

    expect(error).toBe(outage);
    const [summary] = await allJobs(deps);
    expect(summary?.status).toBe("SUBMITTED");
    expect(summary?.statusReason).toBeUndefined();
    expect(retry).toBeInstanceOf(IdempotencyConflictError);
    expect(scheduler.submitCalls).toHaveLength(1);
  });
});

describe("mutateJob", () => {
  it("returns the record unchanged, without writing, when there is nothing to change", async () => {
    const jobs = new HookedJobStore();
    const deps = makeJobTestDeps({ jobs });
    const stored = await storeJob(deps, { name: "alpha", clusterId: "c1" });

    const result = await mutateJob(jobs, "alpha", stored.jobId, () => undefined);

    expect(result).toEqual(stored);
    expect(jobs.updateCalls).toBe(0);
  });

  it("writes the change against the version it read and returns the new record", async () => {
    const deps = makeJobTestDeps();
    const stored = await storeJob(deps, { name: "alpha", clusterId: "c1" });

    const result = await mutateJob(deps.jobs, "alpha", stored.jobId, () => ({
      status: "RUNNING",
      updatedAt: "2024-05-01T10:01:00.000Z",
    }));

    expect(result).toMatchObject({ status: "RUNNING", version: 2, updatedAt: "2024-05-01T10:01:00.000Z" });
    expect(await deps.jobs.get("alpha", stored.jobId)).toEqual(result);
  });

  it("decides again on the new record when another writer got there first", async () => {
    const jobs = new HookedJobStore();
    const deps = makeJobTestDeps({ jobs });
    const stored = await storeJob(deps, { name: "alpha", clusterId: "c1" });
    jobs.beforeUpdate = async (call) => {
      if (call === 1) await jobs.rawUpdate("alpha", stored.jobId, { externalId: "ext-9" });
    };
    const seen: (string | undefined)[] = [];

    const result = await mutateJob(jobs, "alpha", stored.jobId, (current) => {
      seen.push(current.externalId);
      return { status: "PENDING", updatedAt: "2024-05-01T10:01:00.000Z" };
    });

    expect(seen).toEqual([undefined, "ext-9"]);
    expect(result).toMatchObject({ status: "PENDING", externalId: "ext-9", version: 3 });
  });

  it("gives up with ConcurrentModificationError after six lost races", async () => {
    const jobs = new HookedJobStore();
    const deps = makeJobTestDeps({ jobs });
    const stored = await storeJob(deps, { name: "alpha", clusterId: "c1" });
    jobs.beforeUpdate = async () => {
      await jobs.rawUpdate("alpha", stored.jobId, {});
    };

    const error = await rejection(
      mutateJob(jobs, "alpha", stored.jobId, () => ({ status: "PENDING", updatedAt: "x" })),
    );

    expect(error).toBeInstanceOf(ConcurrentModificationError);
    expect(jobs.updateCalls).toBe(6);
  });

  it("rethrows any other error at once, without retrying", async () => {
    const jobs = new HookedJobStore();
    const deps = makeJobTestDeps({ jobs });
    const stored = await storeJob(deps, { name: "alpha", clusterId: "c1" });
    const outage = new Error("store unavailable");
    jobs.beforeUpdate = async () => {
      throw outage;
    };

    const error = await rejection(
      mutateJob(jobs, "alpha", stored.jobId, () => ({ status: "PENDING", updatedAt: "x" })),
    );

    expect(error).toBe(outage);
    expect(jobs.updateCalls).toBe(1);
  });

  it("throws JobNotFoundError for a job that is not there", async () => {
    const deps = makeJobTestDeps();

    const error = await rejection(mutateJob(deps.jobs, "alpha", deps.ids.next(), () => undefined));

    expect(error).toBeInstanceOf(JobNotFoundError);
  });
});
