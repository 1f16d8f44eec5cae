import { createDocumentClient } from "../adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "../adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbIdempotencyStore } from "../adapters/aws/dynamodb-idempotency-store.ts";
import { MemoryClusterStore } from "../adapters/local/memory-cluster-store.ts";
import { MemoryIdempotencyStore } from "../adapters/local/memory-idempotency-store.ts";
import { systemClock } from "../adapters/system.ts";
import type { ClusterStore } from "../ports/cluster-store.ts";
import type { IdempotencyStore } from "../ports/idempotency-store.ts";
import { settings } from "./settings.ts";

/** Where state lives, built once per process. */
export interface Stores {
  readonly store: ClusterStore;
  readonly idempotency: IdempotencyStore;
}

let cached: Stores | undefined;

/**
 * The stores the settings select. A module of its own so that a read-only handler loads the DynamoDB
 * client and nothing else of the SDK.
 */
export function stores(): Stores {
  if (cached) return cached;
  const config = settings();
  if (config.CLUSTER_STORE === "memory") {
    cached = {
      store: new MemoryClusterStore({ pageTokenSecret: config.PAGE_TOKEN_SECRET }),
      idempotency: new MemoryIdempotencyStore({ clock: systemClock }),
    };
  } else {
    const client = createDocumentClient();
    cached = {
      store: new DynamoDbClusterStore({
        client,
        tableName: config.TABLE_NAME,
        pageTokenSecret: config.PAGE_TOKEN_SECRET,
      }),
      idempotency: new DynamoDbIdempotencyStore({ client, tableName: config.TABLE_NAME }),
    };
  }
  return cached;
}
