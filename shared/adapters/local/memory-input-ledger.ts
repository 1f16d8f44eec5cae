import type { Clock } from "../../ports/clock.ts";
import type { InputLedger, LedgerClaim, ObjectEventRef } from "../../ports/input-ledger.ts";
import { judgeLedgerEntry, type LedgerEntry, newLedgerEntry } from "../aws/dynamodb-input-ledger.ts";
import { systemClock } from "../system.ts";

/** Construction options for {@link MemoryInputLedger}. */
export interface MemoryInputLedgerOptions {
  /** Defaults to the system clock; it decides which entries have expired. */
  readonly clock?: Clock;
}

/**
 * `InputLedger` in process memory, for unit tests and benchmarks. It shares the DynamoDB ledger's decision
 * rule (`judgeLedgerEntry`), and each call reads and writes its entry with no `await` in between, so
 * concurrent calls are as atomic as the DynamoDB ledger's conditional writes.
 */
export class MemoryInputLedger implements InputLedger {
  readonly #entries = new Map<string, LedgerEntry>();
  readonly #clock: Clock;

  constructor(options: MemoryInputLedgerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async claim(ref: ObjectEventRef, expiresAt: Date): Promise<LedgerClaim> {
    const id = entryId(ref);
    const now = this.#clock.now();
    const verdict = judgeLedgerEntry(this.#entries.get(id), ref, now);
    if (verdict !== "free") return verdict;
    this.#entries.set(id, newLedgerEntry(ref, now, expiresAt));
    return { kind: "claimed" };
  }

  async complete(ref: ObjectEventRef): Promise<void> {
    const id = entryId(ref);
    const entry = this.#entries.get(id);
    // Like the DynamoDB ledger: only the same event is marked, and a vanished entry is not recreated.
    if (entry?.sequencer !== ref.sequencer || entry.identity !== ref.identity) return;
    this.#entries.set(id, { ...entry, state: "DONE" });
  }
}

/** Bucket names cannot contain `/`, so this names one (bucket, key) pair. */
function entryId(ref: ObjectEventRef): string {
  return `${ref.bucket}/${ref.key}`;
}
