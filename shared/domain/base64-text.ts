import { Buffer } from "node:buffer";
import { type DomainError, PayloadTooLargeError, RequestValidationError } from "./errors.ts";

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;
/** Fatal so that bytes which are not UTF-8 are refused rather than turned into U+FFFD; it also drops a BOM. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** What is being decoded, so errors name the field and the fix. */
export interface Base64TextOptions {
  /** The field, e.g. `body` or `body.script`. */
  readonly path: string;
  /** How to produce valid input, e.g. "Send the output of `base64 job.sh`." */
  readonly howTo: string;
  readonly maxBytes: number;
  /** The error for decoded bytes that are not text (binary, not UTF-8, NUL bytes). */
  readonly notText: (why: string) => DomainError;
  /** The error for decoded text over `maxBytes`. */
  readonly tooLarge: (bytes: number) => DomainError;
}

/**
 * Strict base64 to UTF-8 text: whitespace is dropped (the `base64` CLI wraps at 76 columns), then the
 * text must be the standard alphabet with correct `=` padding or the URL-safe alphabet (`-`, `_`), padded
 * or not. Node's own decoder silently skips junk, so the alphabet is checked first.
 */
export function decodeBase64Text(body: string, options: Base64TextOptions): string {
  const compact = body.replace(/\s+/g, "");
  // Refuse before decoding: a huge body must not cost a huge allocation.
  const estimate = Math.floor((compact.length * 3) / 4);
  if (estimate > options.maxBytes + 2) throw options.tooLarge(estimate);
  const problem = base64Problem(compact);
  if (problem !== undefined) {
    throw new RequestValidationError(`${options.path} is not base64: ${problem}. ${options.howTo}`, [
      { path: options.path, message: `not base64: ${problem}. ${options.howTo}` },
    ]);
  }
  const bytes = Buffer.from(compact, "base64");
  if (bytes.length > options.maxBytes) throw options.tooLarge(bytes.length);
  if (bytes.includes(0)) throw options.notText("it contains NUL bytes");
  try {
    return UTF8.decode(bytes);
  } catch {
    throw options.notText("it is not valid UTF-8");
  }
}

function base64Problem(compact: string): string | undefined {
  const bad = /[^A-Za-z0-9+/=_-]/.exec(compact);
  if (bad)
    return `character '${printable(bad[0])}' at position ${bad.index + 1} is not in the base64 alphabet`;
  const standard = STANDARD.test(compact);
  const urlSafe = URL_SAFE.test(compact);
  if (!standard && !urlSafe) {
    if (/=[^=]/.test(compact)) return "'=' padding may only appear at the end";
    if (/={3,}$/.test(compact)) return "it ends with more than two '=' padding characters";
    return "it mixes the standard (+/) and URL-safe (-_) alphabets";
  }
  const padded = compact.endsWith("=");
  if (padded || (standard && !urlSafe)) {
    if (compact.length % 4 !== 0) return `its length (${compact.length}) is not a multiple of 4`;
    return undefined;
  }
  // Unpadded URL-safe (or alphabet-neutral) text: only a remainder of 1 can never be base64.
  if (compact.length % 4 === 1) return `its length (${compact.length}) is not a valid base64 length`;
  return undefined;
}

function printable(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, "0")}` : ch;
}

/** The standard "too large" error for a field. */
export function tooLargeError(path: string, what: string, maxBytes: number) {
  return (bytes: number) => {
    const message = `The ${what} is ${bytes} bytes; the limit is ${maxBytes} bytes (${Math.floor(maxBytes / 1024)} KiB).`;
    return new PayloadTooLargeError(message, [{ path, message }]);
  };
}
