import { beforeAll, describe, expect, it, vi } from "vitest";
import { ulidGenerator } from "#shared/adapters/system.ts";
import {
  ConcurrentModificationError,
  InvalidNextTokenError,
  JobExistsError,
  JobNotFoundError,
} from "#shared/domain/errors.ts";
import type { Job, JobStatus } from "#shared/domain/job.ts";
import type { JobListRequest, JobStore, JobSummary } from "#shared/ports/job-store.ts";
import type { Page } from "#shared/ports/page.ts";
import { byteOrder, readAllPages } from "./cluster-store-contract.ts";

/**
 * The behaviour every `JobStore` must have, written once and run against each implementation (memory in
 * the unit tier, DynamoDB on dynalite in the integration tier) so they cannot drift.
 */

/** A store under test, with what the suite needs to see that the `Job` record does not carry. */
export interface JobStoreHarness {
  readonly store: JobStore;
  /** The retention the store was built with, in days. */
  readonly retentionDays: number;
  /** The stored expiry (epoch seconds) of a job, or undefined when it has none. */
  expiresAt(clusterName: string, jobId: string): Promise<number | undefined>;
}

/** A real ULID, as the submit use case makes them, but made at the time `ms`. */
export function jobIdAt(ms: number): string {
  const now = vi.spyOn(Date, "now").mockReturnValue(ms);
  try {
    return ulidGenerator.next();
  } finally {
    now.mockRestore();
  }
}

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);

/** A complete job record, as the submit use case would store it, created at `createdMs`. */
export function makeJob(clusterName: string, overrides: Partial<Job> = {}, createdMs = T0): Job {
  const createdAt = new Date(createdMs).toISOString();
  return {
    jobId: jobIdAt(createdMs),
    clusterName,
    clusterId: "5f0c5f9e-6c1d-4b7e-9a31-0d2f3c4b5a69",
    name: "render-frame",
    status: "SUBMITTED",
    spec: {
      command: ["sh", "-c", "echo $HOME; exit 3"],
      image: "public.ecr.aws/amazonlinux/amazonlinux:2023",
      vcpus: 2,
      memoryMiB: 2048,
      environment: { FRAME: "42" },
      dependsOn: [],
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: "3", action: "EXIT" }] },
      timeoutSeconds: 600,
    },
    scheduler: "awsbatch",
    attempts: [],
    createdAt,
    updatedAt: createdAt,
    createdBy: "alice",
    version: 1,
    ...overrides,
  };
}

/** The summary a listing must return for `job`: its summary fields, nothing else. */
function summaryOf(job: Job): JobSummary {
  const summary: Record<string, unknown> = {
    jobId: job.jobId,
    clusterName: job.clusterName,
    name: job.name,
    status: job.status,
    statusReason: job.statusReason,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt,
    stoppedAt: job.stoppedAt,
  };
  for (const key of Object.keys(summary)) if (summary[key] === undefined) delete summary[key];
  return summary as unknown as JobSummary;
}

/** Runs `task` over `items` with at most `width` in flight. */
async function inBatches<T>(
  items: readonly T[],
  width: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map(task));
  }
}

/** Newest first, as listings return jobs: by id (ULIDs), descending, in DynamoDB's byte order. */
function newestFirst(jobs: readonly Job[]): string[] {
  return jobs.map((job) => job.jobId).sort((a, b) => byteOrder(b, a));
}

/** Reads a whole listing, checking that no page is empty and every page but the last is full. */
async function readListing<T>(limit: number, read: (nextToken: string | undefined) => Promise<Page<T>>) {
  const { items, pages } = await readAllPages(read);
  // Only a listing with nothing in it may have an empty page; every page before the last is full.
  if (pages.length > 1) expect(pages.at(-1)?.items.length).toBeGreaterThan(0);
  for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(limit);
  expect(pages.at(-1)?.nextToken).toBeUndefined();
  return { items, pages };
}

