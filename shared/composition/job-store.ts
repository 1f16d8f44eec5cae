import { createDocumentClient } from "../adapters/aws/dynamodb-client.ts";
import { DynamoDbJobStore } from "../adapters/aws/dynamodb-job-store.ts";
import type { JobStore } from "../ports/job-store.ts";
import { settings } from "./settings.ts";

let cached: JobStore | undefined;

/** Hands in another job store (the benchmarks' in-memory one) before the handlers load. */
export function useJobStore(store: JobStore): void {
  cached = store;
}

/** The DynamoDB job store, beside the clusters in the one table; finished jobs expire after the retention. */
export function jobStore(): JobStore {
  if (cached) return cached;
  const config = settings();
  cached = new DynamoDbJobStore({
    client: createDocumentClient(),
    tableName: config.TABLE_NAME,
    pageTokenSecret: config.PAGE_TOKEN_SECRET,
    retentionDays: config.JOB_RETENTION_DAYS,
  });
  return cached;
}
