// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.*} placeholders are meant literally
import { describe, expect, it } from "vitest";
import { MemoryJobStore } from "#shared/adapters/local/memory-job-store.ts";
import { ServiceUnavailableError, UpstreamError } from "#shared/domain/errors.ts";
import { JOB_NAME } from "#shared/domain/job.ts";
import type { JobListRequest } from "#shared/ports/job-store.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";
import { makeSweepIdleTriggerClusters } from "#shared/use-cases/finish-triggered-job.ts";
import { s3Notification, s3Record, sqsEvent, sqsMessage } from "../../fixtures/s3-events.ts";
import { FakeClock, readyCluster, storeReadyCluster } from "../../support/fakes.ts";
import { makeIngestHarness, triggerRule } from "../../support/ingest-harness.ts";

const BUCKET = "data-bucket";

function upload(key: string, sequencer: string, extra: { versionId?: string; size?: number } = {}) {
  return s3Record({ bucket: BUCKET, key, sequencer, size: extra.size ?? 2048, ...extra });
}

function asSqs(...records: Record<string, unknown>[]) {
  return sqsEvent(...records.map((record, index) => sqsMessage(s3Notification(record), `msg-${index}`)));
}

describe("S3 input: one object, one job", () => {
  it("creates the cluster from the rule's template and records the job waiting for it, then submits it at CREATE_COMPLETE", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());

    const { report } = await h.ingest(asSqs(upload("incoming/run 1/data.csv", "0A01")));

    expect(report.batchItemFailures).toEqual([]);
    expect(report.counts).toMatchObject({ objects: 1, jobs: 1, duplicates: 0 });
    expect(h.provisioner.createCalls).toHaveLength(1);
    const [waiting] = await h.jobsOf("crunch");
    expect(waiting).toMatchObject({ status: "SUBMITTED", waitingForCluster: true });
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(0);

    await h.stackReaches("crunch", "CREATE_COMPLETE");

    const [job] = await h.jobsOf("crunch");
    expect(job?.waitingForCluster).toBe(false);
    expect(job?.externalId).toBe("ext-1");
    expect(job?.spec.command).toEqual([
      "process",
      "s3://data-bucket/incoming/run 1/data.csv",
      "--size",
      "2048",
    ]);
    expect(job?.spec.environment.INPUT_KEY).toBe("incoming/run 1/data.csv");
    expect(job?.origin).toMatchObject({
      triggerName: "inbox",
      whenDone: "keep",
      input: {
        uri: "s3://data-bucket/incoming/run 1/data.csv",
        bucket: BUCKET,
        key: "incoming/run 1/data.csv",
        prefix: "incoming/run 1/",
        size: "2048",
      },
    });
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(1);
  });

  it("submits at once when the cluster is ready", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());

    await h.ingest(asSqs(upload("incoming/a.dat", "0B")));

    const [job] = await h.jobsOf("crunch");
    expect(job).toMatchObject({ status: "SUBMITTED", externalId: "ext-1", waitingForCluster: false });
    expect(h.provisioner.createCalls).toHaveLength(0);
  });

  it("makes one job per matching rule, and none for keys or buckets no rule wants", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    await h.triggers.create(triggerRule({ name: "csv-only", prefix: undefined, suffix: ".csv" }));

    const { report } = await h.ingest(
      asSqs(
        upload("incoming/a.csv", "01"),
        upload("elsewhere/b.txt", "01"),
        s3Record({ bucket: "other-bucket", key: "incoming/a.csv", sequencer: "01" }),
      ),
    );

    expect(report.counts).toMatchObject({ objects: 3, jobs: 2, unmatched: 2 });
    expect((await h.jobsOf("crunch")).map((job) => job.origin?.triggerName).sort()).toEqual([
      "csv-only",
      "inbox",
    ]);
  });
});

