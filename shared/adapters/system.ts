import { randomBytes } from "node:crypto";
import type { Clock, IdGenerator } from "../ports/clock.ts";

/** The machine's clock. */
export const systemClock: Clock = { now: () => new Date() };

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * ULIDs: 48 bits of milliseconds then 80 random bits, Crockford base32, so ids sort by creation time and
 * never collide in practice.
 */
export const ulidGenerator: IdGenerator = {
  next(): string {
    let time = Date.now();
    let out = "";
    for (let i = 0; i < 10; i++) {
      out = (CROCKFORD[time % 32] ?? "0") + out;
      time = Math.floor(time / 32);
    }
    const bytes = randomBytes(16);
    for (let i = 0; i < 16; i++) out += CROCKFORD[(bytes[i] ?? 0) % 32];
    return out;
  },
};
