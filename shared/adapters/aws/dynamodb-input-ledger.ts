import { randomUUID } from "node:crypto";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConcurrentModificationError } from "../../domain/errors.ts";
import type { Clock } from "../../ports/clock.ts";
import type { InputLedger, LedgerClaim, ObjectEventRef } from "../../ports/input-ledger.ts";
import { systemClock } from "../system.ts";
import { callDynamoDb, isConditionalCheckFailed } from "./dynamodb-client.ts";
import { rawString } from "./dynamodb-items.ts";
import { keys, PARTITION_KEY, TTL_ATTRIBUTE } from "./table-schema.ts";

/** What the ledger keeps per (bucket, key): the latest event claimed for it. */
export interface LedgerEntry {
  readonly sequencer: string;
  readonly identity: string;
  readonly state: "IN_PROGRESS" | "DONE";
  /** ISO time of the claim, for the operator reading the table. */
  readonly claimedAt: string;
  /** Epoch seconds (the TTL): past it, the entry counts as absent even before DynamoDB deletes it. */
  readonly expiresAt: number;
  /** Set by the DynamoDB ledger only: tells its own write apart when the SDK retried it. */
  readonly claimNonce?: string;
}

/** Epoch seconds, the unit DynamoDB's TTL reads. */
function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * What an entry already there means for claiming `ref` at `now`; `"free"` means the claim may be written
 * (no entry, an expired one, or one for an earlier event). Shared with the memory ledger so that both
 * decide alike. Sequencers are normalized (fixed-width upper-case hex), so string order is S3's order,
 * and DynamoDB's byte order agrees with it.
 */
export function judgeLedgerEntry(
  entry: LedgerEntry | undefined,
  ref: ObjectEventRef,
  now: Date,
  nonce?: string,
): LedgerClaim | "free" {
  if (entry === undefined || entry.expiresAt < epochSeconds(now) || entry.sequencer < ref.sequencer) {
    return "free";
  }
  // Our own write, whose answer was lost and which the SDK then retried.
  if (nonce !== undefined && entry.claimNonce === nonce) return { kind: "claimed" };
  if (entry.sequencer > ref.sequencer || entry.identity !== ref.identity) {
    return { kind: "older", latestSequencer: entry.sequencer };
  }
  return entry.state === "DONE" ? { kind: "duplicate" } : { kind: "resumed" };
}

/** The entry a claim writes. */
export function newLedgerEntry(ref: ObjectEventRef, now: Date, expiresAt: Date): LedgerEntry {
  return {
    sequencer: ref.sequencer,
    identity: ref.identity,
    state: "IN_PROGRESS",
    claimedAt: now.toISOString(),
    expiresAt: epochSeconds(expiresAt),
  };
}

/**
 * Attempts at claiming. Only an entry that expires or disappears between our write and our read of it
 * costs an attempt (a stored sequencer never goes down otherwise), so three are plenty.
 */
const CLAIM_ATTEMPTS = 3;

/** Construction options for {@link DynamoDbInputLedger}. */
export interface DynamoDbInputLedgerOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Defaults to the system clock; it decides which entries have expired. */
  readonly clock?: Clock;
}

/** Reads the entry out of the raw (marshalled) item a failed condition may return. */
function rawEntry(item: unknown): LedgerEntry | undefined {
  const sequencer = rawString(item, "sequencer");
  const identity = rawString(item, "identity");
  const state = rawString(item, "state");
  const expiresAt = Number(
    (item as Record<string, { N?: unknown } | undefined> | undefined)?.[TTL_ATTRIBUTE]?.N,
  );
  if (sequencer === undefined || identity === undefined || state === undefined || Number.isNaN(expiresAt)) {
    return undefined;
  }
  const claimNonce = rawString(item, "claimNonce");
  return {
    sequencer,
    identity,
    state: state === "DONE" ? "DONE" : "IN_PROGRESS",
    claimedAt: rawString(item, "claimedAt") ?? "",
    expiresAt,
    ...(claimNonce === undefined ? {} : { claimNonce }),
  };
}

/**
 * `InputLedger` on the single DynamoDB table: one item per object key (`INPUT#<bucket>/<key>` / `INPUT`),
 * expired by TTL. A claim is one conditional put, so concurrent deliveries of one key serialise on it.
 */
export class DynamoDbInputLedger implements InputLedger {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #clock: Clock;

  constructor(options: DynamoDbInputLedgerOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? systemClock;
  }

  async claim(ref: ObjectEventRef, expiresAt: Date): Promise<LedgerClaim> {
    const nonce = randomUUID();
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const now = this.#clock.now();
      const entry: LedgerEntry = { ...newLedgerEntry(ref, now, expiresAt), claimNonce: nonce };
      let failure: unknown;
      try {
        await callDynamoDb(() =>
          this.#client.send(
            new PutCommand({
              TableName: this.#tableName,
              Item: { ...keys.input(ref.bucket, ref.key), ...entry },
              // TTL deletion lags by up to days, so an expired entry counts as absent here.
              ConditionExpression:
                "attribute_not_exists(#pk) OR #expiresAt < :now OR #sequencer < :sequencer",
              ExpressionAttributeNames: {
                "#pk": PARTITION_KEY,
                "#expiresAt": TTL_ATTRIBUTE,
                "#sequencer": "sequencer",
              },
              ExpressionAttributeValues: { ":now": epochSeconds(now), ":sequencer": ref.sequencer },
              // DynamoDB then returns the entry we collided with, saving a read; dynalite ignores it.
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          ),
        );
        return { kind: "claimed" };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        failure = error;
      }
      const existing = rawEntry((failure as { Item?: unknown }).Item) ?? (await this.#read(ref));
      const verdict = judgeLedgerEntry(existing, ref, now, nonce);
      // The entry expired or vanished between our write and our read: write again.
      if (verdict !== "free") return verdict;
    }
    throw new ConcurrentModificationError(
      `The ledger entry for s3://${ref.bucket}/${ref.key} keeps changing; retry.`,
    );
  }

  async complete(ref: ObjectEventRef): Promise<void> {
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: keys.input(ref.bucket, ref.key),
            UpdateExpression: "SET #state = :done",
            ConditionExpression: "#sequencer = :sequencer AND #identity = :identity",
            ExpressionAttributeNames: {
              "#state": "state",
              "#sequencer": "sequencer",
              "#identity": "identity",
            },
            ExpressionAttributeValues: {
              ":done": "DONE",
              ":sequencer": ref.sequencer,
              ":identity": ref.identity,
            },
          }),
        ),
      );
    } catch (error) {
      // A later event took the key (or the entry expired and went): that one is not ours to mark.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async #read(ref: ObjectEventRef): Promise<LedgerEntry | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: keys.input(ref.bucket, ref.key),
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item as LedgerEntry | undefined;
  }
}