describe("S3 input: exactly once on at-least-once, any-order delivery", () => {
  it("changes nothing on a duplicate event, in the same batch or a later one", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    const record = upload("incoming/a.dat", "0A", { versionId: "v1" });

    const first = await h.ingest(asSqs(record, record));
    const second = await h.ingest(asSqs(record));

    expect(first.report.counts).toMatchObject({ jobs: 1, duplicates: 1 });
    expect(second.report.counts).toMatchObject({ jobs: 0, duplicates: 1 });
    expect(await h.jobsOf("crunch")).toHaveLength(1);
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(1);
  });

  it("ignores an event older than one already taken for the key, and takes a newer one", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());

    await h.ingest(asSqs(upload("incoming/a.dat", "00FF", { versionId: "v2" })));
    const older = await h.ingest(asSqs(upload("incoming/a.dat", "00FE", { versionId: "v1" })));
    // A shorter sequencer is right-padded with zeros: 01 reads as 0100..., later than 00FF.
    const newer = await h.ingest(asSqs(upload("incoming/a.dat", "01", { versionId: "v3" })));

    expect(older.report.counts.older).toBe(1);
    expect(newer.report.counts.jobs).toBe(1);
    expect((await h.jobsOf("crunch")).map((job) => job.origin?.input.key)).toHaveLength(2);
  });

  it("re-runs only the failed message after a transient failure, and still makes exactly one job", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());
    await h.triggers.create(triggerRule({ name: "ready", bucket: "ready-bucket", clusterName: "alpha" }));
    await storeReadyCluster(h, { name: "alpha" });
    h.provisioner.createError = new ServiceUnavailableError("CloudFormation is throttling", 5);
    const good = s3Record({ bucket: "ready-bucket", key: "incoming/ok.dat", sequencer: "01" });
    const bad = upload("incoming/later.dat", "01");
    const event = sqsEvent(
      sqsMessage(s3Notification(good), "m-good"),
      sqsMessage(s3Notification(bad), "m-bad"),
    );

    const first = await h.ingest(event);

    expect(first.report.batchItemFailures).toEqual([{ itemIdentifier: "m-bad" }]);
    expect(await h.store.get("crunch")).toBeUndefined(); // the failed create left nothing behind
    h.provisioner.createError = undefined;
    const redelivered = await h.ingest(sqsEvent(sqsMessage(s3Notification(bad), "m-bad")));
    expect(redelivered.report).toMatchObject({ batchItemFailures: [], counts: { jobs: 1 } });
    expect(await h.jobsOf("crunch")).toHaveLength(1);
    expect(await h.jobsOf("alpha")).toHaveLength(1);
    expect(h.schedulers.of("alpha").submitCalls).toHaveLength(1);
  });

  it("finds the job a crashed delivery made instead of making another", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    const record = upload("incoming/a.dat", "0C", { versionId: "v1" });
    // The first delivery claimed the event and recorded its job, then died before marking it done.
    const first = await h.ingest(asSqs(record));
    expect(first.report.counts.jobs).toBe(1);
    const crashed = makeIngestHarness();
    await storeReadyCluster(crashed, { name: "crunch" });
    await crashed.triggers.create(triggerRule());
    await crashed.ledger.claim(
      { bucket: BUCKET, key: "incoming/a.dat", identity: "v1", sequencer: "0C".padEnd(64, "0") },
      new Date(Date.now() + 60_000),
    );

    const resumed = await crashed.ingest(asSqs(record));
    const again = await crashed.ingest(asSqs(record));

    expect(resumed.report.counts).toMatchObject({ jobs: 1, duplicates: 0 });
    expect(again.report.counts).toMatchObject({ jobs: 0, duplicates: 1 });
    expect(await crashed.jobsOf("crunch")).toHaveLength(1);
    // Same event, same job id, whichever process made it.
    expect((await crashed.jobsOf("crunch"))[0]?.jobId).toBe((await h.jobsOf("crunch"))[0]?.jobId);
  });
});

