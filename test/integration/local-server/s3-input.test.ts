import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

/**
 * The mechanics of local mode's S3 input: the inbox directory the server watches and `POST
 * /local/s3-events`, both ending in the S3 input handler. What the handler then does with rules, clusters
 * and jobs is the trigger workflow tests' business; here a rule whose cluster does not exist makes every
 * event it matches visible in its `recentFailures`, with the key the handler decoded.
 */

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
  const created = await api.request("POST", "/v1/triggers", {
    json: {
      name: "inbox-probe",
      bucket: "probe-bucket",
      clusterName: "no-such-cluster",
      job: { name: "probe", command: ["true"] },
    },
  });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await api.close();
});

/** The keys the probe rule has seen, from its recent failures. */
async function probedKeys(): Promise<string[]> {
  const rule = await api.request("GET", "/v1/triggers/inbox-probe");
  return (rule.json.recentFailures as { bucket: string; key: string }[]).map((f) => `${f.bucket}/${f.key}`);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const notification = (bucket: string, key: string, sequencer: string) => ({
  Records: [
    {
      eventSource: "aws:s3",
      eventName: "ObjectCreated:Put",
      eventTime: "2025-03-01T12:00:00.000Z",
      s3: {
        bucket: { name: bucket },
        object: { key, size: 3, eTag: "0cc175b9c0f1b6a831c399e269772661", sequencer },
      },
    },
  ],
});

describe("the local server's inbox", () => {
  it("is created under DATA_DIR when the server starts", async () => {
    expect((await stat(join(api.dataDir, "inbox"))).isDirectory()).toBe(true);
  });

  it("hands a file dropped under inbox/<bucket>/ to the S3 input handler with its key intact", async () => {
    const dir = join(api.dataDir, "inbox", "probe-bucket", "runs", "day 1");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, ".été+data.csv.tmp"), "a,b\n");
    await rename(join(dir, ".été+data.csv.tmp"), join(dir, "été+data.csv"));

    const keys = await until(probedKeys, (k) => k.length > 0, "the rule to see the file");
    expect(keys).toEqual(["probe-bucket/runs/day 1/été+data.csv"]);
  });
});

describe("POST /local/s3-events", () => {
  it("hands the event to the S3 input handler once and answers its report", async () => {
    const answer = await api.request("POST", "/local/s3-events", {
      json: notification("probe-bucket", "posted/hello+world.txt", "0062E99A88DC407460"),
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      batchItemFailures: [],
      counts: expect.objectContaining({ objects: 1, malformed: 0, failed: 0 }),
    });
    expect(await probedKeys()).toContain("probe-bucket/posted/hello world.txt");
  });

  it("counts an object no rule wants as unmatched", async () => {
    const answer = await api.request("POST", "/local/s3-events", {
      json: notification("other-bucket", "x.csv", "0062E99A88DC407461"),
    });

    expect(answer.status).toBe(200);
    expect(answer.json.counts).toMatchObject({ objects: 1, unmatched: 1, jobs: 0 });
  });

  it("reports what is not an S3 event as malformed rather than refusing it", async () => {
    const answer = await api.request("POST", "/local/s3-events", { json: { hello: "world" } });

    expect(answer.status).toBe(200);
    expect(answer.json.counts).toMatchObject({ objects: 0, malformed: 1 });
  });

  it("refuses a body that is not JSON, or not a JSON object, with a 400 problem", async () => {
    for (const body of ['{"Records": [', "[]", '"text"']) {
      const answer = await api.request("POST", "/local/s3-events", {
        body,
        headers: { "content-type": "application/json" },
      });
      expect(answer.status, body).toBe(400);
      expect(answer.json.type, body).toBe("urn:hpc-cluster-api:problem:request-invalid");
    }
  });
});
