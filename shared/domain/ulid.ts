import { createHash } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** The largest time a ULID can hold: 48 bits of milliseconds. */
const MAX_ULID_TIME = 2 ** 48 - 1;

/** The 10-character time part of a ULID for `ms` since the epoch (clamped to the times a ULID can hold). */
export function ulidTimePart(ms: number): string {
  let time = Math.min(Math.max(Math.floor(ms), 0), MAX_ULID_TIME);
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = (CROCKFORD[time % 32] ?? "0") + out;
    time = Math.floor(time / 32);
  }
  return out;
}

/** 16 Crockford characters from `bytes` (the random part of a ULID). */
export function ulidRandomPart(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < 16; i++) out += CROCKFORD[(bytes[i] ?? 0) % 32];
  return out;
}

/**
 * A ULID that is the same every time for the same `ms` and `seed`: the id of something made for an event
 * delivered more than once, so that every delivery names the same record.
 */
export function deterministicUlid(ms: number, seed: string): string {
  return ulidTimePart(ms) + ulidRandomPart(createHash("sha256").update(seed).digest());
}
