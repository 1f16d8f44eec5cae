import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type Cluster, type ClusterEvent, type ClusterStatus, holdsName } from "../../domain/cluster.ts";
import {
  ClusterExistsError,
  ClusterNotFoundError,
  ConcurrentModificationError,
} from "../../domain/errors.ts";
import {
  CLUSTER_CHANGE_FIELDS,
  CLUSTER_SUMMARY_FIELDS,
  type ClusterChanges,
  type ClusterStore,
  type ClusterSummary,
} from "../../ports/cluster-store.ts";
import type { Page, PageRequest } from "../../ports/page.ts";
import { callDynamoDb, isConditionalCheckFailed } from "./dynamodb-client.ts";
import { pickDefined, rawString, withoutAttributes } from "./dynamodb-items.ts";
import {
  assertPageLimit,
  assertPageTokenSecret,
  ClusterListPositionSchema,
  clusterListScope,
  decodePageToken,
  encodePageToken,
  pageHistory,
} from "./page-token.ts";
import {
  BY_NAME_INDEX,
  BY_STATUS_INDEX,
  KEY_ATTRIBUTES,
  keys,
  PARTITION_KEY,
  TTL_ATTRIBUTE,
} from "./table-schema.ts";

/** Construction options for {@link DynamoDbClusterStore}. */
export interface DynamoDbClusterStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Signs pagination tokens; the same value in every function that serves the same API. */
  readonly pageTokenSecret: string;
}

/** Attributes of the item that are not `Cluster` fields. */
const STORAGE_ATTRIBUTES = new Set<string>([...KEY_ATTRIBUTES, TTL_ATTRIBUTE, "history"]);

/** How often `create` re-tries when the record it collided with vanished before it could be read. */
const CREATE_ATTEMPTS = 3;

function toCluster(item: Record<string, unknown>): Cluster {
  return withoutAttributes<Cluster>(item, STORAGE_ATTRIBUTES);
}

function toSummary(item: Record<string, unknown>): ClusterSummary {
  return pickDefined<ClusterSummary>(item, CLUSTER_SUMMARY_FIELDS);
}

/**
 * `ClusterStore` on the single DynamoDB table (see `table-schema.ts` for the layout). Every write is one
 * conditional single-item write, so it also works on dynalite, which has no transactions.
 */
