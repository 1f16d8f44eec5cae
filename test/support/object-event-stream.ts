import { s3Notification, s3Record, sqsEvent, sqsMessage } from "../fixtures/s3-events.ts";
import { seededRandom } from "./seeded-random.ts";

/** One write of an object, as S3 reports it. */
export interface Upload {
  readonly key: string;
  readonly versionId: string;
  /** S3's sequencer: grows with each write of the key; lengths vary, as S3's do. */
  readonly sequencer: string;
  readonly order: bigint;
  /** Unique per version, so a job (which sees `${input.size}`) tells which version it ran for. */
  readonly size: number;
}

/** The key of the `k`-th object: a space, a `+` and a directory, as real uploads have them. */
export function streamKey(k: number): string {
  return `incoming/sample ${k}/reads+${k}.fastq`;
}

/**
 * `keys` keys, each written `versionsPerKey` times, then `events` deliveries of those writes: every write
 * once, the rest duplicates of random writes, all shuffled (so sequencers arrive out of order).
 */
export function objectEventStream(
  seed: number,
  shape: { readonly keys: number; readonly versionsPerKey: number; readonly events: number },
): Upload[] {
  const next = seededRandom(seed);
  const uploads: Upload[] = [];
  for (let k = 0; k < shape.keys; k++) {
    let order = BigInt(Math.floor(next() * 1e6));
    for (let v = 0; v < shape.versionsPerKey; v++) {
      order += BigInt(1 + Math.floor(next() * 1e9));
      // S3 sequencers compare after right-padding with zeros: write some with trailing zeros trimmed.
      const hex = order.toString(16).toUpperCase().padStart(18, "0");
      const sequencer = next() < 0.2 ? hex.replace(/0+$/, "") || "0" : hex;
      uploads.push({
        key: streamKey(k),
        versionId: `v${k}-${v}`,
        sequencer,
        order,
        size: k * shape.versionsPerKey + v,
      });
    }
  }
  const stream = [...uploads];
  while (stream.length < shape.events) stream.push(uploads[Math.floor(next() * uploads.length)] as Upload);
  for (let i = stream.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [stream[i], stream[j]] = [stream[j] as Upload, stream[i] as Upload];
  }
  return stream;
}

/**
 * What exactly-once, newest-wins processing of `stream` in this order must produce, as `key#size`: a
 * write gets a job unless a write of its key at least as new was taken before it.
 */
export function expectedJobs(stream: readonly Upload[]): Set<string> {
  const newest = new Map<string, bigint>();
  const jobs = new Set<string>();
  for (const upload of stream) {
    const seen = newest.get(upload.key);
    if (seen !== undefined && upload.order <= seen) continue;
    newest.set(upload.key, upload.order);
    jobs.add(`${upload.key}#${upload.size}`);
  }
  return jobs;
}

/** The stream as SQS would hand it to the function: `size` messages per event, one S3 record each. */
export function sqsBatches(stream: readonly Upload[], size: number, bucket = "data-bucket") {
  const out = [];
  for (let i = 0; i < stream.length; i += size) {
    const messages = stream
      .slice(i, i + size)
      .map((u, j) =>
        sqsMessage(
          s3Notification(
            s3Record({ bucket, key: u.key, versionId: u.versionId, sequencer: u.sequencer, size: u.size }),
          ),
          `m-${i + j}`,
        ),
      );
    out.push(sqsEvent(...messages));
  }
  return out;
}
