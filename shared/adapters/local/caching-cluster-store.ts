import type { Cluster, ClusterEvent, ClusterStatus } from "../../domain/cluster.ts";
import type { ClusterChanges, ClusterStore, ClusterSummary } from "../../ports/cluster-store.ts";
import type { Page, PageRequest } from "../../ports/page.ts";

/**
 * A write-through cache of cluster records in front of another store, for the local server only: there
 * the process is the sole writer of its embedded database (LevelDB locks `DATA_DIR`), so every change
 * passes through here and a cached record is never stale. Reads of one cluster (status polling, the
 * hot path) skip the database; listings and history still read it. A write whose condition failed
 * evicts the entry, so the retry reads the database. Never use it where other processes write.
 */
export class CachingClusterStore implements ClusterStore {
  readonly #records = new Map<string, Cluster>();

  constructor(
    private readonly inner: ClusterStore,
    private readonly maxEntries = 10_000,
  ) {}

  async create(cluster: Cluster, firstEvent: ClusterEvent): Promise<void> {
    this.#records.delete(cluster.name);
    await this.inner.create(cluster, firstEvent);
    // As stored: the database keeps no undefined fields.
    this.#remember(JSON.parse(JSON.stringify(cluster)) as Cluster);
  }

  async get(name: string): Promise<Cluster | undefined> {
    const cached = this.#records.get(name);
    // A copy, as the database would give: a caller mutating its result cannot change the cache.
    if (cached) return structuredClone(cached);
    const cluster = await this.inner.get(name);
    if (cluster) this.#remember(cluster);
    return cluster;
  }

  async update(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
    changes: ClusterChanges,
    event?: ClusterEvent,
  ): Promise<Cluster> {
    try {
      const updated = await this.inner.update(name, expected, changes, event);
      const current = this.#records.get(name);
      // Keep the newest: two writes can return out of order.
      if (!current || current.clusterId !== updated.clusterId || current.version <= updated.version) {
        this.#remember(updated);
      }
      return updated;
    } catch (error) {
      this.#records.delete(name);
      throw error;
    }
  }

  async remove(
    name: string,
    expected: { readonly version: number; readonly clusterId: string },
  ): Promise<void> {
    this.#records.delete(name);
    await this.inner.remove(name, expected);
  }

  list(request: PageRequest & { readonly status?: ClusterStatus }): Promise<Page<ClusterSummary>> {
    return this.inner.list(request);
  }

  countByStatus(status: ClusterStatus): Promise<number> {
    return this.inner.countByStatus(status);
  }

  listEvents(name: string, request: PageRequest): Promise<Page<ClusterEvent>> {
    return this.inner.listEvents(name, request);
  }

  #remember(cluster: Cluster): void {
    this.#records.delete(cluster.name);
    this.#records.set(cluster.name, cluster);
    // Map iteration is insertion order: the first key is the least recently written.
    if (this.#records.size > this.maxEntries) {
      const oldest = this.#records.keys().next().value;
      if (oldest !== undefined) this.#records.delete(oldest);
    }
  }
}
