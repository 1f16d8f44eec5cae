import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { logger } from "#shared/http/logger.ts";
import { makeApplyStackStatus } from "#shared/use-cases/apply-stack-status.ts";
import { makeReconcileClusters } from "#shared/use-cases/reconcile-clusters.ts";

const deps = clusterDeps();
const reconcileClusters = makeReconcileClusters(deps, makeApplyStackStatus(deps));

/** Scheduled (every few minutes): repairs clusters whose stack events were missed. */
export async function reconcile() {
  const report = await reconcileClusters();
  if (report.examined > 0) logger.info("reconciled clusters", { ...report });
  return report;
}

export const handler = middy<ScheduledEvent, unknown, Error, Context>().handler(reconcile);
