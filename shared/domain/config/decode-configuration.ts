import { Buffer } from "node:buffer";
import { ConfigInvalidError, PayloadTooLargeError, RequestValidationError } from "../errors.ts";

/** The largest configuration accepted, in bytes once decoded. Real configs are a few KiB. */
export const MAX_CONFIG_BYTES = 256 * 1024;

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;
const HOW_TO =
  "Send the configuration file base64-encoded, e.g. the output of `base64 pcluster.conf` (or `base64 -w0 cluster.yaml`).";
/** Fatal so that bytes which are not UTF-8 are refused rather than turned into U+FFFD; it also drops a BOM. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Turns the request body into the configuration text.
 *
 * `base64` is strict: whitespace is dropped (the `base64` CLI wraps at 76 columns), then the text must be the
 * standard alphabet with correct `=` padding or the URL-safe alphabet (`-`, `_`), padded or not. The decoded
 * bytes must be UTF-8 text without NUL bytes; a BOM is dropped. `text` is taken as is, but for a leading BOM.
 *
 * @throws RequestValidationError when the body is not base64 (issue path `body`).
 * @throws PayloadTooLargeError when the decoded configuration is larger than {@link MAX_CONFIG_BYTES}.
 * @throws ConfigInvalidError when the decoded bytes are not text.
 */
export function decodeConfiguration(body: string, encoding: "base64" | "text"): string {
  if (encoding === "text") {
    assertSize(Buffer.byteLength(body, "utf8"));
    assertNoNul(body);
    return body.startsWith("\uFEFF") ? body.slice(1) : body;
  }
  const compact = body.replace(/\s+/g, "");
  // Refuse before decoding: a huge body must not cost a huge allocation.
  if (Math.floor((compact.length * 3) / 4) > MAX_CONFIG_BYTES + 2)
    assertSize(Math.floor((compact.length * 3) / 4));
  assertBase64(compact);
  const bytes = Buffer.from(compact, "base64");
  assertSize(bytes.length);
  if (bytes.includes(0)) throw notText("it contains NUL bytes");
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw notText("it is not valid UTF-8");
  }
  return text;
}

function assertBase64(compact: string): void {
  const problem = base64Problem(compact);
  if (problem === undefined) return;
  throw new RequestValidationError(`The request body is not base64: ${problem}. ${HOW_TO}`, [
    { path: "body", message: `not base64: ${problem}. ${HOW_TO}` },
  ]);
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

/**
 * @throws PayloadTooLargeError when `bytes` is over {@link MAX_CONFIG_BYTES}.
 */
export function assertSize(bytes: number): void {
  if (bytes <= MAX_CONFIG_BYTES) return;
  const message = `The configuration is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES} bytes (256 KiB).`;
  throw new PayloadTooLargeError(message, [{ path: "body", message }]);
}

function assertNoNul(text: string): void {
  if (text.includes("\u0000")) throw notText("it contains NUL characters");
}

/** The error for a configuration that is binary rather than text. */
export function notText(why: string): ConfigInvalidError {
  const message = `The decoded configuration is not text (${why}): send a ParallelCluster configuration file (YAML, INI or JSON), not a binary file.`;
  return new ConfigInvalidError(message, [{ path: "configuration", message }]);
}