describe("S3 input: clusters that are missing, failing or going away", () => {
  it("without a template and without the cluster, makes no job and says why on the rule", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ clusterTemplate: undefined }));

    const { report } = await h.ingest(asSqs(upload("incoming/a.dat", "01")));

    expect(report.batchItemFailures).toEqual([]);
    const rule = await h.triggers.get("inbox");
    expect(rule?.recentFailures[0]).toMatchObject({ bucket: BUCKET, key: "incoming/a.dat" });
    expect(rule?.recentFailures[0]?.reason).toMatch(/Cluster crunch does not exist.*no clusterTemplate/);
    expect(h.provisioner.createCalls).toHaveLength(0);
  });

  it("fails the waiting jobs with the cluster's reason when it fails to create", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());
    await h.ingest(asSqs(upload("incoming/a.dat", "01"), upload("incoming/b.dat", "01")));

    await h.stackReaches("crunch", "ROLLBACK_COMPLETE", "The following resource(s) failed to create");

    const jobs = await h.jobsOf("crunch");
    expect(jobs.map((job) => job.status)).toEqual(["FAILED", "FAILED"]);
    expect(jobs[0]?.statusReason).toMatch(/^Cluster crunch failed to create/);
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(0);
    // A later event finds the failed cluster and says so.
    await h.ingest(asSqs(upload("incoming/c.dat", "01")));
    expect((await h.triggers.get("inbox"))?.recentFailures[0]?.reason).toMatch(/Delete it so that the rule/);
  });

  it("submits a job whose cluster became ready while the job was being recorded", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());
    await h.ingest(asSqs(upload("incoming/first.dat", "01")));
    const cluster = await h.store.get("crunch");
    // The stack event is applied, and settles the (one) waiting job, before the second job is recorded.
    const original = h.jobs.create.bind(h.jobs);
    h.jobs.create = async (job) => {
      await original(job);
      h.jobs.create = original;
      await h.stackReaches("crunch", "CREATE_COMPLETE");
    };
    expect(cluster?.status).toBe("CREATE_IN_PROGRESS");

    await h.ingest(asSqs(upload("incoming/second.dat", "01")));

    const jobs = await h.jobsOf("crunch");
    expect(jobs.map((job) => [job.waitingForCluster, job.externalId !== undefined])).toEqual([
      [false, true],
      [false, true],
    ]);
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(2);
  });

  it("asks for a redelivery while the cluster is being deleted, then creates it afresh", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    const [first] = await h.jobsOf("crunch");
    if (!first) throw new Error("no job");
    await h.jobEnds(first);
    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS");

    const during = await h.ingest(asSqs(upload("incoming/b.dat", "01")));
    expect(during.report.batchItemFailures).toEqual([{ itemIdentifier: "msg-0" }]);

    await h.stackReaches("crunch", "DELETE_COMPLETE");
    const after = await h.ingest(asSqs(upload("incoming/b.dat", "01")));
    expect(after.report.batchItemFailures).toEqual([]);
    const second = await h.store.get("crunch");
    expect(second?.status).toBe("CREATE_IN_PROGRESS");
    expect(second?.clusterId).not.toBe(first.clusterId);
    expect(h.provisioner.createCalls).toHaveLength(2);
  });
});

describe("S3 input: whenDone", () => {
  it("deletes the cluster when the last of the rule's jobs ends, not before", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01"), upload("incoming/b.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    const [a, b] = await h.jobsOf("crunch");
    if (!a || !b) throw new Error("expected two jobs");

    await h.jobEnds(a, "FAILED");
    expect((await h.store.get("crunch"))?.status).toBe("CREATE_COMPLETE");
    await h.jobEnds(b);

    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS");
    expect(h.provisioner.deleteCalls).toHaveLength(1);
  });

  it("keeps the cluster while another job (not the rule's) still uses it, and with whenDone keep", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    const cluster = await h.stackReaches("crunch", "CREATE_COMPLETE");
    const now = h.clock.now().toISOString();
    await h.jobs.create({
      jobId: "01J0000000000000000000MANU",
      clusterName: "crunch",
      clusterId: cluster.clusterId,
      name: "manual",
      status: "RUNNING",
      spec: { command: ["sleep", "60"], environment: {}, dependsOn: [] },
      scheduler: "local",
      attempts: [],
      createdAt: now,
      updatedAt: now,
      createdBy: "bob",
      version: 1,
    });
    const [triggered] = (await h.jobsOf("crunch")).filter((job) => job.origin);
    if (!triggered) throw new Error("no triggered job");

    await h.jobEnds(triggered);

    expect((await h.store.get("crunch"))?.status).toBe("CREATE_COMPLETE");
    expect(h.finished.at(-1)?.outcome).toBe("kept");
  });

  it("deletes a cluster that failed to create once its waiting jobs have failed", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));

    await h.stackReaches("crunch", "CREATE_FAILED");

    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS");
  });
});

