import type { Cluster } from "../domain/cluster.ts";
import { assertTransition } from "../domain/cluster.ts";
import { ClusterNotFoundError } from "../domain/errors.ts";
import type { ClusterDeps } from "./deps.ts";
import { mutateCluster } from "./mutate-cluster.ts";

/**
 * Starts deleting a cluster. Deleting one that is already deleting answers the same again; a cluster
 * already deleted is not found. If the stack deletion cannot even be requested, the cluster records
 * DELETE_FAILED with the reason, so a later delete can retry.
 */
export function makeDeleteCluster(deps: Pick<ClusterDeps, "store" | "provisioner" | "clock">) {
  return async function deleteCluster(name: string): Promise<Cluster> {
    let startedHere = false;
    const cluster = await mutateCluster(deps.store, name, (current) => {
      startedHere = false;
      if (current.status === "DELETE_COMPLETE") throw new ClusterNotFoundError(name);
      // Already deleting: ask again below (it rescues a deletion whose first request was lost), but do
      // not record anything.
      if (current.status === "DELETE_IN_PROGRESS") return undefined;
      assertTransition(current.status, "DELETE_IN_PROGRESS");
      startedHere = true;
      const at = deps.clock.now().toISOString();
      return {
        // lastEventAt: stack events older than this request (say, a DELETE_FAILED of an earlier attempt)
        // must not overrule it.
        changes: { status: "DELETE_IN_PROGRESS", updatedAt: at, lastEventAt: at },
        event: { at, status: "DELETE_IN_PROGRESS", source: "api", reason: "delete requested" },
      };
    });

    try {
      await deps.provisioner.deleteStack({
        clusterId: cluster.clusterId,
        stackName: cluster.stackName,
        ...(cluster.stackId ? { stackId: cluster.stackId } : {}),
      });
    } catch (error) {
      // A repeated request failing says nothing about the deletion the first one started.
      if (!startedHere) throw error;
      const reason = `stack deletion could not be requested: ${(error as Error).message}`;
      await mutateCluster(deps.store, name, (current) => {
        if (current.clusterId !== cluster.clusterId || current.status !== "DELETE_IN_PROGRESS")
          return undefined;
        const at = deps.clock.now().toISOString();
        return {
          changes: { status: "DELETE_FAILED", failureReason: reason, updatedAt: at },
          event: { at, status: "DELETE_FAILED", source: "api", reason },
        };
      }).catch(() => undefined);
      throw error;
    }
    return cluster;
  };
}
