import { Buffer } from "node:buffer";
import { decodeBase64Text, tooLargeError } from "../base64-text.ts";
import { ConfigInvalidError } from "../errors.ts";

/** The largest configuration accepted, in bytes once decoded. Real configs are a few KiB. */
export const MAX_CONFIG_BYTES = 256 * 1024;

const HOW_TO =
  "Send the configuration file base64-encoded, e.g. the output of `base64 pcluster.conf` (or `base64 -w0 cluster.yaml`).";

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
  return decodeBase64Text(body, {
    path: "body",
    howTo: HOW_TO,
    maxBytes: MAX_CONFIG_BYTES,
    notText,
    tooLarge: tooLargeConfiguration,
  });
}

/**
 * @throws PayloadTooLargeError when `bytes` is over {@link MAX_CONFIG_BYTES}.
 */
export function assertSize(bytes: number): void {
  if (bytes > MAX_CONFIG_BYTES) throw tooLargeConfiguration(bytes);
}

const tooLargeConfiguration = tooLargeError("body", "configuration", MAX_CONFIG_BYTES);

function assertNoNul(text: string): void {
  if (text.includes("\u0000")) throw notText("it contains NUL characters");
}

/** The error for a configuration that is binary rather than text. */
export function notText(why: string): ConfigInvalidError {
  const message = `The decoded configuration is not text (${why}): send a ParallelCluster configuration file (YAML, INI or JSON), not a binary file.`;
  return new ConfigInvalidError(message, [{ path: "configuration", message }]);
}