describe("S3 input: what is not an object creation", () => {
  it("counts and skips malformed records and test events without failing the batch", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());

    const { report, malformed } = await h.ingest(
      sqsEvent(
        sqsMessage("{not json", "m1"),
        sqsMessage({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: BUCKET }, "m2"),
        sqsMessage(s3Notification(s3Record({ bucket: BUCKET, key: "incoming/x", sequencer: "zz" })), "m3"),
      ),
    );

    expect(report.batchItemFailures).toEqual([]);
    expect(report.counts).toMatchObject({ objects: 0, malformed: 2, unmatched: 1, jobs: 0 });
    // Each skipped record says why, for the log.
    expect(malformed.map((item) => item.itemId)).toEqual(["m1", "m3"]);
    expect(malformed[1]?.reasons).toEqual([expect.stringMatching(/sequencer/)]);
  });

  it("never throws, whatever the event", async () => {
    const h = makeIngestHarness();
    for (const event of [null, undefined, 42, "x", [], { Records: "no" }, { Records: [null, 1] }]) {
      const { report } = await h.ingest(event);
      expect(report.counts.jobs).toBe(0);
    }
  });

  it("keeps keys exactly as uploaded: spaces, '+', unicode and a literal %2F", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    const keys = [
      "incoming/my file.csv",
      "incoming/a+b.csv",
      "incoming/données/résumé ü.csv",
      "incoming/x%2Fy.csv",
    ];

    await h.ingest(asSqs(...keys.map((key) => upload(key, "01"))));

    const jobs = await h.jobsOf("crunch");
    expect(jobs.map((job) => job.origin?.input.key).sort()).toEqual([...keys].sort());
    for (const job of jobs) {
      expect(job.spec.command?.[1]).toBe(`s3://${BUCKET}/${job.origin?.input.key}`);
      expect(job.name).toMatch(JOB_NAME);
    }
  });
});

describe("S3 input: per-batch", () => {
  it("turns 1,000 objects and one marker into one cluster and one job for the prefix", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(
      triggerRule({
        mode: "per-batch",
        job: { name: "batch", spec: { command: ["reduce", "${input.uri}"], environment: {}, dependsOn: [] } },
      }),
    );
    const records = Array.from({ length: 1000 }, (_, i) => upload(`incoming/run-7/part-${i}.dat`, "01"));
    for (let i = 0; i < records.length; i += 10) await h.ingest(asSqs(...records.slice(i, i + 10)));
    const marker = upload("incoming/run-7/_SUCCESS", "02", { size: 0 });

    const { report } = await h.ingest(asSqs(marker, marker));
    await h.stackReaches("crunch", "CREATE_COMPLETE");

    expect(report.counts).toMatchObject({ jobs: 1, duplicates: 1 });
    expect(h.provisioner.createCalls).toHaveLength(1);
    const jobs = await h.jobsOf("crunch");
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.spec.command).toEqual(["reduce", "s3://data-bucket/incoming/run-7/"]);
    expect(jobs[0]?.origin?.input).toMatchObject({
      prefix: "incoming/run-7/",
      key: "incoming/run-7/_SUCCESS",
    });
  });
});

it("readyCluster fixture is a CREATE_COMPLETE cluster (the harness relies on it)", () => {
  const h = makeIngestHarness();
  expect(readyCluster(h.clock).status).toBe("CREATE_COMPLETE");
});

