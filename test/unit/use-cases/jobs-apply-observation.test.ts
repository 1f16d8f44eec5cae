import { describe, expect, it } from "vitest";
import type { Job, JobAttempt, JobObservation, JobStatus } from "#shared/domain/job.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";
import { CANCEL_REASON_PREFIX } from "#shared/use-cases/cancel-job.ts";
import { type JobTestDeps, makeJobTestDeps, storeJob, storeReadyCluster } from "../../support/fakes.ts";
import { seededRandom } from "../../support/seeded-random.ts";

/** `2024-05-01T10:<minute>:00.000Z`. */
function at(minute: number): string {
  return `2024-05-01T10:${String(minute).padStart(2, "0")}:00.000Z`;
}

const FIRST_ATTEMPT: JobAttempt = {
  startedAt: at(4),
  stoppedAt: at(5),
  exitCode: 1,
  statusReason: "Essential container in task exited",
  logStream: "job/default/attempt-1",
};

function secondAttempt(terminal: "SUCCEEDED" | "FAILED"): JobAttempt {
  return {
    startedAt: at(8),
    stoppedAt: at(9),
    exitCode: terminal === "SUCCEEDED" ? 0 : 2,
    statusReason: "Essential container in task exited",
    logStream: "job/default/attempt-2",
  };
}

async function setup(overrides: Partial<Job> = {}) {
  const deps = makeJobTestDeps();
  const cluster = await storeReadyCluster(deps);
  const job = await storeJob(deps, cluster, { externalId: "ext-1", ...overrides });
  return { deps, job, apply: makeApplyJobObservation(deps) };
}

function report(
  job: Pick<Job, "jobId">,
  status: JobStatus,
  minute: number,
  fields: Partial<JobObservation> = {},
): JobObservation {
  return { jobId: job.jobId, externalId: "ext-1", status, attempts: [], time: at(minute), ...fields };
}

async function record(deps: JobTestDeps, job: Pick<Job, "jobId">): Promise<Job | undefined> {
  return deps.jobs.get("alpha", job.jobId);
}

