import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ServiceUnavailableError } from "../../domain/errors.ts";
import { type AwsClientOptions, clientConfig } from "./client-config.ts";

/**
 * Attempts per call, the first included. The SDK's standard retry mode backs off with jitter between
 * them; four attempts ride out a short throttling burst and still answer well inside API Gateway's 29 s.
 */
export const DEFAULT_MAX_ATTEMPTS = 4;

/** Options for {@link createDocumentClient}. */
export type DocumentClientOptions = AwsClientOptions;

/**
 * Creates a document client. Prefer {@link getDocumentClient} in application code, so a process shares
 * one client (and its connection pool); tests create their own to point at dynalite.
 */
export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const config = clientConfig(options, { maxAttempts: DEFAULT_MAX_ATTEMPTS, requestTimeoutMs: 5_000 });
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

let shared: DynamoDBDocumentClient | undefined;

/** The process-wide document client, created on first use from the standard SDK environment. */
export function getDocumentClient(): DynamoDBDocumentClient {
  shared ??= createDocumentClient();
  return shared;
}

const THROTTLING_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
]);

function errorName(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === "string" ? name : undefined;
}

/** True for the error a failed `ConditionExpression` throws. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

/** True for the error DynamoDB throws when a table or index does not exist. */
export function isResourceNotFound(error: unknown): boolean {
  return errorName(error) === "ResourceNotFoundException";
}

/**
 * Throttling that outlived the SDK's retries becomes `ServiceUnavailableError` (the API answers 503 with
 * Retry-After); any other error is returned unchanged so it propagates as it is.
 */
export function mapDynamoDbError(error: unknown): unknown {
  const name = errorName(error);
  if (name === undefined || !THROTTLING_ERRORS.has(name)) return error;
  const mapped = new ServiceUnavailableError("The cluster database is busy; retry the request shortly.");
  mapped.cause = error;
  return mapped;
}

/** Runs one SDK call, translating throttling with {@link mapDynamoDbError}. */
export async function callDynamoDb<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw mapDynamoDbError(error);
  }
}