describe("S3 input: crashes, busy schedulers and clusters that go away mid-flight", () => {
  it("hands over a job whose first delivery died between recording it and submitting it", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    const original = h.jobs.create.bind(h.jobs);
    h.jobs.create = async (job) => {
      await original(job);
      h.jobs.create = original;
      throw new Error("the process died");
    };
    const record = upload("incoming/a.dat", "01");

    const first = await h.ingest(asSqs(record));
    expect(first.report.batchItemFailures).toEqual([{ itemIdentifier: "msg-0" }]);
    expect((await h.jobsOf("crunch"))[0]).toMatchObject({ waitingForCluster: true });
    const second = await h.ingest(asSqs(record));

    expect(second.report.batchItemFailures).toEqual([]);
    expect(await h.jobsOf("crunch")).toHaveLength(1);
    expect((await h.jobsOf("crunch"))[0]).toMatchObject({ externalId: "ext-1", waitingForCluster: false });
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(1);
  });

  it("makes no second job when a redelivery comes after the job ran and its cluster was replaced", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    // Two rules on the bucket: the other one's cluster is being deleted, so the message fails and comes again.
    await h.triggers.create(triggerRule({ name: "other", clusterName: "other" }));
    const record = upload("incoming/a.dat", "01");
    await h.ingest(asSqs(upload("incoming/seed.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    await h.stackReaches("other", "CREATE_COMPLETE");
    for (const job of await h.jobsOf("crunch")) await h.jobEnds(job);
    await h.stackReaches("crunch", "DELETE_COMPLETE");
    await h.ingest(asSqs(upload("incoming/seed2.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    await h.forceClusterStatus("other", "DELETE_IN_PROGRESS");

    const first = await h.ingest(asSqs(record)); // crunch's job is made and runs; other's cluster is going
    expect(first.report.batchItemFailures).toHaveLength(1);
    const made = (await h.jobsOf("crunch")).filter((job) => job.origin?.input.key === "incoming/a.dat");
    expect(made).toHaveLength(1);
    for (const job of await h.jobsOf("crunch")) await h.jobEnds(job); // whenDone: crunch is deleted ...
    await h.stackReaches("crunch", "DELETE_COMPLETE");
    await h.stackReaches("other", "DELETE_COMPLETE");

    const redelivered = await h.ingest(asSqs(record)); // ... and crunch is created afresh for "other"'s sake

    expect(redelivered.report.batchItemFailures).toEqual([]);
    const all = (await h.jobsOf("crunch")).filter((job) => job.origin?.input.key === "incoming/a.dat");
    expect(all.map((job) => job.jobId)).toEqual(made.map((job) => job.jobId));
    expect(
      (await h.jobsOf("other")).filter((job) => job.origin?.input.key === "incoming/a.dat"),
    ).toHaveLength(1);
  });

  it("makes no second job (nor a second cluster) after the scheduler refused the first", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.triggers.create(triggerRule({ name: "other", clusterName: "other" }));
    await storeReadyCluster(h, { name: "other" });
    await h.forceClusterStatus("other", "DELETE_IN_PROGRESS");
    h.schedulers.of("crunch").submitError = new UpstreamError("sbatch: invalid partition");
    const record = upload("incoming/a.dat", "01");

    const first = await h.ingest(asSqs(record)); // crunch is created for the job; "other" is going away
    expect(first.report.batchItemFailures).toHaveLength(1);
    await h.stackReaches("crunch", "CREATE_COMPLETE"); // the job is handed over, refused, and whenDone ...
    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS"); // ... deletes the cluster
    await h.stackReaches("crunch", "DELETE_COMPLETE");
    await h.forceClusterStatus("other", "DELETE_COMPLETE");
    h.schedulers.of("crunch").submitError = undefined;

    const redelivered = await h.ingest(asSqs(record));

    expect(redelivered.report.batchItemFailures).toEqual([]);
    expect(h.provisioner.createCalls.filter((call) => call.stackName.endsWith("crunch"))).toHaveLength(1);
    const forA = (await h.jobs.list("crunch", { limit: 100 })).items;
    expect(forA.map((job) => job.status)).toEqual(["FAILED"]);
  });

  it("puts a job back to waiting when the scheduler is busy, and submits it once on the redelivery", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    h.schedulers.of("crunch").submitError = new ServiceUnavailableError(
      "Slurm is busy; retry shortly.",
      5,
      true,
    );
    const record = upload("incoming/a.dat", "01");

    const first = await h.ingest(asSqs(record));
    expect(first.report.batchItemFailures).toHaveLength(1);
    expect((await h.jobsOf("crunch"))[0]).toMatchObject({ status: "SUBMITTED", waitingForCluster: true });
    h.schedulers.of("crunch").submitError = undefined;
    await h.ingest(asSqs(record));

    expect((await h.jobsOf("crunch"))[0]).toMatchObject({ externalId: "ext-2", waitingForCluster: false });
    expect(await h.jobsOf("crunch")).toHaveLength(1);
  });

  it("never retries a submission whose outcome is unknown: the job fails, saying why", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    h.schedulers.of("crunch").submitError = new ServiceUnavailableError(
      "The head node has not answered yet.",
    );

    const { report } = await h.ingest(asSqs(upload("incoming/a.dat", "01")));

    expect(report.batchItemFailures).toEqual([]);
    expect((await h.jobsOf("crunch"))[0]?.status).toBe("FAILED");
    expect((await h.triggers.get("inbox"))?.recentFailures[0]?.reason).toMatch(/has not answered/);
    expect(h.schedulers.of("crunch").submitCalls).toHaveLength(1);
  });

  it("redelivers a key's later events with its failed one, so the older version still gets its job", async () => {
    const h = makeIngestHarness();
    await storeReadyCluster(h, { name: "crunch" });
    await h.triggers.create(triggerRule());
    h.schedulers.of("crunch").submitError = new ServiceUnavailableError("busy", 5, true);
    const v1 = upload("incoming/a.dat", "01", { versionId: "v1" });
    const v2 = upload("incoming/a.dat", "02", { versionId: "v2" });

    const first = await h.ingest(asSqs(v1, v2));
    expect(first.report.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      "msg-0",
      "msg-1",
    ]);
    h.schedulers.of("crunch").submitError = undefined;
    await h.ingest(asSqs(v1, v2));

    const jobs = await h.jobsOf("crunch");
    expect(jobs.map((job) => job.status)).toEqual(["SUBMITTED", "SUBMITTED"]);
    expect(jobs.every((job) => job.externalId)).toBe(true);
  });

  it("moves a job to the cluster's next incarnation when the cluster started deleting as the job arrived", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());
    await h.ingest(asSqs(upload("incoming/seed.dat", "01")));
    const cluster = await h.stackReaches("crunch", "CREATE_COMPLETE");
    const original = h.jobs.create.bind(h.jobs);
    h.jobs.create = async (job) => {
      await original(job);
      h.jobs.create = original;
      // whenDone of another job decides, in this very moment, that the cluster is unused.
      await h.forceClusterStatus("crunch", "DELETE_IN_PROGRESS");
    };
    const record = upload("incoming/late.dat", "01");

    const first = await h.ingest(asSqs(record));
    expect(first.report.batchItemFailures).toHaveLength(1);
    await h.stackReaches("crunch", "DELETE_COMPLETE");
    await h.ingest(asSqs(record));
    await h.stackReaches("crunch", "CREATE_COMPLETE");

    const late = (await h.jobs.list("crunch", { limit: 100 })).items.filter((job) =>
      job.name.includes("late"),
    );
    const both = await Promise.all(late.map((job) => h.jobs.get("crunch", job.jobId)));
    const moved = both.find((job) => job?.externalId);
    const stranded = both.find((job) => !job?.externalId);
    expect(late).toHaveLength(2);
    expect(moved?.clusterId).toBe((await h.store.get("crunch"))?.clusterId);
    expect(stranded).toMatchObject({
      status: "FAILED",
      clusterId: cluster.clusterId,
      waitingForCluster: false,
    });
    expect(
      h.schedulers.of("crunch").submitCalls.filter((call) => call.job.name.includes("late")),
    ).toHaveLength(1);
  });
});

