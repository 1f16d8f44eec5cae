import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type InboxWatcher,
  type InboxWatcherOptions,
  inboxSequencer,
  isIgnoredName,
  md5File,
  type S3Notification,
  type S3NotificationRecord,
  startInboxWatcher,
} from "#local/inbox-watcher.ts";
import { MemoryInputLedger } from "#shared/adapters/local/memory-input-ledger.ts";
import { decodeS3Key, encodeS3Key, parseObjectEvents } from "#shared/domain/s3-event.ts";
import type { LedgerClaim } from "#shared/ports/input-ledger.ts";
import type { IngestReport } from "#shared/use-cases/ingest-object-events.ts";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function report(failed = false): IngestReport {
  return {
    batchItemFailures: failed ? [{ itemIdentifier: "record-0" }] : [],
    counts: {
      objects: 1,
      jobs: 0,
      duplicates: 0,
      older: 0,
      unmatched: failed ? 0 : 1,
      accumulated: 0,
      malformed: 0,
      failed: failed ? 1 : 0,
    },
  };
}

/** Polls until `condition` holds, failing with `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The files under `dir` this process holds open, read from `/proc/self/fd`. */
async function openUnder(dir: string): Promise<string[]> {
  const real = await realpath(dir);
  const targets = await Promise.all(
    (await readdir("/proc/self/fd")).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")),
  );
  return targets.filter((target) => target.startsWith(real));
}

/** How many timers this process has pending. */
const pendingTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

/**
 * A stand-in for the S3 input handler over the real ledger rule: it claims each object (noting the
 * verdict), then throws while `failing()` holds, else completes the claim.
 */
function ledgerHandler(
  ledger: MemoryInputLedger,
  verdicts: LedgerClaim["kind"][],
  failing: () => boolean,
): (event: S3Notification) => Promise<IngestReport> {
  return async (event) => {
    for (const item of parseObjectEvents(event).items) {
      for (const object of item.objects) {
        const ref = { ...object, identity: object.eTag ?? "" };
        const claim = await ledger.claim(ref, new Date(Date.now() + 3_600_000));
        verdicts.push(claim.kind);
        if (failing()) throw new Error("table unavailable");
        if (claim.kind === "claimed" || claim.kind === "resumed") await ledger.complete(ref);
      }
    }
    return report();
  };
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

interface LogLine {
  readonly level: "info" | "warn" | "error";
  readonly message: string;
  readonly keys: Record<string, unknown>;
}

/** A watcher on a fresh inbox whose deliveries and log lines are collected. */
class Harness {
  readonly delivered: S3NotificationRecord[] = [];
  readonly logs: LogLine[] = [];
  watcher: InboxWatcher | undefined;
  respond: (event: S3Notification) => Promise<IngestReport> = async () => report();

  constructor(readonly inbox: string) {}

  async start(options: Partial<InboxWatcherOptions> = {}): Promise<InboxWatcher> {
    const push =
      (level: LogLine["level"]) =>
      (message: string, keys: Record<string, unknown> = {}) =>
        this.logs.push({ level, message, keys });
    this.watcher = await startInboxWatcher({
      inboxDir: this.inbox,
      quietMs: 40,
      rescanIntervalMs: 0,
      retryDelaysMs: [20, 40],
      log: { info: push("info"), warn: push("warn"), error: push("error") },
      deliver: async (event) => {
        this.delivered.push(...event.Records);
        return this.respond(event);
      },
      ...options,
    });
    return this.watcher;
  }

  async write(path: string, content: string): Promise<void> {
    const file = join(this.inbox, path);
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, content);
  }

  keys(): string[] {
    return this.delivered.map((r) => `${r.s3.bucket.name}/${decodeS3Key(r.s3.object.key)}`);
  }
}

let base: string;
let harness: Harness;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "inbox-watcher-"));
  harness = new Harness(join(base, "data", "inbox"));
});
afterEach(async () => {
  await harness.watcher?.close();
  await rm(base, { recursive: true, force: true });
});

