import type { Clock } from "../../ports/clock.ts";
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from "../../ports/idempotency-store.ts";
import {
  ABANDONED_CLAIM_MS,
  epochSeconds,
  type IdempotencyRecord,
  judgeExistingClaim,
} from "../aws/dynamodb-idempotency-store.ts";

/** Construction options for {@link MemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Defaults to the system clock; tests pass their own. */
  readonly clock?: Clock;
  /** Defaults to {@link ABANDONED_CLAIM_MS}. */
  readonly abandonAfterMs?: number;
}

/**
 * `IdempotencyStore` in process memory, for unit tests and benchmarks. It shares the DynamoDB store's
 * decision rules (`judgeExistingClaim`), so expiry and abandoned claims behave the same in both.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();
  readonly #clock: Clock;
  readonly #abandonAfterMs: number;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#abandonAfterMs = options.abandonAfterMs ?? ABANDONED_CLAIM_MS;
  }

  async claim(token: string, requestHash: string, expiresAt: Date): Promise<IdempotencyClaim> {
    const now = this.#clock.now();
    const verdict = judgeExistingClaim(this.#records.get(token), requestHash, now, this.#abandonAfterMs);
    if (verdict !== "free" && verdict !== "abandoned") return verdict;
    this.#records.set(token, {
      requestHash,
      state: "IN_PROGRESS",
      claimedAt: now.getTime(),
      expiresAt: epochSeconds(expiresAt),
    });
    return { kind: "claimed" };
  }

  async complete(token: string, response: StoredResponse): Promise<void> {
    const record = this.#records.get(token);
    // Like the DynamoDB store: a claim that is gone is not recreated.
    if (record === undefined) return;
    this.#records.set(token, { ...record, state: "COMPLETED", response: JSON.stringify(response) });
  }

  async release(token: string): Promise<void> {
    if (this.#records.get(token)?.state === "IN_PROGRESS") this.#records.delete(token);
  }
}
