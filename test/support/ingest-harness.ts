// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.*} placeholders are meant literally
import { MemoryInputLedger } from "#shared/adapters/local/memory-input-ledger.ts";
import { MemoryJobStore } from "#shared/adapters/local/memory-job-store.ts";
import { MemoryTriggerStore } from "#shared/adapters/local/memory-trigger-store.ts";
import type { Cluster, ClusterStatus } from "#shared/domain/cluster.ts";
import type { Job, JobSpec, JobStatus } from "#shared/domain/job.ts";
import type { TriggerRule } from "#shared/domain/trigger.ts";
import type { Clock } from "#shared/ports/clock.ts";
import type { ClusterStore } from "#shared/ports/cluster-store.ts";
import type { InputLedger } from "#shared/ports/input-ledger.ts";
import type { JobStore } from "#shared/ports/job-store.ts";
import type { TriggerStore } from "#shared/ports/trigger-store.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";
import type { JobDeps } from "#shared/use-cases/deps.ts";
import { makeFinishTriggeredJob } from "#shared/use-cases/finish-triggered-job.ts";
import { makeIngestObjectEvents } from "#shared/use-cases/ingest-object-events.ts";
import { makeSettleWaitingJobs } from "#shared/use-cases/waiting-jobs.ts";
import { ClockUlids, FakeJobSchedulers, MINIMAL_SLURM_YAML, makeTestDeps } from "./fakes.ts";

/** A rule as the API would store it; `overrides` change any field. */
export function triggerRule(overrides: Partial<TriggerRule> = {}): TriggerRule {
  const spec: JobSpec = {
    command: ["process", "${input.uri}", "--size", "${input.size}"],
    environment: { INPUT_KEY: "${input.key}" },
    dependsOn: [],
  };
  return {
    name: "inbox",
    bucket: "data-bucket",
    prefix: "incoming/",
    clusterName: "crunch",
    clusterTemplate: { configuration: MINIMAL_SLURM_YAML },
    job: { name: "process-${input.key}", spec },
    mode: "per-object",
    whenDone: "keep",
    createdAt: "2026-01-01T00:00:00.000Z",
    createdBy: "arn:aws:iam::123456789012:user/alice",
    recentFailures: [],
    version: 1,
    ...overrides,
  };
}

/**
 * The S3 input use case wired to the in-memory stores and fakes, with the paths that finish the workflow
 * (stack events settle waiting jobs, job ends apply whenDone), as the handlers wire them.
 */
export function makeIngestHarness(
  options: {
    readonly store?: ClusterStore;
    readonly jobs?: JobStore;
    readonly triggers?: TriggerStore;
    /** The ledger, made on the harness's clock (expiry is judged on the clock that set it). */
    readonly ledger?: (clock: Clock) => InputLedger;
  } = {},
) {
  const deps = makeTestDeps(options.store ? { store: options.store } : {});
  const { clock, store } = deps;
  const jobs = options.jobs ?? new MemoryJobStore({ clock });
  const schedulers = new FakeJobSchedulers();
  const triggers = options.triggers ?? new MemoryTriggerStore();
  const ledger = options.ledger?.(clock) ?? new MemoryInputLedger({ clock });
  const jobDeps: JobDeps = {
    store,
    jobs,
    idempotency: deps.idempotency,
    schedulers,
    clock,
    ids: new ClockUlids(clock),
    settings: { idempotencyTtlSeconds: 3600, reconcileAfterSeconds: 300 },
  };
  const finished: { job: Job; outcome: string }[] = [];
  const finish = makeFinishTriggeredJob({ store, jobs, clock }, makeDeleteCluster(deps));
  const jobFinished = async (job: Job) => {
    const outcome = await finish(job);
    finished.push({ job, outcome: outcome.kind });
  };
  const settle = makeSettleWaitingJobs(jobDeps, jobFinished);
  const createCluster = makeCreateCluster(deps);
  const ingest = makeIngestObjectEvents({
    store,
    clock,
    jobs,
    schedulers,
    triggers,
    ledger,
    uriFor: (bucket, key) => `s3://${bucket}/${key}`,
    createCluster: (command) =>
      createCluster({ ...command, configurationEncoding: "text", dryRun: false, rollbackOnFailure: true }),
    onJobFailed: jobFinished,
  });
  const applyStackStatus = makeApplyStackStatus(deps);
  const applyJobObservation = makeApplyJobObservation({ jobs, clock });
  let eventSeconds = 0;

  /** Delivers a stack status for the cluster's stack, as EventBridge would, then settles its waiting jobs. */
  async function stackReaches(clusterName: string, status: string, reason = ""): Promise<Cluster> {
    const cluster = await store.get(clusterName);
    if (!cluster?.stackId) throw new Error(`no stack for cluster ${clusterName}`);
    eventSeconds++;
    const outcome = await applyStackStatus({
      stackId: cluster.stackId,
      stackName: cluster.stackName,
      status,
      ...(reason ? { reason } : {}),
      time: new Date(Date.parse("2030-01-01T00:00:00Z") + eventSeconds * 1000).toISOString(),
    });
    if (outcome.kind === "ignored") throw new Error(`stack event ignored: ${outcome.reason}`);
    await settle(outcome.cluster);
    return outcome.cluster;
  }

  /** Puts a cluster in `status` at once, as something outside the test (another whenDone, a user) would. */
  async function forceClusterStatus(clusterName: string, status: ClusterStatus): Promise<void> {
    const cluster = await store.get(clusterName);
    if (!cluster) throw new Error(`no cluster ${clusterName}`);
    await store.update(
      clusterName,
      { version: cluster.version, clusterId: cluster.clusterId },
      { status, updatedAt: clock.now().toISOString() },
    );
  }

  /** Reports a job's end, as the job-status handler applies it (whenDone included). */
  async function jobEnds(job: Pick<Job, "clusterName" | "jobId">, status: JobStatus = "SUCCEEDED") {
    const outcome = await applyJobObservation(job.clusterName, {
      jobId: job.jobId,
      status,
      attempts: [{ exitCode: status === "SUCCEEDED" ? 0 : 1 }],
      time: clock.now().toISOString(),
    });
    if (outcome.kind === "applied") await jobFinished(outcome.job);
    return outcome;
  }

  /** Every job of the cluster, in full, oldest first. */
  async function jobsOf(clusterName: string): Promise<Job[]> {
    const all: Job[] = [];
    let nextToken: string | undefined;
    do {
      const page = await jobs.list(clusterName, { limit: 100, ...(nextToken ? { nextToken } : {}) });
      for (const summary of page.items) {
        const job = await jobs.get(clusterName, summary.jobId);
        if (job) all.push(job);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return all.reverse();
  }

  return {
    ...deps,
    jobs,
    schedulers,
    triggers,
    ledger,
    ingest,
    settle,
    finished,
    stackReaches,
    forceClusterStatus,
    jobEnds,
    jobsOf,
  };
}
