import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LocalBusEvent, LocalEventBus } from "#shared/adapters/local/local-event-bus.ts";
import {
  LOCAL_JOB_REASONS,
  LocalJobRunner,
  type LocalJobRunnerOptions,
} from "#shared/adapters/local/local-job-runner.ts";
import { systemClock } from "#shared/adapters/system.ts";
import { type BatchJobDetail, observationFromBatchEvent } from "#shared/domain/batch-job-event.ts";
import { InvalidNextTokenError } from "#shared/domain/errors.ts";
import type { Job, JobSpec, JobStatus } from "#shared/domain/job.ts";
import { clusterRecord } from "../../fixtures/events.ts";

const cluster = clusterRecord("demo", { status: "CREATE_COMPLETE" });
let sequence = 0;

function job(spec: Partial<JobSpec>, name = "test-job"): Job {
  const jobId = `JOB${String(++sequence).padStart(4, "0")}${Date.now()}`;
  return {
    jobId,
    clusterName: cluster.name,
    clusterId: cluster.clusterId,
    name,
    status: "SUBMITTED",
    spec: { environment: {}, dependsOn: [], ...spec },
    scheduler: "local",
    attempts: [],
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    createdBy: "tester",
    version: 1,
  };
}

/** A runner on a fresh data directory, with every published event collected. */
class Harness {
  readonly events: LocalBusEvent[] = [];
  readonly bus = new LocalEventBus();
  runner: LocalJobRunner;

  constructor(
    readonly dataDir: string,
    readonly options: Partial<LocalJobRunnerOptions> = {},
  ) {
    this.bus.subscribe((event) => this.events.push(event));
    this.runner = this.#make();
  }

