// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text a rule stores as given
import { describe, expect, it } from "vitest";
import { InvalidNextTokenError, TriggerExistsError } from "#shared/domain/errors.ts";
import { MAX_TRIGGER_FAILURES, type TriggerFailure, type TriggerRule } from "#shared/domain/trigger.ts";
import type { TriggerStore, TriggerSummary } from "#shared/ports/trigger-store.ts";
import { byteOrder, readAllPages } from "./cluster-store-contract.ts";

/**
 * The behaviour every `TriggerStore` must have, written once and run against each implementation (memory
 * in the unit tier, DynamoDB on dynalite in the integration tier) so they cannot drift.
 */

/** A complete rule, as the create use case would store it, with every optional field set. */
export function makeRule(name: string, overrides: Partial<TriggerRule> = {}): TriggerRule {
  return {
    name,
    bucket: "genomes-in",
    prefix: "runs/",
    suffix: ".fastq.gz",
    clusterName: "cfd",
    clusterTemplate: { configuration: "Region: eu-west-1\nImage:\n  Os: alinux2023\n" },
    job: {
      name: "align-${input.key}",
      spec: {
        command: ["align", "--in", "${input.uri}", "--size", "${input.size}"],
        image: "public.ecr.aws/x/aligner:1",
        vcpus: 4,
        memoryMiB: 8192,
        environment: { SAMPLE: "${input.key}", FIXED: "yes" },
        dependsOn: [],
        retryStrategy: { attempts: 2 },
        timeoutSeconds: 3600,
      },
    },
    mode: "per-object",
    whenDone: "keep",
    createdAt: "2024-05-01T10:00:00.000Z",
    createdBy: "alice",
    recentFailures: [],
    version: 1,
    ...overrides,
  };
}

/** The summary a listing gives for `rule`. */
function summaryOf(rule: TriggerRule): TriggerSummary {
  const { name, bucket, prefix, suffix, clusterName, mode, whenDone, createdAt } = rule;
  return JSON.parse(
    JSON.stringify({ name, bucket, prefix, suffix, clusterName, mode, whenDone, createdAt }),
  ) as TriggerSummary;
}

function failure(key: string, at = "2024-05-02T00:00:00.000Z"): TriggerFailure {
  return { at, bucket: "genomes-in", key, reason: `cluster quota reached for ${key}` };
}

/**
 * Registers the shared `TriggerStore` suite. `makeStore` must return an empty store each call; stores from
 * one harness share their page-token secret.
 */
