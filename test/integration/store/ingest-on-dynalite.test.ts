import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "#shared/adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbInputLedger } from "#shared/adapters/aws/dynamodb-input-ledger.ts";
import { DynamoDbJobStore } from "#shared/adapters/aws/dynamodb-job-store.ts";
import { DynamoDbTriggerStore } from "#shared/adapters/aws/dynamodb-trigger-store.ts";
import { ensureTable } from "#shared/adapters/aws/table-schema.ts";
import { type RunningDynalite, startDynalite } from "../../support/dynalite.ts";
import { makeIngestHarness, triggerRule } from "../../support/ingest-harness.ts";
import { objectEventStream, sqsBatches, streamKey } from "../../support/object-event-stream.ts";

const TABLE = "ingest";
const SECRET = "ingest-on-dynalite-page-token-secret-0123";
const SHAPE = { keys: 60, versionsPerKey: 12, events: 1_000 };
let dynalite: RunningDynalite;
let client: DynamoDBDocumentClient;

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

describe("S3 input on DynamoDB's protocol (dynalite), four invocations at a time", () => {
  it("makes one cluster and never two jobs for one object version; every key's newest version gets its job", async () => {
    const h = makeIngestHarness({
      store: new DynamoDbClusterStore({ client, tableName: TABLE, pageTokenSecret: SECRET }),
      jobs: new DynamoDbJobStore({ client, tableName: TABLE, pageTokenSecret: SECRET, retentionDays: 1 }),
      triggers: new DynamoDbTriggerStore({ client, tableName: TABLE, pageTokenSecret: SECRET }),
      ledger: (clock) => new DynamoDbInputLedger({ client, tableName: TABLE, clock }),
    });
    await h.triggers.create(triggerRule());
    const stream = objectEventStream(3, SHAPE);
    const batches = sqsBatches(stream, 10);

    let duplicatesOrOlder = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          const { report } = await h.ingest(batch);
          expect(report.batchItemFailures).toEqual([]);
          duplicatesOrOlder += report.counts.duplicates + report.counts.older;
        }
      }),
    );
    await h.stackReaches("crunch", "CREATE_COMPLETE");

    const jobs = await h.jobsOf("crunch");
    const made = jobs.map((job) => `${job.origin?.input.key}#${job.origin?.input.size}`);
    expect(new Set(made).size).toBe(made.length);
    for (let k = 0; k < SHAPE.keys; k++) {
      expect(made).toContain(`${streamKey(k)}#${k * SHAPE.versionsPerKey + SHAPE.versionsPerKey - 1}`);
    }
    expect(jobs.length + duplicatesOrOlder).toBe(SHAPE.events);
    expect(h.provisioner.createCalls).toHaveLength(1);
    const submitted = h.schedulers.of("crunch").submitCalls.map((call) => call.job.jobId);
    expect(new Set(submitted).size).toBe(jobs.length);
    expect(submitted).toHaveLength(jobs.length);
  }, 60_000);
});