describe("S3 input: the reconciler's whenDone sweep", () => {
  function sweeper(h: ReturnType<typeof makeIngestHarness>) {
    return makeSweepIdleTriggerClusters(
      { store: h.store, clock: h.clock, jobs: h.jobs, triggers: h.triggers },
      makeDeleteCluster(h),
      600,
    );
  }

  async function finishedWithoutDeleting(h: ReturnType<typeof makeIngestHarness>) {
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    const [job] = await h.jobsOf("crunch");
    if (!job) throw new Error("no job");
    // The job ends, but the delete its end should have caused never happened (a lost event).
    await h.jobs.update("crunch", job.jobId, job.version, {
      status: "SUCCEEDED",
      updatedAt: h.clock.now().toISOString(),
    });
  }

  it("deletes a rule-made cluster that has been idle for the whole period", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await finishedWithoutDeleting(h);

    expect(await sweeper(h)()).toEqual([]); // not idle long enough yet
    h.clock.advance(601_000);
    expect(await sweeper(h)()).toEqual(["crunch"]);
    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS");
  });

  it("leaves clusters of whenDone: keep rules, clusters the rule did not make, and busy ones", async () => {
    const kept = makeIngestHarness();
    await kept.triggers.create(triggerRule({ whenDone: "keep" }));
    await finishedWithoutDeleting(kept);
    kept.clock.advance(601_000);
    expect(await sweeper(kept)()).toEqual([]);

    const foreign = makeIngestHarness();
    await storeReadyCluster(foreign, { name: "crunch" });
    await foreign.triggers.create(triggerRule({ whenDone: "delete" }));
    foreign.clock.advance(601_000);
    expect(await sweeper(foreign)()).toEqual([]);

    const busy = makeIngestHarness();
    await busy.triggers.create(triggerRule({ whenDone: "delete" }));
    await busy.ingest(asSqs(upload("incoming/a.dat", "01")));
    await busy.stackReaches("crunch", "CREATE_COMPLETE");
    busy.clock.advance(601_000);
    expect(await sweeper(busy)()).toEqual([]);
    expect((await busy.store.get("crunch"))?.status).toBe("CREATE_COMPLETE");
  });
});

