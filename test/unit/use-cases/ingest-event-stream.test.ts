import { describe, expect, it } from "vitest";
import { s3Notification, s3Record, sqsEvent, sqsMessage } from "../../fixtures/s3-events.ts";
import { makeIngestHarness, triggerRule } from "../../support/ingest-harness.ts";

const KEYS = 200;
const VERSIONS_PER_KEY = 35; // 7,000 object versions ...
const EVENTS = 10_000; // ... delivered as 10,000 events: 30% of them duplicates

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Upload {
  readonly key: string;
  readonly versionId: string;
  /** S3's sequencer: grows with each write of the key; lengths vary, as S3's do. */
  readonly sequencer: string;
  readonly order: bigint;
  /** Unique per version, so a job (which sees `${input.size}`) tells which version it ran for. */
  readonly size: number;
}

/** 200 keys, each written 35 times, then 10,000 deliveries of those writes: duplicated and shuffled. */
function eventStream(seed: number): Upload[] {
  const next = random(seed);
  const uploads: Upload[] = [];
  for (let k = 0; k < KEYS; k++) {
    let order = BigInt(Math.floor(next() * 1e6));
    for (let v = 0; v < VERSIONS_PER_KEY; v++) {
      order += BigInt(1 + Math.floor(next() * 1e9));
      // S3 sequencers compare after right-padding with zeros: write some with trailing zeros trimmed.
      const hex = order.toString(16).toUpperCase().padStart(18, "0");
      const sequencer = next() < 0.2 ? hex.replace(/0+$/, "") || "0" : hex;
      uploads.push({
        key: `incoming/sample ${k}/reads+${k}.fastq`,
        versionId: `v${k}-${v}`,
        sequencer,
        order,
        size: k * VERSIONS_PER_KEY + v,
      });
    }
  }
  const stream = [...uploads];
  while (stream.length < EVENTS) stream.push(uploads[Math.floor(next() * uploads.length)] as Upload);
  for (let i = stream.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [stream[i], stream[j]] = [stream[j] as Upload, stream[i] as Upload];
  }
  return stream;
}

/** What exactly-once, newest-wins processing of `stream` in this order must produce: the versions that get a job. */
function expectedJobs(stream: readonly Upload[]): Set<string> {
  const newest = new Map<string, bigint>();
  const jobs = new Set<string>();
  for (const upload of stream) {
    const seen = newest.get(upload.key);
    if (seen !== undefined && upload.order <= seen) continue; // a duplicate, or older than one taken
    newest.set(upload.key, upload.order);
    jobs.add(`${upload.key}#${upload.size}`);
  }
  return jobs;
}

function batches(stream: readonly Upload[], size: number) {
  const out = [];
  for (let i = 0; i < stream.length; i += size) {
    const messages = stream.slice(i, i + size).map((u, j) =>
      sqsMessage(
        s3Notification(
          s3Record({
            bucket: "data-bucket",
            key: u.key,
            versionId: u.versionId,
            sequencer: u.sequencer,
            size: u.size,
          }),
        ),
        `m-${i + j}`,
      ),
    );
    out.push(sqsEvent(...messages));
  }
  return out;
}

describe("S3 input under a shuffled, duplicated stream of 10,000 events", () => {
  it("yields exactly one job per (key, version) taken, newest-wins per key, and one cluster", async () => {
    const stream = eventStream(7);
    expect(new Set(stream.map((u) => u.versionId)).size).toBe(KEYS * VERSIONS_PER_KEY);
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());

    let duplicates = 0;
    let older = 0;
    for (const event of batches(stream, 10)) {
      const { report } = await h.ingest(event);
      expect(report.batchItemFailures).toEqual([]);
      duplicates += report.counts.duplicates;
      older += report.counts.older;
    }
    await h.stackReaches("crunch", "CREATE_COMPLETE");

    const jobs = await h.jobsOf("crunch");
    const made = jobs.map((job) => `${job.origin?.input.key}#${job.origin?.input.size}`);
    expect(new Set(made).size).toBe(made.length); // never two jobs for one version
    expect(new Set(made)).toEqual(expectedJobs(stream)); // and one for every version taken
    expect(duplicates + older + jobs.length).toBe(EVENTS);
    // Newest wins: every key's last version has its job, whatever order the events came in.
    for (let k = 0; k < KEYS; k++) {
      const last = k * VERSIONS_PER_KEY + VERSIONS_PER_KEY - 1;
      expect(made).toContain(`incoming/sample ${k}/reads+${k}.fastq#${last}`);
    }
    expect(h.provisioner.createCalls).toHaveLength(1);
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(jobs.length);
    expect(jobs.every((job) => job.externalId && !job.waitingForCluster)).toBe(true);
  });
});
