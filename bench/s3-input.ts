// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.*} placeholders are meant literally
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { DynamoDbClusterStore } from "#shared/adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbInputLedger } from "#shared/adapters/aws/dynamodb-input-ledger.ts";
import { DynamoDbJobStore } from "#shared/adapters/aws/dynamodb-job-store.ts";
import { DynamoDbTriggerStore } from "#shared/adapters/aws/dynamodb-trigger-store.ts";
import { systemClock } from "#shared/adapters/system.ts";
import type { Cluster } from "#shared/domain/cluster.ts";
import { encodeS3Key } from "#shared/domain/s3-event.ts";
import type { JobScheduler } from "#shared/ports/job-scheduler.ts";
import { makeIngestObjectEvents } from "#shared/use-cases/ingest-object-events.ts";
import { benchCluster } from "./fixtures.ts";

const SECRET = "bench-page-token-secret-0123456789abcdef";

/** A scheduler that takes every job at once: the benchmark measures our side, not a scheduler's. */
const instantScheduler: JobScheduler = {
  submit: async (job) => ({ externalId: `bench-${job.jobId}` }),
  cancel: async () => {},
  describe: async () => [],
  logs: async () => ({ lines: [] }),
};

function record(key: string, version: number, sequencer: string) {
  return {
    eventSource: "aws:s3",
    eventName: "ObjectCreated:Put",
    eventTime: new Date().toISOString(),
    s3: {
      bucket: { name: "bench-input" },
      object: {
        key: encodeS3Key(key),
        size: 1024 + version,
        eTag: `etag-${version}`,
        versionId: `v${version}`,
        sequencer,
      },
    },
  };
}

/**
 * Events per second through the S3 input use case against DynamoDB's protocol on the local store
 * (dynalite), as SQS would hand them over: batches of 10, `concurrency` invocations at a time, 30%
 * duplicates, over 200 keys. The baseline is the rate of single conditional PutItems against the same
 * store (about what one ledger claim costs), so the ratio reads as "the cost of one event in writes".
 */
export async function s3InputThroughput(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: { readonly events: number; readonly concurrency: number },
) {
  const clusters = new DynamoDbClusterStore({ client, tableName, pageTokenSecret: SECRET });
  const jobs = new DynamoDbJobStore({ client, tableName, pageTokenSecret: SECRET, retentionDays: 1 });
  const triggers = new DynamoDbTriggerStore({ client, tableName, pageTokenSecret: SECRET });
  const ledger = new DynamoDbInputLedger({ client, tableName });
  const now = new Date().toISOString();
  const cluster: Cluster = benchCluster("bench-s3", {
    status: "CREATE_COMPLETE",
    createdAt: now,
    updatedAt: now,
  });
  await clusters.create(cluster, { at: now, status: "CREATE_COMPLETE", source: "api" });
  await triggers.create({
    name: "bench",
    bucket: "bench-input",
    prefix: "in/",
    clusterName: cluster.name,
    job: {
      name: "bench-${input.size}",
      spec: { command: ["process", "${input.uri}"], environment: {}, dependsOn: [] },
    },
    mode: "per-object",
    whenDone: "keep",
    createdAt: now,
    createdBy: "bench",
    recentFailures: [],
    version: 1,
  });
  const ingest = makeIngestObjectEvents({
    store: clusters,
    clock: systemClock,
    jobs,
    schedulers: { forCluster: () => instantScheduler, kindFor: () => "local" },
    triggers,
    ledger,
    uriFor: (bucket, key) => `s3://${bucket}/${key}`,
    createCluster: async () => {
      throw new Error("the benchmark's cluster exists");
    },
  });

  const unique = Math.round(options.events * 0.7);
  const records = Array.from({ length: unique }, (_, i) =>
    record(`in/sample ${i % 200}/part-${i}.dat`, i, (1000 + i).toString(16).toUpperCase().padStart(18, "0")),
  );
  const stream = [...records, ...records.slice(0, options.events - unique)];
  for (let i = stream.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [stream[i], stream[j]] = [stream[j] as (typeof stream)[number], stream[i] as (typeof stream)[number]];
  }
  const batches: { Records: { messageId: string; eventSource: string; body: string }[] }[] = [];
  for (let i = 0; i < stream.length; i += 10) {
    batches.push({
      Records: stream.slice(i, i + 10).map((r, j) => ({
        messageId: `m-${i + j}`,
        eventSource: "aws:sqs",
        body: JSON.stringify({ Records: [r] }),
      })),
    });
  }
  let failed = 0;
  let jobsMade = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        const { report } = await ingest(batch);
        failed += report.batchItemFailures.length;
        jobsMade += report.counts.jobs;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  const puts = 1000;
  const putStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < puts) {
        const i = next++;
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: `BENCHPUT#${i}`, sk: "X", at: i },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        );
      }
    }),
  );
  const putsPerSecond = puts / ((performance.now() - putStarted) / 1000);
  return {
    eventsPerSecond: options.events / seconds,
    putsPerSecond,
    ratio: options.events / seconds / putsPerSecond,
    jobs: jobsMade,
    expectedJobs: unique,
    failed,
  };
}