  #make(): LocalJobRunner {
    return new LocalJobRunner({ dataDir: this.dataDir, bus: this.bus, clock: systemClock, ...this.options });
  }

  /** A second runner on the same directory, as after a server restart. */
  restart(options: Partial<LocalJobRunnerOptions> = {}): LocalJobRunner {
    this.runner = new LocalJobRunner({
      dataDir: this.dataDir,
      bus: this.bus,
      clock: systemClock,
      ...options,
    });
    return this.runner;
  }

  async submit(spec: Partial<JobSpec>): Promise<Job> {
    const submitted = job(spec);
    const { externalId } = await this.runner.submit(submitted, cluster);
    return { ...submitted, externalId };
  }

  /** The details published for one Batch job id (`<jobId>` or `<jobId>:<index>`), in order. */
  details(batchJobId: string): BatchJobDetail[] {
    return this.events
      .map((event) => event.detail as unknown as BatchJobDetail)
      .filter((detail) => detail.jobId === batchJobId);
  }

  statuses(batchJobId: string): string[] {
    return this.details(batchJobId).map((detail) => detail.status);
  }

  /** Waits for the job to publish one of `statuses`; returns that event's detail. */
  async until(
    batchJobId: string,
    statuses: readonly JobStatus[],
    timeoutMs = 8_000,
  ): Promise<BatchJobDetail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.details(batchJobId).find((detail) => statuses.includes(detail.status as JobStatus));
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `${batchJobId} never reached ${statuses.join("/")}: ${this.statuses(batchJobId).join(" > ")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  finished(batchJobId: string): Promise<BatchJobDetail> {
    return this.until(batchJobId, ["SUCCEEDED", "FAILED", "CANCELLED"]);
  }
}

let dataDir: string;
let harness: Harness;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "local-job-runner-"));
  harness = new Harness(dataDir);
});

afterEach(async () => {
  await harness.runner.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("LocalJobRunner retries", () => {
  it("succeeds on attempt 3 of a job that exits 1, 1, 0, with three attempts recorded", async () => {
    const submitted = await harness.submit({
      script: 'echo "attempt $AWS_BATCH_JOB_ATTEMPT"\n[ "$AWS_BATCH_JOB_ATTEMPT" = 3 ] && exit 0\nexit 1\n',
      retryStrategy: { attempts: 3 },
    });

    const done = await harness.finished(submitted.jobId);

    expect(done.status).toBe("SUCCEEDED");
    expect(done.attempts?.map((attempt) => attempt.container?.exitCode)).toEqual([1, 1, 0]);
    expect(harness.statuses(submitted.jobId)).toEqual([
      ...["RUNNABLE", "STARTING", "RUNNING"],
      ...["RUNNABLE", "STARTING", "RUNNING"],
      ...["RUNNABLE", "STARTING", "RUNNING"],
      "SUCCEEDED",
    ]);
    const [observation] = await harness.runner.describe([submitted]);
    expect(observation?.attempts.map((attempt) => attempt.logStream)).toEqual([
      `jobs/${submitted.jobId}/attempt-1.log`,
      `jobs/${submitted.jobId}/attempt-2.log`,
      `jobs/${submitted.jobId}/attempt-3.log`,
    ]);
    expect(await readFile(join(dataDir, "jobs", submitted.jobId, "attempt-2.log"), "utf8")).toBe(
      "attempt 2\n",
    );
    expect((await stat(join(dataDir, "jobs", submitted.jobId, "script.sh"))).mode & 0o777).toBe(0o700);
  });

  it("fails at once on exit 3 when a rule says EXIT for it, though attempts remain", async () => {
    const submitted = await harness.submit({
      command: ["sh", "-c", "exit 3"],
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: "3", action: "EXIT" }] },
    });

    const done = await harness.finished(submitted.jobId);

    expect(done.status).toBe("FAILED");
    expect(done.statusReason).toBe("Essential container in task exited");
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts?.[0]?.container?.exitCode).toBe(3);
  });

  it("fails a job that runs past its timeout with Batch's reason and does not retry it", async () => {
    const started = Date.now();
    const submitted = await harness.submit({
      command: ["sleep", "30"],
      timeoutSeconds: 1,
      retryStrategy: { attempts: 3 },
    });

    const done = await harness.finished(submitted.jobId);

    expect(done.status).toBe("FAILED");
    expect(done.statusReason).toBe("Job attempt duration exceeded timeout");
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts?.[0]?.statusReason).toBe("Job attempt duration exceeded timeout");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("records a command that cannot start as a failed attempt with Batch-style reason", async () => {
    const submitted = await harness.submit({ command: ["no-such-command-for-the-local-runner"] });

    const done = await harness.finished(submitted.jobId);

    expect(done.status).toBe("FAILED");
    expect(done.attempts?.[0]?.container?.reason).toMatch(/^CannotStartContainerError: .*ENOENT/);
    expect(observationFromBatchEvent(done)?.attempts[0]?.statusReason).toMatch(
      /^Essential container in task exited \(CannotStartContainerError: /,
    );
  });
});

describe("LocalJobRunner processes", () => {
  it("runs a command as exactly its argv, with no shell of its own", async () => {
    const submitted = await harness.submit({
      command: ["sh", "-c", "echo $HOME; exit 3"],
      environment: { HOME: "/home/job-user" },
    });

    const done = await harness.finished(submitted.jobId);
    const { lines } = await harness.runner.logs(submitted, { limit: 10 });

    expect(done.attempts?.[0]?.container?.exitCode).toBe(3);
    expect(lines.map((line) => line.message)).toEqual(["/home/job-user"]);
  });

  it("passes shell metacharacters in arguments through as data", async () => {
    const submitted = await harness.submit({
      command: ["printf", "%s\\n", "$(echo injected); `id` | rm -rf ~"],
    });

    await harness.finished(submitted.jobId);
    const { lines } = await harness.runner.logs(submitted, { limit: 10 });

    expect(lines.map((line) => line.message)).toEqual(["$(echo injected); `id` | rm -rf ~"]);
  });

  it("gives the job a clean environment plus its own variables and Batch's", async () => {
    process.env.LOCAL_RUNNER_SERVER_SECRET = "leaked";
    try {
      const submitted = await harness.submit({
        command: [
          "sh",
          "-c",
          'echo "$GREETING|$AWS_BATCH_JOB_ID|$HPC_INPUT_URI|$LOCAL_RUNNER_SERVER_SECRET"',
        ],
        environment: { GREETING: "hello" },
        inputUri: "s3://bucket/input.dat",
      });

      await harness.finished(submitted.jobId);
      const { lines } = await harness.runner.logs(submitted, { limit: 10 });

      expect(lines[0]?.message).toBe(`hello|${submitted.jobId}|s3://bucket/input.dat|`);
    } finally {
      delete process.env.LOCAL_RUNNER_SERVER_SECRET;
    }
  });

  it("runs an array of 5 as 5 children, each with its index, and succeeds when all do", async () => {
    const submitted = await harness.submit({
      script: 'echo "child $AWS_BATCH_JOB_ARRAY_INDEX"\n',
      arraySize: 5,
    });

    const done = await harness.finished(submitted.jobId);

    expect(done.status).toBe("SUCCEEDED");
    expect(done.arrayProperties).toMatchObject({ size: 5, statusSummary: { SUCCEEDED: 5, FAILED: 0 } });
    for (let index = 0; index < 5; index++) {
      const log = await readFile(
        join(dataDir, "jobs", submitted.jobId, String(index), "attempt-1.log"),
        "utf8",
      );
      expect(log).toBe(`child ${index}\n`);
      expect(harness.details(`${submitted.jobId}:${index}`).at(-1)).toMatchObject({
        status: "SUCCEEDED",
        arrayProperties: { index },
      });
    }
    expect(harness.statuses(submitted.jobId)).toEqual(["RUNNABLE", "RUNNING", "SUCCEEDED"]);
    const [observation] = await harness.runner.describe([submitted]);
    expect(observation?.arrayProgress).toEqual({ SUCCEEDED: 5, FAILED: 0, CANCELLED: 0 });
  });

  it("fails an array job when one child fails", async () => {
    const submitted = await harness.submit({
      script: '[ "$AWS_BATCH_JOB_ARRAY_INDEX" != 1 ]\n',
      arraySize: 3,
    });

    const done = await harness.finished(submitted.jobId);

    expect(done.status).toBe("FAILED");
    expect(done.arrayProperties?.statusSummary).toMatchObject({ SUCCEEDED: 2, FAILED: 1 });
  });

  it("cancels a running sleep 60 within a second or two, as CANCELLED and not retried", async () => {
    const submitted = await harness.submit({ command: ["sleep", "60"], retryStrategy: { attempts: 3 } });
    await harness.until(submitted.jobId, ["RUNNING"]);
    const cancelledAt = Date.now();

    await harness.runner.cancel(submitted, "Cancelled by tester");
    const done = await harness.finished(submitted.jobId);

    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    expect(done.status).toBe("CANCELLED");
    expect(done.statusReason).toBe("Cancelled by tester");
    expect(done.attempts).toHaveLength(1);
  });

  it("stops the processes a cancelled job started, not only the job's own", async () => {
    const submitted = await harness.submit({ script: "sleep 60 &\necho $! > sleep.pid\nwait\n" });
    await harness.until(submitted.jobId, ["RUNNING"]);
    const pidFile = join(dataDir, "jobs", submitted.jobId, "sleep.pid");
    await expect.poll(() => readFile(pidFile, "utf8").catch(() => ""), { timeout: 3_000 }).toMatch(/\d+\n/);
    const sleepPid = Number((await readFile(pidFile, "utf8")).trim());

    await harness.runner.cancel(submitted, "Cancelled by tester");
    await harness.finished(submitted.jobId);

    await expect.poll(() => isAlive(sleepPid), { timeout: 2_000 }).toBe(false);
  });

  it("cancels a job still waiting in the queue without running it", async () => {
    harness = new Harness(dataDir, { maxConcurrentVcpus: () => 1 });
    const blocker = await harness.submit({ command: ["sleep", "60"] });
    const waiting = await harness.submit({ command: ["true"] });
    await harness.until(waiting.jobId, ["RUNNABLE"]);

    await harness.runner.cancel(waiting, "not needed");
    await harness.runner.cancel(blocker, "not needed");

    expect((await harness.finished(waiting.jobId)).attempts).toEqual([]);
    expect(harness.statuses(waiting.jobId)).toEqual(["RUNNABLE", "CANCELLED"]);
    expect((await harness.finished(blocker.jobId)).status).toBe("CANCELLED");
  });
});

