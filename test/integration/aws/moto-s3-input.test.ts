import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createS3Client } from "#shared/adapters/aws/aws-clients.ts";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "#shared/adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbInputLedger } from "#shared/adapters/aws/dynamodb-input-ledger.ts";
import { DynamoDbJobStore } from "#shared/adapters/aws/dynamodb-job-store.ts";
import { DynamoDbTriggerStore } from "#shared/adapters/aws/dynamodb-trigger-store.ts";
import { ensureTable } from "#shared/adapters/aws/table-schema.ts";
import { systemClock } from "#shared/adapters/system.ts";
import type { Job } from "#shared/domain/job.ts";
import { parseObjectEvents } from "#shared/domain/s3-event.ts";
import { makeIngestObjectEvents } from "#shared/use-cases/ingest-object-events.ts";
import { FakeJobSchedulers, storeReadyCluster } from "../../support/fakes.ts";
import { triggerRule } from "../../support/ingest-harness.ts";
import {
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoUnavailableReason,
  type RunningMoto,
  requireMoto,
  startMoto,
} from "../../support/moto.ts";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/*
 * The S3 input use case against notifications a real S3 implementation sends over the wire: moto_server
 * holds a versioned bucket whose ObjectCreated:* notifications go to an SQS queue; the test puts objects
 * with awkward keys, receives the queue's messages twice (the second time after their visibility timeout,
 * as SQS redelivers), wraps each ReceiveMessage answer as Lambda's SQS event source mapping does, and hands
 * it to makeIngestObjectEvents on the DynamoDB stores (also on moto).
 *
 * Where moto (5.2.1) differs from the S3 event message structure AWS documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
 * - `s3.object.sequencer` is missing. AWS: object-creating (PUT) and delete events carry it; LocalStack,
 *   checked against AWS, sends one on every ObjectCreated event. Our parser then orders by event time.
 * - `eventTime` has no zone and microseconds (`2026-01-01T10:00:00.123456`, moto's local time). AWS:
 *   ISO 8601 UTC with milliseconds (`1970-01-01T00:00:00.000Z`). Our parser rejects a zoneless time.
 * - `s3.object.versionId` is missing although the bucket is versioned. AWS: "object version if bucket is
 *   versioning-enabled". Not rejected (the eTag identifies the version then), but not what AWS sends.
 * - Keys are encoded with Python's `quote_plus`, `/` included (`in%2Fa+b`). AWS encodes as a form does and
 *   keeps `/`; both decode the same, so this needs nothing.
 * - moto sends `s3:TestEvent` (without RequestId/HostId) when the notification configuration is put, as AWS
 *   does.
 * So the exactly-once test completes each record with what AWS would have sent and moto left out, and
 * nothing else: the object's version id from the PutObject answer, a sequencer in put order, and the
 * message's SentTimestamp as the event time. Fields moto does send are never replaced. The first test
 * pins what our parser says about moto's records untouched.
 */

const BUCKET = "moto-inbox";
const QUEUE = "moto-inbox-events";
const PREFIX = "in/";
const SECRET = "moto-s3-input-test-secret-0123456789";

/** One PutObject and what S3 answered. */
interface Put {
  readonly key: string;
  readonly body: string;
  readonly eTag: string;
  readonly versionId: string;
}

let moto: RunningMoto | undefined;
let s3: S3Client | undefined;
let sqs: SQSClient | undefined;
let documents: DynamoDBDocumentClient | undefined;
let queueArn = "";
const unavailable = motoUnavailableReason();
const puts: Put[] = [];
/** Each ReceiveMessage answer of the first delivery, and of the redelivery. */
const deliveries: { first: Message[][]; again: Message[][] } = { first: [], again: [] };

/** Keys the rule watches, with what makes them awkward in an event's URL encoding. */
const KEYS = [
  "in/plain.csv",
  "in/with space/a b.txt",
  "in/plus+sign/1+1=2.dat",
  "in/ünïcødé/データ 🚀.bin",
  "in/literal%2Fslash.txt",
  "in/deep/nested/dirs/x/y/z.json",
  "in/odd ~*'()&$@,;=!.txt",
] as const;
/** A key outside the rule's prefix. */
const OUTSIDE = "elsewhere/ignored.txt";
/** The key written twice: two versions, two jobs. */
const OVERWRITTEN = "in/plain.csv";

