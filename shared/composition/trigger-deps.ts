import { systemClock } from "../adapters/system.ts";
import type { TriggerDeps } from "../use-cases/manage-triggers.ts";
import { jobSchedulers } from "./job-schedulers.ts";
import { provisioner } from "./provisioner.ts";
import { stores } from "./stores.ts";
import { triggerStores } from "./trigger-stores.ts";

/**
 * Everything creating a trigger rule takes: the rules, the clusters, and the provisioner and schedulers
 * only to ask whether the rule's cluster template and job would be accepted (nothing is created).
 */
export function triggerDeps(): TriggerDeps {
  const { store } = stores();
  const { triggers } = triggerStores();
  return { triggers, store, provisioner: provisioner(), schedulers: jobSchedulers(), clock: systemClock };
}
