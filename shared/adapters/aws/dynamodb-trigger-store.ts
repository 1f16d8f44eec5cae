import { randomUUID } from "node:crypto";
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  ConcurrentModificationError,
  ServiceUnavailableError,
  TriggerExistsError,
} from "../../domain/errors.ts";
import { MAX_TRIGGER_FAILURES, type TriggerFailure, type TriggerRule } from "../../domain/trigger.ts";
import type { Page, PageRequest } from "../../ports/page.ts";
import { TRIGGER_SUMMARY_FIELDS, type TriggerStore, type TriggerSummary } from "../../ports/trigger-store.ts";
import { callDynamoDb, isConditionalCheckFailed } from "./dynamodb-client.ts";
import { pickDefined, rawString, withoutAttributes } from "./dynamodb-items.ts";
import {
  assertPageLimit,
  assertPageTokenSecret,
  ClusterListPositionSchema,
  decodePageToken,
  encodePageToken,
} from "./page-token.ts";
import { BY_NAME_INDEX, BY_STATUS_INDEX, KEY_ATTRIBUTES, keys, PARTITION_KEY } from "./table-schema.ts";

/*
 * Paging of the rule listing, shared by both trigger stores (DynamoDB and memory) so a token means the
 * same in both.
 */

/** Scope of the rule listing: its tokens are refused by every other listing. */
export const TRIGGER_LIST_SCOPE = "triggers";

/** Resume the rule listing after this name (exclusive). */

/**
 * The failures a rule keeps once `failure` is added: newest first, at most `MAX_TRIGGER_FAILURES`. Both
 * stores use it, so they keep the same ones.
 */
export function withFailure(
  failures: readonly TriggerFailure[],
  failure: TriggerFailure,
): readonly TriggerFailure[] {
  return [failure, ...failures].slice(0, MAX_TRIGGER_FAILURES);
}

/** Attempts at `recordFailure` before giving up; each lost race means another failure was recorded. */
export const RECORD_FAILURE_ATTEMPTS = 40;

/** Construction options for {@link DynamoDbTriggerStore}. */
export interface DynamoDbTriggerStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Signs pagination tokens; the same value in every function that serves the same API. */
  readonly pageTokenSecret: string;
}

/** Marks the item a `create` wrote, so a retry of that same write (its answer lost) is known as ours. */
const CREATE_NONCE = "createNonce";

/** Attributes of the item that are not `TriggerRule` fields. */
const STORAGE_ATTRIBUTES = new Set<string>([...KEY_ATTRIBUTES, CREATE_NONCE]);

/** BatchGetItem takes at most this many keys per call. */
const BATCH_GET_KEYS = 100;
/** Calls per batch before keys DynamoDB keeps leaving unread count as a throttled database. */
const BATCH_GET_ATTEMPTS = 8;

function toRule(item: Record<string, unknown>): TriggerRule {
  return withoutAttributes<TriggerRule>(item, STORAGE_ATTRIBUTES);
}

function toSummary(rule: TriggerRule): TriggerSummary {
  return pickDefined<TriggerSummary>(rule as unknown as Record<string, unknown>, TRIGGER_SUMMARY_FIELDS);
}

/** A short random pause, so that writers who lost a race do not collide again in lockstep. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(5 * 2 ** attempt, 200);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `TriggerStore` on the single DynamoDB table (see `table-schema.ts`): a rule is the item
 * `TRIGGER#<name>` / `TRIGGER`, listed by name through `byName` (`TRIGGERS`) and found by bucket through
 * `byStatus` (`TRIGGERBUCKET#<bucket>`). Every write is one conditional single-item write, so it also
 * works on dynalite, which has no transactions.
 */