describe("S3 input: whenDone against a lagging index, a failed deletion, and a Lambda running out of time", () => {
  it("keeps the cluster when the status index has not seen a new job yet but the table has", async () => {
    // A job store whose by-status listing lags: it never shows SUBMITTED jobs (as an index just behind).
    class LaggingIndex extends MemoryJobStore {
      override async list(clusterName: string, request: JobListRequest) {
        if (request.status === "SUBMITTED") return { items: [] };
        return super.list(clusterName, request);
      }
    }
    const clock = new FakeClock();
    const h = makeIngestHarness({ jobs: new LaggingIndex({ clock }) });
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    const [first] = await h.jobsOf("crunch");
    if (!first) throw new Error("no job");
    h.schedulers.of("crunch").submitError = new ServiceUnavailableError("busy", 5, true);
    await h.ingest(asSqs(upload("incoming/b.dat", "01"))); // waits again: SUBMITTED, no scheduler id

    await h.jobEnds(first);

    expect((await h.store.get("crunch"))?.status).toBe("CREATE_COMPLETE");
  });

  it("asks again for a deletion that failed, once the cluster has been idle", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    h.provisioner.deleteError = new Error("CloudFormation said no");
    const [job] = await h.jobsOf("crunch");
    if (!job) throw new Error("no job");
    await h.jobEnds(job).catch(() => undefined);
    expect((await h.store.get("crunch"))?.status).toBe("DELETE_FAILED");
    h.provisioner.deleteError = undefined;
    h.clock.advance(601_000);

    const swept = await makeSweepIdleTriggerClusters(
      { store: h.store, clock: h.clock, jobs: h.jobs, triggers: h.triggers },
      makeDeleteCluster(h),
      600,
    )();

    expect(swept).toEqual(["crunch"]);
    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS");
  });

  it("stops handing waiting jobs over when told time is short, leaving them waiting", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule());
    await h.ingest(asSqs(upload("incoming/a.dat", "01"), upload("incoming/b.dat", "01")));
    const cluster = await h.store.get("crunch");
    if (!cluster) throw new Error("no cluster");

    const report = await h.settle({ ...cluster, status: "CREATE_COMPLETE" }, { shouldStop: () => true });

    expect(report.released).toBe(0);
    expect((await h.jobsOf("crunch")).every((job) => job.waitingForCluster)).toBe(true);
  });
});