async function putObject(client: S3Client, key: string, body: string): Promise<void> {
  const answer = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  if (!answer.ETag || !answer.VersionId) throw new Error(`PutObject ${key}: no ETag or VersionId`);
  puts.push({ key, body, eTag: answer.ETag.replaceAll('"', ""), versionId: answer.VersionId });
}

/**
 * Receives until `expected` messages have come (each answer kept apart: one answer is one Lambda
 * event), hiding them for `visibilitySeconds`.
 */
async function receiveAll(
  client: SQSClient,
  queueUrl: string,
  expected: number,
  visibilitySeconds: number,
): Promise<Message[][]> {
  const answers: Message[][] = [];
  const seen = new Set<string>();
  const deadline = Date.now() + 15_000;
  while (seen.size < expected && Date.now() < deadline) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: visibilitySeconds,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length > 0) answers.push(Messages);
    for (const message of Messages) seen.add(message.MessageId ?? "");
  }
  if (seen.size !== expected) throw new Error(`received ${seen.size} of ${expected} messages`);
  return answers;
}

beforeAll(async () => {
  moto = await startMoto();
  if (moto === undefined) return;
  const options = { endpoint: moto.endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
  s3 = createS3Client({ ...options, maxAttempts: 2 });
  sqs = new SQSClient({ ...options, maxAttempts: 2 });
  documents = createDocumentClient({ ...options, maxAttempts: 2 });

  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: QUEUE }));
  if (!QueueUrl) throw new Error("CreateQueue answered no QueueUrl");
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  queueArn = Attributes?.QueueArn ?? "";
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
  );
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: BUCKET,
      NotificationConfiguration: {
        QueueConfigurations: [{ Id: "inbox", QueueArn: queueArn, Events: ["s3:ObjectCreated:*"] }],
      },
    }),
  );

  // Bodies of different lengths (and so different eTags): each version is told apart by its size.
  for (const [index, key] of KEYS.entries()) await putObject(s3, key, `${key}\n${"x".repeat(index * 3)}`);
  await putObject(s3, OUTSIDE, "not for the rule");
  await putObject(s3, OVERWRITTEN, "the second version, longer than the first one");

  // One message per put, and the test event.
  deliveries.first = await receiveAll(sqs, QueueUrl, puts.length + 1, 1);
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  deliveries.again = await receiveAll(sqs, QueueUrl, puts.length + 1, 30);
  const handles = deliveries.again.flat().map((message, index) => ({
    Id: String(index),
    ReceiptHandle: message.ReceiptHandle ?? "",
  }));
  for (let start = 0; start < handles.length; start += 10) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: handles.slice(start, start + 10) }));
  }
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  documents?.destroy();
  await moto?.stop();
});

/** The SQS event Lambda's event source mapping builds from one ReceiveMessage answer. */
function sqsEvent(messages: readonly Message[], bodyOf: (message: Message) => string): SQSEvent {
  return {
    Records: messages.map(
      (message): SQSRecord => ({
        messageId: message.MessageId ?? "",
        receiptHandle: message.ReceiptHandle ?? "",
        body: bodyOf(message),
        attributes: {
          ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: message.Attributes?.SentTimestamp ?? "",
          SenderId: message.Attributes?.SenderId ?? "",
          ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? "",
        },
        messageAttributes: {},
        md5OfBody: message.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: MOTO_REGION,
      }),
    ),
  };
}

const asSent = (message: Message) => message.Body ?? "";

