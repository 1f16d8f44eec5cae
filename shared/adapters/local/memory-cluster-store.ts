import { randomBytes } from "node:crypto";
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
import {
  assertPageLimit,
  assertPageTokenSecret,
  ClusterListPositionSchema,
  clusterListScope,
  decodePageToken,
  encodePageToken,
  pageHistory,
} from "../aws/page-token.ts";
import { compareKeys } from "./key-order.ts";

/** Construction options for {@link MemoryClusterStore}. */
export interface MemoryClusterStoreOptions {
  /** Signs pagination tokens; a random one per store when omitted. */
  readonly pageTokenSecret?: string;
}

interface StoredCluster {
  cluster: Cluster;
  history: ClusterEvent[];
}

function withoutUndefined<T extends object>(value: T): T {
  // Mirrors the DynamoDB store, which never writes undefined (removeUndefinedValues).
  return JSON.parse(JSON.stringify(value)) as T;
}

function toSummary(cluster: Cluster): ClusterSummary {
  return withoutUndefined(
    Object.fromEntries(CLUSTER_SUMMARY_FIELDS.map((field) => [field, cluster[field]])) as ClusterSummary,
  );
}

/**
 * `ClusterStore` in process memory, for unit tests and benchmarks. Same semantics as the DynamoDB store
 * (conditions, listing order, tokens), checked by one shared test suite. Every value going in or out is
 * copied, so callers cannot change stored state by mutating what they hold.
 */
export class MemoryClusterStore implements ClusterStore {
  readonly #records = new Map<string, StoredCluster>();
  readonly #secret: string;

  constructor(options: MemoryClusterStoreOptions = {}) {
    this.#secret = options.pageTokenSecret ?? randomBytes(32).toString("base64url");
    assertPageTokenSecret(this.#secret);
  }

  async create(cluster: Cluster, firstEvent: ClusterEvent): Promise<void> {
    const existing = this.#records.get(cluster.name);
    if (existing !== undefined && holdsName(existing.cluster.status)) {
      throw new ClusterExistsError(cluster.name, existing.cluster.status);
    }
    this.#records.set(cluster.name, {
      cluster: withoutUndefined(cluster),
      history: [withoutUndefined(firstEvent)],
    });
  }

  async get(name: string): Promise<Cluster | undefined> {
    const record = this.#records.get(name);
    return record === undefined ? undefined : structuredClone(record.cluster);
  }

  async update(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
    changes: ClusterChanges,
    event?: ClusterEvent,
  ): Promise<Cluster> {
    const record = this.#current(name, expected);
    const given: Record<string, unknown> = {};
    for (const field of CLUSTER_CHANGE_FIELDS) given[field] = changes[field];
    record.cluster = { ...record.cluster, ...withoutUndefined(given), version: record.cluster.version + 1 };
    if (event !== undefined) record.history.push(withoutUndefined(event));
    return structuredClone(record.cluster);
  }

  async remove(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
  ): Promise<void> {
    this.#current(name, expected);
    this.#records.delete(name);
  }

  async list(request: PageRequest & { readonly status?: ClusterStatus }): Promise<Page<ClusterSummary>> {
    assertPageLimit(request.limit);
    const scope = clusterListScope(request.status);
    const after =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, scope, this.#secret, ClusterListPositionSchema).after;
    const matching = [...this.#records.values()]
      .map((record) => record.cluster)
      .filter((cluster) =>
        request.status === undefined ? holdsName(cluster.status) : cluster.status === request.status,
      )
      .filter((cluster) => after === undefined || compareKeys(cluster.name, after) > 0)
      .sort((a, b) => compareKeys(a.name, b.name));
    const page = matching.slice(0, request.limit).map(toSummary);
    const last = page.at(-1);
    if (matching.length <= request.limit || last === undefined) return { items: page };
    return { items: page, nextToken: encodePageToken({ after: last.name }, scope, this.#secret) };
  }

  async countByStatus(status: ClusterStatus): Promise<number> {
    let count = 0;
    for (const entry of this.#records.values()) if (entry.cluster.status === status) count++;
    return count;
  }

  async listEvents(name: string, request: PageRequest): Promise<Page<ClusterEvent>> {
    const record = this.#records.get(name);
    if (record === undefined) throw new ClusterNotFoundError(name);
    return structuredClone(pageHistory(record.history, record.cluster.clusterId, request, this.#secret));
  }

  /** The record, if it is still at `expected`; the same errors as the DynamoDB store's conditions. */
  #current(name: string, expected: { readonly version: number; readonly clusterId: string }): StoredCluster {
    const record = this.#records.get(name);
    if (record === undefined) throw new ClusterNotFoundError(name);
    if (record.cluster.version !== expected.version || record.cluster.clusterId !== expected.clusterId) {
      throw new ConcurrentModificationError(
        `Cluster '${name}' was changed by another request; read it again.`,
      );
    }
    return record;
  }
}
