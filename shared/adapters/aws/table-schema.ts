import { createHash } from "node:crypto";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ulidTimePart } from "../../domain/ulid.ts";
import { CLUSTER_SUMMARY_FIELDS } from "../../ports/cluster-store.ts";
import { JOB_SUMMARY_FIELDS } from "../../ports/job-store.ts";
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

/**
 * Live clusters by name: every live cluster has `gsi1pk = CLUSTERS`, `gsi1sk = <name>`. Also, as a sparse
 * index, the jobs not yet finished: `gsi1pk = ACTIVEJOBS`, `gsi1sk = <jobId>` (removed when a job finishes).
 * Also every trigger rule by name: `gsi1pk = TRIGGERS`, `gsi1sk = <name>`.
 */
export const BY_NAME_INDEX = {
  indexName: "byName",
  partitionKey: "gsi1pk",
  sortKey: "gsi1sk",
} as const;

/**
 * Clusters by status, then name: `gsi2pk = STATUS#<status>`, `gsi2sk = <name>`. Also a cluster's jobs by
 * status, then id (creation time): `gsi2pk = JOBSTATUS#<clusterName>#<status>`, `gsi2sk = <jobId>`. Also
 * the trigger rules watching a bucket, by name: `gsi2pk = TRIGGERBUCKET#<bucket>`, `gsi2sk = <name>`.
 */
export const BY_STATUS_INDEX = {
  indexName: "byStatus",
  partitionKey: "gsi2pk",
  sortKey: "gsi2sk",
} as const;

/** Every key attribute of the table and its indexes: what an item holds besides the record's own fields. */
export const KEY_ATTRIBUTES: readonly string[] = [
  PARTITION_KEY,
  SORT_KEY,
  BY_NAME_INDEX.partitionKey,
  BY_NAME_INDEX.sortKey,
  BY_STATUS_INDEX.partitionKey,
  BY_STATUS_INDEX.sortKey,
];

/**
 * Non-key attributes both indexes carry: exactly what a `ClusterSummary` and a `JobSummary` need, never a
 * cluster's configuration or a job's spec, so listings read small items. (The two lists share `name`,
 * `status`, `createdAt` and `updatedAt`; each item type simply lacks the other's other fields.) Trigger
 * rules, few and read in full, take only their names from the indexes.
 */
export const SUMMARY_ATTRIBUTES: readonly string[] = [
  ...new Set([...CLUSTER_SUMMARY_FIELDS, ...JOB_SUMMARY_FIELDS]),
];

/** DynamoDB's limit on a partition key value, in UTF-8 bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;

/**
 * The ledger item's partition key for an object. S3 keys are at most 1,024 bytes and bucket names 63, so
 * `INPUT#<bucket>/<key>` fits DynamoDB's limit; longer keys (possible in local mode, where keys are file
 * paths) are stored under a SHA-256 of the key instead, in a prefix of their own so the two forms never
 * meet. Bucket names cannot contain `/`, so the pair is unambiguous.
 */
function inputPartitionKey(bucket: string, key: string): string {
  const plain = `INPUT#${bucket}/${key}`;
  if (Buffer.byteLength(plain, "utf8") <= MAX_PARTITION_KEY_BYTES) return plain;
  return `INPUTHASH#${bucket}/${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

/** Sort-key prefix of job items, which live in their cluster's partition beside its `CLUSTER` item. */
export const JOB_SORT_KEY_PREFIX = "JOB#";

/** Key values: the item layout, in one place. */
export const keys = {
  cluster: (name: string) => ({ [PARTITION_KEY]: `CLUSTER#${name}`, [SORT_KEY]: "CLUSTER" }),
  idempotency: (token: string) => ({ [PARTITION_KEY]: `IDEMPOTENCY#${token}`, [SORT_KEY]: "IDEMPOTENCY" }),
  /** `gsi1pk` value shared by every live cluster. */
  liveClusters: "CLUSTERS",
  /** `gsi2pk` value for a status. */
  status: (status: string) => `STATUS#${status}`,
  /** A job: in its cluster's partition, sorted by id (ULIDs, so by creation time). */
  job: (clusterName: string, jobId: string) => ({
    [PARTITION_KEY]: `CLUSTER#${clusterName}`,
    [SORT_KEY]: `${JOB_SORT_KEY_PREFIX}${jobId}`,
  }),
  /** `gsi1pk` value shared by every job not yet finished (a sparse index: finished jobs leave it). */
  activeJobs: "ACTIVEJOBS",
  /** `gsi2pk` value for a cluster's jobs in one status. */
  jobStatus: (clusterName: string, status: string) => `JOBSTATUS#${clusterName}#${status}`,
  trigger: (name: string) => ({ [PARTITION_KEY]: `TRIGGER#${name}`, [SORT_KEY]: "TRIGGER" }),
  /** `gsi1pk` value shared by every trigger rule. */
  triggers: "TRIGGERS",
  /** `gsi2pk` value for the rules watching a bucket. */
  triggerBucket: (bucket: string) => `TRIGGERBUCKET#${bucket}`,
  /** The input ledger's one item per object key (see {@link inputPartitionKey}). */
  input: (bucket: string, key: string) => ({
    [PARTITION_KEY]: inputPartitionKey(bucket, key),
    [SORT_KEY]: "INPUT",
  }),
} as const;

/**
 * The 10-character time part of a ULID made at `iso` (clamped to the times a ULID can hold). Every ULID
 * made at that millisecond starts with it; every ULID made earlier sorts below it and every ULID made
 * later sorts above it, so it bounds a range of job ids by creation time.
 *
 * @throws RangeError when `iso` is not a date.
 */
export function ulidTimePrefix(iso: string): string {
  const parsed = Date.parse(iso);
  if (Number.isNaN(parsed)) throw new RangeError(`not a date: ${JSON.stringify(iso)}`);
  return ulidTimePart(parsed);
}

/**
 * The job ids created in `[createdAfter, createdBefore)`: ids `>= from` and `< to` (either bound absent
 * when its time is). Both stores filter by this, so a time range means the same in both; the time is the
 * id's, which the submit use case makes at `createdAt`.
 */
export function jobIdRange(range: { readonly createdAfter?: string; readonly createdBefore?: string }): {
  readonly from?: string;
  readonly to?: string;
} {
  return {
    ...(range.createdAfter === undefined ? {} : { from: ulidTimePrefix(range.createdAfter) }),
    ...(range.createdBefore === undefined ? {} : { to: ulidTimePrefix(range.createdBefore) }),
  };
}

/** The `CreateTable` request for this table: on-demand capacity, both indexes. TTL is set separately. */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const projection = { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...SUMMARY_ATTRIBUTES] };
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: KEY_ATTRIBUTES.map((name) => ({
      AttributeName: name,
      AttributeType: "S" as const,
    })),
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
