import { systemClock, ulidGenerator } from "../adapters/system.ts";
import type { ClusterDeps } from "../use-cases/deps.ts";
import { provisioner } from "./provisioner.ts";
import { settings } from "./settings.ts";
import { stores } from "./stores.ts";

/** Everything the cluster use cases take, for handlers that create, delete or follow stacks. */
export function clusterDeps(): ClusterDeps {
  const config = settings();
  return {
    ...stores(),
    provisioner: provisioner(),
    clock: systemClock,
    ids: ulidGenerator,
    settings: {
      stackNamePrefix: config.STACK_NAME_PREFIX,
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      reconcileAfterSeconds: config.RECONCILE_AFTER_SECONDS,
    },
  };
}
