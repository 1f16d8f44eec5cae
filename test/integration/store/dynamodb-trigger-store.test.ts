import { type AttributeValue, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbTriggerStore } from "#shared/adapters/aws/dynamodb-trigger-store.ts";
import { BY_STATUS_INDEX, createTableInput, ensureTable, keys } from "#shared/adapters/aws/table-schema.ts";
import { TriggerExistsError } from "#shared/domain/errors.ts";
import { type RunningDynalite, startDynalite } from "../../support/dynalite.ts";
import { byteOrder } from "../../unit/store/cluster-store-contract.ts";
import { describeTriggerStoreContract, makeRule } from "../../unit/store/trigger-store-contract.ts";

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

/** A store on a table of its own, so tests do not see each other's rules. */
async function freshStore(): Promise<{ store: DynamoDbTriggerStore; tableName: string }> {
  tables += 1;
  const tableName = `triggers-${tables}`;
  await ensureTable(client, tableName);
  return { store: new DynamoDbTriggerStore({ client, tableName, pageTokenSecret: SECRET }), tableName };
}

describeTriggerStoreContract("DynamoDbTriggerStore on dynalite", async () => (await freshStore()).store);

describe("DynamoDbTriggerStore on dynalite", () => {
  it("finds a bucket's rules through the byStatus index under TRIGGERBUCKET#<bucket>", async () => {
    const { store, tableName } = await freshStore();
    await store.create(makeRule("align", { bucket: "in" }));
    await store.create(makeRule("other", { bucket: "out" }));

    const raw = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: BY_STATUS_INDEX.indexName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": BY_STATUS_INDEX.partitionKey },
        ExpressionAttributeValues: { ":pk": keys.triggerBucket("in") },
      }),
    );

    expect(raw.Items?.map((item) => item.name)).toEqual(["align"]);
    // The index holds the summary only: the full rule comes from the table.
    expect(raw.Items?.[0]).not.toHaveProperty("job");
    expect((await store.listForBucket("in"))[0]?.job).toEqual(makeRule("align").job);
  });

  it("returns every rule of a bucket watched by more rules than one BatchGetItem reads", async () => {
    const { store } = await freshStore();
    const names = Array.from({ length: 105 }, (_, i) => `r${(i * 53) % 105}`);
    for (let i = 0; i < names.length; i += 35) {
      await Promise.all(names.slice(i, i + 35).map((name) => store.create(makeRule(name))));
    }

    const found = await store.listForBucket("genomes-in");

    expect(found.map((rule) => rule.name)).toEqual([...names].sort(byteOrder));
    expect(found.every((rule) => rule.job.spec.command?.[0] === "align")).toBe(true);
  });

  it("needs nothing of the indexes' projection beyond names: tables made before triggers serve them too", () => {
    for (const index of createTableInput("any").GlobalSecondaryIndexes ?? []) {
      for (const field of ["bucket", "prefix", "suffix", "mode", "whenDone", "job", "clusterTemplate"]) {
        expect(index.Projection?.NonKeyAttributes).not.toContain(field);
      }
    }
  });

  it("refuses a page-token secret too short to be safe", () => {
    expect(() => new DynamoDbTriggerStore({ client, tableName: "t", pageTokenSecret: "short" })).toThrow(
      /at least 16/,
    );
  });
});

describe("DynamoDbTriggerStore requests", () => {
  const mocked = createDocumentClient({ region: "us-east-1", credentials });
  const ddb = mockClient(mocked);
  const store = new DynamoDbTriggerStore({ client: mocked, tableName: "t", pageTokenSecret: SECRET });
  const failed = (Item?: Record<string, AttributeValue>) =>
    new ConditionalCheckFailedException({ $metadata: {}, message: "The conditional request failed", Item });

  it("treats a collision with its own write, retried by the SDK after a lost answer, as success", async () => {
    ddb.reset();
    let written: Record<string, unknown> | undefined;
    ddb.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      written = input.Item;
      throw failed();
    });
    ddb.on(GetCommand).callsFake(() => ({ Item: { createNonce: written?.createNonce } }));

    await expect(store.create(makeRule("align"))).resolves.toBeUndefined();
  });

  it("refuses a collision with another rule, using the item DynamoDB returns without reading it", async () => {
    ddb.reset();
    ddb.on(PutCommand).rejects(failed({ createNonce: { S: "someone-else" } }));

    await expect(store.create(makeRule("align"))).rejects.toBeInstanceOf(TriggerExistsError);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("asks again for the keys a BatchGetItem left unprocessed", async () => {
    ddb.reset();
    const item = (name: string) => ({ ...makeRule(name), ...keys.trigger(name) });
    ddb.on(QueryCommand).resolves({
      Items: ["a", "b"].map((name) => ({ name, [BY_STATUS_INDEX.sortKey]: name })),
    });
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { t: [item("b")] }, UnprocessedKeys: { t: { Keys: [keys.trigger("a")] } } })
      .resolvesOnce({ Responses: { t: [item("a")] } });

    const found = await store.listForBucket("genomes-in");

    expect(found).toEqual([makeRule("a"), makeRule("b")]);
    expect(ddb.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.t?.Keys).toEqual([
      keys.trigger("a"),
    ]);
  });
});
