import type { Cluster } from "../domain/cluster.ts";
import { isForward } from "../domain/cluster.ts";
import { ClusterNotFoundError } from "../domain/errors.ts";
import { clusterStatusForStack, headNodeFrom, type StackStatusChange } from "../domain/stack-status.ts";
import type { ClusterChanges } from "../ports/cluster-store.ts";
import type { ClusterDeps } from "./deps.ts";
import { COMMAND_STACK_PREFIX } from "./deps.ts";
import { mutateCluster } from "./mutate-cluster.ts";

/** What applying one stack event did, for logs and tests. */
export type StackStatusOutcome =
  | { readonly kind: "applied"; readonly cluster: Cluster }
  | { readonly kind: "merged"; readonly cluster: Cluster }
  | { readonly kind: "ignored"; readonly reason: string };

const SUCCESS_STATUSES = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE"]);

/**
 * Applies a stack status change to its cluster. Events come at least once and in any order, so this is
 * idempotent and order-insensitive: the status moves only forward and only to a newer observation, while
 * facts that do not age (stack outputs, the failure reason) are merged whenever they are seen. A shuffled
 * stream of duplicates therefore ends in the same record as the ordered stream.
 */
export function makeApplyStackStatus(
  deps: Pick<ClusterDeps, "store" | "provisioner" | "clock" | "settings">,
) {
  const prefixes = [deps.settings.stackNamePrefix, COMMAND_STACK_PREFIX];

  async function findCluster(stackName: string): Promise<Cluster | undefined> {
    for (const prefix of prefixes) {
      if (!stackName.startsWith(prefix)) continue;
      const cluster = await deps.store.get(stackName.slice(prefix.length));
      if (cluster?.stackName === stackName) return cluster;
    }
    return undefined;
  }

  return async function applyStackStatus(change: StackStatusChange): Promise<StackStatusOutcome> {
    const time = new Date(change.time);
    if (Number.isNaN(time.getTime()))
      return { kind: "ignored", reason: `unreadable event time ${change.time}` };
    // One format for every comparison: EventBridge writes "…:05Z", CloudFormation "…:05.123Z".
    const eventTime = time.toISOString();
    const target = clusterStatusForStack(change.status);
    if (!target) return { kind: "ignored", reason: `stack status ${change.status} changes nothing` };
    const found = await findCluster(change.stackName);
    if (!found) return { kind: "ignored", reason: `no cluster owns stack ${change.stackName}` };

    // Outputs can only be read while the stack exists; read them once, outside the retry loop.
    const outputs = SUCCESS_STATUSES.has(change.status)
      ? (await deps.provisioner.describeStack(change.stackName))?.outputs
      : undefined;
    const reason = change.reason?.trim() ? change.reason.trim() : undefined;
    const failed = target.endsWith("_FAILED");

    let outcome: StackStatusOutcome["kind"] | "ignored" = "ignored";
    let why = "duplicate or older event";
    try {
      const cluster = await mutateCluster(deps.store, found.name, (current) => {
        if (current.clusterId !== found.clusterId) {
          why = "the cluster was replaced";
          return undefined;
        }
        if (current.stackId && current.stackId !== change.stackId) {
          why = `event for another stack (${change.stackId})`;
          return undefined;
        }
        const newer = !current.lastEventAt || eventTime >= current.lastEventAt;
        const advance = newer && isForward(current.status, target);
        const mergedOutputs = outputs ? { ...current.outputs, ...outputs } : current.outputs;
        const newOutputs = outputs && JSON.stringify(mergedOutputs) !== JSON.stringify(current.outputs);
        const newReason =
          failed && reason && (advance || !current.failureReason) && reason !== current.failureReason;
        if (!advance && !newOutputs && !newReason) return undefined;

        const status = advance ? target : current.status;
        const at = deps.clock.now().toISOString();
        const headNode = headNodeFrom(status, mergedOutputs, current.scheduler);
        const changes: ClusterChanges = {
          updatedAt: at,
          ...(advance ? { status, lastEventAt: eventTime } : {}),
          ...(newOutputs && mergedOutputs ? { outputs: mergedOutputs } : {}),
          ...(newReason ? { failureReason: reason } : {}),
          ...(headNode ? { headNode } : {}),
          ...(current.stackId ? {} : { stackId: change.stackId }),
        };
        outcome = advance ? "applied" : "merged";
        return {
          changes,
          ...(advance
            ? {
                event: {
                  at: eventTime,
                  status: target,
                  source: "stack-event",
                  ...(reason ? { reason } : {}),
                },
              }
            : {}),
        };
      });
      return outcome === "ignored" ? { kind: "ignored", reason: why } : { kind: outcome, cluster };
    } catch (error) {
      if (error instanceof ClusterNotFoundError) return { kind: "ignored", reason: "the cluster is gone" };
      throw error;
    }
  };
}
