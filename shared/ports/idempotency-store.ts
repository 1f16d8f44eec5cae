/** A stored answer to replay for a repeated `clientToken`. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The outcome of claiming a client token. */
export type IdempotencyClaim =
  /** First time this token is seen: go ahead, then `complete` or `release` it. */
  | { readonly kind: "claimed" }
  /** Seen before with the same request, and finished: answer with this. */
  | { readonly kind: "replay"; readonly response: StoredResponse }
  /** Seen before with a different request. */
  | { readonly kind: "mismatch" }
  /** Seen before with the same request, which is still being processed. */
  | { readonly kind: "in-progress" };

/** Remembers client tokens so that a retried request has exactly one effect. */
export interface IdempotencyStore {
  /** Atomically claims `token` for a request whose canonical hash is `requestHash`. */
  claim(token: string, requestHash: string, expiresAt: Date): Promise<IdempotencyClaim>;
  /** Records the answer, so later repeats replay it. */
  complete(token: string, response: StoredResponse): Promise<void>;
  /** Forgets a claim whose request failed, so the client may retry with the same token. */
  release(token: string): Promise<void>;
}
