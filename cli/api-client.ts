/**
 * The one way hpcctl talks to the API: `fetch` with a timeout, JSON in and out, authentication (SigV4 for
 * API Gateway, a bearer token otherwise), a few retries of requests that are safe to repeat, `nextToken`
 * pagination, and every failure turned into an `ApiError` (RFC 9457 problems keep their title and detail).
 */

import { STATUS_CODES } from "node:http";
import * as z from "#shared/domain/zod.ts";
import { GatewayMessageSchema, ProblemSchema } from "./api-types.ts";
import { ApiError, InterruptedError, UsageError } from "./errors.ts";
import { createSigV4Signer, isAwsEndpoint, type RequestSigner, regionFor } from "./sigv4.ts";

/** The local server `npm start` runs. */
export const DEFAULT_ENDPOINT = "http://127.0.0.1:3000";

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_DELAYS_MS = [500, 1000, 2000];
const USER_AGENT = "hpcctl";

/** Query parameters; undefined ones are left out. */
export type Query = Readonly<Record<string, string | number | undefined>>;

/** Per-request options. */
export interface RequestOptions {
  readonly query?: Query;
  /** Sent as JSON. */
  readonly body?: unknown;
  /**
   * Retry network errors, 429, 503 and 504. On by default for GET and DELETE (both idempotent here);
   * a POST only sets it when it carries a `clientToken`.
   */
  readonly retry?: boolean;
  /** False for the clean-up a command does after Ctrl-C (cancelling a job): it must not be aborted too. */
  readonly interruptible?: boolean;
  readonly timeoutMs?: number;
}

/** What `ApiClient` needs; everything but the endpoint has a default. */
export interface ApiClientOptions {
  readonly endpoint: string;
  /** Sent as `Authorization: Bearer <token>` (the local server's API_TOKEN). */
  readonly token?: string;
  /** Signs each request (API Gateway); wins over `token`. */
  readonly signer?: RequestSigner;
  /** Aborted on SIGINT/SIGTERM, with an `InterruptedError` as its reason. */
  readonly interrupt?: AbortSignal;
  readonly timeoutMs?: number;
  readonly retryDelaysMs?: readonly number[];
  readonly fetch?: typeof fetch;
}

/** A JSON client for hpc-cluster-api. */
export class ApiClient {
  readonly endpoint: URL;
  readonly #options: ApiClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.endpoint = parseEndpoint(options.endpoint);
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** GET, parsed with `schema`. */
  get<S extends z.ZodMiniType>(path: string, schema: S, options: RequestOptions = {}): Promise<z.infer<S>> {
    return this.request("GET", path, schema, options);
  }

  /** POST a JSON body, parsed with `schema`. */
  post<S extends z.ZodMiniType>(
    path: string,
    body: unknown,
    schema: S,
    options: RequestOptions = {},
  ): Promise<z.infer<S>> {
    return this.request("POST", path, schema, { retry: false, ...options, body });
  }

