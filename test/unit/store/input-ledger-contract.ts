import { describe, expect, it } from "vitest";
import type { Clock } from "#shared/ports/clock.ts";
import type { InputLedger, LedgerClaim, ObjectEventRef } from "#shared/ports/input-ledger.ts";
import { ManualClock } from "./idempotency-store-contract.ts";

/**
 * The behaviour every `InputLedger` must have, written once and run against each implementation (memory
 * in the unit tier, DynamoDB on dynalite in the integration tier) so they cannot drift.
 */

const HOUR = 3_600_000;

/** A sequencer as `normalizeSequencer` gives it: fixed-width upper-case hex. */
export function sequencer(n: number): string {
  return n.toString(16).toUpperCase().padStart(16, "0");
}

/** An event for `key` in the bucket `inbox`. */
export function eventRef(key: string, seq: number, identity = "v1", bucket = "inbox"): ObjectEventRef {
  return { bucket, key, identity, sequencer: sequencer(seq) };
}

/**
 * Registers the shared `InputLedger` suite. `makeLedger` returns an empty ledger reading time from
 * `clock`.
 */
export function describeInputLedgerContract(
  label: string,
  makeLedger: (clock: Clock) => Promise<InputLedger>,
): void {
  describe(`${label} (InputLedger contract)`, () => {
    async function setup() {
      const clock = new ManualClock();
      const ledger = await makeLedger(clock);
      const expiresAt = () => new Date(clock.now().getTime() + 24 * HOUR);
      return { clock, ledger, expiresAt };
    }

    it("claims an event seen for the first time", async () => {
      const { ledger, expiresAt } = await setup();

      expect(await ledger.claim(eventRef("runs/a.fastq", 10), expiresAt())).toEqual({ kind: "claimed" });
    });

    it("answers resumed for the same event until it is completed, duplicate after", async () => {
      const { ledger, expiresAt } = await setup();
      const event = eventRef("runs/a.fastq", 10);
      await ledger.claim(event, expiresAt());

      const before = await ledger.claim(event, expiresAt());
      await ledger.complete(event);
      const after = await ledger.claim(event, expiresAt());

      expect(before).toEqual({ kind: "resumed" });
      expect(after).toEqual({ kind: "duplicate" });
      expect(await ledger.claim(event, expiresAt())).toEqual({ kind: "duplicate" });
    });

    it("answers older, naming the latest sequencer, for an event that arrives after a later one", async () => {
      const { ledger, expiresAt } = await setup();
      await ledger.claim(eventRef("k", 20, "v2"), expiresAt());

      const late = await ledger.claim(eventRef("k", 10, "v1"), expiresAt());

      expect(late).toEqual({ kind: "older", latestSequencer: sequencer(20) });
    });

    it("claims a later event for a key whether the earlier one is done or still in progress", async () => {
      const { ledger, expiresAt } = await setup();
      await ledger.claim(eventRef("done", 10, "v1"), expiresAt());
      await ledger.complete(eventRef("done", 10, "v1"));
      await ledger.claim(eventRef("running", 10, "v1"), expiresAt());

      expect(await ledger.claim(eventRef("done", 11, "v2"), expiresAt())).toEqual({ kind: "claimed" });
      expect(await ledger.claim(eventRef("running", 11, "v2"), expiresAt())).toEqual({ kind: "claimed" });
      expect(await ledger.claim(eventRef("done", 10, "v1"), expiresAt())).toEqual({
        kind: "older",
        latestSequencer: sequencer(11),
      });
    });

    it("answers older for the same sequencer with another identity", async () => {
      const { ledger, expiresAt } = await setup();
      await ledger.claim(eventRef("k", 10, "etag-a"), expiresAt());

      const other = await ledger.claim(eventRef("k", 10, "etag-b"), expiresAt());
      await ledger.complete(eventRef("k", 10, "etag-b"));

      expect(other).toEqual({ kind: "older", latestSequencer: sequencer(10) });
      // Completing the other identity did not complete the claim that holds the key.
      expect(await ledger.claim(eventRef("k", 10, "etag-a"), expiresAt())).toEqual({ kind: "resumed" });
    });

    it("treats an empty identity as an identity like any other", async () => {
      const { ledger, expiresAt } = await setup();
      await ledger.claim(eventRef("k", 10, ""), expiresAt());
      await ledger.complete(eventRef("k", 10, ""));

      expect(await ledger.claim(eventRef("k", 10, ""), expiresAt())).toEqual({ kind: "duplicate" });
      expect(await ledger.claim(eventRef("k", 10, "v1"), expiresAt())).toEqual({
        kind: "older",
        latestSequencer: sequencer(10),
      });
    });

    it("leaves a later claim alone when the earlier event completes after it", async () => {
      const { ledger, expiresAt } = await setup();
      const earlier = eventRef("k", 10, "v1");
      const later = eventRef("k", 11, "v2");
      await ledger.claim(earlier, expiresAt());
      await ledger.claim(later, expiresAt());

      await ledger.complete(earlier);

      expect(await ledger.claim(later, expiresAt())).toEqual({ kind: "resumed" });
      expect(await ledger.claim(earlier, expiresAt())).toEqual({
        kind: "older",
        latestSequencer: sequencer(11),
      });
    });

    it("completes nothing, and creates nothing, for an event never claimed", async () => {
      const { ledger, expiresAt } = await setup();

      await ledger.complete(eventRef("k", 10));

      expect(await ledger.claim(eventRef("k", 10), expiresAt())).toEqual({ kind: "claimed" });
    });

    it("lets an expired entry be claimed again, and keeps an unexpired one", async () => {
      const { clock, ledger } = await setup();
      const event = eventRef("k", 10);
      const inOneHour = new Date(clock.now().getTime() + HOUR);
      await ledger.claim(event, inOneHour);
      await ledger.complete(event);

      clock.advance(HOUR - 1000);
      const beforeExpiry = await ledger.claim(event, inOneHour);
      clock.advance(2 * HOUR);
      const afterExpiry = await ledger.claim(event, new Date(clock.now().getTime() + HOUR));

      expect(beforeExpiry).toEqual({ kind: "duplicate" });
      expect(afterExpiry).toEqual({ kind: "claimed" });
      expect(await ledger.claim(event, new Date(clock.now().getTime() + HOUR))).toEqual({ kind: "resumed" });
    });

    it("keeps one entry per (bucket, key): other keys and other buckets do not interfere", async () => {
      const { ledger, expiresAt } = await setup();
      const keys = [
        "a",
        "a/",
        "a/b",
        "a//b",
        "/a",
        "data/run 1/sample one.fastq",
        "données/été/naïve.txt",
        "emoji/\u{1F600}/\u{1F9EC}.bam",
        "x+y=z?&%20.txt",
        "INPUT#k",
      ];

      const first = await Promise.all(keys.map((key) => ledger.claim(eventRef(key, 10), expiresAt())));
      const otherBucket = await ledger.claim(eventRef("a/b", 10, "v1", "outbox"), expiresAt());
      await ledger.complete(eventRef("a/b", 10));
      const again = await Promise.all(keys.map((key) => ledger.claim(eventRef(key, 10), expiresAt())));

      expect(first).toEqual(keys.map(() => ({ kind: "claimed" })));
      expect(otherBucket).toEqual({ kind: "claimed" });
      expect(again).toEqual(keys.map((key) => ({ kind: key === "a/b" ? "duplicate" : "resumed" })));
      expect(await ledger.claim(eventRef("a/b", 10, "v1", "outbox"), expiresAt())).toEqual({
        kind: "resumed",
      });
    });

    it("tells apart the longest keys, including ones longer than S3 allows", async () => {
      const { ledger, expiresAt } = await setup();
      // 1,024 bytes (S3's limit) in three-byte characters, and keys of 3,000 bytes that differ at the end.
      const s3Max = `${"\u20ac".repeat(341)}x`;
      const longA = `${"d/".repeat(1499)}a`;
      const longB = `${"d/".repeat(1499)}b`;

      const claims = [
        await ledger.claim(eventRef(s3Max, 10), expiresAt()),
        await ledger.claim(eventRef(longA, 10), expiresAt()),
        await ledger.claim(eventRef(longB, 10), expiresAt()),
      ];
      await ledger.complete(eventRef(longA, 10));

      expect(Buffer.byteLength(s3Max)).toBe(1024);
      expect(claims).toEqual([{ kind: "claimed" }, { kind: "claimed" }, { kind: "claimed" }]);
      expect(await ledger.claim(eventRef(longA, 10), expiresAt())).toEqual({ kind: "duplicate" });
      expect(await ledger.claim(eventRef(longB, 10), expiresAt())).toEqual({ kind: "resumed" });
      expect(await ledger.claim(eventRef(s3Max, 9), expiresAt())).toEqual({
        kind: "older",
        latestSequencer: sequencer(10),
      });
    });

    it("lets exactly one of 50 concurrent deliveries of one event claim it; the others resume", async () => {
      const { ledger, expiresAt } = await setup();
      const event = eventRef("runs/hot.fastq", 42);

      const results = await Promise.all(Array.from({ length: 50 }, () => ledger.claim(event, expiresAt())));

      expect(results.filter((result) => result.kind === "claimed")).toHaveLength(1);
      expect(results.filter((result) => result.kind === "resumed")).toHaveLength(49);
    });

    it("ends with the highest of 50 concurrent sequencers for one key, whatever order they land in", async () => {
      const { ledger, expiresAt } = await setup();
      // Distinct sequencers in a scrambled order (37 is coprime with 50).
      const sequences = Array.from({ length: 50 }, (_, i) => 100 + ((i * 37) % 50));
      const highest = Math.max(...sequences);

      const results = await Promise.all(
        sequences.map((seq) => ledger.claim(eventRef("k", seq, `v${seq}`), expiresAt())),
      );

      // Nothing stops a lower sequencer that lands before a higher one from being claimed, but the highest
      // is always claimed, and anything refused names a later sequencer than its own.
      const bySequence = new Map(sequences.map((seq, i) => [seq, results[i] as LedgerClaim]));
      expect(bySequence.get(highest)).toEqual({ kind: "claimed" });
      for (const [seq, result] of bySequence) {
        if (result.kind === "claimed") continue;
        expect(result.kind).toBe("older");
        if (result.kind === "older") expect(result.latestSequencer > sequencer(seq)).toBe(true);
      }
      // What is stored afterwards is the highest: every other one is older than it.
      expect(await ledger.claim(eventRef("k", highest, `v${highest}`), expiresAt())).toEqual({
        kind: "resumed",
      });
      for (const seq of sequences.filter((seq) => seq !== highest).slice(0, 5)) {
        expect(await ledger.claim(eventRef("k", seq, `v${seq}`), expiresAt())).toEqual({
          kind: "older",
          latestSequencer: sequencer(highest),
        });
      }
    });
  });
}
