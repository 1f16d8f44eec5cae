import { type AttributeValue, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbInputLedger } from "#shared/adapters/aws/dynamodb-input-ledger.ts";
import { ensureTable, keys, MAX_PARTITION_KEY_BYTES } from "#shared/adapters/aws/table-schema.ts";
import type { InputLedger } from "#shared/ports/input-ledger.ts";
import { type RunningDynalite, startDynalite } from "../../support/dynalite.ts";
import { describeInputLedgerContract, eventRef, sequencer } from "../../unit/store/input-ledger-contract.ts";

const TABLE = "ledger";
const credentials = { accessKeyId: "dynalite", secretAccessKey: "dynalite" };
let dynalite: RunningDynalite;
let client: DynamoDBDocumentClient;
let ledgers = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createDocumentClient({ endpoint: dynalite.endpoint, region: "us-east-1", credentials });
  await ensureTable(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

describeInputLedgerContract("DynamoDbInputLedger on dynalite", async (clock): Promise<InputLedger> => {
  // One table for all tests: a per-test bucket prefix keeps their entries apart.
  ledgers += 1;
  const prefix = `t${ledgers}-`;
  const ledger = new DynamoDbInputLedger({ client, tableName: TABLE, clock });
  return {
    claim: (ref, expiresAt) => ledger.claim({ ...ref, bucket: prefix + ref.bucket }, expiresAt),
    complete: (ref) => ledger.complete({ ...ref, bucket: prefix + ref.bucket }),
  };
});

describe("DynamoDbInputLedger on dynalite", () => {
  it("keeps one item per key, with the TTL in epoch seconds and the state an operator can read", async () => {
    const ledger = new DynamoDbInputLedger({ client, tableName: TABLE });
    const event = eventRef("layout/a b.txt", 7, "v1", "layout");
    const expiresAt = new Date("2030-01-01T00:00:00.000Z");

    await ledger.claim(event, expiresAt);
    await ledger.complete(event);

    const { Item } = await client.send(
      new GetCommand({ TableName: TABLE, Key: keys.input("layout", "layout/a b.txt") }),
    );
    expect(Item).toMatchObject({
      pk: "INPUT#layout/layout/a b.txt",
      sk: "INPUT",
      sequencer: sequencer(7),
      identity: "v1",
      state: "DONE",
      expiresAt: Date.parse("2030-01-01T00:00:00.000Z") / 1000,
    });
    expect(Number.isNaN(Date.parse(String(Item?.claimedAt)))).toBe(false);
  });

  it("stores keys too long for a partition key under a digest that still tells them apart", () => {
    const fits = keys.input("b", "k".repeat(1024));
    const tooLong = keys.input("b", "k".repeat(MAX_PARTITION_KEY_BYTES));

    expect(fits.pk).toBe(`INPUT#b/${"k".repeat(1024)}`);
    expect(tooLong.pk).toMatch(/^INPUTHASH#b\/[0-9a-f]{64}$/);
    expect(keys.input("b", `${"k".repeat(MAX_PARTITION_KEY_BYTES)}x`).pk).not.toBe(tooLong.pk);
  });
});

describe("DynamoDbInputLedger requests", () => {
  const mocked = createDocumentClient({ region: "us-east-1", credentials });
  const ddb = mockClient(mocked);
  const ledger = new DynamoDbInputLedger({ client: mocked, tableName: "t" });
  const expiresAt = new Date(Date.now() + 86_400_000);
  const failed = (Item?: Record<string, AttributeValue>) =>
    new ConditionalCheckFailedException({ $metadata: {}, message: "The conditional request failed", Item });

  it("decides from the entry DynamoDB returns with a failed claim, without reading it again", async () => {
    ddb.reset();
    ddb.on(PutCommand).rejects(
      failed({
        sequencer: { S: sequencer(9) },
        identity: { S: "v1" },
        state: { S: "DONE" },
        expiresAt: { N: String(Math.floor(expiresAt.getTime() / 1000)) },
      }),
    );

    expect(await ledger.claim(eventRef("k", 9), expiresAt)).toEqual({ kind: "duplicate" });
    expect(await ledger.claim(eventRef("k", 8), expiresAt)).toEqual({
      kind: "older",
      latestSequencer: sequencer(9),
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("answers claimed when the entry in the way is its own write, retried by the SDK after a lost answer", async () => {
    ddb.reset();
    let written: Record<string, unknown> | undefined;
    ddb.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      written = input.Item;
      throw failed();
    });
    ddb.on(GetCommand).callsFake(() => ({ Item: written }));

    expect(await ledger.claim(eventRef("k", 9), expiresAt)).toEqual({ kind: "claimed" });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  });
});
