import { systemClock, ulidGenerator } from "../adapters/system.ts";
import type { JobDeps } from "../use-cases/deps.ts";
import { jobSchedulers } from "./job-schedulers.ts";
import { jobStore } from "./job-store.ts";
import { settings } from "./settings.ts";
import { stores } from "./stores.ts";

/** Everything the job use cases take. */
export function jobDeps(): JobDeps {
  const config = settings();
  const { store, idempotency } = stores();
  return {
    store,
    idempotency,
    jobs: jobStore(),
    schedulers: jobSchedulers(),
    clock: systemClock,
    ids: ulidGenerator,
    settings: {
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      reconcileAfterSeconds: config.RECONCILE_AFTER_SECONDS,
    },
  };
}