export class DynamoDbTriggerStore implements TriggerStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #secret: string;

  constructor(options: DynamoDbTriggerStoreOptions) {
    assertPageTokenSecret(options.pageTokenSecret);
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#secret = options.pageTokenSecret;
  }

  async create(rule: TriggerRule): Promise<void> {
    const nonce = randomUUID();
    const item: Record<string, unknown> = {
      ...rule,
      ...keys.trigger(rule.name),
      [BY_NAME_INDEX.partitionKey]: keys.triggers,
      [BY_NAME_INDEX.sortKey]: rule.name,
      [BY_STATUS_INDEX.partitionKey]: keys.triggerBucket(rule.bucket),
      [BY_STATUS_INDEX.sortKey]: rule.name,
      [CREATE_NONCE]: nonce,
    };
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY },
            // DynamoDB then returns the item we collided with, saving a read; dynalite ignores it.
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      let existingNonce = rawString((error as { Item?: unknown }).Item, CREATE_NONCE);
      existingNonce ??= await this.#readNonce(rule.name);
      // The SDK retried our own put after its answer was lost: the item there is the one we wrote.
      if (existingNonce === nonce) return;
      throw new TriggerExistsError(rule.name);
    }
  }

  async #readNonce(name: string): Promise<string | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: keys.trigger(name),
          ConsistentRead: true,
          ProjectionExpression: "#nonce",
          ExpressionAttributeNames: { "#nonce": CREATE_NONCE },
        }),
      ),
    );
    const value = out.Item?.[CREATE_NONCE];
    return typeof value === "string" ? value : undefined;
  }

  async get(name: string): Promise<TriggerRule | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: keys.trigger(name), ConsistentRead: true }),
      ),
    );
    return out.Item === undefined ? undefined : toRule(out.Item);
  }

  async list(request: PageRequest): Promise<Page<TriggerSummary>> {
    assertPageLimit(request.limit);
    const after =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, TRIGGER_LIST_SCOPE, this.#secret, ClusterListPositionSchema)
            .after;

    // One item more than the page tells whether another page exists, so no token ever leads to an empty
    // page (short of a rule deleted between two pages).
    const items = await this.#queryIndex(BY_NAME_INDEX, keys.triggers, after, request.limit + 1);
    const names = items.slice(0, request.limit).map((item) => String(item[BY_NAME_INDEX.sortKey]));
    // The index gives the names only (its projection is the clusters' and jobs', and a table made before
    // triggers existed keeps it): the summaries come from the rules themselves, in the index's order.
    const page = (await this.#batchGet(names, true)).map(toSummary);
    const last = names.at(-1);
    if (items.length <= request.limit || last === undefined) return { items: page };
    return {
      items: page,
      nextToken: encodePageToken({ after: last }, TRIGGER_LIST_SCOPE, this.#secret),
    };
  }

  async listForBucket(bucket: string): Promise<readonly TriggerRule[]> {
    // The index holds summaries only; it gives the names, the table the rules.
    const summaries = await this.#queryIndex(BY_STATUS_INDEX, keys.triggerBucket(bucket), undefined);
    return this.#batchGet(summaries.map((item) => String(item[BY_STATUS_INDEX.sortKey])));
  }

  async remove(name: string): Promise<boolean> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new DeleteCommand({ TableName: this.#tableName, Key: keys.trigger(name), ReturnValues: "ALL_OLD" }),
      ),
    );
    return out.Attributes !== undefined;
  }

  async recordFailure(name: string, failure: TriggerFailure): Promise<void> {
    for (let attempt = 0; attempt < RECORD_FAILURE_ATTEMPTS; attempt++) {
      const out = await callDynamoDb(() =>
        this.#client.send(
          new GetCommand({
            TableName: this.#tableName,
            Key: keys.trigger(name),
            ConsistentRead: true,
            ProjectionExpression: "#version, #createdAt, #failures",
            ExpressionAttributeNames: {
              "#version": "version",
              "#createdAt": "createdAt",
              "#failures": "recentFailures",
            },
          }),
        ),
      );
      // The rule was deleted: there is nobody left to tell.
      if (out.Item === undefined) return;
      const seen = out.Item as Pick<TriggerRule, "version" | "createdAt" | "recentFailures">;
      try {
        await callDynamoDb(() =>
          this.#client.send(
            new UpdateCommand({
              TableName: this.#tableName,
              Key: keys.trigger(name),
              UpdateExpression: "SET #failures = :failures, #version = #version + :one",
              // `createdAt` too, so a rule deleted and created again under the name is not mistaken for it.
              ConditionExpression: "#version = :seen AND #createdAt = :createdAt",
              ExpressionAttributeNames: {
                "#failures": "recentFailures",
                "#version": "version",
                "#createdAt": "createdAt",
              },
              ExpressionAttributeValues: {
                ":failures": withFailure(seen.recentFailures ?? [], failure),
                ":one": 1,
                ":seen": seen.version,
                ":createdAt": seen.createdAt,
              },
            }),
          ),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      // Another failure was recorded (or the rule deleted) since our read: read again.
      await backoff(attempt);
    }
    throw new ConcurrentModificationError(`Trigger rule '${name}' is changing too often; retry.`);
  }

  /** Every item of one index partition after `after` (exclusive), by sort key, up to `wanted` of them. */
  async #queryIndex(
    index: typeof BY_NAME_INDEX | typeof BY_STATUS_INDEX,
    partition: string,
    after: string | undefined,
    wanted = Number.POSITIVE_INFINITY,
  ): Promise<Record<string, unknown>[]> {
    const names: Record<string, string> = { "#pk": index.partitionKey };
    const values: Record<string, unknown> = { ":pk": partition };
    let condition = "#pk = :pk";
    if (after !== undefined) {
      names["#sk"] = index.sortKey;
      values[":after"] = after;
      condition += " AND #sk > :after";
    }
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    // DynamoDB may stop early at 1 MB; keep reading until we have enough or the partition is done.
    do {
      const remaining = wanted - items.length;
      const out = await callDynamoDb(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            IndexName: index.indexName,
            KeyConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ScanIndexForward: true,
            ExclusiveStartKey: startKey,
            ...(Number.isFinite(remaining) ? { Limit: remaining } : {}),
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (items.length < wanted && startKey !== undefined);
    return items;
  }

  /**
   * The rules named that exist, in the order of `names` (a rule deleted since its name was read is simply
   * not there), in full or (`summaryOnly`) just their summary fields: a listing reads no templates.
   */
  async #batchGet(names: readonly string[], summaryOnly = false): Promise<TriggerRule[]> {
    const byName = new Map<string, TriggerRule>();
    for (let i = 0; i < names.length; i += BATCH_GET_KEYS) {
      for (const rule of await this.#batchGetUpTo100(names.slice(i, i + BATCH_GET_KEYS), summaryOnly))
        byName.set(rule.name, rule);
    }
    return names.flatMap((name) => {
      const rule = byName.get(name);
      return rule === undefined ? [] : [rule];
    });
  }

  /** One BatchGetItem's worth (at most 100 names), unread keys asked for again; in no particular order. */
  async #batchGetUpTo100(names: readonly string[], summaryOnly: boolean): Promise<TriggerRule[]> {
    const rules: TriggerRule[] = [];
    let pending: Record<string, unknown>[] = names.map((name) => keys.trigger(name));
    const projection = summaryOnly
      ? {
          ProjectionExpression: TRIGGER_SUMMARY_FIELDS.map((_, i) => `#f${i}`).join(", "),
          ExpressionAttributeNames: Object.fromEntries(
            TRIGGER_SUMMARY_FIELDS.map((field, i) => [`#f${i}`, field]),
          ),
        }
      : {};
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const out = await callDynamoDb(() =>
        this.#client.send(
          new BatchGetCommand({
            RequestItems: { [this.#tableName]: { Keys: pending, ConsistentRead: true, ...projection } },
          }),
        ),
      );
      for (const item of out.Responses?.[this.#tableName] ?? []) rules.push(toRule(item));
      // Keys DynamoDB left unread (throttling, the 16 MB cap) are asked for again.
      pending = out.UnprocessedKeys?.[this.#tableName]?.Keys ?? [];
      if (attempt >= BATCH_GET_ATTEMPTS - 1 && pending.length > 0) {
        throw new ServiceUnavailableError("The trigger rules could not be read in full; retry shortly.");
      }
    }
    return rules;
  }
}
