import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Cluster, ClusterEvent, ClusterStatus } from "#shared/domain/cluster.ts";
import {
  ClusterExistsError,
  ClusterNotFoundError,
  ConcurrentModificationError,
  InvalidNextTokenError,
} from "#shared/domain/errors.ts";
import type { ClusterStore, ClusterSummary } from "#shared/ports/cluster-store.ts";
import type { Page } from "#shared/ports/page.ts";

/**
 * The behaviour every `ClusterStore` must have, written once and run against each implementation
 * (memory in the unit tier, DynamoDB on dynalite in the integration tier) so they cannot drift.
 */

/** A complete cluster record, as the create use case would store it. */
export function makeCluster(name: string, overrides: Partial<Cluster> = {}): Cluster {
  return {
    name,
    clusterId: randomUUID(),
    status: "CREATE_IN_PROGRESS",
    scheduler: "slurm",
    stackName: `hpc-${name}`,
    createdAt: "2024-05-01T10:00:00.000Z",
    updatedAt: "2024-05-01T10:00:00.000Z",
    createdBy: "alice",
    tags: { team: "cfd" },
    config: {
      sourceFormat: "pcluster3-yaml",
      scheduler: "slurm",
      os: "alinux2023",
      headNode: { instanceType: "c5.xlarge", subnetId: "subnet-0123" },
      queues: [
        {
          name: "compute",
          capacityType: "SPOT",
          subnetIds: ["subnet-0123"],
          computeResources: [
            { name: "c5", instanceTypes: ["c5.18xlarge"], minCount: 0, maxCount: 16, efa: true },
          ],
        },
      ],
      networking: {},
      sharedStorage: [
        { kind: "fsx-lustre", name: "scratch", mountDir: "/scratch", settings: { StorageCapacity: 1200 } },
      ],
      tags: { team: "cfd" },
    },
    warnings: [{ path: "HeadNode.Dcv", message: "ignored", line: 3 }],
    options: { rollbackOnFailure: true },
    version: 1,
    ...overrides,
  };
}

/** The history entry a create writes first. */
export function makeEvent(
  status: ClusterStatus,
  at = "2024-05-01T10:00:00.000Z",
  reason?: string,
): ClusterEvent {
  return reason === undefined ? { at, status, source: "api" } : { at, status, reason, source: "api" };
}

/** Reads a whole listing page by page, checking on the way that no page is empty. */
export async function readAllPages<T>(
  read: (nextToken: string | undefined) => Promise<Page<T>>,
): Promise<{ items: T[]; pages: Page<T>[] }> {
  const pages: Page<T>[] = [];
  let nextToken: string | undefined;
  do {
    const page = await read(nextToken);
    pages.push(page);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return { items: pages.flatMap((page) => [...page.items]), pages };
}

/** DynamoDB's order for string sort keys: by UTF-8 bytes. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Moves a fresh cluster to DELETE_COMPLETE the way the state machine does, returning the last record. */
async function deleteCompletely(store: ClusterStore, cluster: Cluster): Promise<Cluster> {
  const deleting = await store.update(
    cluster.name,
    cluster,
    { status: "DELETE_IN_PROGRESS", updatedAt: "2024-05-02T00:00:00.000Z" },
    makeEvent("DELETE_IN_PROGRESS", "2024-05-02T00:00:00.000Z"),
  );
  return store.update(
    cluster.name,
    deleting,
    { status: "DELETE_COMPLETE", updatedAt: "2024-05-02T00:10:00.000Z" },
    makeEvent("DELETE_COMPLETE", "2024-05-02T00:10:00.000Z"),
  );
}

/** Runs `tasks` with at most `width` in flight. */
async function inBatches<T>(
  items: readonly T[],
  width: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map(task));
  }
}

/** Mixed-case names with digits and dashes, so ordering by bytes (upper case first) is exercised. */
function manyNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const prefix = ["a", "B", "z", "Q", "m"][i % 5] ?? "a";
    return `${prefix}${(i * 7919) % 100_003}-${i}`;
  });
}

/**
 * Registers the shared `ClusterStore` suite. `makeStore` must return an empty store each call; stores
 * from one harness share their page-token secret.
 */