describe("applyJobObservation", () => {
  it("moves a job forward through PENDING, RUNNABLE, STARTING and RUNNING", async () => {
    const { deps, job, apply } = await setup();
    deps.clock.set(at(5));

    const outcomes = [];
    for (const [minute, status] of (["PENDING", "RUNNABLE", "STARTING", "RUNNING"] as const).entries()) {
      outcomes.push(
        await apply(
          "alpha",
          report(job, status, minute + 1, status === "RUNNING" ? { startedAt: at(4) } : {}),
        ),
      );
    }

    expect(outcomes.map((outcome) => outcome.kind)).toEqual(["applied", "applied", "applied", "applied"]);
    expect(await record(deps, job)).toMatchObject({
      status: "RUNNING",
      startedAt: at(4),
      lastEventAt: at(4),
      updatedAt: at(5),
      version: 5,
    });
  });

  it("ignores a duplicate report", async () => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, "RUNNABLE", 1));
    const before = await record(deps, job);

    const outcome = await apply("alpha", report(job, "RUNNABLE", 1));

    expect(outcome).toEqual({ kind: "ignored", reason: "duplicate or older report" });
    expect(await record(deps, job)).toEqual(before);
  });

  it("ignores a report of an earlier status of the same attempt", async () => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, "RUNNING", 3));

    const outcome = await apply("alpha", report(job, "RUNNABLE", 1));

    expect(outcome.kind).toBe("ignored");
    expect((await record(deps, job))?.status).toBe("RUNNING");
  });

  it("applies a retry: RUNNING, then RUNNABLE on the next attempt", async () => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, "RUNNING", 4));

    const outcome = await apply("alpha", report(job, "RUNNABLE", 6, { attempts: [FIRST_ATTEMPT] }));

    expect(outcome.kind).toBe("applied");
    expect(await record(deps, job)).toMatchObject({ status: "RUNNABLE", attempts: [FIRST_ATTEMPT] });
  });

  it("counts a waiting or running report as on the attempt after the finished ones it lists", async () => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, "RUNNABLE", 6, { attempts: [FIRST_ATTEMPT] }));

    const staleFirstAttempt = await apply("alpha", report(job, "RUNNING", 4));
    const secondAttemptRunning = await apply(
      "alpha",
      report(job, "RUNNING", 8, { attempts: [FIRST_ATTEMPT] }),
    );

    expect(staleFirstAttempt.kind).toBe("ignored");
    expect(secondAttemptRunning.kind).toBe("applied");
    expect(await record(deps, job)).toMatchObject({ status: "RUNNING", attempts: [FIRST_ATTEMPT] });
  });

  it("ignores a stale RUNNING once the job SUCCEEDED, even one that looks like a later attempt", async () => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, "SUCCEEDED", 9, { attempts: [FIRST_ATTEMPT], stoppedAt: at(9) }));
    const before = await record(deps, job);

    const stale = await apply("alpha", report(job, "RUNNING", 4));
    const laterLooking = await apply(
      "alpha",
      report(job, "RUNNING", 10, { attempts: [FIRST_ATTEMPT, secondAttempt("FAILED")] }),
    );

    expect(stale.kind).toBe("ignored");
    expect(laterLooking.kind).toBe("ignored");
    expect(await record(deps, job)).toEqual(before);
  });

  it.each<[JobStatus, JobStatus]>([
    ["SUCCEEDED", "FAILED"],
    ["FAILED", "SUCCEEDED"],
    ["CANCELLED", "SUCCEEDED"],
    ["SUCCEEDED", "CANCELLED"],
  ])("never leaves %s, not even for %s", async (first, second) => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, first, 5, { attempts: [FIRST_ATTEMPT] }));

    const outcome = await apply("alpha", report(job, second, 6, { attempts: [FIRST_ATTEMPT] }));

    expect(outcome.kind).toBe("ignored");
    expect((await record(deps, job))?.status).toBe(first);
  });

  it("records a FAILED report whose reason is our cancel's as CANCELLED", async () => {
    const { deps, job, apply } = await setup({ status: "RUNNING" });
    const reason = `${CANCEL_REASON_PREFIX} by alice`;

    const outcome = await apply(
      "alpha",
      report(job, "FAILED", 6, { statusReason: reason, stoppedAt: at(6) }),
    );

    expect(outcome.kind).toBe("applied");
    expect(await record(deps, job)).toMatchObject({
      status: "CANCELLED",
      statusReason: reason,
      stoppedAt: at(6),
    });
  });

  it("keeps a FAILED report whose reason is not our cancel's FAILED", async () => {
    const { deps, job, apply } = await setup({ status: "RUNNING" });

    await apply("alpha", report(job, "FAILED", 6, { statusReason: "Job attempt duration exceeded timeout" }));

    expect(await record(deps, job)).toMatchObject({
      status: "FAILED",
      statusReason: "Job attempt duration exceeded timeout",
    });
  });

  it("ignores a report about another scheduler job", async () => {
    const { deps, job, apply } = await setup();
    const before = await record(deps, job);

    const outcome = await apply("alpha", report(job, "SUCCEEDED", 6, { externalId: "ext-other" }));

    expect(outcome).toEqual({ kind: "ignored", reason: "report for another scheduler job (ext-other)" });
    expect(await record(deps, job)).toEqual(before);
  });

  it("records the scheduler's id a report carries when the record has none yet", async () => {
    const { deps, job, apply } = await setup({ externalId: undefined });

    await apply("alpha", report(job, "RUNNABLE", 1, { externalId: "ext-9" }));

    expect(await record(deps, job)).toMatchObject({ status: "RUNNABLE", externalId: "ext-9" });
  });

  it("ignores a report about a job it does not have", async () => {
    const { deps, apply } = await setup();
    const jobId = deps.ids.next();

    const outcome = await apply("alpha", report({ jobId }, "RUNNING", 1));

    expect(outcome).toEqual({ kind: "ignored", reason: `no job ${jobId} on alpha` });
    expect(await deps.jobs.get("alpha", jobId)).toBeUndefined();
  });

  it("keeps the attempts it knows when a later report lists fewer", async () => {
    const { deps, job, apply } = await setup();
    await apply("alpha", report(job, "RUNNABLE", 6, { attempts: [FIRST_ATTEMPT] }));

    await apply("alpha", report(job, "FAILED", 9, { statusReason: "Host EC2 terminated", stoppedAt: at(9) }));

    expect(await record(deps, job)).toMatchObject({
      status: "FAILED",
      attempts: [FIRST_ATTEMPT],
      statusReason: "Host EC2 terminated",
    });
  });

  it("sets stoppedAt only for a finished job and keeps the first startedAt", async () => {
    const { deps, job, apply } = await setup();

    await apply("alpha", report(job, "RUNNING", 4, { startedAt: at(4), stoppedAt: at(4) }));
    const running = await record(deps, job);
    await apply(
      "alpha",
      report(job, "SUCCEEDED", 9, { attempts: [FIRST_ATTEMPT], startedAt: at(8), stoppedAt: at(9) }),
    );

    expect(running?.stoppedAt).toBeUndefined();
    expect(await record(deps, job)).toMatchObject({ startedAt: at(4), stoppedAt: at(9) });
  });

  it("records an array job's progress", async () => {
    const { deps, job, apply } = await setup();

    await apply("alpha", report(job, "RUNNING", 4, { arrayProgress: { SUCCEEDED: 3, RUNNING: 2 } }));

    expect((await record(deps, job))?.arrayProgress).toEqual({ SUCCEEDED: 3, RUNNING: 2 });
  });
});

