import { createHash } from "node:crypto";
import { type BigIntStats, createReadStream, type FSWatcher, statSync, watch } from "node:fs";
import { mkdir, readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { encodeS3Key } from "#shared/domain/s3-event.ts";
import { logger } from "#shared/http/logger.ts";
import type { IngestReport } from "#shared/use-cases/ingest-object-events.ts";

/**
 * Local mode's S3: a directory tree `DATA_DIR/inbox/<bucket>/<key...>`. Every file written there, once
 * its writer is done with it, becomes one S3 "ObjectCreated:Put" notification handed to the S3 input
 * handler, the way S3 -> SQS -> Lambda would hand it over on AWS, redelivery included.
 *
 * How "done" is decided. `fs.watch` tells that a file changed, never that its writer closed it, so a
 * file is taken when both hold:
 * - quiet: its size and mtime have not changed for `quietMs` (250 ms), and
 * - on Linux, no process (that this user can see) has it open for writing (`/proc/<pid>/fd` and the
 *   access mode in `/proc/<pid>/fdinfo`). Readers do not count: a `tail -f` must not hold inputs back.
 * A file still open for writing after `maxOpenWaitMs` (30 s) of quiet is taken anyway, with a warning (a
 * writer that keeps an idle handle); if it is written again later, that is a new event, as a second PUT.
 *
 * Dropping a file reliably is write-then-rename: write `name.tmp` (or `.name`) in the same directory and
 * rename it to `name`; the rename is atomic and only the final name is seen. Names starting with `.`
 * (files and directories) and ending in `.tmp`, `.part`, `.crdownload` or `~` are never taken, so
 * editors, browsers, rsync and curl's partial files are ignored.
 *
 * The sequencer. S3's sequencer orders the events of one key; the ledger drops an event whose sequencer
 * is not above the last one taken for the key, and treats the same sequencer and identity as a
 * duplicate. Here it is the file's mtime in nanoseconds (16 upper-case hex digits) and a 4-digit
 * counter, `0000` unless this process already delivered a different version of the path with an mtime at
 * least as late (an mtime set back by `cp -p`/`touch -d`, or two versions in one timestamp tick): then it
 * is the last one delivered plus one. Nothing else goes in (no in-process counter, no time of sight), so
 * an unchanged file seen again, after a restart too, gets the same sequencer and the same eTag: a
 * duplicate, not a new job. mtime rather than ctime: a chmod or a copy of the data directory must not
 * make new jobs. `touch` (or any rewrite) makes a new event, like a new PUT of the same object. A file
 * replaced while the server was down by one with an older mtime reads as an older event and is skipped:
 * touch it to have it taken.
 *
 * Delivery is at least once, like SQS: a record the handler lists in `batchItemFailures`, or a handler
 * that throws, is delivered again after 0.5, 1, 2, 4, 8, 16 and 28 s (about a minute, like a queue's
 * `maxReceiveCount`), then logged as dead-lettered. Touching a dead-lettered file delivers it again as
 * a new event: a new mtime makes a new sequencer (even one set back, for a dead-lettered version). At
 * most `concurrency` (4) deliveries run at once. On start, every file already there is delivered too:
 * the ledger turns repeats into no-ops.
 *
 * A rescan every `rescanIntervalMs` (10 s) also catches what a watcher can miss (a directory moved in at
 * once). It lists the tree and stats each file taken before; one whose size and mtime are those it was
 * taken with is never read again, so a rescan of thousands of files costs their stats and no more.
 * What the watcher keeps per path (the version taken, a warning given) is dropped once the path is gone,
 * seen by its watch event or by a rescan: memory follows what the inbox holds, not its history. A path
 * deleted and written again later is a new file to the watcher; its event is the same as before (and a
 * duplicate to the ledger) if the file is, and, as after a restart, an older mtime reads as an older
 * event.
 */

/** One S3 event notification record, as S3 writes it (the fields the input handler reads, and a few more). */
export interface S3NotificationRecord {
  readonly eventVersion: "2.1";
  readonly eventSource: "aws:s3";
  readonly awsRegion: string;
  readonly eventTime: string;
  readonly eventName: "ObjectCreated:Put";
  readonly userIdentity: { readonly principalId: string };
  readonly s3: {
    readonly s3SchemaVersion: "1.0";
    readonly configurationId: string;
    readonly bucket: {
      readonly name: string;
      readonly ownerIdentity: { readonly principalId: string };
      readonly arn: string;
    };
    readonly object: {
      /** URL-encoded as S3 encodes it: see {@link encodeS3Key}. */
      readonly key: string;
      readonly size: number;
      readonly eTag: string;
      readonly sequencer: string;
    };
  };
}

/** What S3 sends to a queue or a function: one record per object here. */
export interface S3Notification {
  readonly Records: readonly S3NotificationRecord[];
}

/** Where log lines go (the house logger by default; tests collect them). */
export interface WatcherLog {
  info(message: string, keys?: Record<string, unknown>): void;
  warn(message: string, keys?: Record<string, unknown>): void;
  error(message: string, keys?: Record<string, unknown>): void;
}

/** Settings of {@link startInboxWatcher}; only `inboxDir` and `deliver` are required. */
export interface InboxWatcherOptions {
  /** `DATA_DIR/inbox`; created when missing. */
  readonly inboxDir: string;
  /** The S3 input handler (`s3Input`): one notification with one record per call. */
  readonly deliver: (event: S3Notification) => Promise<IngestReport>;
  /** How long size and mtime must stay unchanged. Default 250 ms. */
  readonly quietMs?: number;
  /** Linux: also wait until no process has the file open for writing. Default: on Linux. */
  readonly checkOpenWriters?: boolean;
  /** How long an open writer may hold a quiet file back. Default 30 s. */
  readonly maxOpenWaitMs?: number;
  /** Deliveries in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Waits before each redelivery; when spent, the record is dead-lettered. Default about a minute. */
  readonly retryDelaysMs?: readonly number[];
  /** Full rescan period, a safety net under `fs.watch`; 0 turns it off. Default 10 s. */
  readonly rescanIntervalMs?: number;
  /** Listen to `fs.watch` (false: rescans only, e.g. where watches are unreliable). Default true. */
  readonly watchEvents?: boolean;
  /** `awsRegion` of the records. Default `AWS_REGION`, else us-east-1. */
  readonly region?: string;
  /**
   * The eTag of a file: {@link md5File} by default. Called only for a new or changed version of a path,
   * never for a file already taken as it is; `signal` is aborted by `close()`, which waits for the call.
   */
  readonly hashFile?: (file: string, signal: AbortSignal) => Promise<string>;
  readonly log?: WatcherLog;
}

/** A running watcher. */
export interface InboxWatcher {
  /** The inbox directory, as given. */
  readonly inboxDir: string;
  /** Resolves once nothing is settling, being scanned or read, queued, in flight or waiting for a retry. */
  idle(): Promise<void>;
  /**
   * Stops watching and starting anything new, drops what is not yet delivered (the next start's scan
   * finds it again; retries waiting for their turn are abandoned the same way), aborts the reads under
   * way, then resolves once every check, scan, read and delivery in flight has ended: afterwards the
   * watcher calls `deliver` no more and holds no timer and no file open.
   */
  close(): Promise<void>;
}

/** Redelivery waits: 0.5 s doubling to 16 s, then 28 s, about 60 s in all. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 16_000, 28_000];

const IGNORED_SUFFIXES = [".tmp", ".part", ".crdownload", "~"];
/** The bucket names the input handler reads (`s3-event.ts`): lower case, digits, dots and hyphens, 3 to 63. */
const BUCKET_NAME = /^[a-z0-9.-]{3,63}$/;
const MODE_MASK = 3; // O_ACCMODE: 0 read-only, 1 write-only, 2 read-write
/** A rescan's synchronous stats between two turns of the event loop: well under a millisecond warm. */
const STATS_PER_TURN = 100;

/** True for names the inbox never takes: dotfiles and partial-download or editor-backup names. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith(".") || IGNORED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** The sequencer of a version: mtime in ns as 16 hex digits, then a 4-digit counter (see the file's TSDoc). */
export function inboxSequencer(mtimeNs: bigint, counter = 0): string {
  return `${mtimeNs.toString(16).padStart(16, "0")}${counter.toString(16).padStart(4, "0")}`.toUpperCase();
}

/** The sequencer that comes right after `sequencer` (same length, so string order stays numeric order). */
function nextSequencer(sequencer: string): string {
  return (BigInt(`0x${sequencer}`) + 1n).toString(16).toUpperCase().padStart(sequencer.length, "0");
}

/** What the watcher last took of a path. */
interface Version {
  readonly mtimeNs: bigint;
  readonly size: bigint;
  readonly eTag: string;
  readonly sequencer: string;
  /** Its event ran out of redeliveries: any new mtime, even an earlier one, makes a new event. */
  readonly deadLettered?: boolean;
}

/** A path waiting to be quiet. */
interface Settling {
  timer?: NodeJS.Timeout;
  last?: { readonly mtimeNs: bigint; readonly size: bigint };
  /** When it was first found quiet but open for writing. */
  openSince?: number;
  running: boolean;
  again: boolean;
}

interface Delivery {
  readonly path: string;
  readonly record: S3NotificationRecord;
  readonly attempt: number;
}

/** Runs at most `limit` tasks at once (a first scan of a full inbox must not open every file together). */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so `running` never passes `limit`.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** True when a failed `stat` says the path is not there (rather than, say, not readable). */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * The MD5 of a file's content in hex: S3's eTag of a single-part upload. `signal` aborts the read. It
 * settles only once the file is closed again, so whoever waits for it leaves no descriptor behind.
 */
export async function md5File(file: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const hash = createHash("md5");
  const stream = createReadStream(file, { signal });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
    return hash.digest("hex");
  } finally {
    if (!stream.closed) await new Promise<void>((resolve) => stream.once("close", () => resolve()));
  }
}

