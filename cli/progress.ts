/**
 * Waiting, for people and for logs: the backoff every poll loop uses, an interruptible sleep, and the
 * progress line — redrawn in place on a terminal, one plain line per status change otherwise.
 */

/** The stream a progress line is drawn on (stderr): only what we use of a `tty.WriteStream`. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Poll delays: 500 ms, growing by half each time up to 5 s. `reset()` when something changed, so a
 * busy job is followed closely and an idle one is not hammered.
 */
export class Backoff {
  #current: number;

  constructor(
    readonly initialMs = 500,
    readonly maxMs = 5000,
    readonly factor = 1.5,
  ) {
    this.#current = initialMs;
  }

  /** The delay to wait now; the following one is longer, up to the maximum. */
  next(): number {
    const delay = this.#current;
    this.#current = Math.min(this.maxMs, Math.round(this.#current * this.factor));
    return delay;
  }

  /** Starts again from the initial delay. */
  reset(): void {
    this.#current = this.initialMs;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it is aborted (Ctrl-C). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A duration the way people read it: `850ms`, `12s`, `3m05s`, `2h04m`, `3d04h`. */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 1000) return `${Math.round(safe)}ms`;
  const seconds = Math.floor(safe / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, "0")}h`;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR_LINE = "\r\x1b[2K";

/**
 * One thing being waited for (`cluster c1`, `job 01J...`): its status, the time since the wait began and
 * the newest detail (a stack event, the job's attempt). On a TTY the line is redrawn in place every
 * second; otherwise a plain line is written each time the status changes, so logs stay readable.
 */
export class ProgressLine {
  readonly #stream: ProgressStream;
  readonly #label: string;
  readonly #now: () => number;
  readonly #started: number;
  readonly #tty: boolean;
  #status: string | undefined;
  #detail: string | undefined;
  #frame = 0;
  #drawn = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: ProgressStream, label: string, options: { now?: () => number; tty?: boolean } = {}) {
    this.#stream = stream;
    this.#label = label;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
    this.#tty = options.tty ?? stream.isTTY === true;
  }

  /** Records the current status and detail; prints a line when the status changed (or redraws, on a TTY). */
  update(status: string, detail?: string): void {
    const changed = status !== this.#status;
    this.#status = status;
    this.#detail = detail;
    if (this.#tty) {
      this.#draw();
      this.#timer ??= setInterval(() => this.#draw(), 1000).unref();
    } else if (changed) {
      this.#stream.write(`${this.plainLine()}\n`);
    }
  }

  /** The plain (non-TTY) form of the current state: `cluster c1: CREATE_IN_PROGRESS (3s) - detail`. */
  plainLine(): string {
    const detail = this.#detail ? ` - ${this.#detail}` : "";
    return `${this.#label}: ${this.#status ?? "?"} (${formatDuration(this.#now() - this.#started)})${detail}`;
  }

  /** Erases the live line so other output can be written (a TTY only); `restore()` draws it again. */
  clear(): void {
    if (this.#tty && this.#drawn) {
      this.#stream.write(CLEAR_LINE);
      this.#drawn = false;
    }
  }

  /** Draws the live line again after `clear()`. */
  restore(): void {
    if (this.#tty && this.#status !== undefined) this.#draw();
  }

  /** Stops redrawing; on a TTY the live line is replaced by its final plain form. */
  finish(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tty && this.#status !== undefined) {
      this.#stream.write(`${CLEAR_LINE}${this.plainLine()}\n`);
      this.#drawn = false;
    }
  }

  #draw(): void {
    const spinner = SPINNER[this.#frame++ % SPINNER.length] ?? "*";
    const elapsed = formatDuration(this.#now() - this.#started);
    let text = `${spinner} ${this.#label}  ${this.#status ?? "?"}  ${elapsed}${this.#detail ? `  ${this.#detail}` : ""}`;
    const width = (this.#stream.columns || 80) - 1;
    if (text.length > width) text = `${text.slice(0, Math.max(0, width - 1))}…`;
    this.#stream.write(`${CLEAR_LINE}${text}`);
    this.#drawn = true;
  }
}