/** What AWS Batch reports, in order, for a job that fails its first attempt and ends on its second. */
function batchStream(job: Pick<Job, "jobId">, terminal: "SUCCEEDED" | "FAILED"): JobObservation[] {
  const second = secondAttempt(terminal);
  const started = { startedAt: at(4) };
  return [
    report(job, "SUBMITTED", 0),
    report(job, "PENDING", 1),
    report(job, "RUNNABLE", 2),
    report(job, "STARTING", 3),
    report(job, "RUNNING", 4, started),
    report(job, "RUNNABLE", 6, { ...started, attempts: [FIRST_ATTEMPT] }),
    report(job, "STARTING", 7, { ...started, attempts: [FIRST_ATTEMPT] }),
    report(job, "RUNNING", 8, { ...started, attempts: [FIRST_ATTEMPT] }),
    report(job, terminal, 9, {
      ...started,
      attempts: [FIRST_ATTEMPT, second],
      stoppedAt: at(9),
      statusReason: terminal === "SUCCEEDED" ? "Essential container in task exited" : "Job failed: exit 2",
    }),
  ];
}

/** The stream delivered at least once and in any order: each report 1-3 times, SUBMITTED maybe not at all. */
function delivered(stream: readonly JobObservation[], random: () => number): JobObservation[] {
  const copies = stream.flatMap((observation) => {
    const min = observation.status === "SUBMITTED" ? 0 : 1;
    return Array.from({ length: min + Math.floor(random() * (4 - min)) }, () => observation);
  });
  for (let i = copies.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copies[i], copies[j]] = [copies[j] as JobObservation, copies[i] as JobObservation];
  }
  return copies;
}

const RANK: Readonly<Record<JobStatus, number>> = {
  SUBMITTED: 0,
  PENDING: 1,
  RUNNABLE: 2,
  STARTING: 3,
  RUNNING: 4,
  SUCCEEDED: 5,
  FAILED: 5,
  CANCELLED: 5,
};

/** Where a record is, as one number: the attempt it is on, then its status; finished is the end. */
function progress(job: Job | undefined): number {
  if (job === undefined) return -1;
  if (RANK[job.status] === 5) return Number.POSITIVE_INFINITY;
  return (job.attempts.length + 1) * 10 + RANK[job.status];
}

/**
 * Applies the reports one by one to a fresh job; answers the fields a reader sees at the end, and whether
 * the record ever moved back along the way.
 */
async function replay(observations: (job: Job) => readonly JobObservation[]) {
  const { deps, job, apply } = await setup();
  let movedBack = false;
  let last = progress(await record(deps, job));
  for (const observation of observations(job)) {
    await apply("alpha", observation);
    const now = progress(await record(deps, job));
    movedBack ||= now < last;
    last = now;
  }
  const final = await record(deps, job);
  return {
    movedBack,
    final: {
      status: final?.status,
      attempts: final?.attempts,
      startedAt: final?.startedAt,
      stoppedAt: final?.stoppedAt,
      statusReason: final?.statusReason,
      externalId: final?.externalId,
    },
  };
}

describe("applyJobObservation under at-least-once, out-of-order delivery", () => {
  it.each(["SUCCEEDED", "FAILED"] as const)(
    "ends a retried job %s as the ordered stream does, never moving back, for 200 seeded shuffles with duplicates",
    async (terminal) => {
      const ordered = await replay((job) => batchStream(job, terminal));
      expect(ordered.final).toMatchObject({ status: terminal, stoppedAt: at(9) });
      expect(ordered.final.attempts).toHaveLength(2);

      for (let seed = 1; seed <= 200; seed++) {
        const random = seededRandom(seed);
        const shuffled = await replay((job) => delivered(batchStream(job, terminal), random));
        expect(shuffled.final, `seed ${seed} (${terminal})`).toEqual(ordered.final);
        expect(shuffled.movedBack, `seed ${seed} (${terminal}) moved the record back`).toBe(false);
      }
    },
  );
});