const STATUS_CYCLE: readonly JobStatus[] = ["SUBMITTED", "RUNNING", "SUCCEEDED", "RUNNING", "FAILED"];

/**
 * Registers the shared `JobStore` suite. `makeHarness` must return an empty store each call; stores from
 * one harness share their page-token secret.
 */
export function describeJobStoreContract(label: string, makeHarness: () => Promise<JobStoreHarness>): void {
  describe(`${label} (JobStore contract)`, () => {
    describe("create and get", () => {
      it("returns exactly the job that was created, and nothing for another id or cluster", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha");

        await store.create(job);

        expect(await store.get("alpha", job.jobId)).toEqual(job);
        expect(await store.get("beta", job.jobId)).toBeUndefined();
        expect(await store.get("alpha", jobIdAt(T0))).toBeUndefined();
      });

      it("stores no undefined values, whatever optional fields the job leaves out", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha", { statusReason: undefined, externalId: undefined });

        await store.create(job);
        const stored = await store.get("alpha", job.jobId);

        expect(stored).toBeDefined();
        expect(Object.keys(stored ?? {})).not.toContain("statusReason");
        expect(Object.keys(stored ?? {})).not.toContain("externalId");
      });

      it("refuses a second job with the same id on the same cluster with JobExistsError", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha");
        await store.create(job);

        const attempt = store.create({ ...job, name: "impostor", createdBy: "mallory" });

        await expect(attempt).rejects.toBeInstanceOf(JobExistsError);
        expect(await store.get("alpha", job.jobId)).toEqual(job);
      });

      it("keeps jobs of different clusters apart even under the same id", async () => {
        const { store } = await makeHarness();
        const alpha = makeJob("alpha");
        const beta = { ...alpha, clusterName: "beta", name: "other" };

        await store.create(alpha);
        await store.create(beta);

        expect(await store.get("alpha", alpha.jobId)).toEqual(alpha);
        expect(await store.get("beta", alpha.jobId)).toEqual(beta);
      });
    });

    describe("update", () => {
      it("applies changes at the current version, bumps the version and returns the new record", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha");
        await store.create(job);
        const attempts = [{ startedAt: "2024-05-01T10:01:00.000Z", logStream: "render/default/abc" }];

        const updated = await store.update("alpha", job.jobId, 1, {
          status: "RUNNING",
          externalId: "batch-job-1",
          attempts,
          arrayProgress: { SUCCEEDED: 2 },
          startedAt: "2024-05-01T10:01:00.000Z",
          lastEventAt: "2024-05-01T10:01:00.000Z",
          updatedAt: "2024-05-01T10:01:05.000Z",
        });

        const expected: Job = {
          ...job,
          status: "RUNNING",
          externalId: "batch-job-1",
          attempts,
          arrayProgress: { SUCCEEDED: 2 },
          startedAt: "2024-05-01T10:01:00.000Z",
          lastEventAt: "2024-05-01T10:01:00.000Z",
          updatedAt: "2024-05-01T10:01:05.000Z",
          version: 2,
        };
        expect(updated).toEqual(expected);
        expect(await store.get("alpha", job.jobId)).toEqual(expected);
      });

      it("leaves fields alone that a change gives as undefined, and ignores fields that are not changes", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha", { statusReason: "queued behind 3 jobs" });
        await store.create(job);
        const sneaky = {
          statusReason: undefined,
          updatedAt: "2024-05-01T11:00:00.000Z",
          name: "renamed",
          clusterId: "another-incarnation",
          spec: { environment: {}, dependsOn: [] },
          version: 99,
        };

        const updated = await store.update("alpha", job.jobId, 1, sneaky);

        expect(updated).toEqual({ ...job, updatedAt: "2024-05-01T11:00:00.000Z", version: 2 });
        expect(Object.values(updated)).not.toContain(undefined);
      });

      it("refuses a stale version with ConcurrentModificationError and changes nothing", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha");
        await store.create(job);
        await store.update("alpha", job.jobId, 1, {
          status: "RUNNABLE",
          updatedAt: "2024-05-01T10:01:00.000Z",
        });

        const stale = store.update("alpha", job.jobId, 1, {
          status: "CANCELLED",
          updatedAt: "2024-05-01T10:02:00.000Z",
        });

        await expect(stale).rejects.toBeInstanceOf(ConcurrentModificationError);
        const stored = await store.get("alpha", job.jobId);
        expect(stored?.status).toBe("RUNNABLE");
        expect(stored?.version).toBe(2);
      });

      it("lets exactly one of 20 concurrent updates at the same version win", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha");
        await store.create(job);

        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            store.update("alpha", job.jobId, 1, { statusReason: `writer ${i}`, updatedAt: job.updatedAt }),
          ),
        );

        const winners = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        const losers = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
        expect(winners).toHaveLength(1);
        for (const reason of losers) expect(reason).toBeInstanceOf(ConcurrentModificationError);
        expect(await store.get("alpha", job.jobId)).toEqual(winners[0]);
      });

      it("refuses to update a job that does not exist with JobNotFoundError naming it", async () => {
        const { store } = await makeHarness();
        const other = makeJob("alpha");
        await store.create(other);
        const ghost = jobIdAt(T0);

        const attempt = store.update("alpha", ghost, 1, { status: "RUNNING", updatedAt: "x" });

        await expect(attempt).rejects.toBeInstanceOf(JobNotFoundError);
        await expect(attempt).rejects.toMatchObject({ clusterName: "alpha", jobId: ghost });
        expect(await store.get("alpha", ghost)).toBeUndefined();
      });
    });

    describe("expiry and the active jobs", () => {
      it("sets the expiry to the retention after the job finishes, and keeps it queryable", async () => {
        const { store, retentionDays, expiresAt } = await makeHarness();
        const job = makeJob("alpha", { status: "RUNNING" });
        await store.create(job);
        const running = await store.update("alpha", job.jobId, 1, {
          status: "RUNNABLE",
          updatedAt: "2024-05-01T10:05:00.000Z",
        });

        const before = Math.floor(Date.now() / 1000);
        await store.update("alpha", job.jobId, running.version, {
          status: "SUCCEEDED",
          stoppedAt: "2024-05-01T10:09:00.000Z",
          updatedAt: "2024-05-01T10:09:00.000Z",
        });
        const after = Math.floor(Date.now() / 1000);

        const retention = retentionDays * 86_400;
        expect(await expiresAt("alpha", job.jobId)).toBeGreaterThanOrEqual(before + retention);
        expect(await expiresAt("alpha", job.jobId)).toBeLessThanOrEqual(after + retention);
        expect((await store.get("alpha", job.jobId))?.status).toBe("SUCCEEDED");
        expect((await store.list("alpha", { limit: 10, status: "SUCCEEDED" })).items).toHaveLength(1);
        expect(await store.listActive({ limit: 10 })).toEqual({ items: [] });
      });

      it("gives no expiry to a job that has not finished, and none to a change that sets no status", async () => {
        const { store, expiresAt } = await makeHarness();
        const job = makeJob("alpha");
        await store.create(job);

        await store.update("alpha", job.jobId, 1, { statusReason: "waiting", updatedAt: job.updatedAt });

        expect(await expiresAt("alpha", job.jobId)).toBeUndefined();
        expect((await store.listActive({ limit: 10 })).items).toEqual([
          { clusterName: "alpha", jobId: job.jobId },
        ]);
      });

      it("lists the unfinished jobs of every cluster, oldest first, page by page", async () => {
        const { store } = await makeHarness();
        const jobs = Array.from({ length: 9 }, (_, i) =>
          makeJob(
            ["alpha", "beta", "gamma"][i % 3] ?? "alpha",
            {
              status: i % 4 === 3 ? "CANCELLED" : "PENDING",
            },
            T0 + i * 1000,
          ),
        );
        for (const job of [...jobs].reverse()) await store.create(job);

        const { items } = await readListing(2, (nextToken) => store.listActive({ limit: 2, nextToken }));

        const unfinished = jobs.filter((job) => job.status !== "CANCELLED");
        expect(items).toEqual(unfinished.map((job) => ({ clusterName: job.clusterName, jobId: job.jobId })));
      });

      it("keeps paging the active jobs when the job a page ended on finishes before the next page", async () => {
        const { store } = await makeHarness();
        const jobs = Array.from({ length: 6 }, (_, i) =>
          makeJob("alpha", { status: "RUNNING" }, T0 + i * 1000),
        );
        for (const job of jobs) await store.create(job);
        const first = await store.listActive({ limit: 3 });
        const boundary = jobs[2];
        if (boundary === undefined || first.nextToken === undefined) throw new Error("expected two pages");

        await store.update("alpha", boundary.jobId, 1, { status: "FAILED", updatedAt: boundary.updatedAt });
        const rest = await readAllPages((nextToken) =>
          store.listActive({ limit: 3, nextToken: nextToken ?? first.nextToken }),
        );

        expect(first.items.map((ref) => ref.jobId)).toEqual(jobs.slice(0, 3).map((job) => job.jobId));
        expect(rest.items.map((ref) => ref.jobId)).toEqual(jobs.slice(3).map((job) => job.jobId));
        expect(rest.pages.at(-1)?.nextToken).toBeUndefined();
      });
    });

    describe("listing", () => {
      describe("over 300 jobs", () => {
        let harness: JobStoreHarness;
        // Two jobs per millisecond step, so a time bound falls on jobs of the same instant.
        const jobs = Array.from({ length: 300 }, (_, i) =>
          makeJob(
            "alpha",
            {
              name: `job-${i}`,
              status: STATUS_CYCLE[i % STATUS_CYCLE.length] ?? "SUBMITTED",
              ...(i % 7 === 0 ? { statusReason: `reason ${i}` } : {}),
              ...(i % 5 === 1 ? { startedAt: "2024-05-01T11:00:00.000Z" } : {}),
              ...(i % 5 === 2 ? { stoppedAt: "2024-05-01T12:00:00.000Z" } : {}),
            },
            T0 + Math.floor(i / 2) * 60_000,
          ),
        );
        const timeOf = (pair: number) => new Date(T0 + pair * 60_000).toISOString();
        const byId = new Map(jobs.map((job) => [job.jobId, job]));
        const listAll = (limit: number, request: Omit<JobListRequest, "limit">) =>
          readListing(limit, (nextToken) => harness.store.list("alpha", { ...request, limit, nextToken }));

        beforeAll(async () => {
          harness = await makeHarness();
          await inBatches(jobs, 25, (job) => harness.store.create(job));
          await harness.store.create(makeJob("beta"));
        });

        it("returns every job of the cluster exactly once, newest first, with no empty page, at limit 7", async () => {
          const { items, pages } = await listAll(7, {});

          expect(items.map((summary) => summary.jobId)).toEqual(newestFirst(jobs));
          expect(new Set(items.map((summary) => summary.jobId)).size).toBe(300);
          expect(pages).toHaveLength(Math.ceil(300 / 7));
        });

        it("returns summaries: the summary fields of each job and never its spec", async () => {
          const all = await harness.store.list("alpha", { limit: 20 });
          const running = await harness.store.list("alpha", { limit: 20, status: "RUNNING" });

          for (const summary of [...all.items, ...running.items]) {
            const job = byId.get(summary.jobId);
            if (job === undefined) throw new Error(`unknown job ${summary.jobId}`);
            expect(summary).toEqual(summaryOf(job));
          }
          expect(all.items.some((summary) => summary.statusReason !== undefined)).toBe(true);
          expect(running.items.some((summary) => summary.startedAt !== undefined)).toBe(true);
        });

        it("filters by status, newest first", async () => {
          for (const status of ["RUNNING", "FAILED", "CANCELLED"] as const) {
            const { items } = await listAll(7, { status });

            expect(items.map((summary) => summary.jobId)).toEqual(
              newestFirst(jobs.filter((job) => job.status === status)),
            );
          }
        });

        it("filters by creation time, from createdAfter (included) to createdBefore (excluded)", async () => {
          const createdAfter = timeOf(40);
          const createdBefore = timeOf(90);
          const within = (job: Job) => job.createdAt >= createdAfter && job.createdAt < createdBefore;

          const range = await listAll(7, { createdAfter, createdBefore });
          const from = await listAll(50, { createdAfter });
          const until = await listAll(50, { createdBefore });

          expect(range.items.map((summary) => summary.jobId)).toEqual(newestFirst(jobs.filter(within)));
          expect(range.items).toHaveLength(100);
          expect(from.items.map((s) => s.jobId)).toEqual(
            newestFirst(jobs.filter((j) => j.createdAt >= createdAfter)),
          );
          expect(until.items.map((s) => s.jobId)).toEqual(
            newestFirst(jobs.filter((j) => j.createdAt < createdBefore)),
          );
        });

        it("combines the status filter with a time range", async () => {
          const createdAfter = timeOf(10);
          const createdBefore = "2024-05-01T11:30:30.000Z";

          const { items } = await listAll(4, { status: "RUNNING", createdAfter, createdBefore });

          expect(items.map((summary) => summary.jobId)).toEqual(
            newestFirst(
              jobs.filter(
                (job) =>
                  job.status === "RUNNING" && job.createdAt >= createdAfter && job.createdAt < createdBefore,
              ),
            ),
          );
          expect(items.length).toBeGreaterThan(4);
        });

        it("answers an empty page for a range that holds no job or is the wrong way round", async () => {
          expect(
            await harness.store.list("alpha", { limit: 5, createdAfter: "2030-01-01T00:00:00.000Z" }),
          ).toEqual({ items: [] });
          expect(
            await harness.store.list("alpha", {
              limit: 5,
              status: "RUNNING",
              createdAfter: timeOf(90),
              createdBefore: timeOf(40),
            }),
          ).toEqual({ items: [] });
          expect(
            await harness.store.list("alpha", {
              limit: 5,
              createdAfter: timeOf(40),
              createdBefore: timeOf(40),
            }),
          ).toEqual({ items: [] });
        });

        it("accepts a token under another spelling of the same time range", async () => {
          const first = await harness.store.list("alpha", { limit: 3, createdAfter: "2024-05-01T12:00:00Z" });

          const next = await harness.store.list("alpha", {
            limit: 3,
            createdAfter: "2024-05-01T12:00:00.000Z",
            nextToken: first.nextToken,
          });

          expect(next.items.map((summary) => summary.jobId)).toEqual(newestFirst(jobs).slice(3, 6));
        });
      });

      it("gives no token when the listing fits a page exactly, and an empty page for a cluster without jobs", async () => {
        const { store } = await makeHarness();
        const jobs = [0, 1, 2].map((i) => makeJob("alpha", {}, T0 + i));
        for (const job of jobs) await store.create(job);

        const exact = await store.list("alpha", { limit: 3 });
        const none = await store.list("beta", { limit: 3 });
        const noStatus = await store.list("alpha", { limit: 3, status: "RUNNING" });

        expect(exact.items.map((summary) => summary.jobId)).toEqual(newestFirst(jobs));
        expect(exact.nextToken).toBeUndefined();
        expect(none).toEqual({ items: [] });
        expect(noStatus).toEqual({ items: [] });
      });

      it("moves a job between status listings when its status changes", async () => {
        const { store } = await makeHarness();
        const job = makeJob("alpha", { status: "RUNNING" });
        await store.create(job);

        await store.update("alpha", job.jobId, 1, {
          status: "CANCELLED",
          updatedAt: "2024-05-01T10:10:00.000Z",
        });

        expect((await store.list("alpha", { limit: 5, status: "RUNNING" })).items).toEqual([]);
        expect((await store.list("alpha", { limit: 5, status: "CANCELLED" })).items).toEqual([
          summaryOf({ ...job, status: "CANCELLED", updatedAt: "2024-05-01T10:10:00.000Z" }),
        ]);
      });
    });

    describe("page tokens", () => {
      async function storeWithTokens() {
        const { store } = await makeHarness();
        for (const cluster of ["alpha", "beta"]) {
          for (let i = 0; i < 3; i++)
            await store.create(makeJob(cluster, { status: "RUNNING" }, T0 + i * 1000));
        }
        const token = async (request: Omit<JobListRequest, "limit">, cluster = "alpha") => {
          const page = await store.list(cluster, { ...request, limit: 1 });
          if (page.nextToken === undefined) throw new Error("expected a second page");
          return page.nextToken;
        };
        const active = (await store.listActive({ limit: 1 })).nextToken ?? "";
        return { store, token, active };
      }

      it("refuses a tampered token with InvalidNextTokenError", async () => {
        const { store, token } = await storeWithTokens();
        const genuine = await token({});
        const flip = (text: string, at: number) =>
          text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
        const forged = Buffer.from(JSON.stringify({ before: "Z" })).toString("base64url");

        for (const tampered of [
          flip(genuine, 0),
          flip(genuine, genuine.indexOf(".") - 1),
          flip(genuine, genuine.length - 1),
          `${forged}.${genuine.split(".")[1]}`,
          `${genuine}A`,
        ]) {
          await expect(store.list("alpha", { limit: 1, nextToken: tampered })).rejects.toBeInstanceOf(
            InvalidNextTokenError,
          );
        }
        expect((await store.list("alpha", { limit: 1, nextToken: genuine })).items).toHaveLength(1);
      });

      it("refuses a token issued for another cluster, status, time range or listing", async () => {
        const { store, token, active } = await storeWithTokens();
        const plain = await token({});
        const running = await token({ status: "RUNNING" });
        const ranged = await token({ createdAfter: "2024-05-01T00:00:00.000Z" });
        const refused = (request: JobListRequest, cluster = "alpha") =>
          expect(store.list(cluster, request)).rejects.toBeInstanceOf(InvalidNextTokenError);

        await refused({ limit: 1, nextToken: plain }, "beta");
        await refused({ limit: 1, nextToken: plain, status: "RUNNING" });
        await refused({ limit: 1, nextToken: running });
        await refused({ limit: 1, nextToken: running, status: "PENDING" });
        await refused({ limit: 1, nextToken: ranged });
        await refused({ limit: 1, nextToken: ranged, createdAfter: "2024-05-02T00:00:00.000Z" });
        await refused({ limit: 1, nextToken: ranged, createdBefore: "2030-01-01T00:00:00.000Z" });
        await refused({ limit: 1, nextToken: active });
        await expect(store.listActive({ limit: 1, nextToken: plain })).rejects.toBeInstanceOf(
          InvalidNextTokenError,
        );
        expect((await store.listActive({ limit: 1, nextToken: active })).items).toHaveLength(1);
      });

      it("refuses garbage with InvalidNextTokenError", async () => {
        const { store } = await storeWithTokens();

        for (const garbage of [
          "",
          "abc",
          "a.b.c",
          "!!!.###",
          "e30.AAAAAAAAAAAAAAAAAAAAAA",
          "x".repeat(5000),
        ]) {
          await expect(store.list("alpha", { limit: 1, nextToken: garbage })).rejects.toBeInstanceOf(
            InvalidNextTokenError,
          );
          await expect(store.listActive({ limit: 1, nextToken: garbage })).rejects.toBeInstanceOf(
            InvalidNextTokenError,
          );
        }
      });
    });
  });
}
