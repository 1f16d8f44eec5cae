import { describe, expect, it } from "vitest";
import { makeIngestHarness, triggerRule } from "../../support/ingest-harness.ts";
import { expectedJobs, objectEventStream, sqsBatches, streamKey } from "../../support/object-event-stream.ts";

const SHAPE = { keys: 200, versionsPerKey: 35, events: 10_000 }; // 7,000 versions; 30% of events duplicates

describe("S3 input under a shuffled, duplicated stream of 10,000 events", () => {
  it("yields exactly one job per (key, version) taken, newest-wins per key, and one cluster", async () => {
    const stream = objectEventStream(7, SHAPE);
    expect(new Set(stream.map((u) => u.versionId)).size).toBe(SHAPE.keys * SHAPE.versionsPerKey);
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());

    let duplicates = 0;
    let older = 0;
    for (const event of sqsBatches(stream, 10)) {
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
    expect(duplicates + older + jobs.length).toBe(SHAPE.events);
    // Newest wins: every key's last version has its job, whatever order the events came in.
    for (let k = 0; k < SHAPE.keys; k++) {
      expect(made).toContain(`${streamKey(k)}#${k * SHAPE.versionsPerKey + SHAPE.versionsPerKey - 1}`);
    }
    expect(h.provisioner.createCalls).toHaveLength(1);
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(jobs.length);
    expect(jobs.every((job) => job.externalId && !job.waitingForCluster)).toBe(true);
  });

  it("keeps those guarantees when invocations run side by side (as concurrent Lambdas do)", async () => {
    const stream = objectEventStream(11, SHAPE);
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());
    const batches = sqsBatches(stream, 10);

    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          const { report } = await h.ingest(batch);
          expect(report.batchItemFailures).toEqual([]);
        }
      }),
    );
    await h.stackReaches("crunch", "CREATE_COMPLETE");

    const jobs = await h.jobsOf("crunch");
    const made = jobs.map((job) => `${job.origin?.input.key}#${job.origin?.input.size}`);
    expect(new Set(made).size).toBe(made.length);
    for (let k = 0; k < SHAPE.keys; k++) {
      expect(made).toContain(`${streamKey(k)}#${k * SHAPE.versionsPerKey + SHAPE.versionsPerKey - 1}`);
    }
    expect(h.provisioner.createCalls).toHaveLength(1);
    const submitted = h.schedulers.of("crunch").submitCalls.map((call) => call.job.jobId);
    expect(new Set(submitted).size).toBe(submitted.length);
    expect(submitted).toHaveLength(jobs.length);
  });
});