describe("S3 input: whenDone fenced against a job arriving as it decides", () => {
  it("makes a job that arrives while whenDone drains the cluster wait, keeps the cluster, then hands the job over", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    await h.stackReaches("crunch", "CREATE_COMPLETE");
    const [a] = await h.jobsOf("crunch");
    if (!a) throw new Error("no job");
    const late = upload("incoming/late.dat", "01");
    let during: Awaited<ReturnType<typeof h.ingest>> | undefined;
    const update = h.store.update.bind(h.store);
    h.store.update = async (name, expected, changes, event) => {
      const updated = await update(name, expected, changes, event);
      // The very moment whenDone has marked the cluster draining, a new object comes in.
      if (changes.draining === true && !during) during = await h.ingest(asSqs(late));
      return updated;
    };

    await h.jobEnds(a);

    expect(during?.report.batchItemFailures).toHaveLength(1); // the late job waits, and its event comes again
    const cluster = await h.store.get("crunch");
    expect(cluster).toMatchObject({ status: "CREATE_COMPLETE", draining: false }); // kept: a job came
    const redelivered = await h.ingest(asSqs(late));
    expect(redelivered.report.batchItemFailures).toEqual([]);
    const lateJobs = (await h.jobsOf("crunch")).filter(
      (job) => job.origin?.input.key === "incoming/late.dat",
    );
    expect(lateJobs).toHaveLength(1);
    expect(lateJobs[0]).toMatchObject({ waitingForCluster: false, externalId: "ext-2" });
  });

  it("never hands a job to a cluster whenDone decided to delete: it moves to the next cluster of the name", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    const first = await h.stackReaches("crunch", "CREATE_COMPLETE");
    const [a] = await h.jobsOf("crunch");
    if (!a) throw new Error("no job");
    const late = upload("incoming/late.dat", "01");
    let during: Awaited<ReturnType<typeof h.ingest>> | undefined;
    const update = h.store.update.bind(h.store);
    h.store.update = async (name, expected, changes, event) => {
      // whenDone has looked again and found no job; just before its delete lands, a new object comes in.
      if (changes.status === "DELETE_IN_PROGRESS" && !during) during = await h.ingest(asSqs(late));
      return update(name, expected, changes, event);
    };

    await h.jobEnds(a);
    expect(during?.report.batchItemFailures).toHaveLength(1);
    expect((await h.store.get("crunch"))?.status).toBe("DELETE_IN_PROGRESS");
    expect(h.schedulers.of("crunch").submitCalls.map((call) => call.job.origin?.input.key)).toEqual([
      "incoming/a.dat",
    ]);
    await h.stackReaches("crunch", "DELETE_COMPLETE");
    await h.ingest(asSqs(late));
    await h.stackReaches("crunch", "CREATE_COMPLETE");

    const moved = h.schedulers
      .of("crunch")
      .submitCalls.filter((call) => call.job.origin?.input.key === "incoming/late.dat");
    expect(moved).toHaveLength(1);
    expect(moved[0]?.cluster.clusterId).not.toBe(first.clusterId);
  });

  it("lets the sweep clear a draining mark a whenDone left behind, so waiting jobs are handed over", async () => {
    const h = makeIngestHarness();
    await h.triggers.create(triggerRule({ whenDone: "delete" }));
    await h.ingest(asSqs(upload("incoming/a.dat", "01")));
    const cluster = await h.stackReaches("crunch", "CREATE_COMPLETE");
    await h.store.update(
      "crunch",
      { version: cluster.version, clusterId: cluster.clusterId },
      { draining: true, updatedAt: h.clock.now().toISOString() },
    );
    const waiting = await h.ingest(asSqs(upload("incoming/b.dat", "01")));
    expect(waiting.report.batchItemFailures).toHaveLength(1);
    h.clock.advance(601_000);

    await makeSweepIdleTriggerClusters(
      { store: h.store, clock: h.clock, jobs: h.jobs, triggers: h.triggers },
      makeDeleteCluster(h),
      600,
    )();
    const settled = await h.settle((await h.store.get("crunch")) ?? cluster);

    expect((await h.store.get("crunch"))?.draining).toBe(false);
    expect(settled.released).toBe(1);
  });
});
