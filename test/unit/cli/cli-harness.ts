import { ApiClient } from "../../../cli/api-client.ts";
import { type CliEnvironment, runCli } from "../../../cli/main.ts";

/** A writable that keeps what was written. */
export class Sink {
  text = "";
  isTTY = false;
  columns = 80;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** One answer of the fake API: a status and a JSON body. */
export interface FakeAnswer {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
}

/** A request the fake API saw. */
export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly body?: unknown;
}

/** A `fetch` that answers from `route` and records every request. */
export function fakeFetch(
  route: (request: SeenRequest) => FakeAnswer,
  seen: SeenRequest[] = [],
): typeof fetch {
  return (async (input: URL | string, init?: RequestInit) => {
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    const request = { method: init?.method ?? "GET", url: new URL(String(input)), body };
    seen.push(request);
    const answer = route(request);
    const status = answer.status ?? 200;
    const text = answer.text ?? (answer.json === undefined ? "" : JSON.stringify(answer.json));
    const contentType =
      answer.contentType ?? (status >= 400 ? "application/problem+json" : "application/json");
    return new Response(text, { status, headers: { "content-type": contentType } });
  }) as typeof fetch;
}

/** A client on a fake API, with no retry delays. */
export function fakeClient(route: (request: SeenRequest) => FakeAnswer, seen: SeenRequest[] = []): ApiClient {
  return new ApiClient({ endpoint: "http://api.test", fetch: fakeFetch(route, seen), retryDelaysMs: [] });
}

/** What one run of the CLI did. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seen: readonly SeenRequest[];
}

/**
 * Runs hpcctl in-process on a fake API (`route`); without a route, any request fails the test: usage
 * errors must be caught before the network.
 */
export async function cli(
  argv: readonly string[],
  options: {
    readonly route?: (request: SeenRequest) => FakeAnswer;
    readonly files?: Readonly<Record<string, string>>;
    readonly env?: Readonly<Record<string, string>>;
    readonly signal?: AbortSignal;
  } = {},
): Promise<CliRun> {
  const stdout = new Sink();
  const stderr = new Sink();
  const seen: SeenRequest[] = [];
  const route =
    options.route ??
    ((request: SeenRequest) => {
      throw new Error(`unexpected request ${request.method} ${request.url}`);
    });
  const environment: CliEnvironment = {
    argv,
    env: options.env ?? {},
    stdout,
    stderr,
    ...(options.signal ? { signal: options.signal } : {}),
    now: () => Date.parse("2025-01-15T12:00:00Z"),
    readFile: async (path) => {
      const content = options.files?.[path];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return Buffer.from(content);
    },
    createClient: async (settings) =>
      new ApiClient({
        endpoint: settings.endpoint,
        fetch: fakeFetch(route, seen),
        retryDelaysMs: [],
        ...(settings.interrupt ? { interrupt: settings.interrupt } : {}),
      }),
  };
  const code = await runCli(environment);
  return { code, stdout: stdout.text, stderr: stderr.text, seen };
}
