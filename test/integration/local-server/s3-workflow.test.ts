// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.*} placeholders are meant literally
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKeyAsS3, s3Notification, s3Record } from "../../fixtures/s3-events.ts";
import { PC3_SLURM } from "../../fixtures/sample-configs.ts";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";

let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi({ stackDelayMs: 200 });
});

afterAll(async () => {
  await api?.close();
});

/** Reads the file its input URI names and prints it upper-cased: the job sees the upload through `${input.uri}`. */
const UPPERCASE_INPUT = [
  process.execPath,
  "-e",
  "process.stdout.write(require('node:fs').readFileSync(new URL(process.argv[1]), 'utf8').toUpperCase())",
  "${input.uri}",
];

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function jobsOf(cluster: string) {
  const page = await api.request("GET", `/v1/clusters/${cluster}/jobs?limit=100`);
  return page.status === 200 ? (page.json.items as { jobId: string; status: string }[]) : [];
}

async function logText(cluster: string, jobId: string): Promise<string> {
  const page = await api.request("GET", `/v1/clusters/${cluster}/jobs/${jobId}/logs?limit=1000`);
  return (page.json.lines as { message: string }[]).map((line) => line.message).join("\n");
}

/** Drops a file into the local inbox the way a careful writer does: write elsewhere, then rename into place. */
async function drop(bucket: string, key: string, content: string): Promise<void> {
  const path = join(api.dataDir, "inbox", bucket, key);
  await mkdir(dirname(path), { recursive: true });
  const staging = join(api.dataDir, `.staging-${Date.now()}`);
  await writeFile(staging, content);
  await rename(staging, path);
}

describe("S3-triggered workflow in local mode", () => {
  it("turns a file dropped in the inbox into a cluster and a job that reads it, then deletes the cluster", async () => {
    const created = await api.request("POST", "/v1/triggers", {
      json: {
        name: "lab-inbox",
        bucket: "lab-data",
        prefix: "runs/",
        clusterName: "lab",
        clusterTemplate: { configuration: PC3_SLURM },
        job: { name: "upper-${input.key}", command: UPPERCASE_INPUT },
        whenDone: "delete",
      },
    });
    expect(created.status).toBe(201);

    const key = "runs/day 1/sample +1 é%2F.txt";
    await drop("lab-data", key, "reads from the sequencer\n");

    const [job] = await until("the job to finish", async () => {
      const jobs = await jobsOf("lab");
      return jobs.length > 0 && ["SUCCEEDED", "FAILED"].includes(jobs[0]?.status ?? "") ? jobs : undefined;
    });
    if (!job) throw new Error("no job");
    const full = await api.request("GET", `/v1/clusters/lab/jobs/${job.jobId}`);
    expect(full.json).toMatchObject({ status: "SUCCEEDED", origin: { triggerName: "lab-inbox" } });
    expect(full.json.origin.input).toMatchObject({ bucket: "lab-data", key, prefix: "runs/day 1/" });
    expect(full.json.origin.input.uri).toMatch(/^file:\/\/.*\/inbox\/lab-data\/runs\/day%201\//);
    expect(await logText("lab", job.jobId)).toContain("READS FROM THE SEQUENCER");

    // whenDone: delete — the cluster goes once its only job has finished.
    await api.waitForStatus("lab", "DELETE_COMPLETE", 20_000);
  });

  it("takes raw events on POST /local/s3-events: a per-batch prefix becomes one job, duplicates change nothing", async () => {
    await api.request("POST", "/v1/clusters", { json: { name: "batchy", configuration: PC3_SLURM } });
    await api.waitForStatus("batchy", "CREATE_COMPLETE");
    const created = await api.request("POST", "/v1/triggers", {
      json: {
        name: "batches",
        bucket: "sequencer-out",
        prefix: "flowcell/",
        clusterName: "batchy",
        mode: "per-batch",
        job: { name: "merge", command: ["sh", "-c", 'echo "merging $HPC_INPUT_PREFIX"'] },
      },
    });
    expect(created.status).toBe(201);
    const parts = Array.from({ length: 50 }, (_, i) =>
      s3Record({ bucket: "sequencer-out", key: `flowcell/A1/part ${i}.bcl`, sequencer: "0100" }),
    );
    const marker = s3Record({ bucket: "sequencer-out", key: "flowcell/A1/_SUCCESS", sequencer: "0200" });

    const first = await api.request("POST", "/local/s3-events", { json: s3Notification(...parts, marker) });
    const again = await api.request("POST", "/local/s3-events", { json: s3Notification(marker) });

    expect(first.status).toBe(200);
    expect(first.json.counts).toMatchObject({ objects: 51, accumulated: 50, jobs: 1 });
    expect(again.json.counts).toMatchObject({ objects: 1, jobs: 0, duplicates: 1 });
    const [job] = await until("the batch job to finish", async () => {
      const jobs = await jobsOf("batchy");
      return jobs[0]?.status === "SUCCEEDED" ? jobs : undefined;
    });
    expect(await jobsOf("batchy")).toHaveLength(1);
    expect(await logText("batchy", job?.jobId ?? "")).toContain("merging flowcell/A1/");
  });

  it("records why when a rule's cluster does not exist and it has no template", async () => {
    await api.request("POST", "/v1/triggers", {
      json: {
        name: "orphan",
        bucket: "nowhere",
        clusterName: "missing",
        job: { name: "x", command: ["true"] },
      },
    });
    const key = "a b+c.csv";
    const response = await api.request("POST", "/local/s3-events", {
      json: s3Notification(s3Record({ bucket: "nowhere", key, sequencer: "01" })),
    });

    expect(response.json.batchItemFailures).toEqual([]);
    const rule = await api.request("GET", "/v1/triggers/orphan");
    expect(rule.json.recentFailures[0]).toMatchObject({ bucket: "nowhere", key });
    expect(rule.json.recentFailures[0].reason).toMatch(/does not exist/);
    expect(encodeKeyAsS3(key)).toBe("a+b%2Bc.csv"); // the event carried S3's encoding, not the key
  });
});
