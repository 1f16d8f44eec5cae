import { afterEach, describe, expect, it, vi } from "vitest";
import { jobIdRange, ulidTimePrefix } from "#shared/adapters/aws/table-schema.ts";
import { MemoryJobStore } from "#shared/adapters/local/memory-job-store.ts";
import { ulidGenerator } from "#shared/adapters/system.ts";
import { describeJobStoreContract, jobIdAt, makeJob } from "./job-store-contract.ts";

describeJobStoreContract("MemoryJobStore", async () => {
  const store = new MemoryJobStore({ retentionDays: 45 });
  return { store, retentionDays: 45, expiresAt: async (cluster, jobId) => store.expiresAt(cluster, jobId) };
});

describe("MemoryJobStore", () => {
  it("hands out copies, so a caller mutating a result cannot change what is stored", async () => {
    const store = new MemoryJobStore();
    const job = makeJob("alpha");
    await store.create(job);

    const read = (await store.get("alpha", job.jobId)) as { spec: { environment: Record<string, string> } };
    read.spec.environment.FRAME = "changed";

    expect((await store.get("alpha", job.jobId))?.spec.environment.FRAME).toBe("42");
  });

  it("dates the expiry with the clock it is given", async () => {
    const now = new Date("2024-06-01T00:00:00.000Z");
    const store = new MemoryJobStore({ retentionDays: 2, clock: { now: () => now } });
    const job = makeJob("alpha", { status: "FAILED" });

    await store.create(job);

    expect(store.expiresAt("alpha", job.jobId)).toBe(now.getTime() / 1000 + 2 * 86_400);
  });

  it("refuses a token signed by a store with another secret", async () => {
    const issuer = new MemoryJobStore({ pageTokenSecret: "first-secret-0123456789" });
    const other = new MemoryJobStore({ pageTokenSecret: "second-secret-0123456789" });
    for (const store of [issuer, other]) {
      for (const ms of [1, 2]) await store.create(makeJob("alpha", {}, Date.UTC(2024, 0, 1) + ms));
    }
    const token = (await issuer.list("alpha", { limit: 1 })).nextToken ?? "";

    await expect(other.list("alpha", { limit: 1, nextToken: token })).rejects.toMatchObject({
      code: "invalid-next-token",
    });
    expect((await issuer.list("alpha", { limit: 1, nextToken: token })).items).toHaveLength(1);
  });

  it("refuses a page-token secret too short to be safe and a retention that is not a positive number", () => {
    expect(() => new MemoryJobStore({ pageTokenSecret: "short" })).toThrow(/at least 16/);
    for (const retentionDays of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MemoryJobStore({ retentionDays })).toThrow(RangeError);
    }
  });
});

describe("ulidTimePrefix", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is the time part of every ULID the generator makes at that millisecond", () => {
    for (const iso of ["1970-01-01T00:00:00.000Z", "2024-05-01T10:00:00.123Z", "2099-12-31T23:59:59.999Z"]) {
      vi.spyOn(Date, "now").mockReturnValue(Date.parse(iso));
      const ids = Array.from({ length: 5 }, () => ulidGenerator.next());

      for (const id of ids) expect(id.slice(0, 10)).toBe(ulidTimePrefix(iso));
    }
  });

  it("sorts above every ULID made earlier and below every ULID made at or after that time", () => {
    const at = Date.UTC(2024, 4, 1, 10, 0, 0, 500);
    const prefix = ulidTimePrefix(new Date(at).toISOString());

    for (const earlier of [at - 1, at - 1000, at - 86_400_000]) expect(jobIdAt(earlier) < prefix).toBe(true);
    for (const later of [at, at + 1, at + 86_400_000]) expect(jobIdAt(later) > prefix).toBe(true);
  });

  it("reads any spelling of an instant the same way, offsets included", () => {
    expect(ulidTimePrefix("2024-05-01T12:00:00Z")).toBe(ulidTimePrefix("2024-05-01T12:00:00.000Z"));
    expect(ulidTimePrefix("2024-05-01T14:00:00+02:00")).toBe(ulidTimePrefix("2024-05-01T12:00:00.000Z"));
  });

  it("clamps times a ULID cannot hold and refuses text that is not a date", () => {
    expect(ulidTimePrefix("1960-01-01T00:00:00.000Z")).toBe("0000000000");
    expect(ulidTimePrefix("+275000-01-01T00:00:00.000Z")).toBe("7ZZZZZZZZZ");
    expect(() => ulidTimePrefix("yesterday")).toThrow(RangeError);
  });

  it("turns a creation-time range into id bounds, each only when its time is given", () => {
    const after = "2024-05-01T00:00:00.000Z";
    const before = "2024-06-01T00:00:00.000Z";

    expect(jobIdRange({})).toEqual({});
    expect(jobIdRange({ createdAfter: after })).toEqual({ from: ulidTimePrefix(after) });
    expect(jobIdRange({ createdAfter: after, createdBefore: before })).toEqual({
      from: ulidTimePrefix(after),
      to: ulidTimePrefix(before),
    });
  });
});