export function describeTriggerStoreContract(label: string, makeStore: () => Promise<TriggerStore>): void {
  describe(`${label} (TriggerStore contract)`, () => {
    describe("create, get and remove", () => {
      it("returns exactly the rule that was created, and undefined for another name", async () => {
        const store = await makeStore();
        const rule = makeRule("align");

        await store.create(rule);

        expect(await store.get("align")).toEqual(rule);
        expect(await store.get("other")).toBeUndefined();
      });

      it("keeps a minimal rule without optional fields and without adding any", async () => {
        const store = await makeStore();
        const rule = makeRule("minimal", {
          prefix: undefined,
          suffix: undefined,
          clusterTemplate: undefined,
          job: { name: "echo", spec: { script: "#!/bin/sh\necho hi\n", environment: {}, dependsOn: [] } },
          mode: "per-batch",
          whenDone: "delete",
        });

        await store.create(rule);

        const stored = await store.get("minimal");
        expect(stored).toEqual(rule);
        expect(Object.keys(stored ?? {}).sort()).toEqual(
          Object.keys(rule)
            .filter((key) => rule[key as keyof TriggerRule] !== undefined)
            .sort(),
        );
      });

      it("refuses a second rule with a taken name with TriggerExistsError and keeps the first", async () => {
        const store = await makeStore();
        await store.create(makeRule("align"));

        const attempt = store.create(makeRule("align", { bucket: "elsewhere", createdBy: "bob" }));

        await expect(attempt).rejects.toBeInstanceOf(TriggerExistsError);
        await expect(attempt).rejects.toMatchObject({ triggerName: "align" });
        expect((await store.get("align"))?.createdBy).toBe("alice");
      });

      it("lets exactly one of 20 concurrent creates of one name win", async () => {
        const store = await makeStore();
        const candidates = Array.from({ length: 20 }, (_, i) =>
          makeRule("contested", { createdBy: `u${i}` }),
        );

        const results = await Promise.allSettled(candidates.map((rule) => store.create(rule)));

        const winners = candidates.filter((_, i) => results[i]?.status === "fulfilled");
        const losers = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
        expect(winners).toHaveLength(1);
        for (const reason of losers) expect(reason).toBeInstanceOf(TriggerExistsError);
        expect((await store.get("contested"))?.createdBy).toBe(winners[0]?.createdBy);
      });

      it("removes a rule once: true the first time, false after, and frees the name", async () => {
        const store = await makeStore();
        await store.create(makeRule("align"));
        await store.create(makeRule("keep-me"));

        expect(await store.remove("align")).toBe(true);
        expect(await store.remove("align")).toBe(false);
        expect(await store.remove("never-was")).toBe(false);

        expect(await store.get("align")).toBeUndefined();
        expect((await store.list({ limit: 10 })).items.map((s) => s.name)).toEqual(["keep-me"]);
        expect(await store.listForBucket("genomes-in")).toEqual([makeRule("keep-me")]);
        await store.create(makeRule("align", { createdBy: "bob" }));
        expect((await store.get("align"))?.createdBy).toBe("bob");
      });
    });

    describe("listing", () => {
      /** Mixed case, digits and dashes, so ordering by bytes (upper case first) is exercised. */
      const names = Array.from(
        { length: 23 },
        (_, i) => `${["a", "B", "z", "Q", "m"][i % 5]}${(i * 37) % 101}-${i}`,
      );

      for (const limit of [1, 7, 100]) {
        it(`returns every rule once, by name, with no empty page, at limit ${limit}`, async () => {
          const store = await makeStore();
          for (const name of names) await store.create(makeRule(name));

          const { items, pages } = await readAllPages((nextToken) => store.list({ limit, nextToken }));

          expect(items.map((summary) => summary.name)).toEqual([...names].sort(byteOrder));
          for (const page of pages) expect(page.items.length).toBeGreaterThan(0);
          for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(limit);
          expect(pages).toHaveLength(Math.ceil(names.length / limit));
        });
      }

      it("gives no token when the listing fits a page exactly, and an empty page for no rules", async () => {
        const store = await makeStore();
        for (const name of ["a", "b", "c"]) await store.create(makeRule(name));

        const exact = await store.list({ limit: 3 });
        const empty = await (await makeStore()).list({ limit: 3 });

        expect(exact.items.map((summary) => summary.name)).toEqual(["a", "b", "c"]);
        expect(exact.nextToken).toBeUndefined();
        expect(empty).toEqual({ items: [] });
      });

      it("returns summaries: no templates, no failures, no author", async () => {
        const store = await makeStore();
        const full = makeRule("full");
        const bare = makeRule("bare", { prefix: undefined, suffix: undefined, mode: "per-batch" });
        await store.create(full);
        await store.create(bare);
        await store.recordFailure("full", failure("x"));

        const page = await store.list({ limit: 10 });

        expect(page.items).toEqual([summaryOf(bare), summaryOf(full)]);
        expect(Object.keys(page.items[0] ?? {})).not.toContain("prefix");
      });

      it("refuses a limit that is not a positive integer with RangeError", async () => {
        const store = await makeStore();

        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expect(store.list({ limit })).rejects.toBeInstanceOf(RangeError);
        }
      });
    });

    describe("page tokens", () => {
      async function storeWithToken(): Promise<{ store: TriggerStore; token: string }> {
        const store = await makeStore();
        for (const name of ["a", "b", "c"]) await store.create(makeRule(name));
        const page = await store.list({ limit: 1 });
        if (page.nextToken === undefined) throw new Error("expected a second page");
        return { store, token: page.nextToken };
      }

      it("accepts its own token and resumes after the last item", async () => {
        const { store, token } = await storeWithToken();

        const page = await store.list({ limit: 1, nextToken: token });

        expect(page.items.map((s) => s.name)).toEqual(["b"]);
      });

      it("resumes after the token's name even when that rule was deleted meanwhile", async () => {
        const { store, token } = await storeWithToken();
        await store.remove("a");

        const page = await store.list({ limit: 5, nextToken: token });

        expect(page.items.map((s) => s.name)).toEqual(["b", "c"]);
      });

      it("refuses a tampered, forged or foreign token with InvalidNextTokenError", async () => {
        const { store, token } = await storeWithToken();
        const flip = (text: string, at: number) =>
          text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
        const forged = Buffer.from(JSON.stringify({ after: "b" })).toString("base64url");

        for (const bad of [
          flip(token, 0),
          flip(token, token.indexOf(".") - 1),
          flip(token, token.length - 1),
          `${forged}.${token.split(".")[1]}`,
          `${token}A`,
          "",
          "abc",
          "a.b.c",
          "!!!.###",
          "e30.AAAAAAAAAAAAAAAAAAAAAA",
          "x".repeat(5000),
        ]) {
          await expect(store.list({ limit: 1, nextToken: bad })).rejects.toBeInstanceOf(
            InvalidNextTokenError,
          );
        }
      });
    });

    describe("rules by bucket", () => {
      it("returns the full rules watching a bucket, by name, and none of another bucket's", async () => {
        const store = await makeStore();
        const watching = ["zeta", "Alpha", "mid", "alpha"].map((name) =>
          makeRule(name, { bucket: "genomes-in", prefix: `${name}/` }),
        );
        const others = [
          makeRule("beta", { bucket: "genomes-out" }),
          makeRule("gamma", { bucket: "genomes" }),
        ];
        for (const rule of [...watching, ...others]) await store.create(rule);
        await store.recordFailure("mid", failure("mid/1"));

        const found = await store.listForBucket("genomes-in");

        const expected = [...watching]
          .sort((a, b) => byteOrder(a.name, b.name))
          .map((rule) =>
            rule.name === "mid" ? { ...rule, recentFailures: [failure("mid/1")], version: 2 } : rule,
          );
        expect(found).toEqual(expected);
        expect(await store.listForBucket("genomes-out")).toEqual([others[0]]);
        expect(await store.listForBucket("nobody")).toEqual([]);
      });
    });

    describe("failures", () => {
      it("keeps the newest failures first, at most MAX_TRIGGER_FAILURES, bumping the version each time", async () => {
        const store = await makeStore();
        await store.create(makeRule("align"));
        const recorded = Array.from({ length: MAX_TRIGGER_FAILURES + 2 }, (_, i) =>
          failure(`runs/${i}.fastq.gz`, new Date(Date.UTC(2024, 4, 2, 0, i)).toISOString()),
        );

        for (const entry of recorded) await store.recordFailure("align", entry);

        const rule = await store.get("align");
        expect(rule?.recentFailures).toEqual(recorded.slice(-MAX_TRIGGER_FAILURES).reverse());
        expect(rule?.version).toBe(1 + recorded.length);
        expect({ ...rule, recentFailures: [], version: 1 }).toEqual(makeRule("align"));
      });

      it("loses none of MAX_TRIGGER_FAILURES concurrent failures: all of them are kept", async () => {
        const store = await makeStore();
        await store.create(makeRule("align"));
        const recorded = Array.from({ length: MAX_TRIGGER_FAILURES }, (_, i) =>
          failure(`runs/${i}.fastq.gz`),
        );

        await Promise.all(recorded.map((entry) => store.recordFailure("align", entry)));

        const rule = await store.get("align");
        const byKey = (a: TriggerFailure, b: TriggerFailure) => byteOrder(a.key, b.key);
        expect([...(rule?.recentFailures ?? [])].sort(byKey)).toEqual([...recorded].sort(byKey));
        expect(rule?.version).toBe(1 + recorded.length);
      });

      it("counts every one of 20 concurrent failures and keeps ten of them", async () => {
        const store = await makeStore();
        await store.create(makeRule("align"));
        const recorded = Array.from({ length: 20 }, (_, i) => failure(`runs/${i}.fastq.gz`));

        await Promise.all(recorded.map((entry) => store.recordFailure("align", entry)));

        const rule = await store.get("align");
        // Every write went through once: the version counts them, though only ten are kept.
        expect(rule?.version).toBe(1 + recorded.length);
        const kept = rule?.recentFailures ?? [];
        expect(kept).toHaveLength(MAX_TRIGGER_FAILURES);
        expect(new Set(kept.map((entry) => entry.key)).size).toBe(MAX_TRIGGER_FAILURES);
        for (const entry of kept) expect(recorded).toContainEqual(entry);
      });

      it("does nothing for a rule that does not exist, and does not create it", async () => {
        const store = await makeStore();
        await store.create(makeRule("align"));
        await store.remove("align");

        await store.recordFailure("align", failure("x"));
        await store.recordFailure("never-was", failure("y"));

        expect(await store.get("align")).toBeUndefined();
        expect(await store.get("never-was")).toBeUndefined();
        expect(await store.list({ limit: 10 })).toEqual({ items: [] });
      });
    });
  });
}
