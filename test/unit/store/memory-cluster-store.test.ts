import { describe, expect, it } from "vitest";
import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import { describeClusterStoreContract, makeCluster, makeEvent } from "./cluster-store-contract.ts";

describeClusterStoreContract("MemoryClusterStore", async () => new MemoryClusterStore());

describe("MemoryClusterStore", () => {
  it("hands out copies, so a caller mutating a result cannot change what is stored", async () => {
    const store = new MemoryClusterStore();
    await store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

    const read = (await store.get("alpha")) as { tags: Record<string, string> } | undefined;
    if (read) read.tags.team = "changed";

    expect((await store.get("alpha"))?.tags.team).toBe("cfd");
  });

  it("refuses a token signed by a store with another secret", async () => {
    const issuer = new MemoryClusterStore({ pageTokenSecret: "first-secret-0123456789" });
    const other = new MemoryClusterStore({ pageTokenSecret: "second-secret-0123456789" });
    for (const store of [issuer, other]) {
      for (const name of ["a", "b"]) await store.create(makeCluster(name), makeEvent("CREATE_IN_PROGRESS"));
    }
    const token = (await issuer.list({ limit: 1 })).nextToken ?? "";

    await expect(other.list({ limit: 1, nextToken: token })).rejects.toMatchObject({
      code: "invalid-next-token",
    });
    expect((await issuer.list({ limit: 1, nextToken: token })).items.map((s) => s.name)).toEqual(["b"]);
  });

  it("refuses a page-token secret too short to be safe", () => {
    expect(() => new MemoryClusterStore({ pageTokenSecret: "short" })).toThrow(/at least 16/);
  });
});

describe("MemoryClusterStore ordering", () => {
  it("orders names by UTF-8 bytes like DynamoDB, including characters outside the BMP", async () => {
    const store = new MemoryClusterStore();
    const names = ["b", "B", "a-1", "a1", "\u{FF21}", "\u{1F600}", "\u00e9", "a"];
    for (const name of names) await store.create(makeCluster(name), makeEvent("CREATE_IN_PROGRESS"));

    const page = await store.list({ limit: 100 });

    const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(page.items.map((s) => s.name)).toEqual(expected);
  });
});
