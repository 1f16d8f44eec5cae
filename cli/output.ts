/**
 * Everything hpcctl prints goes through here: results on stdout (a table, key facts, or the API's JSON),
 * notes, progress and errors on stderr, so stdout stays clean for `--output json` and for the output of
 * `jobs run`. The pure formatters are exported for the unit tests.
 */
import { ProgressLine, type ProgressStream } from "./progress.ts";

export { formatDuration } from "./progress.ts";

/** `table` for people, `json` for scripts. */
export type OutputFormat = "table" | "json";

/** The output formats `--output` accepts. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json"];

/** A column of a table: its header and how a row shows in it. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** The column's width when rows are printed as they come (`--follow`), before all widths are known. */
  readonly width?: number;
}

/** One row of a table printed as it grows: cells padded to fixed widths (the last one is not). */
export function formatFixedRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}

/** Aligned columns separated by two spaces, headers first; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** `Label:  value` lines with the values aligned; facts without a value are left out. */
export function formatFacts(facts: readonly (readonly [string, string | undefined])[]): string {
  const present = facts.filter((fact): fact is readonly [string, string] => fact[1] !== undefined);
  const width = Math.max(0, ...present.map(([label]) => label.length + 1));
  return present.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join("\n");
}

/** How long ago an RFC 3339 time was, coarsely (`45s`, `3m`, `2h`, `4d`), as tables show ages. */
export function formatAge(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "?";
  const seconds = Math.max(0, Math.floor((now - at) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** A time for key facts: the RFC 3339 text and how long ago it was. */
export function formatTime(iso: string | undefined, now: number): string | undefined {
  return iso === undefined ? undefined : `${iso} (${formatAge(iso, now)} ago)`;
}

/** The streams hpcctl writes to (process.stdout / process.stderr, or buffers in tests). */
export interface OutputStreams {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: ProgressStream;
}

/** The one place that writes. `quiet` silences notes and progress; errors and results always print. */
export class Output {
  readonly format: OutputFormat;
  readonly quiet: boolean;
  readonly #streams: OutputStreams;
  #progress: ProgressLine | undefined;

  constructor(streams: OutputStreams, options: { format?: OutputFormat; quiet?: boolean } = {}) {
    this.#streams = streams;
    this.format = options.format ?? "table";
    this.quiet = options.quiet ?? false;
  }

  /** True when a live progress line can be drawn (stderr is a terminal, and not `--quiet`). */
  get live(): boolean {
    return !this.quiet && this.#streams.stderr.isTTY === true;
  }

  /** True when results should be the API's JSON. */
  get json(): boolean {
    return this.format === "json";
  }

  /** One JSON document on stdout, indented. */
  printJson(value: unknown): void {
    this.#out(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One compact JSON document on one line (JSON Lines, for `--follow` in JSON). */
  printJsonLine(value: unknown): void {
    this.#out(`${JSON.stringify(value)}\n`);
  }

  /** A line of text on stdout. */
  printLine(text: string): void {
    this.#out(`${text}\n`);
  }

  /** Rows as an aligned table on stdout. */
  printTable<T>(columns: readonly Column<T>[], rows: readonly T[]): void {
    this.#out(
      `${formatTable(
        columns.map((column) => column.header),
        rows.map((row) => columns.map((column) => column.value(row))),
      )}\n`,
    );
  }

  /**
   * A table printed as its rows come (`--follow`): call the returned function with each batch; the
   * header comes before the first row, and columns use their fixed `width`.
   */
  streamTable<T>(columns: readonly Column<T>[]): (rows: readonly T[]) => void {
    const widths = columns.map((column) => Math.max(column.width ?? 0, column.header.length));
    let headerPrinted = false;
    return (rows) => {
      if (rows.length === 0) return;
      if (!headerPrinted) {
        this.printLine(
          formatFixedRow(
            columns.map((column) => column.header),
            widths,
          ),
        );
        headerPrinted = true;
      }
      for (const row of rows)
        this.printLine(
          formatFixedRow(
            columns.map((column) => column.value(row)),
            widths,
          ),
        );
    };
  }

  /** Key facts (`Label:  value`) on stdout. */
  printFacts(facts: readonly (readonly [string, string | undefined])[]): void {
    this.#out(`${formatFacts(facts)}\n`);
  }

  /** A note for people on stderr (what happened, what is next); silenced by `--quiet`. */
  note(text: string): void {
    if (!this.quiet) this.#err(`${text}\n`);
  }

  /** Error lines on stderr; never silenced. */
  error(lines: readonly string[]): void {
    for (const line of lines) this.#err(`${line}\n`);
  }

  /** Starts a progress line on stderr (a silent one under `--quiet`); `endProgress()` stops it. */
  startProgress(label: string, now?: () => number): ProgressLine {
    this.endProgress();
    const sink: ProgressStream = this.quiet ? { write: () => true, isTTY: false } : this.#streams.stderr;
    this.#progress = new ProgressLine(sink, label, now ? { now } : {});
    return this.#progress;
  }

  /** Stops the current progress line, leaving its final state on a TTY. */
  endProgress(): void {
    this.#progress?.finish();
    this.#progress = undefined;
  }

  // stdout and stderr share the terminal: a live progress line is erased before anything else is written.
  #out(text: string): void {
    this.#progress?.clear();
    this.#streams.stdout.write(text);
    this.#progress?.restore();
  }

  #err(text: string): void {
    this.#progress?.clear();
    this.#streams.stderr.write(text);
    this.#progress?.restore();
  }
}
