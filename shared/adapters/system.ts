import { randomBytes } from "node:crypto";
import { ulidRandomPart, ulidTimePart } from "../domain/ulid.ts";
import type { Clock, IdGenerator } from "../ports/clock.ts";

/** The machine's clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * ULIDs: 48 bits of milliseconds then 80 random bits, Crockford base32, so ids sort by creation time and
 * never collide in practice.
 */
export const ulidGenerator: IdGenerator = {
  next: () => ulidTimePart(Date.now()) + ulidRandomPart(randomBytes(16)),
};
