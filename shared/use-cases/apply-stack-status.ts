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

  /** The first resource failure in the stack's events, as "<LogicalId> (<Type>): <reason>". */
  async function failingResourceReason(stackId: string): Promise<string | undefined> {
    try {
      const { items } = await deps.provisioner.listStackEvents(stackId, { limit: 100 });
      const failure = [...items]
        .reverse()
        .find(
          (event) =>
            event.status.endsWith("_FAILED") &&
            event.resourceType !== "AWS::CloudFormation::Stack" &&
            event.reason &&
            !/cancelled/i.test(event.reason),
        );
      return failure
        ? `${failure.logicalResourceId} (${failure.resourceType}): ${failure.reason}`
        : undefined;
    } catch {
      return undefined; // the stack's own reason is still worth recording
    }
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
    const failed = target.endsWith("_FAILED");
    const stackReason = change.reason?.trim() ? change.reason.trim() : undefined;
    // "The following resource(s) failed to create" says little; the resource's own event says why.
    const reason = failed ? ((await failingResourceReason(change.stackId)) ?? stackReason) : stackReason;

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
        // A later report of the status the cluster already has (ROLLBACK_FAILED after ROLLBACK_IN_PROGRESS,
        // both CREATE_FAILED) counts as the newest observation, as it would have had it arrived first.
        const refresh =
          !advance && target === current.status && (!current.lastEventAt || eventTime > current.lastEventAt);
        const mergedOutputs = outputs ? { ...current.outputs, ...outputs } : current.outputs;
        const newOutputs = outputs && JSON.stringify(mergedOutputs) !== JSON.stringify(current.outputs);
        const newReason =
          failed &&
          reason &&
          (advance || refresh || !current.failureReason) &&
          reason !== current.failureReason;
        if (!advance && !refresh && !newOutputs && !newReason) return undefined;

        const status = advance ? target : current.status;
        const at = deps.clock.now().toISOString();
        const headNode = headNodeFrom(status, mergedOutputs, current.scheduler);
        const changes: ClusterChanges = {
          updatedAt: at,
          ...(advance ? { status } : {}),
          ...(advance || refresh ? { lastEventAt: eventTime } : {}),
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
