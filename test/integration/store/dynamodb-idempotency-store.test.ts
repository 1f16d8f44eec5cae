import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbIdempotencyStore } from "#shared/adapters/aws/dynamodb-idempotency-store.ts";
import { ensureTable } from "#shared/adapters/aws/table-schema.ts";
import { type RunningDynalite, startDynalite } from "../../support/dynalite.ts";
import { describeIdempotencyStoreContract } from "../../unit/store/idempotency-store-contract.ts";

const TABLE = "idempotency";
let dynalite: RunningDynalite;
let client: DynamoDBDocumentClient;
let tokens = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createDocumentClient({
    endpoint: dynalite.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "dynalite", secretAccessKey: "dynalite" },
  });
  await ensureTable(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

describeIdempotencyStoreContract("DynamoDbIdempotencyStore on dynalite", async (clock) => {
  // One table for all tests: a per-test prefix keeps their tokens apart.
  tokens += 1;
  const prefix = `test${tokens}-`;
  const store = new DynamoDbIdempotencyStore({ client, tableName: TABLE, clock });
  return {
    claim: (token, hash, expiresAt) => store.claim(prefix + token, hash, expiresAt),
    complete: (token, response) => store.complete(prefix + token, response),
    release: (token) => store.release(prefix + token),
  };
});
