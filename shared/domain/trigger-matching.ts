import type { ObjectCreated } from "./s3-event.ts";
import { DEFAULT_BATCH_MARKER, type TriggerInput, type TriggerRule } from "./trigger.ts";

/** What a rule makes of one new object. */
export type RuleMatch =
  /** Submit one job with this input. */
  | { readonly kind: "job"; readonly input: TriggerInput }
  /** A `per-batch` object under the rule's prefix: it waits for its batch's marker. */
  | { readonly kind: "accumulate" }
  | { readonly kind: "no-match" };

/**
 * Builds the URI a job receives: of an object (`isPrefix` false), or of a batch's "directory"
 * (`isPrefix` true, `key` ends with `/` or is empty). `s3://bucket/key` on AWS, `file://` locally.
 */
export type InputUriFor = (bucket: string, key: string, isPrefix: boolean) => string;

const NO_MATCH: RuleMatch = { kind: "no-match" };
const ACCUMULATE: RuleMatch = { kind: "accumulate" };

/**
 * A key's "directory": everything up to and including its last `/`, or "" for a key at the bucket's
 * root.
 */
export function directoryOf(key: string): string {
  return key.slice(0, key.lastIndexOf("/") + 1);
}

/**
 * True when `key` closes a `per-batch` batch: it ends with the rule's `suffix` when the rule names one,
 * else its last path segment is exactly {@link DEFAULT_BATCH_MARKER} (`x/_SUCCESS`, not `x/my_SUCCESS`).
 */
export function isBatchMarker(rule: Pick<TriggerRule, "suffix">, key: string): boolean {
  if (rule.suffix) return key.endsWith(rule.suffix);
  return key === DEFAULT_BATCH_MARKER || key.endsWith(`/${DEFAULT_BATCH_MARKER}`);
}

/**
 * Decides what a rule does with a new object. The prefix (and, for `per-object`, the suffix) are plain,
 * case-sensitive string tests on the decoded key, as S3's own notification filters are: prefix `data`
 * matches `data/x` and `database.csv` alike. Keys ending with `/` (the "folder" placeholders the S3
 * console creates) never match, in either mode.
 *
 * - `per-object`: a matching key is one job; its input is the object (`prefix` is the key's directory).
 * - `per-batch`: a marker (see {@link isBatchMarker}) under the prefix is one job for the marker's
 *   directory: `uri` and `prefix` name that directory, `key` and `size` are the marker's. Any other
 *   object under the prefix accumulates.
 */
export function matchRule(
  rule: Pick<TriggerRule, "prefix" | "suffix" | "mode">,
  object: ObjectCreated,
  uriFor: InputUriFor,
): RuleMatch {
  const { bucket, key } = object;
  if (key.endsWith("/") || !key.startsWith(rule.prefix ?? "")) return NO_MATCH;
  const size = String(object.size);
  if (rule.mode === "per-batch") {
    if (!isBatchMarker(rule, key)) return ACCUMULATE;
    const directory = directoryOf(key);
    return {
      kind: "job",
      input: { uri: uriFor(bucket, directory, true), bucket, key, prefix: directory, size },
    };
  }
  if (rule.suffix && !key.endsWith(rule.suffix)) return NO_MATCH;
  return {
    kind: "job",
    input: { uri: uriFor(bucket, key, false), bucket, key, prefix: directoryOf(key), size },
  };
}
