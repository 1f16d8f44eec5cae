import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateTableCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "#shared/adapters/aws/dynamodb-cluster-store.ts";
import { BY_NAME_INDEX, createTableInput, ensureTable, keys } from "#shared/adapters/aws/table-schema.ts";
import { type RunningDynalite, startDynalite } from "../../support/dynalite.ts";
import {
  describeClusterStoreContract,
  makeCluster,
  makeEvent,
  readAllPages,
} from "../../unit/store/cluster-store-contract.ts";

const SECRET = "integration-test-secret-0123456789";
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

/** A store on a table of its own, so tests do not see each other's clusters. */
async function freshStore(): Promise<DynamoDbClusterStore> {
  tables += 1;
  const tableName = `clusters-${tables}`;
  await ensureTable(client, tableName);
  return new DynamoDbClusterStore({ client, tableName, pageTokenSecret: SECRET });
}

describeClusterStoreContract("DynamoDbClusterStore on dynalite", freshStore);

describe("DynamoDbClusterStore on dynalite", () => {
  it("fills a page even when DynamoDB stops a query at 1 MB", async () => {
    const store = await freshStore();
    // ~120 KB of projected failureReason per cluster: a 1 MB query page holds only about eight of them.
    const names = Array.from({ length: 20 }, (_, i) => `big-${String(i).padStart(2, "0")}`);
    for (const name of names) {
      await store.create(
        makeCluster(name, { status: "CREATE_FAILED", failureReason: "x".repeat(120_000) }),
        makeEvent("CREATE_FAILED"),
      );
    }

    const raw = await client.send(
      new QueryCommand({
        TableName: `clusters-${tables}`,
        IndexName: BY_NAME_INDEX.indexName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": BY_NAME_INDEX.partitionKey },
        ExpressionAttributeValues: { ":pk": keys.liveClusters },
        Limit: 16,
      }),
    );

    const first = await store.list({ limit: 15 });
    const rest = await readAllPages((nextToken) =>
      store.list({ limit: 15, nextToken: nextToken ?? first.nextToken }),
    );

    // The situation under test: one query alone returns a short page with a LastEvaluatedKey.
    expect(raw.Items?.length).toBeLessThan(15);
    expect(raw.LastEvaluatedKey).toBeDefined();
    expect(first.items.map((s) => s.name)).toEqual(names.slice(0, 15));
    expect(first.nextToken).toBeDefined();
    expect(rest.items.map((s) => s.name)).toEqual(names.slice(15));
    expect(rest.pages.at(-1)?.nextToken).toBeUndefined();
  });

  it("keeps the configuration out of both indexes", () => {
    const input = createTableInput("any");

    for (const index of input.GlobalSecondaryIndexes ?? []) {
      expect(index.Projection?.ProjectionType).toBe("INCLUDE");
      expect(index.Projection?.NonKeyAttributes).not.toContain("config");
      expect(index.Projection?.NonKeyAttributes).toContain("status");
    }
    expect(input.BillingMode).toBe("PAY_PER_REQUEST");
  });

  it("creates the table once however many processes ensure it at the same time", async () => {
    const tableName = "raced-table";

    await Promise.all(Array.from({ length: 5 }, () => ensureTable(client, tableName)));
    await ensureTable(client, tableName);

    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toContain(BY_NAME_INDEX.indexName);
    await expect(client.send(new CreateTableCommand(createTableInput(tableName)))).rejects.toMatchObject({
      name: "ResourceInUseException",
    });
  });

  it("reaches the endpoint named by AWS_ENDPOINT_URL_DYNAMODB without being told it", async () => {
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
    const fromEnv = createDocumentClient({ region: "us-east-1", credentials });
    try {
      const store = new DynamoDbClusterStore({
        client: fromEnv,
        tableName: "env-table",
        pageTokenSecret: SECRET,
      });
      await ensureTable(fromEnv, "env-table");
      await store.create(makeCluster("via-env"), makeEvent("CREATE_IN_PROGRESS"));

      const seenByOther = await new DynamoDbClusterStore({
        client,
        tableName: "env-table",
        pageTokenSecret: SECRET,
      }).get("via-env");

      expect(seenByOther?.name).toBe("via-env");
    } finally {
      fromEnv.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    }
  });
});

describe("DynamoDbClusterStore on dynalite with data on disk", () => {
  it("keeps clusters, history and the index across closing and reopening dynalite", async () => {
    const path = await mkdtemp(join(tmpdir(), "dynalite-"));
    try {
      const cluster = makeCluster("durable");
      let server = await startDynalite({ path });
      let diskClient = createDocumentClient({ endpoint: server.endpoint, region: "us-east-1", credentials });
      try {
        await ensureTable(diskClient, "durable-table");
        const store = new DynamoDbClusterStore({
          client: diskClient,
          tableName: "durable-table",
          pageTokenSecret: SECRET,
        });
        await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));
        await store.update(
          "durable",
          cluster,
          { status: "CREATE_COMPLETE", updatedAt: "2024-05-01T10:30:00.000Z" },
          makeEvent("CREATE_COMPLETE"),
        );
      } finally {
        diskClient.destroy();
        await server.close();
      }

      server = await startDynalite({ path });
      diskClient = createDocumentClient({ endpoint: server.endpoint, region: "us-east-1", credentials });
      try {
        await ensureTable(diskClient, "durable-table");
        const store = new DynamoDbClusterStore({
          client: diskClient,
          tableName: "durable-table",
          pageTokenSecret: SECRET,
        });

        expect(await store.get("durable")).toEqual({
          ...cluster,
          status: "CREATE_COMPLETE",
          updatedAt: "2024-05-01T10:30:00.000Z",
          version: 2,
        });
        expect((await store.listEvents("durable", { limit: 10 })).items).toHaveLength(2);
        expect((await store.list({ limit: 10, status: "CREATE_COMPLETE" })).items.map((s) => s.name)).toEqual(
          ["durable"],
        );
      } finally {
        diskClient.destroy();
        await server.close();
      }
    } finally {
      await rm(path, { recursive: true, force: true });
    }
  });
});