describe("encodeS3Key", () => {
  const keys = [
    "red flower.jpg",
    "a+b=c&d.txt",
    "runs/2025 01/été/数据 🧪.csv",
    "literal%2Fslash.txt",
    "100% (final) [v2]!~'#?.dat",
    "tab\there",
  ];

  it("writes spaces as + and percent-encodes what S3 does, keeping slashes", () => {
    expect(encodeS3Key("red flower.jpg")).toBe("red+flower.jpg");
    expect(encodeS3Key("a+b.txt")).toBe("a%2Bb.txt");
    expect(encodeS3Key("dir/file (1).txt")).toBe("dir/file+%281%29.txt");
    expect(encodeS3Key("été")).toBe("%C3%A9t%C3%A9");
    expect(encodeS3Key("literal%2Fslash")).toBe("literal%252Fslash");
  });

  it("gives back every key through the input handler's decoder", () => {
    for (const key of keys) expect(decodeS3Key(encodeS3Key(key)), key).toBe(key);
  });
});

describe("isIgnoredName", () => {
  it("ignores dotfiles and partial-download or backup names, and nothing else", () => {
    for (const name of [".hidden", ".x.swp", "data.tmp", "data.part", "big.iso.crdownload", "notes~"]) {
      expect(isIgnoredName(name), name).toBe(true);
    }
    for (const name of ["data.csv", "_SUCCESS", "tmp", "part-0001", "a.tmp.csv"]) {
      expect(isIgnoredName(name), name).toBe(false);
    }
  });
});

describe("inboxSequencer", () => {
  it("is 20 upper-case hex digits that sort as the mtimes do", () => {
    const early = inboxSequencer(1_700_000_000_000_000_000n);
    const later = inboxSequencer(1_700_000_000_000_000_001n);

    expect(early).toMatch(/^[0-9A-F]{20}$/);
    expect(early < later).toBe(true);
    expect(inboxSequencer(1n, 1) > inboxSequencer(1n)).toBe(true);
  });
});

