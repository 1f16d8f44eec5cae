import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConcurrentModificationError } from "../../domain/errors.ts";
import type { Clock } from "../../ports/clock.ts";
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from "../../ports/idempotency-store.ts";
import { callDynamoDb, isConditionalCheckFailed } from "./dynamodb-client.ts";
import { keys, PARTITION_KEY, TTL_ATTRIBUTE } from "./table-schema.ts";

/**
 * An IN_PROGRESS claim older than this is taken to be abandoned (its Lambda timed out or crashed before
 * `complete` or `release`), and the next request with the same token and body may take it over.
 */
export const ABANDONED_CLAIM_MS = 60_000;

/** Attempts at claiming when the record we collided with changes under us. */
const CLAIM_ATTEMPTS = 3;

/** Construction options for {@link DynamoDbIdempotencyStore}. */
export interface DynamoDbIdempotencyStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Defaults to the system clock; tests pass their own. */
  readonly clock?: Clock;
  /** Defaults to {@link ABANDONED_CLAIM_MS}. */
  readonly abandonAfterMs?: number;
}

/** What is stored per token. `claimedAt` is epoch milliseconds, `expiresAt` epoch seconds (the TTL). */
export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly state: "IN_PROGRESS" | "COMPLETED";
  readonly claimedAt: number;
  readonly expiresAt: number;
  /** The `StoredResponse` as JSON: kept verbatim, whatever keys or values the body has. */
  readonly response?: string;
}

const systemClock: Clock = { now: () => new Date() };

/** Epoch seconds, the unit DynamoDB's TTL reads. */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * Decides what an existing record means for a new claim. Shared with the memory store so both behave the
 * same: `expired` and `abandoned` mean the caller may take the token over.
 */
export function judgeExistingClaim(
  record: IdempotencyRecord | undefined,
  requestHash: string,
  now: Date,
  abandonAfterMs: number,
): IdempotencyClaim | "free" | "abandoned" {
  if (record === undefined || record.expiresAt < epochSeconds(now)) return "free";
  if (record.requestHash !== requestHash) return { kind: "mismatch" };
  if (record.state === "COMPLETED") {
    return { kind: "replay", response: JSON.parse(record.response ?? "null") as StoredResponse };
  }
  return now.getTime() - record.claimedAt >= abandonAfterMs ? "abandoned" : { kind: "in-progress" };
}

/** `IdempotencyStore` on the single DynamoDB table: one item per client token, expired by TTL. */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #clock: Clock;
  readonly #abandonAfterMs: number;

  constructor(options: DynamoDbIdempotencyStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? systemClock;
    this.#abandonAfterMs = options.abandonAfterMs ?? ABANDONED_CLAIM_MS;
  }

  async claim(token: string, requestHash: string, expiresAt: Date): Promise<IdempotencyClaim> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const now = this.#clock.now();
      const record: IdempotencyRecord = {
        requestHash,
        state: "IN_PROGRESS",
        claimedAt: now.getTime(),
        expiresAt: epochSeconds(expiresAt),
      };
      if (await this.#putIfFree(token, record, now)) return { kind: "claimed" };

      const existing = await this.#read(token);
      const verdict = judgeExistingClaim(existing, requestHash, now, this.#abandonAfterMs);
      // Free: it expired or was released since our put; try again.
      if (verdict === "free") continue;
      if (verdict !== "abandoned") return verdict;
      if (existing !== undefined && (await this.#takeOver(token, existing.claimedAt, record))) {
        return { kind: "claimed" };
      }
    }
    throw new ConcurrentModificationError(
      "The clientToken is being claimed concurrently; retry the request.",
    );
  }

  async complete(token: string, response: StoredResponse): Promise<void> {
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: keys.idempotency(token),
            UpdateExpression: "SET #state = :completed, #response = :response",
            ConditionExpression: "attribute_exists(#pk)",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#state": "state", "#response": "response" },
            ExpressionAttributeValues: { ":completed": "COMPLETED", ":response": JSON.stringify(response) },
          }),
        ),
      );
    } catch (error) {
      // The claim expired or was released meanwhile. The request's effect has happened; failing it now
      // would only turn a success into an error, and recreating the record would lack its request hash.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async release(token: string): Promise<void> {
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new DeleteCommand({
            TableName: this.#tableName,
            Key: keys.idempotency(token),
            ConditionExpression: "#state = :inProgress",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":inProgress": "IN_PROGRESS" },
          }),
        ),
      );
    } catch (error) {
      // Already gone, or COMPLETED: a completed answer must stay replayable, so it is not deleted.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async #putIfFree(token: string, record: IdempotencyRecord, now: Date): Promise<boolean> {
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: { ...keys.idempotency(token), ...record },
            // TTL deletion lags by up to days, so an expired record counts as absent here.
            ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt < :now",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#expiresAt": TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ":now": epochSeconds(now) },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Takes over an abandoned claim, unless someone else did since we read it (`claimedAt` moved). */
  async #takeOver(token: string, seenClaimedAt: number, record: IdempotencyRecord): Promise<boolean> {
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: keys.idempotency(token),
            UpdateExpression: "SET #claimedAt = :claimedAt, #expiresAt = :expiresAt",
            ConditionExpression: "#state = :inProgress AND #claimedAt = :seen AND #hash = :hash",
            ExpressionAttributeNames: {
              "#state": "state",
              "#claimedAt": "claimedAt",
              "#expiresAt": TTL_ATTRIBUTE,
              "#hash": "requestHash",
            },
            ExpressionAttributeValues: {
              ":inProgress": "IN_PROGRESS",
              ":seen": seenClaimedAt,
              ":claimedAt": record.claimedAt,
              ":expiresAt": record.expiresAt,
              ":hash": record.requestHash,
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async #read(token: string): Promise<IdempotencyRecord | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: keys.idempotency(token), ConsistentRead: true }),
      ),
    );
    return out.Item as IdempotencyRecord | undefined;
  }
}
