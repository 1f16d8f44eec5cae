import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "#shared/adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbJobStore } from "#shared/adapters/aws/dynamodb-job-store.ts";
import {
  BY_NAME_INDEX,
  BY_STATUS_INDEX,
  createTableInput,
  ensureTable,
  keys,
  TTL_ATTRIBUTE,
} from "#shared/adapters/aws/table-schema.ts";
import { JobExistsError } from "#shared/domain/errors.ts";
import { JOB_SUMMARY_FIELDS } from "#shared/ports/job-store.ts";
import { type RunningDynalite, startDynalite } from "../../support/dynalite.ts";
import { makeCluster, makeEvent } from "../../unit/store/cluster-store-contract.ts";
import { describeJobStoreContract, makeJob } from "../../unit/store/job-store-contract.ts";

const SECRET = "integration-test-secret-0123456789";
const RETENTION_DAYS = 90;
const credentials = { accessKeyId: "dynalite", secretAccessKey: "dynalite" };

let dynalite: RunningDynalite;
let client: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createDocumentClient({ endpoint: dynalite.endpoint, region: "us-east-1", credentials });
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

/** The raw item of a job, storage attributes and all. */
async function rawJob(tableName: string, clusterName: string, jobId: string) {
  const out = await client.send(
    new GetCommand({ TableName: tableName, Key: keys.job(clusterName, jobId), ConsistentRead: true }),
  );
  return out.Item;
}

/** A table of its own, so tests do not see each other's jobs, with a job store and a cluster store on it. */
async function freshTable(storeClient = client) {
  tables += 1;
  const tableName = `jobs-${tables}`;
  await ensureTable(client, tableName);
  return {
    tableName,
    jobs: new DynamoDbJobStore({
      client: storeClient,
      tableName,
      pageTokenSecret: SECRET,
      retentionDays: RETENTION_DAYS,
    }),
    clusters: new DynamoDbClusterStore({ client, tableName, pageTokenSecret: SECRET }),
  };
}

describeJobStoreContract("DynamoDbJobStore on dynalite", async () => {
  const { tableName, jobs } = await freshTable();
  return {
    store: jobs,
    retentionDays: RETENTION_DAYS,
    expiresAt: async (clusterName, jobId) => {
      const value = (await rawJob(tableName, clusterName, jobId))?.[TTL_ATTRIBUTE];
      return value === undefined ? undefined : Number(value);
    },
  };
});

