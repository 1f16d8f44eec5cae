import { createHash } from "node:crypto";
import type { Cluster } from "../domain/cluster.ts";
import {
  ClusterExistsError,
  ConfigInvalidError,
  JobExistsError,
  RequestValidationError,
} from "../domain/errors.ts";
import { renderJob } from "../domain/input-template.ts";
import type { Job, JobSpec, JobStatus } from "../domain/job.ts";
import { type ObjectCreated, parseObjectEvents } from "../domain/s3-event.ts";
import { TRIGGER_TAG, type TriggerInput, type TriggerRule } from "../domain/trigger.ts";
import { type InputUriFor, matchRule } from "../domain/trigger-matching.ts";
import { deterministicUlid } from "../domain/ulid.ts";
import type { InputLedger, ObjectEventRef } from "../ports/input-ledger.ts";
import type { TriggerStore } from "../ports/trigger-store.ts";
import type { CreateClusterOutcome } from "./create-cluster.ts";
import type { ClusterDeps, JobDeps } from "./deps.ts";
import { REFUSED_REASON_PREFIX } from "./dispatch-job.ts";
import { runConcurrently } from "./run-concurrently.ts";
import {
  clusterFailedReason,
  failWaitingJob,
  READY_CLUSTER_STATUSES,
  releaseWaitingJob,
} from "./waiting-jobs.ts";

/** What one invocation of the S3 input handler did, counted per object (an SQS message may carry several). */
export interface IngestCounts {
  /** Objects read from the event. */
  readonly objects: number;
  /** Jobs recorded (submitted, waiting for their cluster, or failed with a reason). */
  readonly jobs: number;
  /** Events seen before (same object version and sequencer). */
  readonly duplicates: number;
  /** Events older than one already taken for the same key. */
  readonly older: number;
  /** Objects no rule of their bucket matches (or buckets without rules), and events that are not object creations. */
  readonly unmatched: number;
  /** `per-batch` objects that wait for their prefix's marker. */
  readonly accumulated: number;
  /** Records that are not object-created events we can read (logged and skipped). */
  readonly malformed: number;
  /** Items that failed and should be delivered again. */
  readonly failed: number;
}

/** The handler's answer: Lambda's partial batch response plus the counts. */
export interface IngestReport {
  /** Items to deliver again (SQS message ids; for direct invocations, the record's id). */
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
  readonly counts: IngestCounts;
}

/** How long the ledger remembers an object's latest event: far longer than S3 keeps redelivering. */
export const LEDGER_RETENTION_SECONDS = 7 * 24 * 3600;

/** Keys processed at the same time within one invocation (events of one key always one after another). */
const KEY_CONCURRENCY = 8;

/** What the S3 input use case takes. */
export type IngestDeps = Pick<ClusterDeps, "store" | "clock"> &
  Pick<JobDeps, "jobs" | "schedulers"> & {
    readonly triggers: TriggerStore;
    readonly ledger: InputLedger;
    readonly uriFor: InputUriFor;
    /** The cluster create use case (text config, no client token). */
    readonly createCluster: (command: {
      readonly name: string;
      readonly configuration: string;
      readonly principal: string;
      readonly tags: Readonly<Record<string, string>>;
    }) => Promise<CreateClusterOutcome>;
    /** A triggered job failed while being recorded (its cluster failed, the scheduler refused it). */
    readonly onJobFailed?: (job: Job) => Promise<void>;
    /** A failure could not be kept on its rule (for the log). */
    readonly onFailureNotRecorded?: (ruleName: string, reason: string, error: unknown) => void;
    /** An item failed and will be delivered again (for the log). */
    readonly onItemFailed?: (itemId: string, object: ObjectCreated, error: unknown) => void;
  };

/** The result of one invocation, with whether it came through SQS (the only way to fail some items). */
export interface IngestOutcome {
  readonly report: IngestReport;
  readonly sqs: boolean;
  /** Why each unreadable record was skipped, by item: for the log, so that nobody has to guess. */
  readonly malformed: readonly { readonly itemId: string; readonly reasons: readonly string[] }[];
}

/** A failure that another delivery of the same event can get past (the cluster is being deleted). */
class RetryLaterError extends Error {}

