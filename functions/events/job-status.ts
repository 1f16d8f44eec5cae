import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { systemClock } from "#shared/adapters/system.ts";
import { triggerWorkflow } from "#shared/composition/ingest-deps.ts";
import { jobStore } from "#shared/composition/job-store.ts";
import { jobRefFromBatchEvent, observationFromBatchEvent } from "#shared/domain/batch-job-event.ts";
import { isTerminalJob } from "#shared/domain/job.ts";
import { logger } from "#shared/http/logger.ts";
import { putMetric } from "#shared/http/metrics.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";

const applyJobObservation = makeApplyJobObservation({ jobs: jobStore(), clock: systemClock });
const { jobFinished } = triggerWorkflow();

/**
 * EventBridge "Batch Job State Change" (our queues only; the local runner sends the same) -> the job
 * record. Events that are not about one of our records (array children, foreign jobs) and malformed ones
 * are dropped; a failure to write is thrown so EventBridge retries and, in the end, dead-letters it.
 */
export async function jobStatus(event: EventBridgeEvent<string, unknown>) {
  const ref = jobRefFromBatchEvent(event?.detail);
  const observation = observationFromBatchEvent(event?.detail, event?.time);
  if (!ref || !observation) {
    logger.info("batch job event dropped: not one of our job records", { eventId: event?.id });
    return { kind: "ignored" as const, reason: "not one of our jobs" };
  }
  const outcome = await applyJobObservation(ref.clusterName, observation);
  if (outcome.kind === "applied") {
    putMetric("Jobs", 1, { status: outcome.job.status });
    // A rule's whenDone: delete: the last of the cluster's jobs to end deletes it.
    if (isTerminalJob(outcome.job.status)) {
      // A retry of this event would find the job finished already and not come here again: log, and let
      // the next job's end (or an operator) delete the cluster.
      await jobFinished(outcome.job).catch((error: unknown) =>
        logger.warn("whenDone: the cluster could not be deleted", {
          clusterName: ref.clusterName,
          error: (error as Error).message,
        }),
      );
    }
  }
  logger.info("batch job event", {
    clusterName: ref.clusterName,
    jobId: ref.jobId,
    status: observation.status,
    outcome: outcome.kind,
  });
  return outcome;
}

export const handler = middy<EventBridgeEvent<string, unknown>, unknown, Error, Context>().handler(jobStatus);
