import type { Cluster } from "../domain/cluster.ts";
import type { Clock } from "../ports/clock.ts";
import type { ClusterStore } from "../ports/cluster-store.ts";
import type { StackProvisioner } from "../ports/stack-provisioner.ts";
import { mutateCluster } from "./mutate-cluster.ts";

/**
 * Asks the provisioner for the cluster's stack (the cluster id makes the request idempotent) and records
 * the stack id. Used by create, and by the reconciler when a create's stack request was lost.
 */
export async function requestStack(
  deps: { readonly store: ClusterStore; readonly provisioner: StackProvisioner; readonly clock: Clock },
  cluster: Cluster,
): Promise<Cluster> {
  const { stackId } = await deps.provisioner.createStack({
    clusterId: cluster.clusterId,
    clusterName: cluster.name,
    stackName: cluster.stackName,
    spec: cluster.config,
    rollbackOnFailure: cluster.options.rollbackOnFailure,
    tags: {
      ...cluster.tags,
      "hpc-cluster-api:managed": "true",
      "hpc-cluster-api:cluster-name": cluster.name,
      "hpc-cluster-api:created-by": cluster.createdBy.slice(0, 256),
    },
  });
  // Stack events may already have moved the record on (the local backend can be instant): only fill
  // the stack id in, whatever else happened meanwhile.
  return mutateCluster(deps.store, cluster.name, (current) =>
    current.clusterId !== cluster.clusterId || current.stackId
      ? undefined
      : { changes: { stackId, updatedAt: deps.clock.now().toISOString() } },
  );
}