describe("the inbox watcher", () => {
  it("creates the inbox and turns a written file into one S3 notification record", async () => {
    await harness.start();
    await harness.write("my-bucket/runs/day 1/été+x %2F.csv", "a,b\n1,2\n");

    await until(() => harness.delivered.length === 1, "a delivery");
    await harness.watcher?.idle();
    const [record] = harness.delivered;
    expect(harness.delivered).toHaveLength(1);
    expect(record).toMatchObject({
      eventSource: "aws:s3",
      eventName: "ObjectCreated:Put",
      s3: {
        bucket: { name: "my-bucket", arn: "arn:aws:s3:::my-bucket" },
        object: { size: 8, eTag: md5("a,b\n1,2\n") },
      },
    });
    expect(record?.s3.object).not.toHaveProperty("versionId");
    expect(record?.s3.object.sequencer).toMatch(/^[0-9A-F]{20}$/);
    const parsed = parseObjectEvents({ Records: harness.delivered });
    expect(parsed.items[0]?.malformed).toEqual([]);
    expect(parsed.items[0]?.objects[0]).toMatchObject({
      bucket: "my-bucket",
      key: "runs/day 1/été+x %2F.csv",
      size: 8,
      eTag: md5("a,b\n1,2\n"),
    });
  });

  it("delivers empty files, such as a _SUCCESS marker", async () => {
    await harness.start();
    await harness.write("bucket-a/batch/_SUCCESS", "");

    await until(() => harness.delivered.length === 1, "the marker");
    expect(harness.delivered[0]?.s3.object).toMatchObject({ key: "batch/_SUCCESS", size: 0, eTag: md5("") });
  });

  it("takes a file written then renamed once, under its final name only", async () => {
    await harness.start();
    await harness.write("bucket-a/in/.data.csv.partial", "x".repeat(1000));
    await harness.write("bucket-a/in/data.csv.tmp", "y".repeat(10));
    await rename(
      join(harness.inbox, "bucket-a/in/.data.csv.partial"),
      join(harness.inbox, "bucket-a/in/data.csv"),
    );

    await until(() => harness.delivered.length === 1, "the renamed file");
    await sleep(200);
    expect(harness.keys()).toEqual(["bucket-a/in/data.csv"]);
  });

  it("skips files outside a bucket directory, hidden directories and non-bucket names, with a warning", async () => {
    await harness.start();
    await harness.write("loose.csv", "x");
    await harness.write(".cache/bucket/x.csv", "x");
    await harness.write("Not_A_Bucket/x.csv", "x");
    await harness.write("good-bucket/x.csv", "x");

    await until(() => harness.delivered.length === 1, "the one good file");
    await sleep(200);
    expect(harness.keys()).toEqual(["good-bucket/x.csv"]);
    const warnings = harness.logs.filter((l) => l.level === "warn").map((l) => l.message);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bucket directory/),
        expect.stringMatching(/not an S3 bucket/),
      ]),
    );
  });

  it("waits until a file is quiet, delivering the last content of a slow writer once", async () => {
    await harness.start({ quietMs: 150, checkOpenWriters: false });
    const file = join(harness.inbox, "bucket-a/slow.log");
    await mkdir(join(file, ".."), { recursive: true });
    for (let i = 1; i <= 5; i++) {
      await writeFile(file, "line\n".repeat(i));
      await sleep(50);
    }

    await until(() => harness.delivered.length > 0, "the slow file");
    await harness.watcher?.idle();
    expect(harness.delivered).toHaveLength(1);
    expect(harness.delivered[0]?.s3.object).toMatchObject({ size: 25, eTag: md5("line\n".repeat(5)) });
  });

  it("holds back a file some process still has open for writing, until it is closed", async () => {
    await harness.start();
    const file = join(harness.inbox, "bucket-a/open.bin");
    await mkdir(join(file, ".."), { recursive: true });
    const handle = await open(file, "w");
    await handle.write("partial");

    await sleep(400);
    expect(harness.delivered).toEqual([]);
    await handle.write(" and the rest");
    await handle.close();
    await until(() => harness.delivered.length === 1, "the closed file");
    expect(harness.delivered[0]?.s3.object.size).toBe("partial and the rest".length);
  });

  it("takes a file held open for writing anyway after the bounded wait, with a warning", async () => {
    await harness.start({ maxOpenWaitMs: 200 });
    const file = join(harness.inbox, "bucket-a/held.bin");
    await mkdir(join(file, ".."), { recursive: true });
    const handle = await open(file, "w");
    try {
      await handle.write("content");
      await until(() => harness.delivered.length === 1, "the held file");
      expect(harness.logs.some((l) => l.level === "warn" && /still open for writing/.test(l.message))).toBe(
        true,
      );
    } finally {
      await handle.close();
    }
  });

  it("does not let a reader hold a file back", async () => {
    await harness.write("bucket-a/read.txt", "read me");
    const reader = await open(join(harness.inbox, "bucket-a/read.txt"), "r");
    try {
      await harness.start();
      await until(() => harness.delivered.length === 1, "the file a reader holds");
    } finally {
      await reader.close();
    }
  });

  it("delivers the files already there when it starts, and the same record again after a restart", async () => {
    await harness.write("bucket-a/one.csv", "1");
    await harness.write("bucket-b/deep/two.csv", "22");
    await harness.start();
    await until(() => harness.delivered.length === 2, "the existing files");
    await harness.watcher?.close();

    await harness.start();
    await until(() => harness.delivered.length === 4, "the rescan after a restart");
    const byKey = new Map<string, string[]>();
    for (const r of harness.delivered) {
      const list = byKey.get(r.s3.object.key) ?? [];
      list.push(JSON.stringify(r));
      byKey.set(r.s3.object.key, list);
    }
    expect([...byKey.keys()].sort()).toEqual(["deep/two.csv", "one.csv"]);
    for (const [key, records] of byKey) expect(records[0], key).toBe(records[1]);
  });

  it("gives a rewritten file a larger sequencer, even when its mtime is set back", async () => {
    await harness.start();
    await harness.write("bucket-a/data.csv", "v1");
    await until(() => harness.delivered.length === 1, "version 1");
    await harness.write("bucket-a/data.csv", "version 2");
    await until(() => harness.delivered.length === 2, "version 2");
    const file = join(harness.inbox, "bucket-a/data.csv");
    await writeFile(file, "version three");
    await utimes(file, new Date("2001-01-01T00:00:00Z"), new Date("2001-01-01T00:00:00Z"));
    await until(() => harness.delivered.length === 3, "version 3");

    const sequencers = harness.delivered.map((r) => r.s3.object.sequencer);
    expect([...sequencers].sort()).toEqual(sequencers);
    expect(new Set(sequencers).size).toBe(3);
    expect(harness.delivered.map((r) => r.s3.object.eTag)).toEqual([
      md5("v1"),
      md5("version 2"),
      md5("version three"),
    ]);
  });

  it("does not deliver a file again when only its attributes change", async () => {
    await harness.start();
    await harness.write("bucket-a/same.csv", "same");
    await until(() => harness.delivered.length === 1, "the file");
    const handle = await open(join(harness.inbox, "bucket-a/same.csv"), "r");
    await handle.chmod(0o600);
    await handle.close();

    await sleep(300);
    await harness.watcher?.idle();
    expect(harness.delivered).toHaveLength(1);
  });

  it("finds the files of a directory moved into the inbox at once", async () => {
    const outside = join(base, "staging", "bucket-m");
    await mkdir(join(outside, "a", "b"), { recursive: true });
    await writeFile(join(outside, "a", "b", "deep.csv"), "d");
    await writeFile(join(outside, "top.csv"), "t");
    await harness.start();

    await rename(outside, join(harness.inbox, "bucket-m"));
    await until(() => harness.delivered.length === 2, "both moved files");
    expect(harness.keys().sort()).toEqual(["bucket-m/a/b/deep.csv", "bucket-m/top.csv"]);
  });

  it("finds by its periodic rescan what no watch event reported", async () => {
    await harness.start({ watchEvents: false, rescanIntervalMs: 100 });
    await harness.watcher?.idle();
    await harness.write("bucket-a/late.csv", "late");

    await until(() => harness.delivered.length === 1, "the late file");
    await harness.write("bucket-a/late.csv", "later");
    await until(() => harness.delivered.length === 2, "its new version");
    expect(harness.delivered.map((r) => r.s3.object.eTag)).toEqual([md5("late"), md5("later")]);
  });

  it("delivers a record again with backoff while the handler reports it failed", async () => {
    let calls = 0;
    harness.respond = async () => report(++calls < 3);
    await harness.start({ retryDelaysMs: [30, 60, 120] });
    await harness.write("bucket-a/retry.csv", "r");

    await until(() => calls === 3, "three deliveries");
    await harness.watcher?.idle();
    await sleep(200);
    expect(calls).toBe(3);
    expect(new Set(harness.delivered.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(harness.logs.filter((l) => l.level === "warn" && /again/.test(l.message))).toHaveLength(2);
  });

  it("delivers again when the handler throws, and dead-letters after the last retry", async () => {
    let calls = 0;
    harness.respond = async () => {
      calls++;
      throw new Error("table unavailable");
    };
    await harness.start({ retryDelaysMs: [20, 20] });
    await harness.write("bucket-a/doomed.csv", "d");

    await until(() => harness.logs.some((l) => l.level === "error"), "the dead letter");
    await harness.watcher?.idle();
    expect(calls).toBe(3);
    const deadLetter = harness.logs.find((l) => l.level === "error");
    expect(deadLetter?.message).toMatch(/dead-lettered/);
    expect(deadLetter?.keys).toMatchObject({
      path: join("bucket-a", "doomed.csv"),
      reason: "table unavailable",
    });
  });

  it("keeps at most `concurrency` deliveries in flight", async () => {
    let inFlight = 0;
    let most = 0;
    harness.respond = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(80);
      inFlight--;
      return report();
    };
    for (let i = 0; i < 9; i++) await harness.write(`bucket-a/f${i}.csv`, String(i));
    await harness.start({ concurrency: 2 });

    await until(() => harness.delivered.length === 9, "every file", 10_000);
    await harness.watcher?.idle();
    expect(most).toBe(2);
  });

  it("waits for deliveries in flight when it closes, and delivers nothing afterwards", async () => {
    let finished = false;
    harness.respond = async () => {
      await sleep(200);
      finished = true;
      return report();
    };
    await harness.start();
    await harness.write("bucket-a/slow.csv", "s");
    await until(() => harness.delivered.length === 1, "the delivery to start");

    await harness.watcher?.close();
    expect(finished).toBe(true);
    await harness.write("bucket-a/after.csv", "a");
    await sleep(300);
    expect(harness.keys()).toEqual(["bucket-a/slow.csv"]);
  });

  it("abandons a retry waiting for its turn when it closes", async () => {
    let calls = 0;
    harness.respond = async () => report(++calls > 0);
    const timersBefore = pendingTimers();
    await harness.start({ retryDelaysMs: [5000] });
    await harness.write("bucket-a/later.csv", "l");
    await until(() => calls === 1, "the first delivery");

    const started = Date.now();
    await harness.watcher?.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(calls).toBe(1);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
  });
});

