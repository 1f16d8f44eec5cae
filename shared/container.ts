import { createDocumentClient } from "./adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "./adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbIdempotencyStore } from "./adapters/aws/dynamodb-idempotency-store.ts";
import { LocalEventBus } from "./adapters/local/local-event-bus.ts";
import { LocalStackProvisioner } from "./adapters/local/local-stack-provisioner.ts";
import { MemoryClusterStore } from "./adapters/local/memory-cluster-store.ts";
import { MemoryIdempotencyStore } from "./adapters/local/memory-idempotency-store.ts";
import { systemClock, ulidGenerator } from "./adapters/system.ts";
import { type AppConfig, loadConfig } from "./config.ts";
import type { StackProvisioner } from "./ports/stack-provisioner.ts";
import type { ClusterDeps } from "./use-cases/deps.ts";

/** Everything a handler needs, built once per process. */
export interface Container {
  readonly config: AppConfig;
  /** The ports and settings every use case is built from (each handler builds only its own). */
  readonly deps: ClusterDeps;
  /** Present in local mode: the simulated AWS services the local server drives. */
  readonly local?: { readonly bus: LocalEventBus; readonly provisioner: LocalStackProvisioner };
}

function buildContainer(): Container {
  const config = loadConfig();
  let provisioner: StackProvisioner;
  let local: Container["local"];
  if (config.CLUSTER_BACKEND === "local") {
    const bus = new LocalEventBus();
    const localProvisioner = new LocalStackProvisioner({
      dataDir: config.DATA_DIR,
      delayMs: config.LOCAL_STACK_DELAY_MS,
      bus,
      clock: systemClock,
    });
    provisioner = localProvisioner;
    local = { bus, provisioner: localProvisioner };
  } else {
    // The CloudFormation provisioner arrives with the AWS provisioning work; until then this backend
    // refuses at init, loudly, rather than accepting clusters it cannot build.
    throw new Error("CLUSTER_BACKEND=aws is not available yet: set CLUSTER_BACKEND=local");
  }
  const deps: ClusterDeps = {
    ...buildStores(config),
    provisioner,
    clock: systemClock,
    ids: ulidGenerator,
    settings: {
      stackNamePrefix: config.STACK_NAME_PREFIX,
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    },
  };
  return { config, deps, ...(local ? { local } : {}) };
}

function buildStores(config: AppConfig): Pick<ClusterDeps, "store" | "idempotency"> {
  if (config.CLUSTER_STORE === "memory") {
    return {
      store: new MemoryClusterStore({ pageTokenSecret: config.PAGE_TOKEN_SECRET }),
      idempotency: new MemoryIdempotencyStore({ clock: systemClock }),
    };
  }
  const client = createDocumentClient();
  return {
    store: new DynamoDbClusterStore({
      client,
      tableName: config.TABLE_NAME,
      pageTokenSecret: config.PAGE_TOKEN_SECRET,
    }),
    idempotency: new DynamoDbIdempotencyStore({ client, tableName: config.TABLE_NAME }),
  };
}

let instance: Container | undefined;

/** The process's container: built on first call (at a handler's module init), then shared. */
export function container(): Container {
  instance ??= buildContainer();
  return instance;
}