/**
 * Every path under `under` that some process has open for writing, read from `/proc`. Processes of other
 * users (and ones that exit meanwhile) are skipped: their `fd` directories cannot be read. Once `signal`
 * is aborted it stops early; what it answers then is incomplete and must not be used.
 */
async function pathsOpenForWriting(under: string, signal: AbortSignal): Promise<Set<string>> {
  const open = new Set<string>();
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  await Promise.all(
    pids.map(async (pid) => {
      if (signal.aborted) return;
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        if (signal.aborted) return;
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
        if (target === undefined || !target.startsWith(under)) continue;
        const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, "utf8").catch(() => "");
        const flags = /^flags:\s*([0-7]+)/m.exec(info)?.[1];
        if (flags !== undefined && (Number.parseInt(flags, 8) & MODE_MASK) !== 0) open.add(target);
      }
    }),
  );
  return open;
}

/**
 * Starts watching `inboxDir` (created when missing) and delivers what is already there. Resolves once
 * the watch is set up; the initial deliveries go on in the background (see {@link InboxWatcher.idle}).
 */
export async function startInboxWatcher(options: InboxWatcherOptions): Promise<InboxWatcher> {
  const quietMs = options.quietMs ?? 250;
  const checkOpenWriters = options.checkOpenWriters ?? process.platform === "linux";
  const maxOpenWaitMs = options.maxOpenWaitMs ?? 30_000;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const rescanIntervalMs = options.rescanIntervalMs ?? 10_000;
  const region = options.region ?? process.env.AWS_REGION ?? "us-east-1";
  const hashFile = options.hashFile ?? md5File;
  const log = options.log ?? logger;

  await mkdir(options.inboxDir, { recursive: true });
  // /proc shows resolved paths: compare against the inbox's real location.
  const root = await realpath(options.inboxDir);

  const taken = new Map<string, Version>();
  const settling = new Map<string, Settling>();
  const queue: Delivery[] = [];
  const inFlight = new Set<Promise<void>>();
  /** Checks, scans and /proc walks under way: `close()` waits for them as for the deliveries. */
  const tasks = new Set<Promise<void>>();
  const retries = new Set<NodeJS.Timeout>();
  const warned = new Set<string>();
  const idleWaiters: (() => void)[] = [];
  // Aborts the reads and /proc walks under way when closing, so waiting for them is short.
  const stop = new AbortController();
  let closed = false;
  let sweeping = false;
  let writers: { at: number; paths: Promise<Set<string>> } | undefined;
  const hashing = limiter(8);

  const isIdle = () =>
    settling.size === 0 &&
    queue.length === 0 &&
    inFlight.size === 0 &&
    retries.size === 0 &&
    tasks.size === 0;
  const changed = () => {
    if (!isIdle()) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  /** Runs `work` in the background, counted by `idle()` and awaited by `close()`. */
  const track = (work: Promise<unknown>): void => {
    const task: Promise<void> = work
      .then(
        () => undefined,
        (error: unknown) => log.error("inbox watcher task failed", { error }),
      )
      .finally(() => {
        tasks.delete(task);
        changed();
      });
    tasks.add(task);
  };

  const warnOnce = (path: string, message: string, keys: Record<string, unknown>) => {
    if (warned.has(path)) return;
    warned.add(path);
    log.warn(message, { path, ...keys });
  };

  /** A path no longer in the inbox: nothing is kept about it (warned or taken). */
  const forget = (path: string) => {
    taken.delete(path);
    warned.delete(path);
  };

  /** The bucket and key of a relative path, or undefined (with a warning) when the inbox cannot take it. */
  const objectOf = (path: string): { bucket: string; key: string } | undefined => {
    const segments = path.split(sep);
    if (segments.some(isIgnoredName)) return undefined;
    const [bucket, ...rest] = segments;
    if (bucket === undefined || rest.length === 0) {
      warnOnce(path, "inbox file skipped: put it under a bucket directory, inbox/<bucket>/<key>", {});
      return undefined;
    }
    if (!BUCKET_NAME.test(bucket)) {
      warnOnce(bucket, "inbox directory skipped: not an S3 bucket name, so no trigger rule can name it", {
        bucket,
      });
      return undefined;
    }
    return { bucket, key: rest.join("/") };
  };

  /** Snapshot of the writers, shared by the checks of the next 100 ms (one /proc walk serves them all). */
  const openWriters = (): Promise<Set<string>> => {
    const now = Date.now();
    if (writers === undefined || now - writers.at > 100) {
      const paths = pathsOpenForWriting(`${root}${sep}`, stop.signal);
      track(paths);
      writers = { at: now, paths };
    }
    return writers.paths;
  };

  const finishSettling = (path: string) => {
    const entry = settling.get(path);
    if (entry?.timer) clearTimeout(entry.timer);
    settling.delete(path);
    changed();
  };

  const schedule = (path: string, entry: Settling, delayMs: number) => {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (closed) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      track(check(path));
    }, delayMs);
  };

  /** Something happened at `path` (relative): settle it, or scan it if it is a directory. */
  const notice = (path: string) => {
    if (closed || path === "" || path.split(sep).some(isIgnoredName)) return;
    const entry = settling.get(path);
    if (entry === undefined) {
      settling.set(path, { running: false, again: false });
      track(check(path));
    } else if (entry.running) {
      entry.again = true;
    } else {
      schedule(path, entry, quietMs);
    }
  };

  /** One look at a settling path: wait more, give up, or take it. */
  const check = async (path: string): Promise<void> => {
    const entry = settling.get(path);
    if (entry === undefined || closed) return;
    entry.running = true;
    entry.again = false;
    try {
      const absolute = join(root, path);
      const info = await stat(absolute, { bigint: true }).catch((error: unknown) => {
        if (isMissing(error)) forget(path);
        return undefined;
      });
      if (info === undefined || closed) return finishSettling(path);
      if (info.isDirectory()) {
        await scan(path);
        return finishSettling(path);
      }
      if (!info.isFile()) return finishSettling(path);
      const now = { mtimeNs: info.mtimeNs, size: info.size };
      const last = entry.last;
      entry.last = now;
      if (last === undefined || last.mtimeNs !== now.mtimeNs || last.size !== now.size || entry.again) {
        entry.openSince = undefined;
        return schedule(path, entry, quietMs);
      }
      const previous = taken.get(path);
      if (previous !== undefined && previous.mtimeNs === now.mtimeNs && previous.size === now.size) {
        return finishSettling(path);
      }
      const object = objectOf(path);
      if (object === undefined) return finishSettling(path);
      if (checkOpenWriters) {
        const open = (await openWriters()).has(absolute);
        if (closed) return finishSettling(path);
        if (open) {
          entry.openSince ??= Date.now();
          const waited = Date.now() - entry.openSince;
          if (waited < maxOpenWaitMs) return schedule(path, entry, quietMs);
          log.warn("inbox file still open for writing: taken anyway", { path, waitedMs: waited });
        }
      }
      const eTag = await hashing(async () => {
        stop.signal.throwIfAborted();
        return hashFile(absolute, stop.signal);
      }).catch(() => undefined);
      const after = closed ? undefined : await stat(absolute, { bigint: true }).catch(() => undefined);
      if (eTag === undefined || after === undefined || closed) return finishSettling(path);
      if (after.mtimeNs !== now.mtimeNs || after.size !== now.size || entry.again) {
        return schedule(path, entry, quietMs);
      }
      let sequencer = inboxSequencer(now.mtimeNs);
      if (previous !== undefined && sequencer <= previous.sequencer) {
        const same = previous.eTag === eTag && previous.size === now.size && previous.deadLettered !== true;
        sequencer = same ? previous.sequencer : nextSequencer(previous.sequencer);
      }
      taken.set(path, { ...now, eTag, sequencer });
      if (previous?.sequencer === sequencer) return finishSettling(path);
      // Queued before the path stops settling, so `idle()` never sees a gap between the two.
      enqueue({
        path,
        attempt: 1,
        record: {
          eventVersion: "2.1",
          eventSource: "aws:s3",
          awsRegion: region,
          eventTime: new Date(Number(now.mtimeNs / 1_000_000n)).toISOString(),
          eventName: "ObjectCreated:Put",
          userIdentity: { principalId: "local" },
          s3: {
            s3SchemaVersion: "1.0",
            configurationId: "local-inbox",
            bucket: {
              name: object.bucket,
              ownerIdentity: { principalId: "local" },
              arn: `arn:aws:s3:::${object.bucket}`,
            },
            object: { key: encodeS3Key(object.key), size: Number(now.size), eTag, sequencer },
          },
        },
      });
      finishSettling(path);
    } catch (error) {
      log.error("inbox file check failed", { path, error });
      finishSettling(path);
    } finally {
      entry.running = false;
      // A write seen during the check: look again once it is quiet (anew if the check gave the path up).
      if (entry.again && !closed) {
        if (settling.get(path) === entry) schedule(path, entry, quietMs);
        else if (!settling.has(path)) notice(path);
      }
    }
  };

  const enqueue = (delivery: Delivery) => {
    if (closed) return;
    queue.push(delivery);
    pump();
  };

  const pump = () => {
    while (!closed && inFlight.size < concurrency && queue.length > 0) {
      const delivery = queue.shift() as Delivery;
      const run = attempt(delivery).finally(() => {
        inFlight.delete(run);
        pump();
        changed();
      });
      inFlight.add(run);
    }
  };

  const attempt = async (delivery: Delivery): Promise<void> => {
    const { record, path } = delivery;
    let reason: string;
    try {
      const report = await options.deliver({ Records: [record] });
      if (report.batchItemFailures.length === 0) return;
      reason = "the handler reported it as failed";
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    const delay = retryDelays[delivery.attempt - 1];
    const keys = { path, sequencer: record.s3.object.sequencer, attempt: delivery.attempt, reason };
    if (delay === undefined) {
      // Marked so that a touch makes a new event even when it sets the mtime back (`touch -d`, `-r`).
      const version = taken.get(path);
      if (version?.sequencer === record.s3.object.sequencer)
        taken.set(path, { ...version, deadLettered: true });
      log.error(
        "inbox event dead-lettered: no more redeliveries; touch the file (or restart the server) to try it again",
        keys,
      );
      return;
    }
    if (closed) return;
    log.warn("inbox event failed: delivering it again", { ...keys, inMs: delay });
    const timer = setTimeout(() => {
      retries.delete(timer);
      enqueue({ ...delivery, attempt: delivery.attempt + 1 });
      changed();
    }, delay);
    retries.add(timer);
  };

  /**
   * Notices every file under `dir` (relative; "" is the whole inbox) that is not already taken as it is,
   * and answers every path it listed, directories included. A file taken before is only stat-ed: its
   * content is read again only once its size or mtime has moved.
   */
  const scan = async (dir: string): Promise<Set<string>> => {
    const listed = new Set<string>();
    if (closed) return listed;
    const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true }).catch(() => []);
    let looked = 0;
    for (const entry of entries) {
      if (closed) break;
      const path = join(entry.parentPath, entry.name).slice(root.length + 1);
      listed.add(path);
      // objectOf last: it warns (once) about a file the inbox can never take, rather than settle it anew.
      if (!entry.isFile() || settling.has(path) || objectOf(path) === undefined) continue;
      const previous = taken.get(path);
      if (previous === undefined) {
        notice(path);
        continue;
      }
      const info = statNow(path);
      if (info && (info.mtimeNs !== previous.mtimeNs || info.size !== previous.size)) {
        notice(path);
      }
      if (++looked % STATS_PER_TURN === 0) await nextTurn();
    }
    return listed;
  };

  /**
   * A full rescan, then what is known of paths gone from the inbox is dropped, so memory follows what
   * the inbox holds rather than everything it ever held. A path not listed is forgotten only once a
   * `stat` confirms it is missing: one created after its directory was listed is kept.
   */
  const sweep = async (): Promise<void> => {
    sweeping = true;
    try {
      const listed = await scan("");
      let looked = 0;
      for (const path of [...taken.keys(), ...warned]) {
        if (closed) return;
        if (listed.has(path)) continue;
        if (statNow(path) === null) forget(path);
        if (++looked % STATS_PER_TURN === 0) await nextTurn();
      }
    } finally {
      sweeping = false;
    }
  };

  /**
   * A rescan's `stat`, synchronous: a few µs of CPU where `fs/promises` takes tens (a rescan of 2,000
   * taken files measured about 20 ms of CPU against 60), and `STATS_PER_TURN` at a time between two turns
   * of the event loop keeps its pauses short. Null when the path is missing, undefined when that cannot
   * be told (a directory that cannot be searched, say).
   */
  const statNow = (path: string): BigIntStats | null | undefined => {
    try {
      return statSync(join(root, path), { bigint: true, throwIfNoEntry: false }) ?? null;
    } catch (error) {
      return isMissing(error) ? null : undefined;
    }
  };

  let watcher: FSWatcher | undefined;
  if (options.watchEvents !== false) {
    try {
      watcher = watch(root, { recursive: true }, (_event, name) => {
        if (typeof name === "string") notice(name);
      });
      watcher.on("error", (error) => log.warn("inbox watch failed: relying on rescans", { error }));
    } catch (error) {
      log.warn("inbox cannot be watched: relying on rescans", { error });
    }
  }
  // After the watch is set: a file written during the scan is seen by one or the other (or both).
  track(sweep());
  const rescan =
    rescanIntervalMs > 0
      ? setInterval(() => {
          if (!sweeping && !closed) track(sweep());
        }, rescanIntervalMs)
      : undefined;
  rescan?.unref();

  let closing: Promise<void> | undefined;
  return {
    inboxDir: options.inboxDir,
    idle() {
      if (isIdle()) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    close() {
      closing ??= (async () => {
        closed = true;
        stop.abort();
        watcher?.close();
        clearInterval(rescan);
        for (const entry of settling.values()) if (entry.timer) clearTimeout(entry.timer);
        settling.clear();
        for (const timer of retries) clearTimeout(timer);
        retries.clear();
        queue.length = 0;
        // Whatever is under way ends on its own (nothing new starts now): checks, scans, reads, deliveries.
        while (tasks.size > 0 || inFlight.size > 0) await Promise.allSettled([...tasks, ...inFlight]);
        // A check that ended meanwhile may have left its entry behind, with no timer (none is set now).
        settling.clear();
        for (const resolve of idleWaiters.splice(0)) resolve();
      })();
      return closing;
    },
  };
}
