/**
 * dynalite for the store tests: the same embedded DynamoDB the local server runs (in memory, or on disk
 * with `path`), under the names these tests use.
 */
export {
  type EmbeddedDynamoDb as RunningDynalite,
  startEmbeddedDynamoDb as startDynalite,
} from "#local/embedded-dynamodb.ts";
