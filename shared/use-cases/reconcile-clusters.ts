import type { Cluster, ClusterStatus } from "../domain/cluster.ts";
import type { ClusterSummary } from "../ports/cluster-store.ts";
import type { StackStatusOutcome } from "./apply-stack-status.ts";
import type { ClusterDeps } from "./deps.ts";
import { mutateCluster } from "./mutate-cluster.ts";
import { requestStack } from "./request-stack.ts";

/** What one reconciler pass did, for logs, metrics and tests. */
export interface ReconcileReport {
  readonly examined: number;
  readonly refreshed: number;
  readonly redriven: number;
  readonly vanished: number;
  readonly failed: number;
}

const IN_PROGRESS: readonly ClusterStatus[] = [
  "CREATE_IN_PROGRESS",
  "UPDATE_IN_PROGRESS",
  "DELETE_IN_PROGRESS",
];

type ApplyStackStatus = (change: {
  stackId: string;
  stackName: string;
  status: string;
  reason?: string;
  time: string;
}) => Promise<StackStatusOutcome>;

/**
 * Repairs what events missed. Clusters in a *_IN_PROGRESS state for longer than the threshold are read
 * back from CloudFormation: a stack's current status goes through the same code path as its events; a
 * record whose CreateStack never happened (a crash between the two writes) is re-driven with the same
 * client token, so at most one stack ever exists; a stack that no longer exists ends the cluster.
 */
export function makeReconcileClusters(deps: ClusterDeps, applyStackStatus: ApplyStackStatus) {
  async function stuckClusters(olderThan: string): Promise<ClusterSummary[]> {
    const stuck: ClusterSummary[] = [];
    for (const status of IN_PROGRESS) {
      let nextToken: string | undefined;
      do {
        const page = await deps.store.list({ status, limit: 100, ...(nextToken ? { nextToken } : {}) });
        stuck.push(...page.items.filter((cluster) => cluster.updatedAt <= olderThan));
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return stuck;
  }

  async function endCluster(cluster: Cluster, status: "DELETE_COMPLETE" | "CREATE_FAILED", reason: string) {
    await mutateCluster(deps.store, cluster.name, (current) => {
      if (current.clusterId !== cluster.clusterId || current.status !== cluster.status) return undefined;
      const at = deps.clock.now().toISOString();
      return {
        changes: {
          status,
          updatedAt: at,
          lastEventAt: at,
          ...(status === "CREATE_FAILED" ? { failureReason: reason } : {}),
        },
        event: { at, status, source: "reconciler", reason },
      };
    });
  }

  async function reconcileOne(
    summary: ClusterSummary,
  ): Promise<keyof Omit<ReconcileReport, "examined"> | undefined> {
    const cluster = await deps.store.get(summary.name);
    if (!cluster || cluster.clusterId !== summary.clusterId || cluster.status !== summary.status)
      return undefined;
    const stack = await deps.provisioner.describeStack(cluster.stackName);
    if (stack && stack.stackId !== (cluster.stackId ?? stack.stackId)) return undefined;

    if (!stack || stack.status === "DELETE_COMPLETE") {
      if (cluster.status === "DELETE_IN_PROGRESS") {
        await endCluster(cluster, "DELETE_COMPLETE", "the stack no longer exists");
        return "vanished";
      }
      if (cluster.status === "CREATE_IN_PROGRESS" && !cluster.stackId) {
        await requestStack(deps, cluster);
        return "redriven";
      }
      await endCluster(cluster, "CREATE_FAILED", "the stack no longer exists (deleted outside this API?)");
      return "vanished";
    }

    const outcome = await applyStackStatus({
      stackId: stack.stackId,
      stackName: stack.stackName,
      status: stack.status,
      ...(stack.statusReason ? { reason: stack.statusReason } : {}),
      time: stack.updatedAt,
    });
    return outcome.kind === "ignored" ? undefined : "refreshed";
  }

  return async function reconcileClusters(): Promise<ReconcileReport> {
    const olderThan = new Date(
      deps.clock.now().getTime() - deps.settings.reconcileAfterSeconds * 1000,
    ).toISOString();
    const stuck = await stuckClusters(olderThan);
    const report = { examined: stuck.length, refreshed: 0, redriven: 0, vanished: 0, failed: 0 };
    // One at a time: a pass is small, and CloudFormation's API limits are shared with everything else.
    for (const cluster of stuck) {
      try {
        const result = await reconcileOne(cluster);
        if (result) report[result]++;
      } catch {
        report.failed++; // the next pass tries again
      }
    }
    return report;
  };
}
