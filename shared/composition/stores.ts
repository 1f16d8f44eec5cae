import { createDocumentClient } from "../adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "../adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbIdempotencyStore } from "../adapters/aws/dynamodb-idempotency-store.ts";
import type { ClusterStore } from "../ports/cluster-store.ts";
import type { IdempotencyStore } from "../ports/idempotency-store.ts";
import { settings } from "./settings.ts";

/** Where state lives, built once per process. */
export interface Stores {
  readonly store: ClusterStore;
  readonly idempotency: IdempotencyStore;
}

let cached: Stores | undefined;

/** Hands in other stores (the benchmarks' in-memory ones) before the handlers load. */
export function useStores(stores: Stores): void {
  cached = stores;
}

/**
 * The DynamoDB stores. A module of its own so that a read-only handler loads the DynamoDB client and
 * nothing else of the SDK.
 */
export function stores(): Stores {
  if (cached) return cached;
  const config = settings();
  const client = createDocumentClient();
  cached = {
    store: new DynamoDbClusterStore({
      client,
      tableName: config.TABLE_NAME,
      pageTokenSecret: config.PAGE_TOKEN_SECRET,
    }),
    idempotency: new DynamoDbIdempotencyStore({ client, tableName: config.TABLE_NAME }),
  };
  return cached;
}