export class DynamoDbClusterStore implements ClusterStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #secret: string;

  constructor(options: DynamoDbClusterStoreOptions) {
    assertPageTokenSecret(options.pageTokenSecret);
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#secret = options.pageTokenSecret;
  }

  async create(cluster: Cluster, firstEvent: ClusterEvent): Promise<void> {
    const item: Record<string, unknown> = {
      ...cluster,
      ...keys.cluster(cluster.name),
      [BY_STATUS_INDEX.partitionKey]: keys.status(cluster.status),
      [BY_STATUS_INDEX.sortKey]: cluster.name,
      history: [firstEvent],
    };
    if (holdsName(cluster.status)) {
      item[BY_NAME_INDEX.partitionKey] = keys.liveClusters;
      item[BY_NAME_INDEX.sortKey] = cluster.name;
    }
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        await callDynamoDb(() =>
          this.#client.send(
            new PutCommand({
              TableName: this.#tableName,
              Item: item,
              ConditionExpression: "attribute_not_exists(#pk) OR #status = :deleteComplete",
              ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#status": "status" },
              ExpressionAttributeValues: { ":deleteComplete": "DELETE_COMPLETE" satisfies ClusterStatus },
              // DynamoDB then returns the record we collided with, saving a read; dynalite ignores it.
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          ),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        failure = error;
      }
      const returned = (failure as { Item?: unknown }).Item;
      let status = rawString(returned, "status");
      let clusterId = rawString(returned, "clusterId");
      if (status === undefined) {
        const existing = await this.get(cluster.name);
        status = existing?.status;
        clusterId = existing?.clusterId;
      }
      // Our own earlier attempt succeeded but its answer was lost and the SDK retried: that is success.
      if (clusterId === cluster.clusterId) return;
      if (status !== undefined && holdsName(status as ClusterStatus))
        throw new ClusterExistsError(cluster.name, status);
      // The record we collided with was removed or reached DELETE_COMPLETE meanwhile: the name may be free.
      if (attempt >= CREATE_ATTEMPTS) {
        throw new ConcurrentModificationError(`The cluster name '${cluster.name}' is changing; retry.`);
      }
    }
  }

  async get(name: string): Promise<Cluster | undefined> {
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: keys.cluster(name), ConsistentRead: true }),
      ),
    );
    return out.Item === undefined ? undefined : toCluster(out.Item);
  }

  async update(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
    changes: ClusterChanges,
    event?: ClusterEvent,
  ): Promise<Cluster> {
    const names: Record<string, string> = {
      "#pk": PARTITION_KEY,
      "#version": "version",
      "#clusterId": "clusterId",
    };
    const values: Record<string, unknown> = {
      ":expectedVersion": expected.version,
      ":clusterId": expected.clusterId,
      ":one": 1,
    };
    const sets = ["#version = #version + :one"];
    const removes: string[] = [];
    const set = (attribute: string, value: unknown) => {
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      sets.push(`#${attribute} = :${attribute}`);
    };

    for (const field of CLUSTER_CHANGE_FIELDS) {
      const value = changes[field];
      if (value !== undefined) set(field, value);
    }
    if (changes.status !== undefined) {
      set(BY_STATUS_INDEX.partitionKey, keys.status(changes.status));
      set(BY_STATUS_INDEX.sortKey, name);
      if (holdsName(changes.status)) {
        set(BY_NAME_INDEX.partitionKey, keys.liveClusters);
        set(BY_NAME_INDEX.sortKey, name);
      } else {
        // Out of the byName index: the default listing shows live clusters only.
        names["#gsi1pk"] = BY_NAME_INDEX.partitionKey;
        names["#gsi1sk"] = BY_NAME_INDEX.sortKey;
        removes.push("#gsi1pk", "#gsi1sk");
      }
    }
    if (event !== undefined) {
      names["#history"] = "history";
      values[":event"] = [event];
      values[":noHistory"] = [];
      sets.push("#history = list_append(if_not_exists(#history, :noHistory), :event)");
    }

    let expression = `SET ${sets.join(", ")}`;
    if (removes.length > 0) expression += ` REMOVE ${removes.join(", ")}`;
    try {
      const out = await callDynamoDb(() =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: keys.cluster(name),
            UpdateExpression: expression,
            ConditionExpression:
              "attribute_exists(#pk) AND #version = :expectedVersion AND #clusterId = :clusterId",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: "ALL_NEW",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
      if (out.Attributes === undefined)
        throw new Error("UpdateItem with ReturnValues ALL_NEW returned nothing");
      return toCluster(out.Attributes);
    } catch (error) {
      throw await this.#explainFailedWrite(name, error);
    }
  }

  async remove(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
  ): Promise<void> {
    try {
      await callDynamoDb(() =>
        this.#client.send(
          new DeleteCommand({
            TableName: this.#tableName,
            Key: keys.cluster(name),
            ConditionExpression: "#version = :expectedVersion AND #clusterId = :clusterId",
            ExpressionAttributeNames: { "#version": "version", "#clusterId": "clusterId" },
            ExpressionAttributeValues: {
              ":expectedVersion": expected.version,
              ":clusterId": expected.clusterId,
            },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
    } catch (error) {
      throw await this.#explainFailedWrite(name, error);
    }
  }

  /** Turns a failed version/id condition into the domain error: no record, or a record that moved on. */
  async #explainFailedWrite(name: string, error: unknown): Promise<unknown> {
    if (!isConditionalCheckFailed(error)) return error;
    // DynamoDB returns the current item when there is one; dynalite never does, so read it then.
    const exists = (error as { Item?: unknown }).Item !== undefined || (await this.get(name)) !== undefined;
    return exists
      ? new ConcurrentModificationError(`Cluster '${name}' was changed by another request; read it again.`)
      : new ClusterNotFoundError(name);
  }

  async list(request: PageRequest & { readonly status?: ClusterStatus }): Promise<Page<ClusterSummary>> {
    assertPageLimit(request.limit);
    const scope = clusterListScope(request.status);
    const after =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, scope, this.#secret, ClusterListPositionSchema).after;
    const index = request.status === undefined ? BY_NAME_INDEX : BY_STATUS_INDEX;
    const partition = request.status === undefined ? keys.liveClusters : keys.status(request.status);

    const names: Record<string, string> = { "#pk": index.partitionKey };
    const values: Record<string, unknown> = { ":pk": partition };
    let condition = "#pk = :pk";
    if (after !== undefined) {
      names["#sk"] = index.sortKey;
      values[":after"] = after;
      condition += " AND #sk > :after";
    }
    const input: QueryCommandInput = {
      TableName: this.#tableName,
      IndexName: index.indexName,
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: true,
    };

    // One item more than the page tells whether another page exists, so no token ever leads to an empty
    // page. DynamoDB may stop early at 1 MB; keep reading until we have that many or the index is done.
    const wanted = request.limit + 1;
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await callDynamoDb(() =>
        this.#client.send(
          new QueryCommand({ ...input, Limit: wanted - items.length, ExclusiveStartKey: startKey }),
        ),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (items.length < wanted && startKey !== undefined);

    const page = items.slice(0, request.limit).map(toSummary);
    const last = page.at(-1);
    if (items.length <= request.limit || last === undefined) return { items: page };
    return { items: page, nextToken: encodePageToken({ after: last.name }, scope, this.#secret) };
  }

  async countByStatus(status: ClusterStatus): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await callDynamoDb(() =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            IndexName: BY_STATUS_INDEX.indexName,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": BY_STATUS_INDEX.partitionKey },
            ExpressionAttributeValues: { ":pk": keys.status(status) },
            Select: "COUNT",
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      count += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return count;
  }

  async listEvents(name: string, request: PageRequest): Promise<Page<ClusterEvent>> {
    assertPageLimit(request.limit);
    const out = await callDynamoDb(() =>
      this.#client.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: keys.cluster(name),
          ConsistentRead: true,
          ProjectionExpression: "#clusterId, #history",
          ExpressionAttributeNames: { "#clusterId": "clusterId", "#history": "history" },
        }),
      ),
    );
    if (out.Item === undefined) throw new ClusterNotFoundError(name);
    const history = (out.Item.history ?? []) as ClusterEvent[];
    return pageHistory(history, String(out.Item.clusterId), request, this.#secret);
  }
}
