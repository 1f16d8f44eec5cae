/**
 * One S3 object-created event, as the ledger identifies it: the object version (`versionId`, or the
 * `eTag` in unversioned buckets) and S3's `sequencer`, normalized by `normalizeSequencer` so that
 * plain string order is S3's order.
 */
export interface ObjectEventRef {
  readonly bucket: string;
  /** The decoded key. */
  readonly key: string;
  /** `versionId`, else `eTag`, else "" (the sequencer still tells events apart). */
  readonly identity: string;
  readonly sequencer: string;
}

/** The outcome of claiming an event. */
export type LedgerClaim =
  /** First time: go ahead, then `complete`. */
  | { readonly kind: "claimed" }
  /** Claimed before and never completed (a crash, or a duplicate delivered at the same time): redo, idempotently. */
  | { readonly kind: "resumed" }
  /** Already done: change nothing. */
  | { readonly kind: "duplicate" }
  /** A later event for this key was claimed already (higher sequencer, or the same with another identity). */
  | { readonly kind: "older"; readonly latestSequencer: string };

/**
 * Remembers, per (bucket, key), the latest object-created event taken, so that S3's at-least-once,
 * any-order delivery has exactly one effect per object version: claimed conditionally before any side
 * effect, one item per key.
 */
export interface InputLedger {
  /** Atomically claims the event unless it, or a later event for the key, was claimed before. */
  claim(ref: ObjectEventRef, expiresAt: Date): Promise<LedgerClaim>;
  /** Marks the event done (a no-op when a later event for the key has taken its place). */
  complete(ref: ObjectEventRef): Promise<void>;
}
