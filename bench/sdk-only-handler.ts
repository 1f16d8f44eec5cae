import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";

/**
 * The second cold-start baseline: the least a handler that reads one item can do with the AWS SDK
 * (external, as deployed). The gap between it and the empty handler is the SDK's own cost.
 */
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { pathParameters?: { name?: string } }) => {
  const out = await client.send(
    new GetCommand({
      TableName: process.env.TABLE_NAME,
      Key: { pk: `CLUSTER#${event.pathParameters?.name ?? ""}`, sk: "CLUSTER" },
    }),
  );
  return { statusCode: out.Item ? 200 : 404, body: JSON.stringify(out.Item ?? {}) };
};