describe("closing the inbox watcher", () => {
  it("waits for a file being read, and leaves no descriptor, timer or delivery behind", async () => {
    const timersBefore = pendingTimers();
    const reading = signal();
    let reads = 0;
    let readsEnded = 0;
    await harness.start({
      checkOpenWriters: false,
      quietMs: 20,
      hashFile: (file, abort) => {
        reads++;
        reading.resolve();
        return md5File(file, abort).finally(() => readsEnded++);
      },
    });
    const file = join(harness.inbox, "bucket-a/big.bin");
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, Buffer.alloc(48 * 1024 * 1024, 1));
    await reading.promise;
    const deadline = Date.now() + 5000;
    while ((await openUnder(harness.inbox)).length === 0 && Date.now() < deadline) await sleep(1);
    expect(await openUnder(harness.inbox)).toEqual([await realpath(file)]);

    await harness.watcher?.close();

    expect(readsEnded).toBe(reads);
    expect(await openUnder(harness.inbox)).toEqual([]);
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
    await harness.watcher?.idle();
    await harness.write("bucket-a/after.csv", "a");
    await sleep(300);
    expect(harness.delivered).toEqual([]);
  });

  it("resolves only once a hash under way has ended, and delivers nothing of it", async () => {
    const hashing = signal();
    let hashEnded = false;
    await harness.start({
      hashFile: async (file, abort) => {
        hashing.resolve();
        try {
          await sleep(150);
          return await md5File(file, abort);
        } finally {
          hashEnded = true;
        }
      },
    });
    await harness.write("bucket-a/held-up.csv", "h");
    await hashing.promise;

    await harness.watcher?.close();

    expect(hashEnded).toBe(true);
    await sleep(300);
    expect(harness.delivered).toEqual([]);
  });

  it("never delivers a file written right before it closes, nor leaves a timer behind", async () => {
    const timersBefore = pendingTimers();
    const delivered: S3Notification[] = [];
    harness.respond = async (event) => {
      delivered.push(event);
      return report();
    };
    // The rescan interval is unref'd, so the process does not list it: count it on a fake clock instead.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      await harness.start({ rescanIntervalMs: 50 });
      await harness.watcher?.idle();
      expect(vi.getTimerCount()).toBe(1);

      await harness.write("bucket-a/last-minute.csv", "just in time?");
      await harness.watcher?.close();

      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
    expect(await openUnder(harness.inbox)).toEqual([]);
    await sleep(300);
    expect(delivered).toEqual([]);
  });

  it("leaves no settling timer behind when it closes during a file's quiet wait", async () => {
    const timersBefore = pendingTimers();
    await harness.start({ quietMs: 5000 });
    await harness.watcher?.idle();
    await harness.write("bucket-a/settling.csv", "s");
    await until(() => pendingTimers() > timersBefore, "the quiet wait");

    await harness.watcher?.close();

    expect(pendingTimers()).toBeLessThanOrEqual(timersBefore);
    expect(harness.delivered).toEqual([]);
  });
});