export function describeClusterStoreContract(label: string, makeStore: () => Promise<ClusterStore>): void {
  describe(`${label} (ClusterStore contract)`, () => {
    describe("create and get", () => {
      it("returns exactly the cluster that was created", async () => {
        const store = await makeStore();
        const cluster = makeCluster("alpha");

        await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));

        expect(await store.get("alpha")).toEqual(cluster);
        expect(await store.get("beta")).toBeUndefined();
      });

      it("refuses a second create of a live name with ClusterExistsError naming its status", async () => {
        const store = await makeStore();
        const first = makeCluster("alpha");
        await store.create(first, makeEvent("CREATE_IN_PROGRESS"));

        const attempt = store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

        await expect(attempt).rejects.toBeInstanceOf(ClusterExistsError);
        await expect(attempt).rejects.toMatchObject({ clusterName: "alpha", status: "CREATE_IN_PROGRESS" });
        expect((await store.get("alpha"))?.clusterId).toBe(first.clusterId);
      });

      it("lets a DELETE_COMPLETE name be reused by a new cluster whose history starts afresh", async () => {
        const store = await makeStore();
        const old = makeCluster("alpha");
        await store.create(old, makeEvent("CREATE_IN_PROGRESS"));
        await deleteCompletely(store, old);
        const reborn = makeCluster("alpha", { createdAt: "2024-06-01T00:00:00.000Z" });

        await store.create(reborn, makeEvent("CREATE_IN_PROGRESS", "2024-06-01T00:00:00.000Z"));

        expect(await store.get("alpha")).toEqual(reborn);
        expect(reborn.clusterId).not.toBe(old.clusterId);
        const events = await store.listEvents("alpha", { limit: 10 });
        expect(events.items).toEqual([makeEvent("CREATE_IN_PROGRESS", "2024-06-01T00:00:00.000Z")]);
      });

      it("lets exactly one of 60 concurrent creates of one name win, the others get ClusterExistsError", async () => {
        const store = await makeStore();
        const candidates = Array.from({ length: 60 }, () => makeCluster("contested"));

        const results = await Promise.allSettled(
          candidates.map((cluster) => store.create(cluster, makeEvent("CREATE_IN_PROGRESS"))),
        );

        const winners = results.flatMap((result, i) =>
          result.status === "fulfilled" ? [candidates[i]] : [],
        );
        const losers = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
        expect(winners).toHaveLength(1);
        expect(losers).toHaveLength(59);
        for (const reason of losers) expect(reason).toBeInstanceOf(ClusterExistsError);
        expect((await store.get("contested"))?.clusterId).toBe(winners[0]?.clusterId);
        expect((await store.listEvents("contested", { limit: 100 })).items).toHaveLength(1);
      });
    });

    describe("update and remove", () => {
      it("applies changes with the current version, bumps the version and appends the event", async () => {
        const store = await makeStore();
        const cluster = makeCluster("alpha");
        await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));
        const headNode = { state: "RUNNING", privateIp: "10.0.0.5", instanceId: "i-0abc" } as const;

        const updated = await store.update(
          "alpha",
          { version: 1, clusterId: cluster.clusterId },
          {
            status: "CREATE_COMPLETE",
            headNode,
            outputs: { QueueArn: "arn:aws:batch:q" },
            stackId: "arn:aws:cloudformation:stack/hpc-alpha/1",
            updatedAt: "2024-05-01T10:20:00.000Z",
          },
          makeEvent("CREATE_COMPLETE", "2024-05-01T10:20:00.000Z", "stack created"),
        );

        const expected: Cluster = {
          ...cluster,
          status: "CREATE_COMPLETE",
          headNode,
          outputs: { QueueArn: "arn:aws:batch:q" },
          stackId: "arn:aws:cloudformation:stack/hpc-alpha/1",
          updatedAt: "2024-05-01T10:20:00.000Z",
          version: 2,
        };
        expect(updated).toEqual(expected);
        expect(await store.get("alpha")).toEqual(expected);
        const events = await store.listEvents("alpha", { limit: 10 });
        expect(events.items.map((event) => event.status)).toEqual(["CREATE_COMPLETE", "CREATE_IN_PROGRESS"]);
        expect(events.items[0]?.reason).toBe("stack created");
      });

      it("leaves fields alone that a change gives as undefined, and writes no history without an event", async () => {
        const store = await makeStore();
        const cluster = makeCluster("alpha", { failureReason: "quota", status: "CREATE_FAILED" });
        await store.create(cluster, makeEvent("CREATE_FAILED"));

        const updated = await store.update("alpha", cluster, {
          failureReason: undefined,
          lastEventAt: "2024-05-01T11:00:00.000Z",
          updatedAt: "2024-05-01T11:00:00.000Z",
        });

        expect(updated.failureReason).toBe("quota");
        expect(updated.lastEventAt).toBe("2024-05-01T11:00:00.000Z");
        expect(Object.values(updated)).not.toContain(undefined);
        expect((await store.listEvents("alpha", { limit: 10 })).items).toHaveLength(1);
      });

      it("refuses an update with a stale version or another incarnation's id with ConcurrentModificationError", async () => {
        const store = await makeStore();
        const cluster = makeCluster("alpha");
        await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));
        await store.update("alpha", cluster, { updatedAt: "2024-05-01T10:01:00.000Z" });

        const stale = store.update("alpha", cluster, { status: "CREATE_FAILED", updatedAt: "x" });
        const otherId = store.update(
          "alpha",
          { version: 2, clusterId: randomUUID() },
          { status: "CREATE_FAILED", updatedAt: "x" },
        );

        await expect(stale).rejects.toBeInstanceOf(ConcurrentModificationError);
        await expect(otherId).rejects.toBeInstanceOf(ConcurrentModificationError);
        const stored = await store.get("alpha");
        expect(stored?.status).toBe("CREATE_IN_PROGRESS");
        expect(stored?.version).toBe(2);
      });

      it("refuses to update a cluster that does not exist with ClusterNotFoundError", async () => {
        const store = await makeStore();

        const attempt = store.update("ghost", { version: 1, clusterId: randomUUID() }, { updatedAt: "x" });

        await expect(attempt).rejects.toBeInstanceOf(ClusterNotFoundError);
        expect(await store.get("ghost")).toBeUndefined();
      });

      it("removes a record only at the expected version and id", async () => {
        const store = await makeStore();
        const cluster = makeCluster("alpha");
        await store.create(cluster, makeEvent("CREATE_IN_PROGRESS"));

        await expect(
          store.remove("alpha", { version: 7, clusterId: cluster.clusterId }),
        ).rejects.toBeInstanceOf(ConcurrentModificationError);
        await expect(store.remove("alpha", { version: 1, clusterId: randomUUID() })).rejects.toBeInstanceOf(
          ConcurrentModificationError,
        );
        expect(await store.get("alpha")).toBeDefined();

        await store.remove("alpha", cluster);

        expect(await store.get("alpha")).toBeUndefined();
        await expect(store.remove("alpha", cluster)).rejects.toBeInstanceOf(ClusterNotFoundError);
        await store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));
      });
    });

    describe("counting", () => {
      it("counts the clusters in each status and follows status changes", async () => {
        const store = await makeStore();
        for (const name of ["a", "b", "c"])
          await store.create(makeCluster(name), makeEvent("CREATE_IN_PROGRESS"));
        const b = await store.get("b");
        if (!b) throw new Error("b was not stored");

        await store.update(
          "b",
          { version: b.version, clusterId: b.clusterId },
          { status: "CREATE_COMPLETE", updatedAt: b.updatedAt },
        );

        expect(await store.countByStatus("CREATE_IN_PROGRESS")).toBe(2);
        expect(await store.countByStatus("CREATE_COMPLETE")).toBe(1);
        expect(await store.countByStatus("DELETE_FAILED")).toBe(0);
      });
    });

    describe("listing", () => {
      describe("over 1,000 clusters", () => {
        let store: ClusterStore;
        const names = manyNames(1000);

        beforeAll(async () => {
          store = await makeStore();
          await inBatches(names, 50, (name) =>
            store.create(makeCluster(name), makeEvent("CREATE_IN_PROGRESS")),
          );
        });

        for (const limit of [7, 100]) {
          it(`returns every name exactly once, in order, with no empty page, at limit ${limit}`, async () => {
            const { items, pages } = await readAllPages((nextToken) => store.list({ limit, nextToken }));

            expect(items.map((summary) => summary.name)).toEqual([...names].sort(byteOrder));
            for (const page of pages) expect(page.items.length).toBeGreaterThan(0);
            for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(limit);
            expect(pages.at(-1)?.nextToken).toBeUndefined();
            expect(pages).toHaveLength(Math.ceil(1000 / limit));
          });
        }
      });

      it("gives no token when the listing fits a page exactly", async () => {
        const store = await makeStore();
        for (const name of ["a", "b", "c"])
          await store.create(makeCluster(name), makeEvent("CREATE_IN_PROGRESS"));

        const exact = await store.list({ limit: 3 });
        const empty = await makeStore().then((fresh) => fresh.list({ limit: 3 }));

        expect(exact.items.map((summary) => summary.name)).toEqual(["a", "b", "c"]);
        expect(exact.nextToken).toBeUndefined();
        expect(empty).toEqual({ items: [] });
      });

      it("lists by status through the index and leaves DELETE_COMPLETE clusters out of the default listing", async () => {
        const store = await makeStore();
        const statusOf: Record<string, ClusterStatus> = {};
        for (let i = 0; i < 12; i++) {
          const name = `c${String(i).padStart(2, "0")}`;
          const cluster = makeCluster(name, {
            status: i % 3 === 0 ? "CREATE_COMPLETE" : "CREATE_IN_PROGRESS",
          });
          await store.create(cluster, makeEvent(cluster.status));
          statusOf[name] = cluster.status;
          if (i % 4 === 1) {
            await deleteCompletely(store, cluster);
            statusOf[name] = "DELETE_COMPLETE";
          }
        }
        const namesWith = (predicate: (status: ClusterStatus) => boolean) =>
          Object.keys(statusOf)
            .filter((name) => predicate(statusOf[name] ?? "CREATE_IN_PROGRESS"))
            .sort(byteOrder);

        const live = await readAllPages((nextToken) => store.list({ limit: 2, nextToken }));
        const deleted = await readAllPages((nextToken) =>
          store.list({ limit: 2, nextToken, status: "DELETE_COMPLETE" }),
        );
        const complete = await readAllPages((nextToken) =>
          store.list({ limit: 100, nextToken, status: "CREATE_COMPLETE" }),
        );
        const none = await store.list({ limit: 5, status: "UPDATE_FAILED" });

        expect(live.items.map((s) => s.name)).toEqual(namesWith((status) => status !== "DELETE_COMPLETE"));
        expect(deleted.items.map((s) => s.name)).toEqual(namesWith((status) => status === "DELETE_COMPLETE"));
        expect(deleted.items.every((s) => s.status === "DELETE_COMPLETE")).toBe(true);
        expect(complete.items.map((s) => s.name)).toEqual(
          namesWith((status) => status === "CREATE_COMPLETE"),
        );
        expect(none).toEqual({ items: [] });
      });

      it("returns summaries without the configuration", async () => {
        const store = await makeStore();
        const cluster = makeCluster("alpha", {
          status: "CREATE_FAILED",
          failureReason: "VPC quota",
          headNode: { state: "TERMINATED" },
        });
        await store.create(cluster, makeEvent("CREATE_FAILED"));

        const page = await store.list({ limit: 10 });

        const expected: ClusterSummary = {
          name: "alpha",
          clusterId: cluster.clusterId,
          status: "CREATE_FAILED",
          scheduler: "slurm",
          stackName: "hpc-alpha",
          createdAt: cluster.createdAt,
          updatedAt: cluster.updatedAt,
          failureReason: "VPC quota",
          headNode: { state: "TERMINATED" },
        };
        expect(page.items).toEqual([expected]);
      });
    });

    describe("page tokens", () => {
      async function storeWithToken(): Promise<{ store: ClusterStore; token: string }> {
        const store = await makeStore();
        for (const name of ["a", "b", "c"]) {
          await store.create(makeCluster(name, { status: "CREATE_COMPLETE" }), makeEvent("CREATE_COMPLETE"));
        }
        const page = await store.list({ limit: 1 });
        if (page.nextToken === undefined) throw new Error("expected a second page");
        return { store, token: page.nextToken };
      }

      it("accepts its own token and resumes after the last item", async () => {
        const { store, token } = await storeWithToken();

        const page = await store.list({ limit: 1, nextToken: token });

        expect(page.items.map((s) => s.name)).toEqual(["b"]);
      });

      it("refuses a tampered token with InvalidNextTokenError", async () => {
        const { store, token } = await storeWithToken();
        const flip = (text: string, at: number) =>
          text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
        const forged = Buffer.from(JSON.stringify({ after: "b" })).toString("base64url");

        for (const tampered of [
          flip(token, 0),
          flip(token, token.indexOf(".") - 1),
          flip(token, token.length - 1),
          `${forged}.${token.split(".")[1]}`,
          `${token}A`,
        ]) {
          await expect(store.list({ limit: 1, nextToken: tampered })).rejects.toBeInstanceOf(
            InvalidNextTokenError,
          );
        }
      });

      it("refuses a token issued for another listing or another status", async () => {
        const { store, token } = await storeWithToken();
        const byStatus = await store.list({ limit: 1, status: "CREATE_COMPLETE" });
        const statusToken = byStatus.nextToken ?? "";

        await expect(
          store.list({ limit: 1, nextToken: token, status: "CREATE_COMPLETE" }),
        ).rejects.toBeInstanceOf(InvalidNextTokenError);
        await expect(store.list({ limit: 1, nextToken: statusToken })).rejects.toBeInstanceOf(
          InvalidNextTokenError,
        );
        await expect(
          store.list({ limit: 1, nextToken: statusToken, status: "CREATE_FAILED" }),
        ).rejects.toBeInstanceOf(InvalidNextTokenError);
        await expect(store.listEvents("a", { limit: 1, nextToken: token })).rejects.toBeInstanceOf(
          InvalidNextTokenError,
        );
        expect(
          (await store.list({ limit: 1, nextToken: statusToken, status: "CREATE_COMPLETE" })).items,
        ).toHaveLength(1);
      });

      it("refuses garbage with InvalidNextTokenError", async () => {
        const { store } = await storeWithToken();

        for (const garbage of [
          "",
          "abc",
          "a.b.c",
          "!!!.###",
          "e30.AAAAAAAAAAAAAAAAAAAAAA",
          "x".repeat(5000),
        ]) {
          await expect(store.list({ limit: 1, nextToken: garbage })).rejects.toBeInstanceOf(
            InvalidNextTokenError,
          );
        }
      });
    });

    describe("events", () => {
      async function clusterWithEvents(store: ClusterStore, name: string, count: number): Promise<Cluster> {
        let cluster = makeCluster(name);
        await store.create(cluster, makeEvent("CREATE_IN_PROGRESS", "2024-05-01T10:00:00.000Z", "event 0"));
        for (let i = 1; i < count; i++) {
          const at = new Date(Date.UTC(2024, 4, 1, 10, i)).toISOString();
          cluster = await store.update(
            name,
            cluster,
            { lastEventAt: at, updatedAt: at },
            {
              at,
              status: "CREATE_IN_PROGRESS",
              reason: `event ${i}`,
              source: "stack-event",
            },
          );
        }
        return cluster;
      }

      it("lists events newest first, page by page", async () => {
        const store = await makeStore();
        await clusterWithEvents(store, "alpha", 10);

        const { items, pages } = await readAllPages((nextToken) =>
          store.listEvents("alpha", { limit: 3, nextToken }),
        );

        expect(items.map((event) => event.reason)).toEqual(
          Array.from({ length: 10 }, (_, i) => `event ${9 - i}`),
        );
        expect(pages.map((page) => page.items.length)).toEqual([3, 3, 3, 1]);
      });

      it("keeps paging stable while new events are appended between pages", async () => {
        const store = await makeStore();
        let cluster = await clusterWithEvents(store, "alpha", 5);
        const first = await store.listEvents("alpha", { limit: 2 });

        cluster = await store.update(
          "alpha",
          cluster,
          { updatedAt: "2024-05-02T00:00:00.000Z" },
          {
            at: "2024-05-02T00:00:00.000Z",
            status: "CREATE_COMPLETE",
            reason: "late",
            source: "stack-event",
          },
        );
        const rest = await readAllPages((nextToken) =>
          store.listEvents("alpha", { limit: 2, nextToken: nextToken ?? first.nextToken }),
        );

        expect([...first.items, ...rest.items].map((event) => event.reason)).toEqual([
          "event 4",
          "event 3",
          "event 2",
          "event 1",
          "event 0",
        ]);
        expect((await store.listEvents("alpha", { limit: 1 })).items[0]?.reason).toBe("late");
      });

      it("refuses an events token from an earlier cluster of the same name", async () => {
        const store = await makeStore();
        const old = await clusterWithEvents(store, "alpha", 3);
        const page = await store.listEvents("alpha", { limit: 1 });
        await deleteCompletely(store, old);
        await store.create(makeCluster("alpha"), makeEvent("CREATE_IN_PROGRESS"));

        const attempt = store.listEvents("alpha", { limit: 1, nextToken: page.nextToken ?? "" });

        await expect(attempt).rejects.toBeInstanceOf(InvalidNextTokenError);
      });

      it("throws ClusterNotFoundError for the events of an unknown cluster", async () => {
        const store = await makeStore();

        await expect(store.listEvents("ghost", { limit: 5 })).rejects.toBeInstanceOf(ClusterNotFoundError);
      });
    });
  });
}
