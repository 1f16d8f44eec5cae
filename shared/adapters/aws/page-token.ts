import { createHmac, timingSafeEqual } from "node:crypto";
import type { ClusterEvent, ClusterStatus } from "../../domain/cluster.ts";
import { InvalidNextTokenError } from "../../domain/errors.ts";
import * as z from "../../domain/zod.ts";
import type { Page, PageRequest } from "../../ports/page.ts";

/** Bytes of the HMAC-SHA256 kept in a token: 128 bits is plenty against forgery and keeps tokens short. */
const MAC_BYTES = 16;
/** Longer than any token we issue by far; refusing early keeps hostile input from costing a parse. */
const MAX_TOKEN_LENGTH = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Shortest accepted secret: short secrets make tokens forgeable by brute force. */
export const MIN_PAGE_TOKEN_SECRET_LENGTH = 16;

/**
 * Throws unless `secret` is long enough to sign page tokens. Stores call it in their constructor so a
 * misconfigured deployment fails at start-up, not on the first paged request.
 */
export function assertPageTokenSecret(secret: string): void {
  if (secret.length < MIN_PAGE_TOKEN_SECRET_LENGTH) {
    throw new Error(`pageTokenSecret must be at least ${MIN_PAGE_TOKEN_SECRET_LENGTH} characters long.`);
  }
}

function mac(body: string, scope: string, secret: string): Buffer {
  // The scope is signed with the body so that a token issued for one listing is refused by another. A NUL
  // separator cannot appear in base64url, so (scope, body) pairs cannot collide.
  return createHmac("sha256", secret).update(scope).update("\0").update(body).digest().subarray(0, MAC_BYTES);
}

/**
 * Makes an opaque, tamper-evident pagination token: `base64url(JSON(payload)).base64url(mac)`, where the
 * MAC is HMAC-SHA256 (truncated to 16 bytes) over the encoded payload and `scope`.
 *
 * @param payload - any JSON-serialisable value (the position to resume after).
 * @param scope - what listing the token belongs to, e.g. `clusters`, `clusters:STATUS#CREATE_COMPLETE`,
 *   `events:<clusterId>`; a token only decodes under the same scope.
 * @param secret - the signing key, shared by every process that answers the same API.
 */
export function encodePageToken(payload: unknown, scope: string, secret: string): string {
  const body = Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
  return `${body}.${mac(body, scope, secret).toString("base64url")}`;
}

/**
 * Verifies and decodes a token made by {@link encodePageToken} with the same `scope` and `secret`.
 * When `schema` is given the payload must also match it.
 *
 * @throws InvalidNextTokenError when the token is malformed, tampered with, issued for another scope or
 *   signed with another secret, or its payload does not match `schema`.
 */
export function decodePageToken<T = unknown>(
  token: string,
  scope: string,
  secret: string,
  schema?: z.ZodMiniType<T>,
): T {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) throw new InvalidNextTokenError();
  const parts = token.split(".");
  const [body, signature] = parts;
  if (parts.length !== 2 || body === undefined || signature === undefined) throw new InvalidNextTokenError();
  if (!BASE64URL.test(body) || !BASE64URL.test(signature)) throw new InvalidNextTokenError();

  // Compare the encoded text, not decoded bytes: base64url's unused trailing bits would otherwise let a
  // changed last character through.
  const given = Buffer.from(signature, "utf8");
  const expected = Buffer.from(mac(body, scope, secret).toString("base64url"), "utf8");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new InvalidNextTokenError();

  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    // Only reachable with a valid MAC over a non-JSON body, i.e. a token we never issued.
    throw new InvalidNextTokenError();
  }
  if (schema === undefined) return payload as T;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new InvalidNextTokenError();
  return parsed.data;
}

/*
 * The positions the cluster stores put in their tokens. Both stores (DynamoDB and memory) use these, so a
 * token means the same thing in both and their paging cannot drift.
 */

/** Scope of a cluster listing: the default one and each status filter are separate listings. */
export function clusterListScope(status?: ClusterStatus): string {
  return status === undefined ? "clusters" : `clusters:STATUS#${status}`;
}

/** Scope of a cluster's history: bound to the incarnation, so a reused name does not accept old tokens. */
export function eventsScope(clusterId: string): string {
  return `events:${clusterId}`;
}

/** Resume a listing by name (clusters, trigger rules) after this name (exclusive). */
export const ClusterListPositionSchema = z.strictObject({ after: z.string().check(z.minLength(1)) });

/**
 * Resume a history listing below this index into the stored (oldest-first) history. Indexes from the
 * oldest end stay valid while new events are appended between pages.
 */
export const EventsPositionSchema = z.strictObject({ before: z.int().check(z.positive()) });

/** Throws `RangeError` for a limit that is not a positive integer (the API validates it before us). */
export function assertPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
}

/**
 * One page of a history, newest first. `history` is oldest first, as stored.
 *
 * @throws InvalidNextTokenError for a token not issued for this cluster incarnation.
 */
export function pageHistory(
  history: readonly ClusterEvent[],
  clusterId: string,
  request: PageRequest,
  secret: string,
): Page<ClusterEvent> {
  assertPageLimit(request.limit);
  const scope = eventsScope(clusterId);
  let end = history.length;
  if (request.nextToken !== undefined) {
    end = decodePageToken(request.nextToken, scope, secret, EventsPositionSchema).before;
    // History only grows, so a genuine token never points past its end.
    if (end > history.length) throw new InvalidNextTokenError();
  }
  const start = Math.max(0, end - request.limit);
  const items = history.slice(start, end).reverse();
  return start > 0 ? { items, nextToken: encodePageToken({ before: start }, scope, secret) } : { items };
}
