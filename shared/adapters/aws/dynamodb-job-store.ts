import { randomUUID } from "node:crypto";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConcurrentModificationError, JobExistsError, JobNotFoundError } from "../../domain/errors.ts";
import { isTerminalJob, type Job, type JobStatus } from "../../domain/job.ts";
import * as z from "../../domain/zod.ts";
import type { Clock } from "../../ports/clock.ts";
import {
  JOB_CHANGE_FIELDS,
  JOB_SUMMARY_FIELDS,
  type JobChanges,
  type JobListRequest,
  type JobStore,
  type JobSummary,
} from "../../ports/job-store.ts";
import type { Page, PageRequest } from "../../ports/page.ts";
import { systemClock } from "../system.ts";
import { callDynamoDb, isConditionalCheckFailed } from "./dynamodb-client.ts";
import { pickDefined, rawString, withoutAttributes } from "./dynamodb-items.ts";
import { assertPageLimit, assertPageTokenSecret, decodePageToken, encodePageToken } from "./page-token.ts";
import {
  BY_NAME_INDEX,
  BY_STATUS_INDEX,
  JOB_SORT_KEY_PREFIX,
  jobIdRange,
  KEY_ATTRIBUTES,
  keys,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "./table-schema.ts";

/*
 * Paging positions and scopes of the job listings. Both job stores (DynamoDB and memory) use these, so a
 * token means the same in both.
 */

/**
 * Scope of one cluster's job listing. It binds the cluster, the status filter and the id range (the
 * derived bounds, so two spellings of one time are one listing): a token works only for the same listing.
 */
export function jobListScope(
  clusterName: string,
  status: JobStatus | undefined,
  range: { readonly from?: string; readonly to?: string },
): string {
  return `jobs:${JSON.stringify([clusterName, status ?? null, range.from ?? null, range.to ?? null])}`;
}

/** Scope of the active-jobs listing. */
export const ACTIVE_JOBS_SCOPE = "jobs:active";

/** Resume a cluster's (newest-first) job listing below this job id (exclusive). */
export const JobListPositionSchema = z.strictObject({ before: z.string().check(z.minLength(1)) });

/** Resume the (oldest-first) active-jobs listing after this job (exclusive). */
export const ActiveJobsPositionSchema = z.strictObject({
  clusterName: z.string().check(z.minLength(1)),
  jobId: z.string().check(z.minLength(1)),
});

/** Seconds in a day, for the retention. */
const DAY_SECONDS = 86_400;

/**
 * Throws `RangeError` unless `days` is a usable retention: a positive, finite number of days.
 * Both stores check it in their constructor, so a misconfiguration fails at start-up.
 */
export function assertRetentionDays(days: number): void {
  if (!Number.isFinite(days) || days <= 0)
    throw new RangeError(`retentionDays must be a positive number, got ${days}`);
}

/** The expiry (epoch seconds, DynamoDB's TTL unit) of a job that finishes at `now`. */
export function jobExpiresAt(now: Date, retentionDays: number): number {
  return Math.floor(now.getTime() / 1000) + Math.round(retentionDays * DAY_SECONDS);
}

/** A deep copy without undefined values: DynamoDB must never be asked to write one. */
function withoutUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Construction options for {@link DynamoDbJobStore}. */
export interface DynamoDbJobStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Signs pagination tokens; the same value in every function that serves the same API. */
  readonly pageTokenSecret: string;
  /** How long a finished job stays queryable: its expiry (TTL) is set this many days after it finishes. */
  readonly retentionDays: number;
  /** Defaults to the system clock; it dates expiries. */
  readonly clock?: Clock;
}

/** Marks the item a `create` wrote, so a retry of that same write (its answer lost) is known as ours. */
const CREATE_NONCE = "createNonce";

/** Attributes of the item that are not `Job` fields. */
const STORAGE_ATTRIBUTES = new Set<string>([...KEY_ATTRIBUTES, TTL_ATTRIBUTE, CREATE_NONCE]);

