import { describe, expect, it } from "vitest";
import type { Clock } from "#shared/ports/clock.ts";
import type { IdempotencyStore, StoredResponse } from "#shared/ports/idempotency-store.ts";

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  #ms: number;
  constructor(start = Date.UTC(2024, 4, 1, 12)) {
    this.#ms = start;
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}

const HOUR = 3_600_000;

/**
 * Registers the shared `IdempotencyStore` suite. `makeStore` returns an empty store reading time from
 * `clock`, with the default 60 s abandonment threshold.
 */
export function describeIdempotencyStoreContract(
  label: string,
  makeStore: (clock: Clock) => Promise<IdempotencyStore>,
): void {
  describe(`${label} (IdempotencyStore contract)`, () => {
    async function setup() {
      const clock = new ManualClock();
      const store = await makeStore(clock);
      const expiresAt = () => new Date(clock.now().getTime() + 24 * HOUR);
      return { clock, store, expiresAt };
    }

    const response: StoredResponse = {
      statusCode: 202,
      body: {
        name: "alpha",
        status: "CREATE_IN_PROGRESS",
        nested: { list: [1, "two", null] },
        "": "empty key",
      },
      headers: { location: "/v3/clusters/alpha" },
    };

    it("claims a token seen for the first time", async () => {
      const { store, expiresAt } = await setup();

      expect(await store.claim("t1", "hash-a", expiresAt())).toEqual({ kind: "claimed" });
    });

    it("answers in-progress for the same request while the first is running, mismatch for another", async () => {
      const { store, expiresAt } = await setup();
      await store.claim("t1", "hash-a", expiresAt());

      expect(await store.claim("t1", "hash-a", expiresAt())).toEqual({ kind: "in-progress" });
      expect(await store.claim("t1", "hash-b", expiresAt())).toEqual({ kind: "mismatch" });
      expect(await store.claim("t2", "hash-b", expiresAt())).toEqual({ kind: "claimed" });
    });

    it("replays the stored response once completed, and still refuses another request", async () => {
      const { store, expiresAt } = await setup();
      await store.claim("t1", "hash-a", expiresAt());

      await store.complete("t1", response);

      expect(await store.claim("t1", "hash-a", expiresAt())).toEqual({ kind: "replay", response });
      expect(await store.claim("t1", "hash-b", expiresAt())).toEqual({ kind: "mismatch" });
    });

    it("lets the token be claimed again after release, but never releases a completed answer", async () => {
      const { store, expiresAt } = await setup();
      await store.claim("t1", "hash-a", expiresAt());
      await store.claim("t2", "hash-a", expiresAt());
      await store.complete("t2", response);

      await store.release("t1");
      await store.release("t2");
      await store.release("never-claimed");

      expect(await store.claim("t1", "hash-b", expiresAt())).toEqual({ kind: "claimed" });
      expect(await store.claim("t2", "hash-a", expiresAt())).toEqual({ kind: "replay", response });
    });

    it("treats an expired record as absent", async () => {
      const { clock, store, expiresAt } = await setup();
      await store.claim("t1", "hash-a", expiresAt());
      await store.complete("t1", response);

      clock.advance(25 * HOUR);

      expect(await store.claim("t1", "hash-b", expiresAt())).toEqual({ kind: "claimed" });
      expect(await store.claim("t1", "hash-b", expiresAt())).toEqual({ kind: "in-progress" });
    });

    it("lets an in-progress claim older than 60 s be taken over once, by the same request only", async () => {
      const { clock, store, expiresAt } = await setup();
      await store.claim("t1", "hash-a", expiresAt());

      clock.advance(59_000);
      const tooEarly = await store.claim("t1", "hash-a", expiresAt());
      clock.advance(2_000);
      const otherRequest = await store.claim("t1", "hash-b", expiresAt());
      const takeOver = await store.claim("t1", "hash-a", expiresAt());
      const afterTakeOver = await store.claim("t1", "hash-a", expiresAt());

      expect(tooEarly).toEqual({ kind: "in-progress" });
      expect(otherRequest).toEqual({ kind: "mismatch" });
      expect(takeOver).toEqual({ kind: "claimed" });
      expect(afterTakeOver).toEqual({ kind: "in-progress" });
    });

    it("lets exactly one of 20 concurrent claims of a token win", async () => {
      const { store, expiresAt } = await setup();

      const claims = await Promise.all(
        Array.from({ length: 20 }, () => store.claim("t1", "hash-a", expiresAt())),
      );

      expect(claims.filter((claim) => claim.kind === "claimed")).toHaveLength(1);
      expect(claims.filter((claim) => claim.kind === "in-progress")).toHaveLength(19);
    });
  });
}
