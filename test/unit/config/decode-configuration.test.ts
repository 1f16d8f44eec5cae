import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { decodeConfiguration, MAX_CONFIG_BYTES } from "#shared/domain/config/index.ts";
import { ConfigInvalidError, PayloadTooLargeError, RequestValidationError } from "#shared/domain/errors.ts";
import { fixture, thrownBy } from "./config-fixtures.ts";

const YAML = fixture("pcluster3-minimal-slurm.yaml");

/** What `base64 FILE` prints: standard alphabet, padded, wrapped at 76 columns. */
function base64Cli(text: string | Buffer): string {
  const encoded = Buffer.from(text).toString("base64");
  return `${encoded.match(/.{1,76}/g)?.join("\n") ?? ""}\n`;
}

describe("decodeConfiguration with base64", () => {
  it("decodes the output of the base64 CLI, line wrapping included", () => {
    const body = base64Cli(YAML);
    expect(body.split("\n").length).toBeGreaterThan(3);
    expect(decodeConfiguration(body, "base64")).toBe(YAML);
  });

  it("accepts the URL-safe alphabet without padding", () => {
    // "???>>>a" encodes to "Pz8/Pj4+YQ==": it exercises both alphabet differences and the padding.
    const urlSafe = Buffer.from("???>>>a").toString("base64url");
    expect(urlSafe).toMatch(/[-_]/);
    expect(urlSafe).not.toContain("=");
    expect(decodeConfiguration(urlSafe, "base64")).toBe("???>>>a");
  });

  it("drops a UTF-8 byte order mark", () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(YAML)]);
    expect(decodeConfiguration(withBom.toString("base64"), "base64")).toBe(YAML);
  });

  it.each([
    ["text with spaces and punctuation", "hello world!"],
    ["percent signs", "%%%"],
    ["a length that no base64 text has", "abcde"],
    ["padding in the middle", "ab=cdefg"],
    ["three padding characters", "a==="],
    ["a mix of the standard and URL-safe alphabets", "ab+-cd/_"],
    ["standard characters without the padding they need", "ab+/cd"],
  ])("refuses %s as not base64, saying how to encode the file", (_label, body) => {
    const error = thrownBy(() => decodeConfiguration(body, "base64"));
    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.path).toBe("body");
    expect(error.issues[0]?.message).toContain("not base64");
    expect(error.issues[0]?.message).toContain("base64 pcluster.conf");
  });

  it("names the offending character and its position", () => {
    const error = thrownBy(() => decodeConfiguration("aGVsbG8!", "base64"));
    expect(error.issues[0]?.message).toContain("'!' at position 8");
  });

  it("refuses the base64 of binary data with NUL bytes as not text", () => {
    // Deterministic pseudo-random bytes, with NULs, as a compiled binary would have.
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256));
    expect(bytes.includes(0)).toBe(true);
    const error = thrownBy(() => decodeConfiguration(bytes.toString("base64"), "base64"));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.message).toContain("not text");
  });

  it("refuses bytes that are not UTF-8 even without a NUL", () => {
    const latin1 = Buffer.from([0x52, 0xe9, 0x67, 0x69, 0x6f, 0x6e, 0xff, 0xfe]);
    const error = thrownBy(() => decodeConfiguration(latin1.toString("base64"), "base64"));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.message).toContain("not valid UTF-8");
  });

  it("accepts a configuration of exactly the limit and refuses one byte more, naming the limit", () => {
    const atLimit = `#${"x".repeat(MAX_CONFIG_BYTES - 1)}`;
    expect(decodeConfiguration(Buffer.from(atLimit).toString("base64"), "base64")).toHaveLength(
      MAX_CONFIG_BYTES,
    );
    const error = thrownBy(() =>
      decodeConfiguration(Buffer.from(`${atLimit}x`).toString("base64"), "base64"),
    );
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toContain(String(MAX_CONFIG_BYTES));
  });

  it("refuses a huge body as too large before decoding it", () => {
    const error = thrownBy(() => decodeConfiguration("QUFB".repeat(MAX_CONFIG_BYTES), "base64"));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe("decodeConfiguration with text", () => {
  it("returns the text as it is", () => {
    expect(decodeConfiguration(YAML, "text")).toBe(YAML);
  });

  it("still refuses text over the limit, counting UTF-8 bytes", () => {
    const multiByte = "é".repeat(MAX_CONFIG_BYTES / 2 + 1);
    expect(multiByte.length).toBeLessThan(MAX_CONFIG_BYTES);
    expect(thrownBy(() => decodeConfiguration(multiByte, "text"))).toBeInstanceOf(PayloadTooLargeError);
  });

  it("refuses text with a NUL character as not text", () => {
    const error = thrownBy(() => decodeConfiguration(`Region: us-east-1\u0000`, "text"));
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect(error.message).toContain("not text");
  });
});
