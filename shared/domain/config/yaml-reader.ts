import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  visit,
  type YAMLMap,
} from "yaml";
import { ConfigInvalidError } from "../errors.ts";
import { closestKey } from "./did-you-mean.ts";
import type { IssueCollector, SourceMap } from "./issue-collector.ts";
import { isPlaceholder, placeholderMessage } from "./value-coercion.ts";

const MAX_ALIAS_EXPANSIONS = 1000;

/** A mapping of the document, with its path (`Scheduling.SlurmQueues[0]`) and the line that introduced it. */
export interface MapCtx {
  readonly node: YAMLMap;
  readonly path: string;
  readonly line: number | undefined;
}

/** One `key: value` of a mapping; `node` is undefined for a key written with no value. */
export interface Entry {
  readonly key: string;
  readonly node: Node | undefined;
  readonly path: string;
  readonly line: number | undefined;
}

export function joinPath(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

/**
 * Typed access to a parsed YAML document that keeps line numbers and records, for each value it reads, an
 * issue when the value has the wrong type and a source location for the normalized spec path it feeds.
 */
export class YamlReader {
  /** Alias expansions so far: a "billion laughs" document must not make the walk exponential. */
  #aliasBudget = MAX_ALIAS_EXPANSIONS;
  /** The node each alias names, found in one walk of the document at the first alias. */
  #aliasTargets: Map<Alias, Node> | undefined;

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter | undefined,
    readonly issues: IssueCollector,
    readonly sourceMap: SourceMap,
  ) {}

  lineOf(node: Node | null | undefined): number | undefined {
    const start = node?.range?.[0];
    if (start === undefined || this.lineCounter === undefined) return undefined;
    return this.lineCounter.linePos(start).line;
  }

  /** Follows `*alias` references so anchors work as they do in ParallelCluster's own YAML loader. */
  deref(node: unknown): Node | undefined {
    if (node === null || node === undefined) return undefined;
    if (isAlias(node)) {
      this.#aliasBudget--;
      if (this.#aliasBudget < 0) {
        const message = `The configuration expands YAML aliases (*name) more than ${MAX_ALIAS_EXPANSIONS} times; write the values out.`;
        throw new ConfigInvalidError(message, [{ path: "configuration", message }]);
      }
      return this.deref(this.#target(node));
    }
    const candidate = node as Node;
    if (isScalar(candidate) && candidate.value === null) return undefined;
    return candidate;
  }

  /**
   * The anchored node an alias refers to: the last node with that anchor before the alias, in document
   * order, as `Alias.resolve` finds it. `resolve` walks the whole document on every call, which made
   * 1,000 aliases in a 200 KiB document cost seconds; one walk for all of them keeps it linear.
   */
  #target(alias: Alias): Node | undefined {
    if (this.#aliasTargets === undefined) {
      const targets = new Map<Alias, Node>();
      const latest = new Map<string, Node>();
      visit(this.doc, {
        Node: (_key, node) => {
          if (isAlias(node)) {
            const target = latest.get(node.source);
            if (target !== undefined) targets.set(node, target);
          } else if (node.anchor !== undefined) latest.set(node.anchor, node);
        },
      });
      this.#aliasTargets = targets;
    }
    return this.#aliasTargets.get(alias);
  }

  root(): Node | undefined {
    return this.deref(this.doc.contents);
  }

  keys(ctx: MapCtx): string[] {
    const out: string[] = [];
    for (const pair of ctx.node.items) {
      const key = scalarKey(pair.key);
      if (key !== undefined) out.push(key);
    }
    return out;
  }

  entry(ctx: MapCtx, key: string): Entry | undefined {
    for (const pair of ctx.node.items) {
      if (scalarKey(pair.key) !== key) continue;
      const keyNode = pair.key as Node;
      return {
        key,
        node: this.deref(pair.value),
        path: joinPath(ctx.path, key),
        line: this.lineOf(keyNode) ?? ctx.line,
      };
    }
    return undefined;
  }

  /** Records `missing required key` with a hint when a sibling looks like a typo of it. */
  missing(ctx: MapCtx, key: string, what: string): void {
    const typo = this.keys(ctx).find((k) => k !== key && closestKey(k, [key]) === key);
    const hint = typo === undefined ? "" : ` (found '${typo}': did you mean '${key}'?)`;
    this.issues.error(joinPath(ctx.path, key), `${key} is required: ${what}${hint}.`, ctx.line);
  }

  map(ctx: MapCtx, key: string, opts: { required?: string } = {}): MapCtx | undefined {
    const found = this.entry(ctx, key);
    if (found?.node === undefined) {
      if (opts.required !== undefined) this.missing(ctx, key, opts.required);
      return undefined;
    }
    if (!isMap(found.node)) {
      this.issues.error(
        found.path,
        `${key} must be a mapping of settings; got ${describe(found.node)}.`,
        found.line,
      );
      return undefined;
    }
    return { node: found.node, path: found.path, line: found.line };
  }

  /** The items of a list of mappings; items that are not mappings are reported and skipped (index kept). */
  mapList(
    ctx: MapCtx,
    key: string,
    opts: { required?: string } = {},
  ): { readonly entry: Entry; readonly items: readonly (MapCtx | undefined)[] } | undefined {
    const found = this.entry(ctx, key);
    if (found?.node === undefined) {
      if (opts.required !== undefined) this.missing(ctx, key, opts.required);
      return undefined;
    }
    if (!isSeq(found.node)) {
      this.issues.error(found.path, `${key} must be a list; got ${describe(found.node)}.`, found.line);
      return undefined;
    }
    const items = found.node.items.map((raw, index) => {
      const node = this.deref(raw);
      const path = `${found.path}[${index}]`;
      const line = this.lineOf(node) ?? found.line;
      if (node === undefined || !isMap(node)) {
        this.issues.error(path, `Each item of ${key} must be a mapping; got ${describe(node)}.`, line);
        return undefined;
      }
      return { node, path, line };
    });
    return { entry: found, items };
  }

  string(
    ctx: MapCtx | undefined,
    key: string,
    specPath: string | undefined,
    opts: { required?: string } = {},
  ): string | undefined {
    if (ctx === undefined) return undefined;
    const found = this.entry(ctx, key);
    this.record(specPath, ctx, key, found);
    if (found?.node === undefined) {
      if (opts.required !== undefined) {
        if (found === undefined) this.missing(ctx, key, opts.required);
        else this.issues.error(found.path, `${key} has no value: ${opts.required}.`, found.line);
      }
      return undefined;
    }
    return this.stringValue(found.node, found.path, found.line, key);
  }

  /** A scalar string with placeholders dropped; anything else is reported. */
  stringValue(node: Node, path: string, line: number | undefined, label: string): string | undefined {
    if (!isScalar(node) || typeof node.value !== "string") {
      this.issues.error(path, `${label} must be a string; got ${describe(node)}.`, line);
      return undefined;
    }
    const value = node.value.trim();
    if (isPlaceholder(value)) {
      this.issues.warn(path, placeholderMessage(value), line);
      return undefined;
    }
    return value;
  }

  stringList(ctx: MapCtx | undefined, key: string, specPath: string | undefined): string[] | undefined {
    if (ctx === undefined) return undefined;
    const found = this.entry(ctx, key);
    this.record(specPath, ctx, key, found);
    if (found?.node === undefined) return undefined;
    if (!isSeq(found.node)) {
      this.issues.error(
        found.path,
        `${key} must be a list of strings; got ${describe(found.node)}.`,
        found.line,
      );
      return undefined;
    }
    const out: string[] = [];
    found.node.items.forEach((raw, index) => {
      const node = this.deref(raw);
      const path = `${found.path}[${index}]`;
      if (node === undefined) {
        this.issues.error(path, `${key} must not contain empty items.`, found.line);
        return;
      }
      const line = this.lineOf(node) ?? found.line;
      if (specPath !== undefined) this.sourceMap.set(`${specPath}[${out.length}]`, { path, line });
      const value = this.stringValue(node, path, line, `${key}[${index}]`);
      if (value !== undefined) out.push(value);
    });
    return out;
  }

  integer(ctx: MapCtx | undefined, key: string, specPath: string | undefined): number | undefined {
    if (ctx === undefined) return undefined;
    const found = this.entry(ctx, key);
    this.record(specPath, ctx, key, found);
    if (found?.node === undefined) return undefined;
    const node = found.node;
    if (isScalar(node) && typeof node.value === "number") {
      if (Number.isInteger(node.value)) return node.value;
      this.issues.error(found.path, `${key} must be a whole number; got ${node.value}.`, found.line);
      return undefined;
    }
    if (isScalar(node) && typeof node.value === "string" && /^[+-]?\d{1,15}$/.test(node.value.trim())) {
      const value = Number.parseInt(node.value, 10);
      this.issues.warn(
        found.path,
        `${key} is written as a string ('${node.value}'); taken as the number ${value}.`,
        found.line,
      );
      return value;
    }
    this.issues.error(found.path, `${key} must be an integer; got ${describe(node)}.`, found.line);
    return undefined;
  }

  boolean(ctx: MapCtx | undefined, key: string, specPath: string | undefined): boolean | undefined {
    if (ctx === undefined) return undefined;
    const found = this.entry(ctx, key);
    this.record(specPath, ctx, key, found);
    if (found?.node === undefined) return undefined;
    const node = found.node;
    if (isScalar(node) && typeof node.value === "boolean") return node.value;
    if (isScalar(node) && typeof node.value === "string" && /^(true|false)$/i.test(node.value.trim())) {
      return node.value.trim().toLowerCase() === "true";
    }
    this.issues.error(found.path, `${key} must be true or false; got ${describe(node)}.`, found.line);
    return undefined;
  }

  private record(specPath: string | undefined, ctx: MapCtx, key: string, found: Entry | undefined): void {
    if (specPath === undefined) return;
    this.sourceMap.set(specPath, { path: joinPath(ctx.path, key), line: found?.line ?? ctx.line });
  }
}

export function scalarKey(key: unknown): string | undefined {
  if (isScalar(key) && (typeof key.value === "string" || typeof key.value === "number"))
    return String(key.value);
  return undefined;
}

/** A short description of a value for error messages: `"ten"`, `a list`, `a mapping`, `nothing`. */
export function describe(node: Node | undefined): string {
  if (node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const text = JSON.stringify(node.value) ?? String(node.value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }
  return "an unsupported value";
}