describe("DynamoDbJobStore on dynalite", () => {
  it("keeps jobs and clusters out of each other's listings, counts and histories in one partition", async () => {
    const { jobs, clusters } = await freshTable();
    const cluster = makeCluster("alpha");
    await clusters.create(cluster, makeEvent("CREATE_IN_PROGRESS"));
    const running = makeJob("alpha", { status: "RUNNING" });
    const failed = makeJob("alpha", { status: "FAILED" }, Date.UTC(2024, 4, 1, 11));
    await jobs.create(running);
    await jobs.create(failed);
    await clusters.update("alpha", cluster, {
      status: "CREATE_COMPLETE",
      updatedAt: "2024-05-01T10:20:00.000Z",
    });

    expect((await clusters.list({ limit: 10 })).items.map((s) => s.name)).toEqual(["alpha"]);
    expect((await clusters.list({ limit: 10, status: "CREATE_COMPLETE" })).items.map((s) => s.name)).toEqual([
      "alpha",
    ]);
    expect(await clusters.countByStatus("CREATE_COMPLETE")).toBe(1);
    expect(await clusters.countByStatus("CREATE_IN_PROGRESS")).toBe(0);
    expect((await clusters.listEvents("alpha", { limit: 10 })).items).toHaveLength(1);
    expect((await clusters.get("alpha"))?.version).toBe(2);

    expect((await jobs.list("alpha", { limit: 10 })).items.map((s) => s.jobId)).toEqual([
      failed.jobId,
      running.jobId,
    ]);
    expect((await jobs.listActive({ limit: 10 })).items).toEqual([
      { clusterName: "alpha", jobId: running.jobId },
    ]);
    expect(await jobs.get("alpha", "CLUSTER")).toBeUndefined();
    expect(await jobs.get("alpha", running.jobId)).toEqual(running);
  });

  it("keeps its jobs when the cluster record is removed and a new cluster takes the name", async () => {
    const { jobs, clusters } = await freshTable();
    const old = makeCluster("alpha");
    await clusters.create(old, makeEvent("CREATE_IN_PROGRESS"));
    const job = makeJob("alpha", { clusterId: old.clusterId });
    await jobs.create(job);

    await clusters.remove("alpha", old);
    await clusters.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

    expect(await jobs.get("alpha", job.jobId)).toEqual(job);
    expect((await jobs.list("alpha", { limit: 10 })).items.map((s) => s.jobId)).toEqual([job.jobId]);
  });

  it("moves a job's index keys with its status and sets its expiry when it finishes", async () => {
    const { tableName, jobs } = await freshTable();
    const job = makeJob("alpha");
    await jobs.create(job);
    const created = await rawJob(tableName, "alpha", job.jobId);

    const done = await jobs.update("alpha", job.jobId, 1, { status: "SUCCEEDED", updatedAt: job.updatedAt });
    const finished = await rawJob(tableName, "alpha", job.jobId);

    expect(created).toMatchObject({
      [BY_NAME_INDEX.partitionKey]: keys.activeJobs,
      [BY_NAME_INDEX.sortKey]: job.jobId,
      [BY_STATUS_INDEX.partitionKey]: keys.jobStatus("alpha", "SUBMITTED"),
      [BY_STATUS_INDEX.sortKey]: job.jobId,
    });
    expect(created).not.toHaveProperty(TTL_ATTRIBUTE);
    expect(finished).not.toHaveProperty(BY_NAME_INDEX.partitionKey);
    expect(finished).not.toHaveProperty(BY_NAME_INDEX.sortKey);
    expect(finished).toMatchObject({ [BY_STATUS_INDEX.partitionKey]: keys.jobStatus("alpha", "SUCCEEDED") });
    expect(typeof finished?.[TTL_ATTRIBUTE]).toBe("number");
    expect(done).toEqual({ ...job, status: "SUCCEEDED", version: 2 });
  });

  it("treats the SDK's retry of its own create, whose answer was lost, as success, and a real duplicate as JobExistsError", async () => {
    const flaky = createDocumentClient({ endpoint: dynalite.endpoint, region: "us-east-1", credentials });
    let puts = 0;
    // After the first PutItem reaches the table, lose its answer the way a dropped connection would.
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "PutItemCommand" && ++puts === 1) {
          throw Object.assign(new Error("answer lost"), { name: "TimeoutError", $metadata: {} });
        }
        return result;
      },
      { step: "deserialize", name: "loseFirstPutAnswer" },
    );
    try {
      const { jobs } = await freshTable(flaky);
      const job = makeJob("alpha");

      await jobs.create(job);

      expect(puts).toBe(2);
      expect(await jobs.get("alpha", job.jobId)).toEqual(job);
      await expect(jobs.create(job)).rejects.toBeInstanceOf(JobExistsError);
    } finally {
      flaky.destroy();
    }
  });

  it("fills a page even when DynamoDB stops a query at 1 MB", async () => {
    const { tableName, jobs } = await freshTable();
    // ~120 KB of script per job: a 1 MB query page reads only about eight of them.
    const all = Array.from({ length: 20 }, (_, i) =>
      makeJob(
        "alpha",
        { spec: { environment: {}, dependsOn: [], script: "x".repeat(120_000) } },
        Date.UTC(2024, 0, 1, i),
      ),
    );
    for (const job of all) await jobs.create(job);

    const raw = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "pk", "#jobId": "jobId" },
        ExpressionAttributeValues: { ":pk": keys.cluster("alpha").pk },
        ProjectionExpression: "#jobId",
        Limit: 16,
      }),
    );

    const first = await jobs.list("alpha", { limit: 15 });
    const rest = await jobs.list("alpha", { limit: 15, nextToken: first.nextToken });

    // The situation under test: one query alone returns a short page with a LastEvaluatedKey.
    expect(raw.Items?.length).toBeLessThan(15);
    expect(raw.LastEvaluatedKey).toBeDefined();
    const ids = all.map((job) => job.jobId).reverse();
    expect(first.items.map((s) => s.jobId)).toEqual(ids.slice(0, 15));
    expect(rest.items.map((s) => s.jobId)).toEqual(ids.slice(15));
    expect(rest.nextToken).toBeUndefined();
  });

  it("projects the job summary into both indexes, and never a job's spec", () => {
    for (const index of createTableInput("any").GlobalSecondaryIndexes ?? []) {
      expect(index.Projection?.ProjectionType).toBe("INCLUDE");
      for (const field of JOB_SUMMARY_FIELDS) expect(index.Projection?.NonKeyAttributes).toContain(field);
      expect(index.Projection?.NonKeyAttributes).not.toContain("spec");
      expect(index.Projection?.NonKeyAttributes).not.toContain("attempts");
    }
  });

  it("refuses a retention that is not a positive number", () => {
    for (const retentionDays of [0, -3, Number.NaN]) {
      expect(
        () => new DynamoDbJobStore({ client, tableName: "t", pageTokenSecret: SECRET, retentionDays }),
      ).toThrow(RangeError);
    }
  });
});
