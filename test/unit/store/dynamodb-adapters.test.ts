import { ConditionalCheckFailedException, DynamoDBServiceException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { createDocumentClient, mapDynamoDbError } from "#shared/adapters/aws/dynamodb-client.ts";
import { DynamoDbClusterStore } from "#shared/adapters/aws/dynamodb-cluster-store.ts";
import { DynamoDbIdempotencyStore } from "#shared/adapters/aws/dynamodb-idempotency-store.ts";
import {
  ClusterExistsError,
  ConcurrentModificationError,
  ServiceUnavailableError,
} from "#shared/domain/errors.ts";
import { makeCluster, makeEvent } from "./cluster-store-contract.ts";

const client = createDocumentClient({
  region: "us-east-1",
  credentials: { accessKeyId: "unit", secretAccessKey: "unit" },
});
const ddb = mockClient(DynamoDBDocumentClient);
const store = new DynamoDbClusterStore({ client, tableName: "t", pageTokenSecret: "unit-secret-0123456789" });

function serviceError(name: string): DynamoDBServiceException {
  return new DynamoDBServiceException({ name, $fault: "client", $metadata: {}, message: name });
}

afterEach(() => {
  ddb.reset();
});

describe("DynamoDB error mapping", () => {
  for (const name of [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
  ]) {
    it(`turns ${name} that outlived the retries into ServiceUnavailableError`, async () => {
      ddb.on(GetCommand).rejects(serviceError(name));

      const attempt = store.get("alpha");

      await expect(attempt).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(attempt).rejects.toMatchObject({ cause: { name } });
    });
  }

  it("lets other unexpected errors through unchanged", async () => {
    const error = serviceError("AccessDeniedException");
    ddb.on(QueryCommand).rejects(error);

    await expect(store.list({ limit: 5 })).rejects.toBe(error);
    expect(mapDynamoDbError("not an error")).toBe("not an error");
  });
});

describe("DynamoDbClusterStore requests", () => {
  it("uses the record DynamoDB returns with a failed create instead of reading it again", async () => {
    ddb.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        $metadata: {},
        message: "The conditional request failed",
        Item: { status: { S: "UPDATE_IN_PROGRESS" }, clusterId: { S: "other-id" } },
      }),
    );

    const attempt = store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

    await expect(attempt).rejects.toBeInstanceOf(ClusterExistsError);
    await expect(attempt).rejects.toMatchObject({ status: "UPDATE_IN_PROGRESS" });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("treats a collision with its own cluster id as its own earlier attempt having succeeded", async () => {
    const cluster = makeCluster("alpha");
    ddb.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        $metadata: {},
        message: "The conditional request failed",
        Item: { status: { S: "CREATE_IN_PROGRESS" }, clusterId: { S: cluster.clusterId } },
      }),
    );

    await expect(store.create(cluster, makeEvent("CREATE_IN_PROGRESS"))).resolves.toBeUndefined();
  });

  it("writes the index keys with the record and a single-element history", async () => {
    ddb.on(PutCommand).resolves({});
    const cluster = makeCluster("alpha");

    await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));

    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(item).toMatchObject({
      pk: "CLUSTER#alpha",
      sk: "CLUSTER",
      gsi1pk: "CLUSTERS",
      gsi1sk: "alpha",
      gsi2pk: "STATUS#CREATE_IN_PROGRESS",
      gsi2sk: "alpha",
      history: [makeEvent("CREATE_IN_PROGRESS")],
    });
  });

  it("builds an update that sets only given fields, moves the status index and leaves byName at DELETE_COMPLETE", async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { pk: "CLUSTER#alpha", name: "alpha", version: 4 } });

    const updated = await store.update(
      "alpha",
      { version: 3, clusterId: "id-1" },
      { status: "DELETE_COMPLETE", failureReason: undefined, updatedAt: "2024-05-02T00:00:00.000Z" },
      makeEvent("DELETE_COMPLETE"),
    );

    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(updated).toEqual({ name: "alpha", version: 4 });
    expect(input?.UpdateExpression).toMatch(/^SET .* REMOVE #gsi1pk, #gsi1sk$/);
    expect(input?.UpdateExpression).not.toContain("failureReason");
    expect(Object.values(input?.ExpressionAttributeValues ?? {})).not.toContain(undefined);
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":gsi2pk": "STATUS#DELETE_COMPLETE",
      ":expectedVersion": 3,
      ":clusterId": "id-1",
      ":event": [makeEvent("DELETE_COMPLETE")],
    });
    expect(input?.ConditionExpression).toBe(
      "attribute_exists(#pk) AND #version = :expectedVersion AND #clusterId = :clusterId",
    );
  });

  it("reports a failed update on an existing record as ConcurrentModificationError without reading it", async () => {
    ddb.on(DeleteCommand).rejects(
      new ConditionalCheckFailedException({
        $metadata: {},
        message: "failed",
        Item: { version: { N: "9" } },
      }),
    );

    await expect(store.remove("alpha", { version: 3, clusterId: "id-1" })).rejects.toBeInstanceOf(
      ConcurrentModificationError,
    );
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe("DynamoDbIdempotencyStore requests", () => {
  it("maps throttling on claim to ServiceUnavailableError", async () => {
    ddb.on(PutCommand).rejects(serviceError("ThrottlingException"));
    const idempotency = new DynamoDbIdempotencyStore({ client, tableName: "t" });

    await expect(idempotency.claim("tok", "hash", new Date(Date.now() + 60_000))).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it("stores expiresAt in epoch seconds for DynamoDB's TTL", async () => {
    ddb.on(PutCommand).resolves({});
    const idempotency = new DynamoDbIdempotencyStore({ client, tableName: "t" });

    await idempotency.claim("tok", "hash", new Date("2024-05-02T00:00:00.500Z"));

    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({
      pk: "IDEMPOTENCY#tok",
      sk: "IDEMPOTENCY",
      state: "IN_PROGRESS",
      requestHash: "hash",
      expiresAt: Date.UTC(2024, 4, 2) / 1000,
    });
  });
});
