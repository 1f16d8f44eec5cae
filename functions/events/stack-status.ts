import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { triggerWorkflow } from "#shared/composition/ingest-deps.ts";
import { stackNameFromId } from "#shared/domain/stack-status.ts";
import * as z from "#shared/domain/zod.ts";
import { logger } from "#shared/http/logger.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";

const applyStackStatus = makeApplyStackStatus(clusterDeps());
const { settleWaitingJobs } = triggerWorkflow();
/** Time left below which no more waiting jobs are handed over (a Slurm hand-over can take 20 s). */
const SETTLE_MARGIN_MS = 45_000;

/** The part of a "CloudFormation Stack Status Change" event we read. */
const StackStatusEventSchema = z.object({
  time: z.string(),
  detail: z.object({
    "stack-id": z.string(),
    "status-details": z.object({ status: z.string(), "status-reason": z.optional(z.string()) }),
  }),
});

/**
 * EventBridge -> cluster record, then the jobs waiting for that cluster. A malformed event is logged and dropped (retrying cannot fix it); a
 * failure to write is thrown so EventBridge retries and, in the end, dead-letters it.
 */
export async function stackStatus(event: EventBridgeEvent<string, unknown>, context?: Context) {
  const parsed = StackStatusEventSchema.safeParse(event);
  const stackName = parsed.success ? stackNameFromId(parsed.data.detail["stack-id"]) : undefined;
  if (!parsed.success || !stackName) {
    logger.warn("malformed stack status event dropped", { eventId: event?.id });
    return { kind: "ignored" as const, reason: "malformed event" };
  }
  const details = parsed.data.detail["status-details"];
  const outcome = await applyStackStatus({
    stackId: parsed.data.detail["stack-id"],
    stackName,
    status: details.status,
    ...(details["status-reason"] ? { reason: details["status-reason"] } : {}),
    time: parsed.data.time,
  });
  logger.info("stack status event", { stackName, status: details.status, outcome: outcome.kind });
  if (outcome.kind !== "ignored") {
    // Jobs a rule recorded while the cluster was being created go to its scheduler now (or fail with the
    // cluster's reason). A redelivered event finds nothing left waiting; the reconciler covers a lost one.
    try {
      // Stop handing jobs over with time to spare: one cut off midway would look interrupted.
      const settled = await settleWaitingJobs(outcome.cluster, {
        shouldStop: () =>
          (context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY) < SETTLE_MARGIN_MS,
      });
      if (settled.released + settled.failed > 0)
        logger.info("jobs that waited for the cluster", { clusterName: outcome.cluster.name, ...settled });
    } catch (error) {
      logger.warn("waiting jobs not settled; the reconciler will", { error: (error as Error).message });
    }
  }
  return outcome;
}

export const handler = middy<EventBridgeEvent<string, unknown>, unknown, Error, Context>().handler(
  stackStatus,
);