type Json = Record<string, unknown>;
const ZONED = /(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * The body with each record completed by what AWS sends and moto leaves out (see the top of the file):
 * the version id S3 answered to the PutObject, a sequencer in put order (S3's sequencers grow per key),
 * and the SQS SentTimestamp as a UTC event time. The put is found by eTag (every body differs), never by
 * key, so the key stays exactly as moto encoded it.
 */
function asAwsSends(message: Message): string {
  const body = JSON.parse(message.Body ?? "{}") as Json;
  if (!Array.isArray(body.Records)) return message.Body ?? "";
  for (const record of body.Records as Json[]) {
    const object = (record.s3 as Json).object as Json;
    const index = puts.findIndex((put) => put.eTag === object.eTag);
    const put = puts[index];
    if (put === undefined) throw new Error(`no put has the eTag ${String(object.eTag)}`);
    object.versionId ??= put.versionId;
    object.sequencer ??= (index + 1).toString(16).toUpperCase().padStart(18, "0");
    if (typeof record.eventTime !== "string" || !ZONED.test(record.eventTime)) {
      record.eventTime = new Date(Number(message.Attributes?.SentTimestamp)).toISOString();
    }
  }
  return JSON.stringify(body);
}

/** The S3 input use case on the DynamoDB stores in a fresh table on moto, with a ready cluster and a rule. */
async function ingestOnMoto(tableName: string) {
  if (documents === undefined) throw new Error("moto is not running");
  await ensureTable(documents, tableName);
  const client = documents;
  const store = new DynamoDbClusterStore({ client, tableName, pageTokenSecret: SECRET });
  const jobs = new DynamoDbJobStore({ client, tableName, pageTokenSecret: SECRET, retentionDays: 7 });
  const triggers = new DynamoDbTriggerStore({ client, tableName, pageTokenSecret: SECRET });
  const ledger = new DynamoDbInputLedger({ client, tableName });
  const schedulers = new FakeJobSchedulers();
  const cluster = await storeReadyCluster({ store, clock: systemClock }, { name: "crunch" });
  await triggers.create(triggerRule({ bucket: BUCKET, prefix: PREFIX, clusterName: cluster.name }));
  const ingest = makeIngestObjectEvents({
    store,
    clock: systemClock,
    jobs,
    schedulers,
    triggers,
    ledger,
    uriFor: (bucket, key) => `s3://${bucket}/${key}`,
    createCluster: async () => {
      throw new Error("the cluster is ready: the rule must not create one");
    },
  });

  /** Every job of the cluster, in full. */
  async function jobsOfCluster(): Promise<Job[]> {
    const all: Job[] = [];
    let nextToken: string | undefined;
    do {
      const page = await jobs.list(cluster.name, { limit: 100, ...(nextToken ? { nextToken } : {}) });
      for (const summary of page.items) {
        const job = await jobs.get(cluster.name, summary.jobId);
        if (job) all.push(job);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  return { ingest, schedulers, cluster, jobsOfCluster };
}

/** Hands each ReceiveMessage answer to the use case as one SQS event; sums the counts. */
async function deliver(
  ingest: Awaited<ReturnType<typeof ingestOnMoto>>["ingest"],
  answers: readonly Message[][],
  bodyOf: (message: Message) => string,
) {
  const totals = { objects: 0, jobs: 0, duplicates: 0, older: 0, unmatched: 0, malformed: 0, failed: 0 };
  const failures: string[] = [];
  for (const messages of answers) {
    const { sqs: fromSqs, report } = await ingest(sqsEvent(messages, bodyOf));
    expect(fromSqs).toBe(true);
    failures.push(...report.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const name of Object.keys(totals) as (keyof typeof totals)[]) totals[name] += report.counts[name];
  }
  return { totals, failures };
}

const isTestEvent = (message: Message) => (JSON.parse(message.Body ?? "{}") as Json).Event === "s3:TestEvent";

describe("S3 notifications from moto_server, through SQS, into the S3 input use case", () => {
  it("skips moto's s3:TestEvent, and rejects moto's records only for the fields moto leaves out", async () => {
    if (!requireMoto(moto, unavailable)) return;
    const messages = deliveries.first.flat();
    const testEvents = messages.filter(isTestEvent);
    expect(testEvents).toHaveLength(1);

    const parsed = parseObjectEvents(sqsEvent(messages, asSent));
    expect(parsed.sqs).toBe(true);
    const testItem = parsed.items.find((item) => item.itemId === testEvents[0]?.MessageId);
    expect(testItem).toMatchObject({ objects: [], malformed: [], ignored: ["s3:TestEvent"] });
    const reasons = parsed.items.flatMap((item) => item.malformed);
    for (const reason of reasons) {
      expect(reason).toMatch(/^record 0: event time ".*" is not an ISO 8601 time$/);
    }
    const objects = parsed.items.flatMap((item) => item.objects);
    expect(objects.length + reasons.length).toBe(puts.length);

    // The use case never fails a batch for records it cannot read: they are counted and skipped.
    const { ingest, schedulers } = await ingestOnMoto("s3-input-as-sent");
    const { totals, failures } = await deliver(ingest, deliveries.first, asSent);
    expect(failures).toEqual([]);
    expect(totals.malformed).toBe(reasons.length);
    expect(totals.objects).toBe(objects.length);
    expect(schedulers.of("crunch").submitCalls).toHaveLength(totals.jobs);
  });

  it("makes exactly one job per object version, with the key decoded from moto's encoding, and nothing on redelivery", async () => {
    if (!requireMoto(moto, unavailable)) return;
    const { ingest, schedulers, cluster, jobsOfCluster } = await ingestOnMoto("s3-input-exactly-once");

    // Moto really encodes the awkward keys (so decoding is exercised): a space as `+`, a `+` as `%2B`.
    const rawKeys = deliveries.first
      .flat()
      .filter((message) => !isTestEvent(message))
      .map((message) => {
        const record = (
          JSON.parse(message.Body ?? "{}") as { Records: { s3: { object: { key: string } } }[] }
        ).Records[0];
        return record?.s3.object.key;
      });
    expect(rawKeys).toContain("in%2Fwith+space%2Fa+b.txt");
    expect(rawKeys).toContain("in%2Fliteral%252Fslash.txt");

    const first = await deliver(ingest, deliveries.first, asAwsSends);
    const matching = puts.filter((put) => put.key.startsWith(PREFIX));
    expect(first.failures).toEqual([]);
    expect(first.totals).toEqual({
      objects: puts.length,
      jobs: matching.length,
      duplicates: 0,
      older: 0,
      unmatched: 2, // the test event, and the key outside the prefix
      malformed: 0,
      failed: 0,
    });

    const jobs = await jobsOfCluster();
    const expected = matching.map((put) => ({
      key: put.key,
      uri: `s3://${BUCKET}/${put.key}`,
      size: String(Buffer.byteLength(put.body, "utf8")),
    }));
    const made = jobs.map((job) => ({
      key: job.origin?.input.key,
      uri: job.origin?.input.uri,
      size: job.origin?.input.size,
    }));
    expect(made).toHaveLength(expected.length);
    expect(made).toEqual(expect.arrayContaining(expected));
    expect(jobs.filter((job) => job.origin?.input.key === OVERWRITTEN)).toHaveLength(2);
    for (const job of jobs) {
      expect(job.origin).toMatchObject({ triggerName: "inbox", input: { bucket: BUCKET }, whenDone: "keep" });
      expect(job.spec.environment.INPUT_KEY).toBe(job.origin?.input.key);
      expect(job.status).toBe("SUBMITTED");
    }
    const submitted = schedulers.of(cluster.name).submitCalls.map((call) => call.job.jobId);
    expect(submitted.sort()).toEqual(jobs.map((job) => job.jobId).sort());

    // SQS delivers the same messages again (visibility timeout over, nothing deleted): nothing new.
    expect(deliveries.again.flat().map((message) => message.Attributes?.ApproximateReceiveCount)).toEqual(
      deliveries.again.flat().map(() => "2"),
    );
    const again = await deliver(ingest, deliveries.again, asAwsSends);
    expect(again.failures).toEqual([]);
    // The ledger keeps the latest event per key: the overwritten key's first version now meets its
    // second one, so it is "older"; every other event is a duplicate.
    expect(again.totals).toEqual({
      objects: puts.length,
      jobs: 0,
      duplicates: matching.length - 1,
      older: 1,
      unmatched: 2,
      malformed: 0,
      failed: 0,
    });
    expect(await jobsOfCluster()).toHaveLength(jobs.length);
    expect(schedulers.of(cluster.name).submitCalls).toHaveLength(jobs.length);
  });
});