function toJob(item: Record<string, unknown>): Job {
  return withoutAttributes<Job>(item, STORAGE_ATTRIBUTES);
}

function toSummary(item: Record<string, unknown>): JobSummary {
  return pickDefined<JobSummary>(item, JOB_SUMMARY_FIELDS);
}

/** `ProjectionExpression` and its names for a list of attributes (several are reserved words). */
function projection(attributes: readonly string[]): {
  expression: string;
  names: Record<string, string>;
} {
  const names: Record<string, string> = {};
  attributes.forEach((attribute, i) => {
    names[`#p${i}`] = attribute;
  });
  return { expression: Object.keys(names).join(", "), names };
}

/**
 * `JobStore` on the single DynamoDB table (see `table-schema.ts`): a job is an item in its cluster's
 * partition (`sk = JOB#<jobId>`), in the `byStatus` index under `JOBSTATUS#<cluster>#<status>` and, until it
 * finishes, in the sparse `byName` index under `ACTIVEJOBS`. Every write is one conditional single-item
 * write, so it also works on dynalite, which has no transactions.
 */
export class DynamoDbJobStore implements JobStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #secret: string;
  readonly #retentionDays: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbJobStoreOptions) {
    assertPageTokenSecret(options.pageTokenSecret);
    assertRetentionDays(options.retentionDays);
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#secret = options.pageTokenSecret;
    this.#retentionDays = options.retentionDays;
    this.#clock = options.clock ?? systemClock;
  }

  async create(job: Job): Promise<void> {
    const nonce = randomUUID();
    const item: Record<string, unknown> = {
      ...withoutUndefined(job),
      ...keys.job(job.clusterName, job.jobId),
      ...this.#indexAttributes(job.clusterName, job.jobId, job.status),
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
      return;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      let existingNonce = rawString((error as { Item?: unknown }).Item, CREATE_NONCE);
      existingNonce ??= await this.#readNonce(job.clusterName, job.jobId);
      // The SDK retried our own put after its answer was lost: the item there is the one we wrote.
      if (existingNonce === nonce) return;
      throw new JobExistsError(`A job '${job.jobId}' already exists on cluster '${job.clusterName}'.`);
    }
  }

  async #readNonce(clusterName: string, jobId: string): Promise<string | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: keys.job(clusterName, jobId),
          ConsistentRead: true,
          ProjectionExpression: "#nonce",
          ExpressionAttributeNames: { "#nonce": CREATE_NONCE },
        }),
      ),
    );
    const value = out.Item?.[CREATE_NONCE];
    return typeof value === "string" ? value : undefined;
  }

  async get(clusterName: string, jobId: string): Promise<Job | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: keys.job(clusterName, jobId),
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item === undefined ? undefined : toJob(out.Item);
  }

  async update(
    clusterName: string,
    jobId: string,
    expectedVersion: number,
    changes: JobChanges,
  ): Promise<Job> {
    const names: Record<string, string> = { "#pk": PARTITION_KEY, "#version": "version" };
    const values: Record<string, unknown> = { ":expectedVersion": expectedVersion, ":one": 1 };
    const sets = ["#version = #version + :one"];
    const removes: string[] = [];
    const set = (attribute: string, value: unknown) => {
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = withoutUndefined(value);
      sets.push(`#${attribute} = :${attribute}`);
    };
    const remove = (attribute: string) => {
      names[`#${attribute}`] = attribute;
      removes.push(`#${attribute}`);
    };

    for (const field of JOB_CHANGE_FIELDS) {
      const value = changes[field];
      if (value !== undefined) set(field, value);
    }
    if (changes.status !== undefined) {
      // The index keys follow the status: always in its status's partition; in the active index and
      // without expiry exactly while it is not finished.
      for (const [attribute, value] of Object.entries(
        this.#indexAttributes(clusterName, jobId, changes.status),
      )) {
        set(attribute, value);
      }
      if (isTerminalJob(changes.status)) {
        remove(BY_NAME_INDEX.partitionKey);
        remove(BY_NAME_INDEX.sortKey);
      } else {
        remove(TTL_ATTRIBUTE);
      }
    }

    let expression = `SET ${sets.join(", ")}`;
    if (removes.length > 0) expression += ` REMOVE ${removes.join(", ")}`;
    try {
      const out = await callDynamoDb(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: keys.job(clusterName, jobId),
            UpdateExpression: expression,
            ConditionExpression: "attribute_exists(#pk) AND #version = :expectedVersion",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
      if (out.Attributes === undefined)
        throw new Error("UpdateItem with ReturnValues ALL_NEW returned nothing");
      return toJob(out.Attributes);
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // DynamoDB returns the current item when there is one; dynalite never does, so read it then.
      const exists =
        (error as { Item?: unknown }).Item !== undefined ||
        (await this.get(clusterName, jobId)) !== undefined;
      if (!exists) throw new JobNotFoundError(clusterName, jobId);
      throw new ConcurrentModificationError(
        `Job '${jobId}' on cluster '${clusterName}' was changed by another request; read it again.`,
      );
    }
  }

  /** The index keys (and expiry) an item in `status` carries; those it must not carry are not listed. */
  #indexAttributes(clusterName: string, jobId: string, status: JobStatus): Record<string, unknown> {
    const attributes: Record<string, unknown> = {
      [BY_STATUS_INDEX.partitionKey]: keys.jobStatus(clusterName, status),
      [BY_STATUS_INDEX.sortKey]: jobId,
    };
    if (isTerminalJob(status)) {
      attributes[TTL_ATTRIBUTE] = jobExpiresAt(this.#clock.now(), this.#retentionDays);
    } else {
      attributes[BY_NAME_INDEX.partitionKey] = keys.activeJobs;
      attributes[BY_NAME_INDEX.sortKey] = jobId;
    }
    return attributes;
  }

  async list(clusterName: string, request: JobListRequest): Promise<Page<JobSummary>> {
    assertPageLimit(request.limit);
    const range = jobIdRange(request);
    const scope = jobListScope(clusterName, request.status, range);
    const before =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, scope, this.#secret, JobListPositionSchema).before;
    // An empty range (DynamoDB would refuse BETWEEN with its bounds the wrong way round).
    if (range.from !== undefined && range.to !== undefined && range.from >= range.to) return { items: [] };

    const { expression, names } = projection(JOB_SUMMARY_FIELDS);
    let input: QueryCommandInput;
    let startKey: Record<string, unknown> | undefined;
    if (request.status === undefined) {
      // The cluster's own partition: bounding the sort key to `JOB#...` leaves the CLUSTER item out.
      input = {
        TableName: this.#tableName,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeNames: { ...names, "#pk": PARTITION_KEY, "#sk": SORT_KEY },
        ExpressionAttributeValues: {
          ":pk": keys.cluster(clusterName)[PARTITION_KEY],
          ":from": `${JOB_SORT_KEY_PREFIX}${range.from ?? ""}`,
          // `to` is exclusive, but no job's sort key equals it: every id in that millisecond is longer.
          // Without it, `JOB$` (`$` follows `#`) is above every job's sort key.
          ":to": range.to === undefined ? "JOB$" : `${JOB_SORT_KEY_PREFIX}${range.to}`,
        },
        // Read-your-writes: a job just submitted shows in its cluster's listing at once.
        ConsistentRead: true,
      };
      if (before !== undefined) startKey = keys.job(clusterName, before);
    } else {
      const partition = keys.jobStatus(clusterName, request.status);
      const key = rangeCondition(range);
      input = {
        TableName: this.#tableName,
        IndexName: BY_STATUS_INDEX.indexName,
        KeyConditionExpression: `#pk = :pk${key.condition}`,
        ExpressionAttributeNames: {
          ...names,
          "#pk": BY_STATUS_INDEX.partitionKey,
          ...(key.condition === "" ? {} : { "#sk": BY_STATUS_INDEX.sortKey }),
        },
        ExpressionAttributeValues: { ":pk": partition, ...key.values },
      };
      if (before !== undefined) {
        startKey = {
          ...keys.job(clusterName, before),
          [BY_STATUS_INDEX.partitionKey]: partition,
          [BY_STATUS_INDEX.sortKey]: before,
        };
      }
    }
    const items = await this.#queryPage(
      { ...input, ProjectionExpression: expression, ScanIndexForward: false },
      startKey,
      request.limit + 1,
    );
    const page = items.slice(0, request.limit).map(toSummary);
    const last = page.at(-1);
    if (items.length <= request.limit || last === undefined) return { items: page };
    return { items: page, nextToken: encodePageToken({ before: last.jobId }, scope, this.#secret) };
  }

  async listActive(request: PageRequest): Promise<Page<Pick<Job, "clusterName" | "jobId">>> {
    assertPageLimit(request.limit);
    const after =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, ACTIVE_JOBS_SCOPE, this.#secret, ActiveJobsPositionSchema);
    const { expression, names } = projection(["clusterName", "jobId"]);
    const items = await this.#queryPage(
      {
        TableName: this.#tableName,
        IndexName: BY_NAME_INDEX.indexName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { ...names, "#pk": BY_NAME_INDEX.partitionKey },
        ExpressionAttributeValues: { ":pk": keys.activeJobs },
        ProjectionExpression: expression,
        ScanIndexForward: true,
      },
      // A position, not a lookup: the job there may have finished (and left the index) since.
      after === undefined
        ? undefined
        : {
            ...keys.job(after.clusterName, after.jobId),
            [BY_NAME_INDEX.partitionKey]: keys.activeJobs,
            [BY_NAME_INDEX.sortKey]: after.jobId,
          },
      request.limit + 1,
    );
    const page = items
      .slice(0, request.limit)
      .map((item) => ({ clusterName: String(item.clusterName), jobId: String(item.jobId) }));
    const last = page.at(-1);
    if (items.length <= request.limit || last === undefined) return { items: page };
    return { items: page, nextToken: encodePageToken(last, ACTIVE_JOBS_SCOPE, this.#secret) };
  }

  /**
   * Up to `wanted` items of a query, from `startKey` on. One item more than a page tells whether another
   * page exists, so no token ever leads to an empty page; DynamoDB may stop early at 1 MB, so keep
   * reading until there are that many or the query is done.
   */
  async #queryPage(
    input: QueryCommandInput,
    startKey: Record<string, unknown> | undefined,
    wanted: number,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let exclusiveStartKey = startKey;
    do {
      const out = await callDynamoDb(() =>
        this.#client.send(
          new QueryCommand({
            ...input,
            Limit: wanted - items.length,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      exclusiveStartKey = out.LastEvaluatedKey;
    } while (items.length < wanted && exclusiveStartKey !== undefined);
    return items;
  }
}

/** The sort-key condition on the status index for an id range (`#sk`, `:from`, `:to`). */
function rangeCondition(range: { readonly from?: string; readonly to?: string }): {
  condition: string;
  values: Record<string, string>;
} {
  const { from, to } = range;
  if (from !== undefined && to !== undefined) {
    // BETWEEN is inclusive, but no job id equals `to`: every id in that millisecond is longer.
    return { condition: " AND #sk BETWEEN :from AND :to", values: { ":from": from, ":to": to } };
  }
  if (from !== undefined) return { condition: " AND #sk >= :from", values: { ":from": from } };
  if (to !== undefined) return { condition: " AND #sk < :to", values: { ":to": to } };
  return { condition: "", values: {} };
}