type ClusterTarget =
  | { readonly kind: "ready" | "waiting"; readonly cluster: Cluster }
  | { readonly kind: "unavailable"; readonly reason: string; readonly cluster?: Cluster };

type Counter = { -readonly [K in keyof IngestCounts]: IngestCounts[K] };

/** How the reason of a job its scheduler's check refused begins. */
const WOULD_NOT_SUBMIT = "The job for this object would not submit";

/**
 * Whether a job got as far as its scheduler: it has the scheduler's id, or the scheduler (or its check)
 * refused it. Such a job is the event's answer; one that only waited for a cluster that went away is not.
 */
function reachedScheduler(job: Job): boolean {
  return (
    job.externalId !== undefined ||
    job.statusReason?.startsWith(REFUSED_REASON_PREFIX) === true ||
    job.statusReason?.startsWith(WOULD_NOT_SUBMIT) === true
  );
}

/**
 * Turns S3 object-created events into jobs, exactly once per object version on top of S3's at-least-once,
 * any-order delivery. For each object: find the rules of its bucket that match it; claim the event in the
 * ledger (one conditional write per key: a duplicate or an older event changes nothing); then, per rule,
 * make sure the cluster exists (creating it from the rule's template, without waiting for it) and record
 * the job — handed to the scheduler when the cluster is ready, else waiting for the stack-status path.
 * Job ids are derived from the event, so a redelivery after a crash finds the job it already made.
 * Unreadable records and objects no rule wants are counted and skipped, never thrown; only a failure a
 * later delivery can get past fails its item (SQS redelivers that message alone).
 */
