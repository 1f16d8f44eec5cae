import type { Cluster, ClusterEvent } from "../domain/cluster.ts";
import { ClusterNotFoundError, ConcurrentModificationError } from "../domain/errors.ts";
import type { ClusterChanges, ClusterStore } from "../ports/cluster-store.ts";

/** What a mutation wants to write, or undefined to leave the record as it is. */
export type Mutation = { readonly changes: ClusterChanges; readonly event?: ClusterEvent } | undefined;

const MAX_ATTEMPTS = 6;

/**
 * Read-decide-write with optimistic locking: `decide` sees the current record and returns the change;
 * when another writer got there first, the record is read again and `decide` runs again on the new state.
 * Returns the record after the write (or as read, when `decide` chose to change nothing).
 */
export async function mutateCluster(
  store: ClusterStore,
  name: string,
  decide: (current: Cluster) => Mutation,
): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(name);
    if (!current) throw new ClusterNotFoundError(name);
    const mutation = decide(current);
    if (!mutation) return current;
    try {
      return await store.update(
        name,
        { version: current.version, clusterId: current.clusterId },
        mutation.changes,
        mutation.event,
      );
    } catch (error) {
      if (!(error instanceof ConcurrentModificationError) || attempt >= MAX_ATTEMPTS) throw error;
      // Another writer moved the record on: back off a little and decide again on its new state.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
