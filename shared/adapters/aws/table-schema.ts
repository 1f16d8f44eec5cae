import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CLUSTER_SUMMARY_FIELDS } from "../../ports/cluster-store.ts";
import { isResourceNotFound } from "./dynamodb-client.ts";

/**
 * The one table's shape. Everything that names an attribute or an index (the adapters, the CDK stack,
 * `ensureTable` for local mode and tests) takes it from here.
 */

/** Partition key (S). */
export const PARTITION_KEY = "pk";
/** Sort key (S). */
export const SORT_KEY = "sk";
/** Epoch seconds after which DynamoDB may delete the item (enable TTL on it). */
export const TTL_ATTRIBUTE = "expiresAt";

/** Live clusters by name: every live cluster has `gsi1pk = CLUSTERS`, `gsi1sk = <name>`. */
export const BY_NAME_INDEX = {
  indexName: "byName",
  partitionKey: "gsi1pk",
  sortKey: "gsi1sk",
} as const;

/** Clusters by status, then name: `gsi2pk = STATUS#<status>`, `gsi2sk = <name>`. */
export const BY_STATUS_INDEX = {
  indexName: "byStatus",
  partitionKey: "gsi2pk",
  sortKey: "gsi2sk",
} as const;

/**
 * Non-key attributes both indexes carry: exactly what a `ClusterSummary` needs, never the configuration,
 * so listings read small items.
 */
export const SUMMARY_ATTRIBUTES = CLUSTER_SUMMARY_FIELDS;

/** Key values: the item layout, in one place. */
export const keys = {
  cluster: (name: string) => ({ [PARTITION_KEY]: `CLUSTER#${name}`, [SORT_KEY]: "CLUSTER" }),
  idempotency: (token: string) => ({ [PARTITION_KEY]: `IDEMPOTENCY#${token}`, [SORT_KEY]: "IDEMPOTENCY" }),
  /** `gsi1pk` value shared by every live cluster. */
  liveClusters: "CLUSTERS",
  /** `gsi2pk` value for a status. */
  status: (status: string) => `STATUS#${status}`,
} as const;

/** The `CreateTable` request for this table: on-demand capacity, both indexes. TTL is set separately. */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const projection = { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...SUMMARY_ATTRIBUTES] };
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      PARTITION_KEY,
      SORT_KEY,
      BY_NAME_INDEX.partitionKey,
      BY_NAME_INDEX.sortKey,
      BY_STATUS_INDEX.partitionKey,
      BY_STATUS_INDEX.sortKey,
    ].map((name) => ({ AttributeName: name, AttributeType: "S" as const })),
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: "HASH" },
      { AttributeName: SORT_KEY, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [BY_NAME_INDEX, BY_STATUS_INDEX].map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: "HASH" },
        { AttributeName: index.sortKey, KeyType: "RANGE" },
      ],
      Projection: projection,
    })),
  };
}

/** Options for {@link ensureTable}. */
export interface EnsureTableOptions {
  /** How long to wait for the table and its indexes to become ACTIVE. Default 60 s. */
  readonly timeoutMs?: number;
}

function isReady(table: TableDescription | undefined): boolean {
  if (table?.TableStatus !== "ACTIVE") return false;
  return (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === "ACTIVE");
}

async function describe(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<TableDescription | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return out.Table;
  } catch (error) {
    if (isResourceNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Creates the table if it does not exist and waits until it and its indexes are ACTIVE. For local mode and
 * tests: on AWS the CDK stack owns the table (and its TTL, which dynalite cannot set). Idempotent, and safe
 * when several processes race to create the same table.
 */
export async function ensureTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let table = await describe(client, tableName);
  if (table === undefined) {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      // Another process created it between our describe and our create: just wait for it like ours.
      if ((error as { name?: unknown }).name !== "ResourceInUseException") throw error;
    }
    table = await describe(client, tableName);
  }
  let delayMs = 20;
  while (!isReady(table)) {
    if (Date.now() > deadline) {
      throw new Error(`Table ${tableName} did not become ACTIVE in time (status ${table?.TableStatus}).`);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 1_000);
    table = await describe(client, tableName);
  }
}