export function makeIngestObjectEvents(deps: IngestDeps) {
  async function recordFailure(rule: TriggerRule, object: ObjectCreated, reason: string): Promise<void> {
    // Best effort: the rule's failure list is for its owner to read, and must not make S3 redeliver (a
    // busy rule item, a rule at its size limit); the log has every failure.
    await deps.triggers
      .recordFailure(rule.name, {
        at: deps.clock.now().toISOString(),
        bucket: object.bucket,
        key: object.key,
        reason,
      })
      .catch((error: unknown) => deps.onFailureNotRecorded?.(rule.name, reason, error));
  }

  async function ensureCluster(rule: TriggerRule): Promise<ClusterTarget> {
    const name = rule.clusterName;
    for (let attempt = 0; attempt < 3; attempt++) {
      const cluster = await deps.store.get(name);
      if (!cluster || cluster.status === "DELETE_COMPLETE") {
        if (!rule.clusterTemplate) {
          return {
            kind: "unavailable",
            reason: `Cluster ${name} does not exist and rule ${rule.name} has no clusterTemplate to create it: create the cluster, or give the rule a template.`,
          };
        }
        try {
          const created = await deps.createCluster({
            name,
            configuration: rule.clusterTemplate.configuration,
            principal: rule.createdBy,
            tags: { [TRIGGER_TAG]: rule.name },
          });
          if (created.kind === "created") return { kind: "waiting", cluster: created.cluster };
        } catch (error) {
          if (error instanceof ClusterExistsError) continue; // another event created it: use that one
          if (error instanceof ConfigInvalidError || error instanceof RequestValidationError) {
            return {
              kind: "unavailable",
              reason: `Rule ${rule.name}'s clusterTemplate no longer creates a cluster: ${error.message}`,
            };
          }
          throw error;
        }
        continue;
      }
      if (READY_CLUSTER_STATUSES.has(cluster.status)) return { kind: "ready", cluster };
      if (cluster.status === "CREATE_IN_PROGRESS") return { kind: "waiting", cluster };
      if (cluster.status === "DELETE_IN_PROGRESS" && rule.clusterTemplate) {
        throw new RetryLaterError(
          `cluster ${name} is being deleted; the rule creates it again once it is gone`,
        );
      }
      const reason =
        cluster.status === "CREATE_FAILED"
          ? `${clusterFailedReason(cluster)} Delete it so that the rule can create it again.`
          : `Cluster ${name} is ${cluster.status}: it cannot run jobs.`;
      return { kind: "unavailable", reason, cluster };
    }
    throw new RetryLaterError(`cluster ${name} kept changing while the event was processed`);
  }

  function newJob(
    rule: TriggerRule,
    input: TriggerInput,
    jobId: string,
    cluster: Cluster,
    rendered: { readonly name: string; readonly spec: JobSpec },
    state: { readonly status: JobStatus; readonly statusReason?: string; readonly waiting?: boolean },
    eventId: string,
  ): Job {
    const now = deps.clock.now().toISOString();
    return {
      jobId,
      clusterName: cluster.name,
      clusterId: cluster.clusterId,
      name: rendered.name,
      status: state.status,
      ...(state.statusReason ? { statusReason: state.statusReason } : {}),
      spec: rendered.spec,
      scheduler: deps.schedulers.kindFor(cluster),
      attempts: [],
      createdAt: now,
      updatedAt: now,
      ...(state.status === "FAILED" ? { stoppedAt: now } : {}),
      createdBy: rule.createdBy,
      origin: { triggerName: rule.name, input, whenDone: rule.whenDone, eventId },
      ...(state.waiting ? { waitingForCluster: true } : {}),
      version: 1,
    };
  }

  /** Creates the job record; false when a delivery before this one made it already. */
  async function record(job: Job): Promise<boolean> {
    try {
      await deps.jobs.create(job);
      return true;
    } catch (error) {
      if (error instanceof JobExistsError) return false;
      throw error;
    }
  }

  /** whenDone for a job that failed here: best effort, the reconciler's sweep finishes what it cannot. */
  async function jobFailed(job: Job): Promise<void> {
    await deps
      .onJobFailed?.(job)
      .catch((error: unknown) =>
        deps.onFailureNotRecorded?.(job.origin?.triggerName ?? "", "whenDone after a failed job", error),
      );
  }

  /**
   * A job recorded as waiting: if its cluster is up (the usual case, or the stack event came while the
   * job was being recorded), hand it over; if the cluster failed or is going away, settle it accordingly.
   */
  async function settleIfClusterSettled(rule: TriggerRule, object: ObjectCreated, job: Job): Promise<void> {
    const cluster = await deps.store.get(job.clusterName);
    if (!cluster || cluster.clusterId !== job.clusterId) return; // a redelivery supersedes it; else the reconciler ends it
    if (READY_CLUSTER_STATUSES.has(cluster.status) && cluster.draining) {
      // whenDone is deciding whether to delete it: wait (redelivered), never hand a job to a cluster
      // that may be going away.
      throw new RetryLaterError(`cluster ${cluster.name} may be deleted (whenDone); the job waits`);
    }
    if (READY_CLUSTER_STATUSES.has(cluster.status)) {
      const after = await releaseWaitingJob(deps, job, cluster); // throws when the scheduler is busy: retried
      if (after?.status === "FAILED") {
        await recordFailure(rule, object, after.statusReason ?? "The scheduler refused the job.");
        await jobFailed(after);
      }
    } else if (cluster.status === "CREATE_FAILED") {
      const after = await failWaitingJob(deps, job, clusterFailedReason(cluster));
      if (after) await jobFailed(after);
    } else if (cluster.status === "DELETE_IN_PROGRESS") {
      // The cluster started going away (whenDone) just as this job arrived: it never reached the scheduler.
      if (rule.clusterTemplate)
        throw new RetryLaterError(
          `cluster ${cluster.name} is being deleted; the job moves to its next incarnation`,
        );
      const reason = `Cluster ${cluster.name} was deleted before the job could run.`;
      const after = await failWaitingJob(deps, job, reason);
      if (after) await recordFailure(rule, object, reason);
    }
  }

  /** The job an earlier delivery of this event made for `rule` on any cluster of this name, if any. */
  async function jobMadeFor(
    clusterName: string,
    eventId: string,
    jobId: string | undefined,
    sinceMs: number,
  ) {
    const direct = jobId === undefined ? undefined : await deps.jobs.get(clusterName, jobId);
    if (direct) return direct;
    // Made on an earlier cluster of the name (its id had another time): look among the jobs since the event.
    let nextToken: string | undefined;
    do {
      const page = await deps.jobs.list(clusterName, {
        limit: 100,
        createdAfter: new Date(sinceMs).toISOString(),
        ...(nextToken ? { nextToken } : {}),
      });
      for (const summary of page.items) {
        const job = await deps.jobs.get(clusterName, summary.jobId);
        if (job?.origin?.eventId === eventId) return job;
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  }

  /**
   * Records the job `rule` makes for this event (always as waiting for its cluster, then handed over by
   * `settleIfClusterSettled`: one conditional hand-over, whoever gets there first).
   * @returns true when this call recorded the job; false when an earlier delivery had, or no job could be.
   */
  async function startJob(
    rule: TriggerRule,
    input: TriggerInput,
    object: ObjectCreated,
    ref: ObjectEventRef,
    context: { readonly resumed: boolean; readonly clusters: Map<string, Promise<ClusterTarget>> },
  ): Promise<boolean> {
    const rendered = renderJob(rule.job, input);
    // The same event names the same job on the same cluster: a redelivery finds it instead of making
    // another. The id's time is the event's, but never before the cluster's creation (a cluster lists
    // only the jobs made since).
    const eventId = createHash("sha256")
      .update(JSON.stringify([rule.name, rule.createdAt, ref.bucket, ref.key, ref.identity, ref.sequencer]))
      .digest("hex")
      .slice(0, 32);
    const eventMs = Number.isNaN(Date.parse(object.eventTime)) ? 0 : Date.parse(object.eventTime);
    const idOn = (cluster: Cluster) =>
      deterministicUlid(Math.max(eventMs, Date.parse(cluster.createdAt)), `${eventId}:${cluster.clusterId}`);

    // Only an event claimed before (a crash, a duplicate delivered alongside) can have made its job; it
    // is looked for before the cluster is ensured, so that a job that already had its answer does not
    // bring a deleted cluster back.
    let earlier: Job | undefined;
    if (context.resumed) {
      const current = await deps.store.get(rule.clusterName);
      earlier = await jobMadeFor(rule.clusterName, eventId, current ? idOn(current) : undefined, eventMs);
      if (earlier && reachedScheduler(earlier)) return false;
    }

    // One read of the cluster per invocation and rule: the events of a batch mostly share it.
    let pending = context.clusters.get(rule.name);
    if (!pending) {
      pending = ensureCluster(rule);
      context.clusters.set(rule.name, pending);
      pending.then(
        (found) => found.kind === "unavailable" && context.clusters.delete(rule.name),
        () => context.clusters.delete(rule.name),
      );
    }
    const target = await pending;
    const owner = target.cluster;
    if (!owner) {
      await recordFailure(rule, object, target.kind === "unavailable" ? target.reason : "no cluster");
      return false;
    }
    const jobId = idOn(owner);
    if (earlier) {
      if (earlier.clusterId === owner.clusterId) {
        if (earlier.waitingForCluster) await settleIfClusterSettled(rule, object, earlier);
        return false;
      }
      // It never reached a scheduler, and its cluster is gone (deleted just as the job arrived, or failed
      // to create): the job moves to the cluster of the name now.
      const ended =
        (await failWaitingJob(
          deps,
          earlier,
          `Its cluster was deleted before it ran; made again on cluster ${owner.clusterId}.`,
        )) ?? (await deps.jobs.get(owner.name, earlier.jobId));
      if (ended && reachedScheduler(ended)) return false;
    }
    const newRecord = (state: Parameters<typeof newJob>[5]) =>
      newJob(rule, input, jobId, owner, rendered, state, eventId);
    if (target.kind === "unavailable") {
      // The job is recorded FAILED with the reason, under the cluster; the rule keeps the failure too,
      // where its owner looks.
      const recorded = await record(newRecord({ status: "FAILED", statusReason: target.reason }));
      await recordFailure(rule, object, target.reason);
      return recorded;
    }
    const { cluster } = target;
    try {
      deps.schedulers.forCluster(cluster).validate?.(rendered.name, rendered.spec, cluster);
    } catch (error) {
      if (!(error instanceof RequestValidationError)) throw error;
      const reason =
        `${WOULD_NOT_SUBMIT}: ${error.message} ${error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`.trim();
      const recorded = await record(newRecord({ status: "FAILED", statusReason: reason }));
      await recordFailure(rule, object, reason);
      return recorded;
    }
    const job = newRecord({
      status: "SUBMITTED",
      statusReason:
        target.kind === "waiting"
          ? `Waiting for cluster ${cluster.name} to be created.`
          : `Being handed to the scheduler of cluster ${cluster.name}.`,
      waiting: true,
    });
    if (!(await record(job))) return false;
    // Recorded first, then handed over: a crash in between leaves a waiting job that the redelivery (or
    // the reconciler) hands over, never one lost or submitted twice.
    await settleIfClusterSettled(rule, object, job);
    return true;
  }

  return async function ingestObjectEvents(event: unknown): Promise<IngestOutcome> {
    const parsed = parseObjectEvents(event);
    const counts: Counter = {
      objects: 0,
      jobs: 0,
      duplicates: 0,
      older: 0,
      unmatched: 0,
      accumulated: 0,
      malformed: 0,
      failed: 0,
    };
    const rulesByBucket = new Map<string, Promise<readonly TriggerRule[]>>();
    const rulesFor = (bucket: string) => {
      let rules = rulesByBucket.get(bucket);
      if (!rules) {
        rules = deps.triggers.listForBucket(bucket);
        rulesByBucket.set(bucket, rules);
      }
      return rules;
    };
    const expiresAt = new Date(deps.clock.now().getTime() + LEDGER_RETENTION_SECONDS * 1000);
    const clusters = new Map<string, Promise<ClusterTarget>>();

    async function ingestObject(object: ObjectCreated): Promise<void> {
      const matches: { rule: TriggerRule; input: TriggerInput }[] = [];
      let accumulating = false;
      for (const rule of await rulesFor(object.bucket)) {
        const match = matchRule(rule, object, deps.uriFor);
        if (match.kind === "job") matches.push({ rule, input: match.input });
        else if (match.kind === "accumulate") accumulating = true;
      }
      if (matches.length === 0) {
        if (accumulating) counts.accumulated++;
        else counts.unmatched++;
        return;
      }
      const ref: ObjectEventRef = {
        bucket: object.bucket,
        key: object.key,
        identity: object.versionId ?? object.eTag ?? "",
        sequencer: object.sequencer,
      };
      const claim = await deps.ledger.claim(ref, expiresAt);
      if (claim.kind === "duplicate") {
        counts.duplicates++;
        return;
      }
      if (claim.kind === "older") {
        counts.older++;
        return;
      }
      let made = 0;
      for (const { rule, input } of matches) {
        const context = { resumed: claim.kind === "resumed", clusters };
        if (await startJob(rule, input, object, ref, context)) made++;
      }
      counts.jobs += made;
      // A duplicate delivered while the first was still at work finds its jobs made: a duplicate too.
      if (claim.kind === "resumed" && made === 0) counts.duplicates++;
      await deps.ledger.complete(ref);
    }

    // One lane per key, in delivery order (an older event must meet the ledger after a newer one only if
    // it was delivered after it); different keys run side by side.
    const failedItems = new Set<string>();
    const lanes = new Map<string, { itemId: string; object: ObjectCreated }[]>();
    for (const item of parsed.items) {
      counts.malformed += item.malformed.length;
      counts.unmatched += item.ignored.length;
      for (const object of item.objects) {
        counts.objects++;
        const key = `${object.bucket}/${object.key}`;
        const lane = lanes.get(key);
        if (lane) lane.push({ itemId: item.itemId, object });
        else lanes.set(key, [{ itemId: item.itemId, object }]);
      }
    }
    await runConcurrently([...lanes.values()], KEY_CONCURRENCY, async (lane) => {
      let laneFailed = false;
      for (const { itemId, object } of lane) {
        // After a failure, the key's later events come again too: taken now, a newer version would make
        // the failed (older) one "older" on its redelivery, and it would never get its job.
        if (laneFailed || failedItems.has(itemId)) {
          failedItems.add(itemId);
          continue;
        }
        try {
          await ingestObject(object);
        } catch (error) {
          laneFailed = true;
          failedItems.add(itemId);
          deps.onItemFailed?.(itemId, object, error);
        }
      }
    });
    counts.failed = failedItems.size;
    return {
      sqs: parsed.sqs,
      malformed: parsed.items
        .filter((item) => item.malformed.length > 0)
        .map((item) => ({ itemId: item.itemId, reasons: item.malformed })),
      report: { batchItemFailures: [...failedItems].map((itemIdentifier) => ({ itemIdentifier })), counts },
    };
  };
}
