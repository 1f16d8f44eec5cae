import type { ConfigWarning } from "../cluster-spec.ts";
import type { FieldIssue } from "../errors.ts";

/** Where a value of the normalized spec came from in the user's document. */
export interface SourceRef {
  /** The path in the user's own vocabulary, e.g. `Scheduling.SlurmQueues[0].Name` or `[cluster default].scheduler`. */
  readonly path: string;
  /** 1-based line, when the document has lines to point at. */
  readonly line?: number;
}

/**
 * Gathers every error and warning of one parse, so the user gets all problems in one answer rather than
 * one per attempt. Errors are deduplicated by path: a later check on a value already reported (e.g. the
 * common validation of a count the format parser could not read) adds nothing the user can act on.
 */
export class IssueCollector {
  readonly errors: FieldIssue[] = [];
  readonly warnings: ConfigWarning[] = [];
  readonly #errorPaths = new Set<string>();
  readonly #warningKeys = new Set<string>();

  error(path: string, message: string, line?: number): void {
    if (this.#errorPaths.has(path)) return;
    this.#errorPaths.add(path);
    this.errors.push(line === undefined ? { path, message } : { path, message, line });
  }

  errorAt(ref: SourceRef, message: string): void {
    this.error(ref.path, message, ref.line);
  }

  warn(path: string, message: string, line?: number): void {
    const key = `${path}\u0000${message}`;
    if (this.#warningKeys.has(key)) return;
    this.#warningKeys.add(key);
    this.warnings.push(line === undefined ? { path, message } : { path, message, line });
  }

  warnAt(ref: SourceRef, message: string): void {
    this.warn(ref.path, message, ref.line);
  }

  hasErrorAt(path: string): boolean {
    return this.#errorPaths.has(path);
  }

  get hasErrors(): boolean {
    return this.errors.length > 0;
  }
}

/**
 * Maps paths of the normalized spec (`queues[0].computeResources[1].maxCount`) back to the user's document,
 * so the one common validator can still answer in the user's vocabulary and with line numbers.
 */
export class SourceMap {
  readonly #refs = new Map<string, SourceRef>();

  constructor(
    private readonly fallback: (specPath: string) => SourceRef = (specPath) => ({ path: specPath }),
  ) {}

  set(specPath: string, ref: SourceRef): void {
    this.#refs.set(specPath, ref);
  }

  /**
   * The recorded location; else, below a recorded list, that list's path with the index (`...SubnetIds[1]`);
   * else the fallback's path with the nearest recorded ancestor's line.
   */
  locate(specPath: string): SourceRef {
    const exact = this.#refs.get(specPath);
    if (exact) return exact;
    let parent = parentPath(specPath);
    while (parent !== undefined) {
      const ref = this.#refs.get(parent);
      if (ref) {
        const rest = specPath.slice(parent.length);
        if (/^(\[\d+\])+$/.test(rest)) return { ...ref, path: `${ref.path}${rest}` };
        const own = this.fallback(specPath);
        return own.line === undefined && ref.line !== undefined ? { ...own, line: ref.line } : own;
      }
      parent = parentPath(parent);
    }
    return this.fallback(specPath);
  }
}

function parentPath(specPath: string): string | undefined {
  const cut = Math.max(specPath.lastIndexOf("."), specPath.lastIndexOf("["));
  return cut > 0 ? specPath.slice(0, cut) : undefined;
}

/** `["queues", 0, "name"]` -> `queues[0].name`: the path style of the normalized spec. */
export function specPathOf(segments: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}
