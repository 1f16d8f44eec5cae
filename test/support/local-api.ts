import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalServer, type LocalServerOptions, startLocalServer } from "#local/server.ts";
import { assertMatchesContract } from "./openapi-contract.ts";

/** A response as the tests see it, already checked against openapi.yaml. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON fields; the contract check typed it
  readonly json: any;
}

/** The local server on a free port with a fresh data directory, and a client for it. */
export interface LocalApi {
  readonly url: string;
  readonly dataDir: string;
  readonly server: LocalServer;
  request(
    method: string,
    path: string,
    init?: { body?: string; json?: unknown; headers?: Record<string, string>; contract?: boolean },
  ): Promise<ApiResponse>;
  /** Polls GET /v1/clusters/{name} until `status` (or fails after `timeoutMs`). */
  waitForStatus(name: string, status: string, timeoutMs?: number): Promise<ApiResponse>;
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** Starts a local server for a test file; every response is validated against the contract. */
export async function startLocalApi(options: Partial<LocalServerOptions> = {}): Promise<LocalApi> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "hpc-api-test-")));
  const server = await startLocalServer({
    host: "127.0.0.1",
    port: 0,
    stackDelayMs: 150,
    ...options,
    dataDir,
  });
  const api: LocalApi = {
    url: server.url,
    dataDir,
    server,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers["content-type"] ??= "application/json";
      }
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await response.text();
      if (init.contract !== false) {
        const observed: Record<string, string | undefined> = {};
        response.headers.forEach((value, key) => {
          observed[key] = value;
        });
        assertMatchesContract({ method, path, status: response.status, headers: observed, body: text });
      }
      const isJson = /json/.test(response.headers.get("content-type") ?? "");
      return {
        status: response.status,
        headers: response.headers,
        text,
        json: isJson && text ? JSON.parse(text) : undefined,
      };
    },
    async waitForStatus(name, status, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const response = await api.request("GET", `/v1/clusters/${name}`);
        if (response.json?.status === status) return response;
        if (Date.now() > deadline) {
          throw new Error(
            `cluster ${name} is ${response.json?.status ?? response.status}, not ${status}, after ${timeoutMs} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close({ keepData = false } = {}) {
      await server.close();
      if (!keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return api;
}
