import { describe, expect, it } from "vitest";
import { currentAttempt, LogCursor } from "../../../cli/log-follower.ts";
import { fakeClient, type SeenRequest } from "./cli-harness.ts";

const PATH = "/v1/clusters/cfd/jobs/01JHMT19E0DXJJAB0872XDCNPE/logs";

describe("reading a job's output as it is written", () => {
  it("asks for the last page again with its token and passes only the lines not passed yet", async () => {
    const written = ["a", "b"];
    const seen: SeenRequest[] = [];
    const client = fakeClient((request) => {
      const token = request.url.searchParams.get("nextToken");
      // Like the local runner: pages of 2 from an offset, a token only while more lines exist now.
      const offset = token ? Number(token) : 0;
      const end = Math.min(written.length, offset + 2);
      return {
        json: {
          lines: written.slice(offset, end).map((message) => ({ message })),
          ...(end < written.length ? { nextToken: String(end) } : {}),
        },
      };
    }, seen);
    const cursor = new LogCursor(client, PATH, 1);
    const out: string[] = [];
    const onLine = (line: { message: string }) => out.push(line.message);

    expect(await cursor.drain(onLine)).toBe(2);
    written.push("c");
    expect(await cursor.drain(onLine)).toBe(1);
    expect(await cursor.drain(onLine)).toBe(0);
    written.push("d", "e");
    expect(await cursor.drain(onLine)).toBe(2);
    expect(out).toEqual(["a", "b", "c", "d", "e"]);
    expect(seen.every((request) => request.url.searchParams.get("attempt") === "1")).toBe(true);
    expect(seen.at(-1)?.url.searchParams.get("nextToken")).toBe("4");
  });

  it("moves on past an empty page that carries a token, and looks again at the next poll", async () => {
    const client = fakeClient((request) =>
      request.url.searchParams.get("nextToken") === "later"
        ? { json: { lines: [{ message: "late line" }] } }
        : { json: { lines: [], nextToken: "later" } },
    );
    const cursor = new LogCursor(client, PATH, 1);
    const out: string[] = [];
    expect(await cursor.drain((line) => out.push(line.message))).toBe(0);
    expect(await cursor.drain((line) => out.push(line.message))).toBe(1);
    expect(out).toEqual(["late line"]);
  });

  it("starts following at the attempt the job is on", () => {
    const job = (status: "RUNNING" | "RUNNABLE" | "FAILED" | "SUBMITTED" | "CANCELLED", ended: number) => ({
      jobId: "j",
      clusterName: "cfd",
      name: "j",
      status,
      createdAt: "",
      updatedAt: "",
      attempts: Array.from({ length: ended }, () => ({ exitCode: 1 })),
    });
    expect(currentAttempt(job("SUBMITTED", 0))).toBe(1);
    expect(currentAttempt(job("RUNNING", 0))).toBe(1);
    expect(currentAttempt(job("RUNNABLE", 2))).toBe(3);
    expect(currentAttempt(job("FAILED", 3))).toBe(3);
    expect(currentAttempt(job("CANCELLED", 0))).toBe(1);
  });
});
