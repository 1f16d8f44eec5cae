import {
  isLaterPosition,
  isTerminalJob,
  type Job,
  type JobObservation,
  type JobStatus,
} from "../domain/job.ts";
import type { JobChanges } from "../ports/job-store.ts";
import { CANCEL_REASON_PREFIX } from "./cancel-job.ts";
import type { JobDeps } from "./deps.ts";
import { mutateJob } from "./mutate-job.ts";

/**
 * The attempt a report is about. Like Batch, `attempts` lists finished attempts only: a job waiting or
 * running is on the one after them, so a retry (RUNNING -> RUNNABLE) is seen on a later attempt.
 */
function attemptNumber(finishedAttempts: number, status: JobStatus): number {
  return isTerminalJob(status) ? Math.max(1, finishedAttempts) : finishedAttempts + 1;
}

/** What applying one observation did. */
export type JobObservationOutcome =
  | { readonly kind: "applied"; readonly job: Job }
  | { readonly kind: "ignored"; readonly reason: string };

/**
 * Applies a scheduler's report (a Batch Job State Change event, a local runner event, a poll) to the job
 * record. Reports come at least once and in any order: the status moves only to a later position
 * (attempt, then status), so duplicates and stale reports change nothing, and the record never leaves a
 * terminal status. Batch reports a terminated job as FAILED: one we cancelled is recorded CANCELLED.
 */
export function makeApplyJobObservation(deps: Pick<JobDeps, "jobs" | "clock">) {
  return async function applyJobObservation(
    clusterName: string,
    observation: JobObservation,
  ): Promise<JobObservationOutcome> {
    const existing = await deps.jobs.get(clusterName, observation.jobId);
    if (!existing) return { kind: "ignored", reason: `no job ${observation.jobId} on ${clusterName}` };
    const status =
      observation.status === "FAILED" && observation.statusReason?.startsWith(CANCEL_REASON_PREFIX)
        ? "CANCELLED"
        : observation.status;
    let why = "duplicate or older report";
    let applied = false;
    const job = await mutateJob(deps.jobs, clusterName, observation.jobId, (current) => {
      applied = false;
      if (current.externalId && observation.externalId && current.externalId !== observation.externalId) {
        why = `report for another scheduler job (${observation.externalId})`;
        return undefined;
      }
      const currentPosition = {
        attempt: attemptNumber(current.attempts.length, current.status),
        status: current.status,
      };
      const nextPosition = { attempt: attemptNumber(observation.attempts.length, status), status };
      if (!isLaterPosition(currentPosition, nextPosition)) return undefined;
      const changes: JobChanges = {
        status,
        updatedAt: deps.clock.now().toISOString(),
        lastEventAt: observation.time,
        ...(observation.statusReason ? { statusReason: observation.statusReason } : {}),
        ...(observation.attempts.length >= current.attempts.length ? { attempts: observation.attempts } : {}),
        ...(observation.arrayProgress ? { arrayProgress: observation.arrayProgress } : {}),
        ...(observation.startedAt && !current.startedAt ? { startedAt: observation.startedAt } : {}),
        ...(observation.stoppedAt && isTerminalJob(status) ? { stoppedAt: observation.stoppedAt } : {}),
        ...(observation.externalId && !current.externalId ? { externalId: observation.externalId } : {}),
      };
      applied = true;
      return changes;
    });
    return applied ? { kind: "applied", job } : { kind: "ignored", reason: why };
  };
}