  /** DELETE, parsed with `schema`. */
  delete<S extends z.ZodMiniType>(
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<z.infer<S>> {
    return this.request("DELETE", path, schema, options);
  }

  /** Every item of a listing, following `nextToken` until the last page. */
  async listAll<S extends z.ZodMiniType<{ readonly items: readonly unknown[]; readonly nextToken?: string }>>(
    path: string,
    schema: S,
    query: Query = {},
  ): Promise<z.infer<S>["items"][number][]> {
    const items: z.infer<S>["items"][number][] = [];
    let nextToken: string | undefined;
    do {
      const page: z.infer<S> = await this.get(path, schema, { query: { ...query, nextToken } });
      items.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return items;
  }

  /** One request, with retries of transient failures; resolves with the parsed JSON body. */
  async request<S extends z.ZodMiniType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<z.infer<S>> {
    const retry = options.retry ?? (method === "GET" || method === "DELETE");
    const delays = retry ? (this.#options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS) : [];
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await this.#once(method, path, options);
        const parsed = z.safeParse(schema, value);
        if (!parsed.success) {
          throw new ApiError({
            title: "Unexpected response",
            detail: `${method} ${path} answered JSON this hpcctl does not understand: ${z.prettifyError(parsed.error).replaceAll("\n", " ")}`,
          });
        }
        // The API's own JSON, checked but untouched: `--output json` prints it with its fields in order.
        return value as z.infer<S>;
      } catch (error) {
        const delay = delays[attempt];
        if (!(error instanceof ApiError) || !error.transient || delay === undefined) throw error;
        await this.#pause(delay, options);
      }
    }
  }

  async #once(method: string, path: string, options: RequestOptions): Promise<unknown> {
    const url = this.url(path, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      "user-agent": USER_AGENT,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    };
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signals = [AbortSignal.timeout(timeoutMs)];
    const interrupt = options.interruptible === false ? undefined : this.#options.interrupt;
    if (interrupt) signals.push(interrupt);
    let response: Response;
    let text: string;
    try {
      const sent = await this.#authenticate({
        method,
        url,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      response = await this.#fetch(url, {
        method,
        headers: sent,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.any(signals),
      });
      text = await response.text();
    } catch (error) {
      throw this.#transportError(error, method, url, timeoutMs, interrupt);
    }
    const json = parseJson(text);
    if (response.ok) {
      if (json === undefined && text.trim() !== "") {
        throw new ApiError({
          title: "Unexpected response",
          detail: `${method} ${url.pathname} answered ${response.status} with a body that is not JSON.`,
          status: response.status,
        });
      }
      return json;
    }
    throw problemError(response, json, text);
  }

  /** The full URL of an API path (`/v1/clusters`), under the endpoint's own path (`/Prod` on API Gateway). */
  url(path: string, query: Query = {}): URL {
    const base = this.endpoint.pathname.replace(/\/+$/, "");
    const url = new URL(`${base}${path}`, this.endpoint);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  async #authenticate(request: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: string;
  }): Promise<Record<string, string>> {
    if (this.#options.signer) {
      const signed = await this.#options.signer(request);
      // fetch derives Host from the URL itself, with the very value that was signed.
      const { host: _host, ...rest } = signed;
      return rest;
    }
    if (this.#options.token) return { ...request.headers, authorization: `Bearer ${this.#options.token}` };
    return request.headers;
  }

  #transportError(
    error: unknown,
    method: string,
    url: URL,
    timeoutMs: number,
    interrupt: AbortSignal | undefined,
  ): unknown {
    if (interrupt?.aborted) return interrupt.reason;
    if (error instanceof ApiError || error instanceof UsageError || error instanceof InterruptedError)
      return error;
    if (error instanceof Error && error.name === "TimeoutError") {
      return new ApiError({
        title: "Request timed out",
        // Not retried: an API that hung once would likely hang again, and each try costs the whole timeout.
        detail: `${method} ${url.pathname} got no answer from ${url.origin} within ${Math.round(timeoutMs / 1000)} s.`,
      });
    }
    const cause =
      error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    // Credential-chain failures surface here too (the signer resolves credentials first).
    if (error instanceof Error && /credential/i.test(error.name + error.message)) {
      return new ApiError({ title: "No AWS credentials", detail: error.message });
    }
    return new ApiError({
      title: "Network error",
      detail: `cannot reach ${url.origin} (${reason}); is the API running, and is --endpoint or HPC_API_URL right?`,
      transient: true,
    });
  }

  #pause(ms: number, options: RequestOptions): Promise<void> {
    const interrupt = options.interruptible === false ? undefined : this.#options.interrupt;
    return new Promise((resolve, reject) => {
      if (interrupt?.aborted) {
        reject(interrupt.reason);
        return;
      }
      const timer = setTimeout(() => {
        interrupt?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(interrupt?.reason);
      };
      interrupt?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Validates `--endpoint` / `HPC_API_URL`: an http(s) URL. */
export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`the endpoint '${endpoint}' is not a URL (e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`the endpoint '${endpoint}' is not an http:// or https:// URL`);
  return url;
}

/**
 * The client for an endpoint, authenticated as the contract says: SigV4 with the default AWS credential
 * chain for `*.amazonaws.com`, else `HPC_API_TOKEN` as a bearer token when it is set.
 */
export async function createApiClient(settings: {
  readonly endpoint: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly interrupt?: AbortSignal;
}): Promise<ApiClient> {
  const url = parseEndpoint(settings.endpoint);
  const base = {
    endpoint: settings.endpoint,
    ...(settings.interrupt ? { interrupt: settings.interrupt } : {}),
  };
  if (isAwsEndpoint(url)) {
    const region = regionFor(url, settings.env);
    if (!region) {
      throw new UsageError(
        `cannot tell the AWS region of ${url.host}; set AWS_REGION (e.g. AWS_REGION=us-east-1)`,
      );
    }
    // Loaded only for AWS endpoints: the credential chain is a large import a local call does not need.
    const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
    return new ApiClient({
      ...base,
      signer: createSigV4Signer({ region, credentials: fromNodeProviderChain() }),
    });
  }
  const token = settings.env.HPC_API_TOKEN;
  return new ApiClient({ ...base, ...(token ? { token } : {}) });
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A non-2xx answer as an `ApiError`: the problem's own words when it is one. */
export function problemError(
  response: Pick<Response, "status" | "statusText" | "headers">,
  json: unknown,
  text: string,
): ApiError {
  const transient = response.status === 429 || response.status === 503 || response.status === 504;
  const problem = z.safeParse(ProblemSchema, json);
  if (problem.success) {
    return new ApiError({
      title: problem.data.title,
      detail: problem.data.detail ?? STATUS_CODES[response.status] ?? `HTTP ${response.status}`,
      status: problem.data.status ?? response.status,
      ...(problem.data.type ? { type: problem.data.type } : {}),
      issues: (problem.data.errors ?? []).map((issue) => ({
        message: issue.message,
        ...(issue.path !== undefined ? { path: issue.path } : {}),
        ...(issue.line !== undefined ? { line: issue.line } : {}),
      })),
      ...(problem.data.requestId ? { requestId: problem.data.requestId } : {}),
      transient,
    });
  }
  const gateway = z.safeParse(GatewayMessageSchema, json);
  // HTTP/2 (API Gateway) has no reason phrase: the standard one for the code.
  const title = STATUS_CODES[response.status] ?? `HTTP ${response.status}`;
  const detail = gateway.success
    ? gateway.data.message
    : text.trim().slice(0, 300) || `the API answered ${response.status} with no body`;
  return new ApiError({ title, detail, status: response.status, transient });
}
