import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { logger } from "#shared/http/logger.ts";
import { putMetric } from "#shared/http/metrics.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeCountClustersByStatus } from "#shared/use-cases/query-clusters.ts";
import { makeReconcileClusters } from "#shared/use-cases/reconcile-clusters.ts";

const deps = clusterDeps();
const reconcileClusters = makeReconcileClusters(deps, makeApplyStackStatus(deps));
const countClustersByStatus = makeCountClustersByStatus(deps);

/**
 * Scheduled (every few minutes): repairs clusters whose stack events were missed, then publishes the
 * number of clusters in each status (the dashboard's "clusters by status").
 */
export async function reconcile() {
  const report = await reconcileClusters();
  if (report.examined > 0) logger.info("reconciled clusters", { ...report });
  const counts = await countClustersByStatus();
  for (const [status, count] of Object.entries(counts)) putMetric("Clusters", count, { status });
  return { ...report, counts };
}

export const handler = middy<ScheduledEvent, unknown, Error, Context>().handler(reconcile);