describe("what the inbox watcher remembers", () => {
  it("forgets a file moved out, so the same file moved back is delivered again as a duplicate", async () => {
    const ledger = new MemoryInputLedger();
    const verdicts: LedgerClaim["kind"][] = [];
    harness.respond = ledgerHandler(ledger, verdicts, () => false);
    await harness.start();
    await harness.write("bucket-a/kept.csv", "k");
    await until(() => harness.delivered.length === 1, "the file");
    const file = join(harness.inbox, "bucket-a/kept.csv");
    const aside = join(base, "kept.csv");

    await rename(file, aside);
    await sleep(200);
    await harness.watcher?.idle();
    await rename(aside, file);

    await until(() => harness.delivered.length === 2, "the file moved back");
    expect(JSON.stringify(harness.delivered[1])).toBe(JSON.stringify(harness.delivered[0]));
    expect(verdicts).toEqual(["claimed", "duplicate"]);
  });

  it("forgets on a rescan what it took and warned about once the paths are gone", async () => {
    await harness.write("loose.csv", "l");
    await harness.write("bucket-a/kept.csv", "k");
    await harness.start({ watchEvents: false, rescanIntervalMs: 50 });
    const warnings = () => harness.logs.filter((l) => /bucket directory/.test(l.message)).length;
    await until(() => harness.delivered.length === 1 && warnings() === 1, "the file and the warning");

    await rename(join(harness.inbox, "loose.csv"), join(base, "loose.csv"));
    await rename(join(harness.inbox, "bucket-a"), join(base, "bucket-a"));
    await sleep(300);
    expect(warnings()).toBe(1);
    await rename(join(base, "loose.csv"), join(harness.inbox, "loose.csv"));
    await rename(join(base, "bucket-a"), join(harness.inbox, "bucket-a"));

    await until(() => harness.delivered.length === 2 && warnings() === 2, "the file and the warning again");
    expect(harness.keys()).toEqual(["bucket-a/kept.csv", "bucket-a/kept.csv"]);
  });

  it("reads none of 2,000 unchanged files again on its rescans, only the changed and the new", async () => {
    const count = 2000;
    for (let start = 0; start < count; start += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          harness.write(`bucket-a/d${(start + i) % 20}/f${start + i}.csv`, `${start + i}`),
        ),
      );
    }
    let reads = 0;
    await harness.start({
      watchEvents: false,
      checkOpenWriters: false,
      rescanIntervalMs: 100,
      hashFile: (file, abort) => {
        reads++;
        return md5File(file, abort);
      },
    });
    await until(() => harness.delivered.length === count, "every file", 20_000);
    await harness.watcher?.idle();
    expect(reads).toBe(count);

    await sleep(500);
    expect(reads).toBe(count);
    await harness.write("bucket-a/d7/f7.csv", "changed");
    await until(() => harness.delivered.length === count + 1, "the changed file");
    await harness.write("bucket-a/new.csv", "new");
    await until(() => harness.delivered.length === count + 2, "the new file");
    await sleep(300);
    await harness.watcher?.idle();

    expect(reads).toBe(count + 2);
    expect(harness.keys().slice(count)).toEqual(["bucket-a/d7/f7.csv", "bucket-a/new.csv"]);
  });
});

