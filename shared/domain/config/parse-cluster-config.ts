import { Buffer } from "node:buffer";
import { LineCounter, parseDocument } from "yaml";
import { ClusterSpecSchema, type ParsedConfig, type SourceFormat } from "../cluster-spec.ts";
import { ConfigInvalidError, DomainError, type FieldIssue } from "../errors.ts";
import { assertSize, notText } from "./decode-configuration.ts";
import { detectConfigFormat } from "./detect-format.ts";
import { foreignTextHint } from "./foreign-documents.ts";
import { IssueCollector, specPathOf } from "./issue-collector.ts";
import type { NormalizedDraft } from "./normalized-draft.ts";
import { normalizeJson } from "./parse-json.ts";
import { normalizePcluster2Ini } from "./parse-pcluster2-ini.ts";
import { normalizePcluster3 } from "./parse-pcluster3.ts";
import { validateSpec } from "./validate-spec.ts";

const FORMAT_LABEL: Readonly<Record<SourceFormat, string>> = {
  "pcluster3-yaml": "ParallelCluster 3 YAML",
  "pcluster2-ini": "ParallelCluster 2 INI",
  json: "JSON",
};

/**
 * Detects the format of a cluster configuration, parses it, normalizes it into a `ClusterSpec` and
 * validates it, collecting every problem rather than stopping at the first.
 *
 * @returns the spec and the warnings the user should read (unknown keys, placeholders, repaired damage),
 *   sorted by line.
 * @throws ConfigInvalidError with one `FieldIssue` (path in the user's own vocabulary, 1-based line for
 *   YAML and INI) per problem. Nothing else escapes but `PayloadTooLargeError` for an oversized text.
 */
export function parseClusterConfig(text: string): ParsedConfig {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    // A parser bug or an input that defeats a library must still answer as a config problem, not a 500.
    const message =
      "The configuration could not be read: check that it is a ParallelCluster 3 YAML, ParallelCluster 2 INI or JSON cluster configuration.";
    throw new ConfigInvalidError(message, [{ path: "configuration", message }]);
  }
}

function parse(raw: string): ParsedConfig {
  const text = raw.startsWith("\uFEFF") ? raw.slice(1) : raw;
  assertSize(Buffer.byteLength(text, "utf8"));
  if (text.includes("\u0000")) throw notText("it contains NUL characters");
  if (text.trim() === "") {
    const message =
      "The configuration is empty: send a ParallelCluster 3 YAML, ParallelCluster 2 INI or JSON cluster configuration.";
    throw new ConfigInvalidError(message, [{ path: "configuration", message }]);
  }
  const format = detectConfigFormat(text);
  const issues = new IssueCollector();
  const draft = normalize(format, text, issues);
  let spec = draft?.spec;
  if (draft !== undefined) {
    validateSpec(draft.spec, draft.sourceMap, issues);
    if (!issues.hasErrors) {
      // The last net: whatever the format parsers built must be exactly the published schema.
      const checked = ClusterSpecSchema.safeParse(draft.spec);
      if (checked.success) spec = checked.data;
      else
        for (const issue of checked.error.issues)
          issues.errorAt(draft.sourceMap.locate(specPathOf(issue.path)), issue.message);
    }
  }
  if (issues.hasErrors || spec === undefined) {
    const errors = byLine(issues.errors);
    throw new ConfigInvalidError(summary(format, errors), errors);
  }
  return { spec, warnings: byLine(issues.warnings) };
}

function normalize(format: SourceFormat, text: string, issues: IssueCollector): NormalizedDraft | undefined {
  if (format === "json") return normalizeJson(text, issues);
  if (format === "pcluster2-ini") return normalizePcluster2Ini(text, issues);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [first] = doc.errors;
  if (first !== undefined) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    issues.error(
      "configuration",
      `YAML syntax error at line ${line}, column ${col}: ${first.message}.${foreignTextHint(text)}`,
      line,
    );
    return undefined;
  }
  for (const warning of doc.warnings) {
    issues.warn("configuration", warning.message, lineCounter.linePos(warning.pos[0]).line);
  }
  return normalizePcluster3(doc, lineCounter, "pcluster3-yaml", issues);
}

/** Issues in document order; those without a line keep their relative order, after the others. */
function byLine<T extends { readonly line?: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

function summary(format: SourceFormat, errors: readonly FieldIssue[]): string {
  const [first] = errors;
  if (first === undefined) return `The ${FORMAT_LABEL[format]} configuration is not valid.`;
  const where = first.line === undefined ? first.path : `${first.path} (line ${first.line})`;
  const others = errors.length - 1;
  const more =
    others === 0 ? "" : ` ${others} more problem${others === 1 ? " is" : "s are"} listed in issues.`;
  return `The ${FORMAT_LABEL[format]} configuration is not valid: ${where}: ${first.message}${more}`;
}
