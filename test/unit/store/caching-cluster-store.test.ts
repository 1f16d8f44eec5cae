import { describe, expect, it } from "vitest";
import { CachingClusterStore } from "#shared/adapters/local/caching-cluster-store.ts";
import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import { ConcurrentModificationError } from "#shared/domain/errors.ts";
import { describeClusterStoreContract, makeCluster, makeEvent } from "./cluster-store-contract.ts";

describeClusterStoreContract(
  "CachingClusterStore",
  async () => new CachingClusterStore(new MemoryClusterStore()),
);

/** A memory store that counts reads and can be told to fail the next update. */
class CountingStore extends MemoryClusterStore {
  gets = 0;
  failNextUpdate = false;
  override async get(name: string) {
    this.gets++;
    return super.get(name);
  }
  override async update(...args: Parameters<MemoryClusterStore["update"]>) {
    if (this.failNextUpdate) {
      this.failNextUpdate = false;
      throw new ConcurrentModificationError("someone else wrote");
    }
    return super.update(...args);
  }
}

describe("CachingClusterStore", () => {
  it("serves repeated reads of a cluster without asking the database", async () => {
    const inner = new CountingStore();
    const store = new CachingClusterStore(inner);
    await store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

    for (let i = 0; i < 5; i++) expect((await store.get("alpha"))?.name).toBe("alpha");

    expect(inner.gets).toBe(0);
  });

  it("answers the written record after an update", async () => {
    const store = new CachingClusterStore(new MemoryClusterStore());
    const cluster = makeCluster("alpha");
    await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));
    await store.update(
      "alpha",
      { version: 1, clusterId: cluster.clusterId },
      { status: "CREATE_COMPLETE", updatedAt: "2026-01-01T00:00:01.000Z" },
    );

    expect(await store.get("alpha")).toMatchObject({ status: "CREATE_COMPLETE", version: 2 });
  });

  it("reads the database again after a write whose condition failed", async () => {
    const inner = new CountingStore();
    const store = new CachingClusterStore(inner);
    const cluster = makeCluster("alpha");
    await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));
    inner.failNextUpdate = true;

    await expect(
      store.update(
        "alpha",
        { version: 1, clusterId: cluster.clusterId },
        { updatedAt: "2026-01-01T00:00:01.000Z" },
      ),
    ).rejects.toBeInstanceOf(ConcurrentModificationError);
    await store.get("alpha");

    expect(inner.gets).toBe(1);
  });

  it("hands out copies, so a caller mutating a result cannot change what is cached", async () => {
    const store = new CachingClusterStore(new MemoryClusterStore());
    await store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

    const read = (await store.get("alpha")) as { tags: Record<string, string> } | undefined;
    if (read) read.tags.team = "changed";

    expect((await store.get("alpha"))?.tags.team).toBe("cfd");
  });

  it("keeps at most maxEntries records, dropping the least recently written", async () => {
    const inner = new CountingStore();
    const store = new CachingClusterStore(inner, 2);
    for (const name of ["a", "b", "c"])
      await store.create(makeCluster(name), makeEvent("CREATE_IN_PROGRESS"));

    await store.get("b");
    await store.get("c");
    expect(inner.gets).toBe(0);
    await store.get("a");
    expect(inner.gets).toBe(1);
  });
});