describe("a dead-lettered inbox file", () => {
  it.each([
    ["touched", [] as string[]],
    ["touched with an earlier date", ["-d", "@978307200"]],
  ])("is delivered again as a new event once %s", async (_how, touchArgs) => {
    const ledger = new MemoryInputLedger();
    const verdicts: LedgerClaim["kind"][] = [];
    let failing = true;
    harness.respond = ledgerHandler(ledger, verdicts, () => failing);
    await harness.start({ retryDelaysMs: [20, 20] });
    await harness.write("bucket-a/retry-me.csv", "r");
    await until(() => harness.logs.some((l) => l.level === "error"), "the dead letter");
    await harness.watcher?.idle();
    const deadLetter = harness.logs.find((l) => l.level === "error");
    expect(deadLetter?.message).toMatch(/dead-lettered.*touch the file/);

    failing = false;
    const file = join(harness.inbox, "bucket-a/retry-me.csv");
    await promisify(execFile)("touch", [...touchArgs, file]);
    await until(() => harness.delivered.length === 4, "the touched file");
    await harness.watcher?.idle();

    const [first, , , touched] = harness.delivered;
    expect(touched?.s3.object.eTag).toBe(first?.s3.object.eTag);
    expect(String(touched?.s3.object.sequencer) > String(first?.s3.object.sequencer)).toBe(true);
    expect(verdicts).toEqual(["claimed", "resumed", "resumed", "claimed"]);
    expect(harness.logs.filter((l) => l.level === "error")).toHaveLength(1);
  });

  it("is not delivered again while it stays untouched", async () => {
    harness.respond = async () => {
      throw new Error("table unavailable");
    };
    await harness.write("bucket-a/left-alone.csv", "l");
    await harness.start({ retryDelaysMs: [20], watchEvents: false, rescanIntervalMs: 50 });
    await until(() => harness.logs.some((l) => l.level === "error"), "the dead letter");

    await sleep(400);

    expect(harness.delivered).toHaveLength(2);
  });
});
