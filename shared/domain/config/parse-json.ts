import { Document, isMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import {
  type ClusterSpec,
  ClusterSpecSchema,
  ComputeResourceSchema,
  HeadNodeSchema,
  QueueSchema,
  SharedStorageSchema,
} from "../cluster-spec.ts";
import { didYouMean } from "./did-you-mean.ts";
import { foreignDocumentHint, foreignTextHint } from "./foreign-documents.ts";
import { type IssueCollector, SourceMap, specPathOf } from "./issue-collector.ts";
import { jsonErrorOffset, lineAndColumn } from "./json-error-position.ts";
import type { NormalizedDraft } from "./normalized-draft.ts";
import { normalizePcluster3 } from "./parse-pcluster3.ts";
import { unusableTagKey } from "./validate-spec.ts";
import { scalarKey } from "./yaml-reader.ts";

/** Top-level keys that mark the ParallelCluster 3 structure written as JSON. */
const PCLUSTER3_MARKERS = ["HeadNode", "Scheduling"];
/** Top-level keys that mark the API's own normalized spec. */
const SPEC_MARKERS = ["scheduler", "queues"];

/**
 * Parses a JSON configuration: either the ParallelCluster 3 structure (top-level `HeadNode`/`Scheduling`),
 * normalized exactly as the YAML is, or the API's normalized `ClusterSpec` (top-level `scheduler` and
 * `queues`), checked with `ClusterSpecSchema`. Line numbers come from re-reading the text with the YAML
 * parser, which JSON is a subset of.
 */
export function normalizeJson(text: string, issues: IssueCollector): NormalizedDraft | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const { line, column } = lineAndColumn(text, jsonErrorOffset(text));
    issues.error(
      "configuration",
      `JSON syntax error at line ${line}, column ${column}: ${cleanJsonMessage(error)}.${foreignTextHint(text)}`,
      line,
    );
    return undefined;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    issues.error("configuration", "A JSON configuration must be an object.", 1);
    return undefined;
  }
  const keys = Object.keys(value);
  if (keys.some((k) => PCLUSTER3_MARKERS.includes(k))) {
    const { doc, lineCounter } = documentWithLines(text, value);
    return normalizePcluster3(doc, lineCounter, "json", issues);
  }
  if (keys.some((k) => SPEC_MARKERS.includes(k))) {
    // Only a config with something to report needs line numbers: parse the text again only then.
    let lines: ReturnType<typeof documentWithLines> | undefined;
    const lineAt = (specPath: string): number | undefined => {
      lines ??= documentWithLines(text, value);
      return lineOfPath(lines.doc, lines.lineCounter, specPath);
    };
    return normalizeSpecJson(value, lineAt, issues);
  }
  issues.error(
    "configuration",
    "This is not a cluster configuration: a JSON configuration is either a ParallelCluster 3 configuration " +
      "(top-level HeadNode and Scheduling) or a cluster spec (top-level scheduler and queues); found " +
      `${keys.length === 0 ? "an empty object" : keys.slice(0, 8).join(", ")}.${foreignDocumentHint(keys)}`,
    1,
  );
  return undefined;
}

function cleanJsonMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/,\s*".*"\s+is not valid JSON$/s, "")
    .replace(/\s*in JSON at position \d+.*$/s, "")
    .replace(/\s*\(line \d+ column \d+\)$/, "")
    .trim();
}

/**
 * The YAML view of the JSON text, for line numbers. The YAML parser refuses a few things JSON.parse takes
 * (duplicate keys); then the positions are lost but the content is the same.
 */
function documentWithLines(
  text: string,
  value: object,
): { doc: Document; lineCounter: LineCounter | undefined } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length === 0) return { doc, lineCounter };
  return { doc: new Document(value), lineCounter: undefined };
}

/** Keys each object of the normalized spec takes, from the schema itself so they cannot drift apart. */
const SPEC_KEYS = {
  root: Object.keys(ClusterSpecSchema.shape),
  headNode: Object.keys(HeadNodeSchema.shape),
  networking: Object.keys(ClusterSpecSchema.shape.networking.shape),
  queue: Object.keys(QueueSchema.shape),
  computeResource: Object.keys(ComputeResourceSchema.shape),
  sharedStorage: Object.keys(SharedStorageSchema.shape),
};

