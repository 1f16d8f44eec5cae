import { describe, expect, it } from "vitest";
import { CachingJobStore } from "#shared/adapters/local/caching-job-store.ts";
import { MemoryJobStore } from "#shared/adapters/local/memory-job-store.ts";
import { ConcurrentModificationError } from "#shared/domain/errors.ts";
import { describeJobStoreContract, makeJob } from "./job-store-contract.ts";

describeJobStoreContract("CachingJobStore", async () => {
  const inner = new MemoryJobStore({ retentionDays: 45 });
  return {
    store: new CachingJobStore(inner),
    retentionDays: 45,
    expiresAt: async (cluster, jobId) => inner.expiresAt(cluster, jobId),
  };
});

/** A memory store that counts reads. */
class CountingJobStore extends MemoryJobStore {
  gets = 0;
  override async get(clusterName: string, jobId: string) {
    this.gets++;
    return super.get(clusterName, jobId);
  }
}

describe("CachingJobStore", () => {
  it("serves a job written through it without reading the database, and the newest version after an update", async () => {
    const inner = new CountingJobStore({ retentionDays: 30 });
    const store = new CachingJobStore(inner);
    const job = makeJob("alpha");
    await store.create(job);
    await store.update("alpha", job.jobId, job.version, { status: "RUNNING", updatedAt: job.updatedAt });

    expect(await store.get("alpha", job.jobId)).toMatchObject({
      status: "RUNNING",
      version: job.version + 1,
    });
    expect(inner.gets).toBe(0);
  });

  it("reads the database again after a write whose condition failed", async () => {
    const inner = new CountingJobStore({ retentionDays: 30 });
    const store = new CachingJobStore(inner);
    const job = makeJob("alpha");
    await store.create(job);

    await expect(
      store.update("alpha", job.jobId, job.version + 5, { updatedAt: job.updatedAt }),
    ).rejects.toBeInstanceOf(ConcurrentModificationError);
    await store.get("alpha", job.jobId);

    expect(inner.gets).toBe(1);
  });
});