describe("LocalJobRunner scheduling", () => {
  it("keeps a dependent job PENDING until its dependency succeeds, then runs it", async () => {
    const a = await harness.submit({ command: ["sleep", "0.3"] });
    const b = await harness.submit({ command: ["true"], dependsOn: [{ jobId: a.jobId }] });

    const doneA = await harness.finished(a.jobId);
    const doneB = await harness.finished(b.jobId);

    expect(doneB.status).toBe("SUCCEEDED");
    expect(harness.statuses(b.jobId)[0]).toBe("PENDING");
    expect(doneB.attempts?.[0]?.startedAt).toBeGreaterThanOrEqual(
      doneA.stoppedAt ?? Number.POSITIVE_INFINITY,
    );
  });

  it("fails a dependent job with Batch's reason when its dependency fails", async () => {
    const a = await harness.submit({ command: ["sh", "-c", "sleep 0.2; exit 1"] });
    const b = await harness.submit({ command: ["true"], dependsOn: [{ jobId: a.jobId }] });

    const doneB = await harness.finished(b.jobId);

    expect(harness.statuses(b.jobId)).toEqual(["PENDING", "FAILED"]);
    expect(doneB.statusReason).toBe("Dependent Job failed");
    expect(doneB.attempts).toEqual([]);
  });

  it("runs a SEQUENTIAL array's children in order, and an N_TO_N child after its counterpart", async () => {
    const a = await harness.submit({ command: ["sleep", "0.1"], arraySize: 3 });
    const nToN = await harness.submit({
      command: ["true"],
      arraySize: 3,
      dependsOn: [{ jobId: a.jobId, type: "N_TO_N" }],
    });
    const selfSequential = job({ command: ["sleep", "0.1"], arraySize: 3 });
    const withSelf: Job = {
      ...selfSequential,
      spec: { ...selfSequential.spec, dependsOn: [{ jobId: selfSequential.jobId, type: "SEQUENTIAL" }] },
    };
    await harness.runner.submit(withSelf, cluster);

    await harness.finished(nToN.jobId);
    await harness.finished(withSelf.jobId);

    const child = (id: string, index: number) => harness.details(`${id}:${index}`).at(-1);
    for (const index of [0, 1, 2]) {
      expect(child(nToN.jobId, index)?.startedAt).toBeGreaterThanOrEqual(
        child(a.jobId, index)?.stoppedAt ?? 0,
      );
    }
    for (const index of [1, 2]) {
      expect(child(withSelf.jobId, index)?.startedAt).toBeGreaterThanOrEqual(
        child(withSelf.jobId, index - 1)?.stoppedAt ?? Number.POSITIVE_INFINITY,
      );
    }
  });

  it("asks lookupStatus about a dependency it never ran, until it ends", async () => {
    const answers: JobStatus[] = ["RUNNING", "SUCCEEDED"];
    const asked: string[] = [];
    harness = new Harness(dataDir, {
      dependencyPollMs: 50,
      lookupStatus: async (clusterName, jobId) => {
        asked.push(`${clusterName}/${jobId}`);
        return answers.length > 1 ? answers.shift() : answers[0];
      },
    });

    const b = await harness.submit({ command: ["true"], dependsOn: [{ jobId: "EARLIER_JOB" }] });

    expect((await harness.finished(b.jobId)).status).toBe("SUCCEEDED");
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked[0]).toBe("demo/EARLIER_JOB");
  });

  it("fails a job whose unknown dependency the store does not know either", async () => {
    harness = new Harness(dataDir, { lookupStatus: async () => undefined });

    const b = await harness.submit({ command: ["true"], dependsOn: [{ jobId: "FORGOTTEN" }] });

    expect((await harness.finished(b.jobId)).statusReason).toBe("Dependent Job failed");
  });

  it("runs two sleep 1 jobs one after the other on a cluster of 1 vCPU", async () => {
    harness = new Harness(dataDir, { maxConcurrentVcpus: () => 1 });
    const first = await harness.submit({ command: ["sleep", "1"] });
    const second = await harness.submit({ command: ["sleep", "1"] });

    const doneFirst = await harness.finished(first.jobId);
    const doneSecond = await harness.finished(second.jobId);

    const firstStopped = doneFirst.attempts?.[0]?.stoppedAt ?? Number.POSITIVE_INFINITY;
    expect(doneSecond.attempts?.[0]?.startedAt).toBeGreaterThanOrEqual(firstStopped);
    expect(harness.statuses(second.jobId)).toEqual(["RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]);
  });
});

describe("LocalJobRunner persistence", () => {
  it("marks a job that was running when the server stopped FAILED at the next resume, and requeues waiting ones", async () => {
    harness = new Harness(dataDir, { maxConcurrentVcpus: () => 1 });
    const running = await harness.submit({ command: ["sleep", "60"] });
    const waiting = await harness.submit({ command: ["true"] });
    await harness.until(running.jobId, ["RUNNING"]);
    await harness.until(waiting.jobId, ["RUNNABLE"]);

    await harness.runner.close();
    const state = JSON.parse(await readFile(join(dataDir, "jobs", running.jobId, "state.json"), "utf8"));
    expect(state.status).toBe("RUNNING");
    await harness.restart({ maxConcurrentVcpus: () => 1 }).resume();

    const doneRunning = await harness.finished(running.jobId);
    expect(doneRunning.status).toBe("FAILED");
    expect(doneRunning.statusReason).toBe(LOCAL_JOB_REASONS.serverStopped);
    expect(doneRunning.attempts?.[0]?.statusReason).toBe(LOCAL_JOB_REASONS.serverStopped);
    expect((await harness.finished(waiting.jobId)).status).toBe("SUCCEEDED");
    const [observation] = await harness.runner.describe([running]);
    expect(observation?.status).toBe("FAILED");
  });

  it("describes the jobs it knows and leaves out those it does not", async () => {
    const submitted = await harness.submit({ command: ["true"] });
    await harness.finished(submitted.jobId);

    const observations = await harness.runner.describe([submitted, job({ command: ["true"] })]);

    expect(observations).toHaveLength(1);
    expect(observations[0]).toMatchObject({
      jobId: submitted.jobId,
      externalId: submitted.jobId,
      status: "SUCCEEDED",
    });
  });
});

describe("LocalJobRunner events", () => {
  it("publishes Batch Job State Change events that the Batch event mapping understands", async () => {
    const submitted = await harness.submit({ command: ["sh", "-c", "exit 2"] });
    await harness.finished(submitted.jobId);

    const events = harness.events.filter((event) => event.resources[0]?.endsWith(`/${submitted.jobId}`));
    const last = events.at(-1);

    expect(last).toMatchObject({
      version: "0",
      source: "aws.batch",
      "detail-type": "Batch Job State Change",
      detail: {
        jobName: "test-job",
        jobId: submitted.jobId,
        status: "FAILED",
        parameters: { hpcJobId: submitted.jobId, hpcCluster: "demo" },
        attempts: [{ container: { exitCode: 2, logStreamName: `jobs/${submitted.jobId}/attempt-1.log` } }],
      },
    });
    expect(typeof last?.detail.createdAt).toBe("number");
    expect(observationFromBatchEvent(last?.detail, last?.time)).toMatchObject({
      jobId: submitted.jobId,
      status: "FAILED",
      attempts: [{ exitCode: 2, statusReason: "Essential container in task exited" }],
    });
  });
});

describe("LocalJobRunner logs", () => {
  it("pages an attempt's output by line and rejects tokens it did not issue", async () => {
    const submitted = await harness.submit({
      script: "for i in 1 2 3 4 5; do echo line $i; done\nprintf tail\n",
    });
    await harness.finished(submitted.jobId);

    const first = await harness.runner.logs(submitted, { limit: 2 });
    const second = await harness.runner.logs(submitted, { limit: 2, nextToken: first.nextToken });
    const third = await harness.runner.logs(submitted, { limit: 2, nextToken: second.nextToken });

    expect(first.lines.map((line) => line.message)).toEqual(["line 1", "line 2"]);
    expect(second.lines.map((line) => line.message)).toEqual(["line 3", "line 4"]);
    expect(third.lines.map((line) => line.message)).toEqual(["line 5", "tail"]);
    expect(third.nextToken).toBeUndefined();
    await expect(harness.runner.logs(submitted, { limit: 2, nextToken: "bogus" })).rejects.toThrow(
      InvalidNextTokenError,
    );
    const other = await harness.submit({ command: ["true"] });
    await expect(harness.runner.logs(other, { limit: 2, nextToken: first.nextToken })).rejects.toThrow(
      InvalidNextTokenError,
    );
  });

  it("serves an earlier attempt's output when asked for it", async () => {
    const submitted = await harness.submit({
      script: 'echo "try $AWS_BATCH_JOB_ATTEMPT"\nexit 1\n',
      retryStrategy: { attempts: 2 },
    });
    await harness.finished(submitted.jobId);

    const latest = await harness.runner.logs(submitted, { limit: 10 });
    const firstAttempt = await harness.runner.logs(submitted, { attempt: 1, limit: 10 });

    expect(latest.lines.map((line) => line.message)).toEqual(["try 2"]);
    expect(firstAttempt.lines.map((line) => line.message)).toEqual(["try 1"]);
  });
});

/** True while the process exists and is not a zombie waiting for a reaper (which has stopped running). */
async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat !== undefined) return !/^\d+ \(.*\) Z/.test(stat);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