function normalizeSpecJson(
  value: object,
  lineAt: (specPath: string) => number | undefined,
  issues: IssueCollector,
): NormalizedDraft | undefined {
  const sourceMap = new SourceMap((specPath) => ({ path: specPath, line: lineAt(specPath) }));
  warnUnknownSpecKeys(value, issues, lineAt);
  // Before the schema, which would drop an unusable key unseen.
  const { tags } = value as { tags?: unknown };
  for (const key of tags !== null && typeof tags === "object" ? Object.keys(tags) : []) {
    const unusable = unusableTagKey(key);
    if (unusable !== undefined) issues.errorAt(sourceMap.locate(`tags.${key}`), unusable);
  }
  const input = withSpecDefaults(value);
  const parsed = ClusterSpecSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const specPath = specPathOf(issue.path) || "configuration";
      issues.errorAt(sourceMap.locate(specPath), issue.message);
    }
    return undefined;
  }
  const spec: ClusterSpec = parsed.data;
  return { spec, sourceMap };
}

/** The few fields the normalized JSON may leave out; everything else it must spell out. */
function withSpecDefaults(value: object): unknown {
  const input: Record<string, unknown> = {
    os: "alinux2",
    networking: {},
    sharedStorage: [],
    tags: {},
    ...(value as Record<string, unknown>),
    sourceFormat: "json",
  };
  if (Array.isArray(input.queues)) {
    input.queues = input.queues.map((queue: unknown) =>
      queue !== null && typeof queue === "object" && !Array.isArray(queue)
        ? { capacityType: "ONDEMAND", subnetIds: [], ...queue }
        : queue,
    );
  }
  return input;
}

function warnUnknownSpecKeys(
  value: object,
  issues: IssueCollector,
  lineAt: (p: string) => number | undefined,
): void {
  const check = (object: unknown, known: readonly string[], path: string): void => {
    if (object === null || typeof object !== "object" || Array.isArray(object)) return;
    for (const key of Object.keys(object)) {
      if (known.includes(key) || (path === "" && key === "sourceFormat")) continue;
      const keyPath = path === "" ? key : `${path}.${key}`;
      issues.warn(
        keyPath,
        `Unknown key '${key}' ${path === "" ? "at the top level" : `in ${path}`} is ignored${didYouMean(key, known)}`,
        lineAt(keyPath),
      );
    }
  };
  const record = value as Record<string, unknown>;
  check(record, SPEC_KEYS.root, "");
  check(record.headNode, SPEC_KEYS.headNode, "headNode");
  check(record.networking, SPEC_KEYS.networking, "networking");
  const each = (
    list: unknown,
    known: readonly string[],
    path: string,
    inner?: (item: unknown, at: string) => void,
  ) => {
    if (!Array.isArray(list)) return;
    list.forEach((item: unknown, i) => {
      check(item, known, `${path}[${i}]`);
      inner?.(item, `${path}[${i}]`);
    });
  };
  each(record.queues, SPEC_KEYS.queue, "queues", (queue, at) => {
    if (queue !== null && typeof queue === "object") {
      each(
        (queue as Record<string, unknown>).computeResources,
        SPEC_KEYS.computeResource,
        `${at}.computeResources`,
      );
    }
  });
  each(record.sharedStorage, SPEC_KEYS.sharedStorage, "sharedStorage");
}

/** The line of the deepest node of the document that `queues[0].computeResources[1].name` reaches. */
function lineOfPath(
  doc: Document,
  lineCounter: LineCounter | undefined,
  specPath: string,
): number | undefined {
  if (lineCounter === undefined) return undefined;
  const segments = specPath.match(/[^.[\]]+/g) ?? [];
  let node: unknown = doc.contents;
  let line: number | undefined = lineFor(node as Node, lineCounter);
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => scalarKey(p.key) === segment);
      if (pair === undefined) break;
      line = lineFor(pair.key as Node, lineCounter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      line = lineFor(item as Node, lineCounter) ?? line;
      node = item;
    } else break;
  }
  return line;
}

function lineFor(node: Node | null | undefined, lineCounter: LineCounter): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : lineCounter.linePos(start).line;
}
