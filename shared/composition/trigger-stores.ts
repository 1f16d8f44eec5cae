import { createDocumentClient } from "../adapters/aws/dynamodb-client.ts";
import { DynamoDbInputLedger } from "../adapters/aws/dynamodb-input-ledger.ts";
import { DynamoDbTriggerStore } from "../adapters/aws/dynamodb-trigger-store.ts";
import type { InputLedger } from "../ports/input-ledger.ts";
import type { TriggerStore } from "../ports/trigger-store.ts";
import { settings } from "./settings.ts";

/** Where trigger rules and the S3 input ledger live, built once per process. */
export interface TriggerStores {
  readonly triggers: TriggerStore;
  readonly inputLedger: InputLedger;
}

let cached: TriggerStores | undefined;

/**
 * The DynamoDB trigger stores, in the same table as everything else. A module apart from `stores.ts` so
 * that the cluster and job handlers do not carry them in their bundles.
 */
export function triggerStores(): TriggerStores {
  if (cached) return cached;
  const config = settings();
  const client = createDocumentClient();
  cached = {
    triggers: new DynamoDbTriggerStore({
      client,
      tableName: config.TABLE_NAME,
      pageTokenSecret: config.PAGE_TOKEN_SECRET,
    }),
    inputLedger: new DynamoDbInputLedger({ client, tableName: config.TABLE_NAME }),
  };
  return cached;
}
