import { describe, expect, it } from "vitest";
import { MemoryTriggerStore } from "#shared/adapters/local/memory-trigger-store.ts";
import { describeTriggerStoreContract, makeRule } from "./trigger-store-contract.ts";

describeTriggerStoreContract("MemoryTriggerStore", async () => new MemoryTriggerStore());

describe("MemoryTriggerStore", () => {
  it("hands out copies, so a caller mutating a result cannot change what is stored", async () => {
    const store = new MemoryTriggerStore();
    const rule = makeRule("align");
    await store.create(rule);
    (rule.job.spec.environment as Record<string, string>).FIXED = "changed-after-create";

    const read = await store.get("align");
    (read?.job.spec.environment as Record<string, string>).FIXED = "changed-after-get";
    const [listed] = await store.listForBucket("genomes-in");
    (listed?.job.spec.environment as Record<string, string>).FIXED = "changed-after-list";

    expect((await store.get("align"))?.job.spec.environment.FIXED).toBe("yes");
  });

  it("refuses a token signed by a store with another secret", async () => {
    const issuer = new MemoryTriggerStore({ pageTokenSecret: "first-secret-0123456789" });
    const other = new MemoryTriggerStore({ pageTokenSecret: "second-secret-0123456789" });
    for (const store of [issuer, other]) for (const name of ["a", "b"]) await store.create(makeRule(name));
    const token = (await issuer.list({ limit: 1 })).nextToken ?? "";

    await expect(other.list({ limit: 1, nextToken: token })).rejects.toMatchObject({
      code: "invalid-next-token",
    });
    expect((await issuer.list({ limit: 1, nextToken: token })).items.map((s) => s.name)).toEqual(["b"]);
  });

  it("orders names by UTF-8 bytes like DynamoDB, including characters outside the BMP", async () => {
    const store = new MemoryTriggerStore();
    const names = ["b", "B", "a-1", "a1", "\u{FF21}", "\u{1F600}", "\u00e9", "a"];
    for (const name of names) await store.create(makeRule(name));

    const listed = (await store.list({ limit: 100 })).items.map((s) => s.name);
    const byBucket = (await store.listForBucket("genomes-in")).map((rule) => rule.name);

    const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(listed).toEqual(expected);
    expect(byBucket).toEqual(expected);
  });
});
