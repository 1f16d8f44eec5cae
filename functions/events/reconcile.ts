import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { triggerWorkflow } from "#shared/composition/ingest-deps.ts";
import { jobDeps } from "#shared/composition/job-deps.ts";
import { isTerminalJob } from "#shared/domain/job.ts";
import { logger } from "#shared/http/logger.ts";
import { putMetric } from "#shared/http/metrics.ts";
import { makeApplyJobObservation } from "#shared/use-cases/apply-job-observation.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeCountClustersByStatus } from "#shared/use-cases/query-clusters.ts";
import { makeReconcileClusters } from "#shared/use-cases/reconcile-clusters.ts";
import { makeReconcileJobs } from "#shared/use-cases/reconcile-jobs.ts";

const deps = clusterDeps();
const reconcileClusters = makeReconcileClusters(deps, makeApplyStackStatus(deps));
const countClustersByStatus = makeCountClustersByStatus(deps);
const jobs = jobDeps();
const workflow = triggerWorkflow();
const applyJobObservation = makeApplyJobObservation(jobs);
const reconcileJobs = makeReconcileJobs(
  jobs,
  async (clusterName, observation) => {
    const outcome = await applyJobObservation(clusterName, observation);
    // Where no job events arrive (the local server on AWS), a rule's whenDone follows the polled end.
    if (outcome.kind === "applied" && isTerminalJob(outcome.job.status))
      await workflow.jobFinished(outcome.job).catch(() => undefined);
    return outcome;
  },
  workflow.settleWaitingJobs,
);

/**
 * Scheduled (every few minutes): repairs clusters whose stack events were missed, then publishes the
 * number of clusters in each status (the dashboard's "clusters by status").
 */
export async function reconcile() {
  const report = await reconcileClusters();
  if (report.examined > 0) logger.info("reconciled clusters", { ...report });
  const jobReport = await reconcileJobs();
  if (jobReport.examined > 0) logger.info("reconciled jobs", { ...jobReport });
  const swept = await workflow.sweepIdleClusters().catch((error: unknown) => {
    logger.warn("idle trigger clusters not swept", { error: (error as Error).message });
    return [];
  });
  if (swept.length > 0) logger.info("deleted idle clusters of whenDone: delete rules", { clusters: swept });
  const counts = await countClustersByStatus();
  for (const [status, count] of Object.entries(counts)) putMetric("Clusters", count, { status });
  return { ...report, jobs: jobReport, swept, counts };
}

export const handler = middy<ScheduledEvent, unknown, Error, Context>().handler(reconcile);
