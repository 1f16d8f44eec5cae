import { randomUUID, timingSafeEqual } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage, maxHeaderSize, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { createDocumentClient } from "#shared/adapters/aws/dynamodb-client.ts";
import { ensureTable } from "#shared/adapters/aws/table-schema.ts";
import { CachingClusterStore } from "#shared/adapters/local/caching-cluster-store.ts";
import { CachingJobStore } from "#shared/adapters/local/caching-job-store.ts";
import { type LocalBusEvent, LocalEventBus } from "#shared/adapters/local/local-event-bus.ts";
import { LocalJobRunner } from "#shared/adapters/local/local-job-runner.ts";
import { LocalStackProvisioner } from "#shared/adapters/local/local-stack-provisioner.ts";
import { systemClock } from "#shared/adapters/system.ts";
import { useJobSchedulers } from "#shared/composition/job-schedulers.ts";
import { jobStore, useJobStore } from "#shared/composition/job-store.ts";
import { useProvisioner } from "#shared/composition/provisioner.ts";
import { stores, useStores } from "#shared/composition/stores.ts";
import { clusterMaxVcpus } from "#shared/domain/cluster-spec.ts";
import {
  MethodNotAllowedError,
  PayloadTooLargeError,
  RequestValidationError,
  RouteNotFoundError,
  UnauthorizedError,
  UpstreamError,
} from "#shared/domain/errors.ts";
import { errorToProxyResult } from "#shared/http/http-handler.ts";
import type { IngestReport } from "#shared/use-cases/ingest-object-events.ts";
import { lambdaContext, proxyResultViolation, toProxyEvent } from "./api-gateway.ts";
import { startEmbeddedDynamoDb } from "./embedded-dynamodb.ts";
import { type InboxWatcher, startInboxWatcher } from "./inbox-watcher.ts";
import { loadRoutes, matchRoute } from "./route-table.ts";

type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>;
type EventHandler = (event: LocalBusEvent, context: Context) => Promise<unknown>;

/** Settings of the local server; `npm start` fills them from the environment. */
export interface LocalServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly dataDir: string;
  /** Required unless `host` is a loopback address; then every request needs `Authorization: Bearer`. */
  readonly apiToken?: string;
  /** Simulated stack create/delete time (LOCAL_STACK_DELAY_MS). */
  readonly stackDelayMs?: number;
  /** Largest request body accepted (API Gateway's own limit is 10 MB). */
  readonly maxBodyBytes?: number;
}

/** A running local server. */
export interface LocalServer {
  readonly url: string;
  /** Stops accepting, finishes in-flight requests and events, then closes the store. */
  close(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, "..");
/** EventBridge rules, as deployed: event type -> the function the rule targets. */
const EVENT_ROUTES: Readonly<Record<string, string>> = {
  "CloudFormation Stack Status Change": "stack-status",
  "Batch Job State Change": "job-status",
};

/** How long an event function may run, as deployed (the stack-status function's 3 minutes). */
const EVENT_TIMEOUT_MS = 180_000;

let started = false;

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim() ?? "";
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit) {
      reject(new PayloadTooLargeError(`The request body is larger than ${Math.floor(limit / 1024)} KiB.`));
      request.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new PayloadTooLargeError(`The request body is larger than ${Math.floor(limit / 1024)} KiB.`));
        request.resume();
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name] = values.map(String);
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? "", "base64")
    : Buffer.from(result.body ?? "");
  response.writeHead(result.statusCode, { ...headers, "Content-Length": String(body.length) });
  response.end(body);
}

/** Sets the environment the handlers read at init, without overriding what the user set. */
function prepareEnvironment(options: LocalServerOptions, dynamoEndpoint: string): void {
  const defaults: Record<string, string> = {
    TABLE_NAME: "hpc-cluster-api-local",
    CLUSTER_BACKEND: "local",
    DATA_DIR: options.dataDir,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    POWERTOOLS_LOG_LEVEL: "WARN",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    POWERTOOLS_METRICS_DISABLED: "true",
    ...(options.stackDelayMs !== undefined ? { LOCAL_STACK_DELAY_MS: String(options.stackDelayMs) } : {}),
  };
  for (const [key, value] of Object.entries(defaults)) process.env[key] ??= value;
  if (options.stackDelayMs !== undefined) process.env.LOCAL_STACK_DELAY_MS = String(options.stackDelayMs);
  // With no EventBridge to push stack events, the AWS backend learns from polling at once.
  if (process.env.CLUSTER_BACKEND === "aws") process.env.RECONCILE_AFTER_SECONDS ??= "0";
  process.env.DATA_DIR = options.dataDir;
  // The embedded store always wins for DynamoDB, whatever endpoint other services use.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoEndpoint;
}

/**
 * Starts the local API: dynalite on disk under `dataDir`, the table, the Lambda handlers from the route
 * table in `openapi.yaml`, and an HTTP server that turns each request into an API Gateway proxy event.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  // Handlers build their clients once per process, as on Lambda: a second server here would talk to the
  // first one's (closed) store. Tests that restart a server run it in a child process.
  if (started) throw new Error("one local server per process: start another process for another server");
  started = true;
  if (!isLoopback(options.host) && !options.apiToken) {
    throw new Error(
      `HOST=${options.host} is reachable from other machines: set API_TOKEN to require a bearer token.`,
    );
  }
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const db = await startEmbeddedDynamoDb({ path: join(dataDir, "dynamodb") });
  try {
    prepareEnvironment({ ...options, dataDir }, db.endpoint);
    await ensureTable(createDocumentClient({ endpoint: db.endpoint }), process.env.TABLE_NAME ?? "");
  } catch (error) {
    await db.close();
    throw error;
  }

  // The simulated AWS services, handed to the composition before any handler builds its use case.
  const { settings } = await import("#shared/composition/settings.ts");
  // This process is the only writer of its embedded database: cluster reads can skip it.
  const base = stores();
  useStores({ ...base, store: new CachingClusterStore(base.store) });
  useJobStore(new CachingJobStore(jobStore()));
  let local: { bus: LocalEventBus; provisioner: LocalStackProvisioner; runner: LocalJobRunner } | undefined;
  if (settings().CLUSTER_BACKEND === "local") {
    const bus = new LocalEventBus();
    const config = settings();
    const maxVcpus = new Map<string, number>();
    local = {
      bus,
      provisioner: new LocalStackProvisioner({
        dataDir: config.DATA_DIR,
        delayMs: config.LOCAL_STACK_DELAY_MS,
        bus,
        clock: systemClock,
      }),
      runner: new LocalJobRunner({
        dataDir: config.DATA_DIR,
        bus,
        clock: systemClock,
        maxConcurrentVcpus: (clusterName) => maxVcpus.get(clusterName) ?? 4,
        lookupStatus: async (clusterName, jobId) => (await jobStore().get(clusterName, jobId))?.status,
      }),
    };
    const runner = local.runner;
    useProvisioner(local.provisioner);
    useJobSchedulers({
      kindFor: () => "local",
      forCluster: (cluster) => {
        maxVcpus.set(cluster.name, clusterMaxVcpus(cluster.config));
        return runner;
      },
    });
  }

  const routes = loadRoutes(join(ROOT, "openapi.yaml"));
  const apiHandlers = new Map<string, ApiHandler>();
  for (const name of new Set(routes.map((route) => route.handler))) {
    const module = (await import(join(ROOT, "functions", "api", `${name}.ts`))) as { handler: ApiHandler };
    apiHandlers.set(name, module.handler);
  }
  const eventHandlers = new Map<string, EventHandler>();
  for (const [detailType, name] of Object.entries(EVENT_ROUTES)) {
    const module = (await import(join(ROOT, "functions", "events", `${name}.ts`))) as {
      handler: EventHandler;
    };
    eventHandlers.set(detailType, module.handler);
  }

  const pending = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => {});
    return work;
  };

  // EventBridge retries a failed target and then dead-letters the event; so does this, briefly.
  const deliver = async (event: LocalBusEvent): Promise<void> => {
    const handler = eventHandlers.get(event["detail-type"]);
    if (!handler) return;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        // The event functions' deployed timeout (they hand waiting jobs over with an eye on the time left).
        const context = lambdaContext(
          EVENT_ROUTES[event["detail-type"]] ?? "event",
          event.id,
          EVENT_TIMEOUT_MS,
        );
        await handler(event, context);
        return;
      } catch (error) {
        if (attempt === 3) console.error(`event ${event.id} (${event["detail-type"]}) dead-lettered:`, error);
        else await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  };
  // Events about one resource are delivered one after another (each waits for the previous one), so a
  // job's RUNNABLE, RUNNING and SUCCEEDED do not race each other for the same record; events about
  // different resources still run in parallel. EventBridge promises no order; this only avoids waste.
  const lanes = new Map<string, Promise<void>>();
  const unsubscribe = local?.bus.subscribe((event) => {
    const key = String(event.detail.jobId ?? event.detail["stack-id"] ?? event.id);
    const run = (lanes.get(key) ?? Promise.resolve()).then(() => deliver(event));
    lanes.set(key, run);
    void track(run.finally(() => lanes.get(key) === run && lanes.delete(key)));
  });
  await local?.provisioner.resume();
  await local?.runner.resume();

  // Local mode's S3: files dropped under DATA_DIR/inbox/<bucket>/ reach the S3 input handler as
  // notifications, as the input queue hands them to the function on AWS.
  let inbox: InboxWatcher | undefined;
  if (local) {
    const { s3Input } = (await import(join(ROOT, "functions", "events", "s3-input.ts"))) as {
      s3Input: (event: unknown) => Promise<IngestReport>;
    };
    inbox = await startInboxWatcher({
      inboxDir: join(settings().DATA_DIR, "inbox"),
      deliver: (event) => track(s3Input(event)),
    });
  }

  // With the AWS backend nothing pushes stack events here (no EventBridge): the reconciler polls instead.
  let reconciler: NodeJS.Timeout | undefined;
  if (!local) {
    const { handler: reconcile } = (await import(join(ROOT, "functions", "events", "reconcile.ts"))) as {
      handler: EventHandler;
    };
    let running = false;
    reconciler = setInterval(() => {
      if (running) return;
      running = true;
      void track(
        reconcile({} as LocalBusEvent, lambdaContext("reconcile", randomUUID()))
          .catch((error: unknown) => console.error("reconcile failed:", error))
          .finally(() => {
            running = false;
          }),
      );
    }, settings().RECONCILE_INTERVAL_MS);
  }

  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const server = createServer((request, response) => {
    void track(handle(request, response));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(request.url ?? "/", "http://local");
    try {
      if (options.apiToken && !tokenMatches(request.headers.authorization, options.apiToken)) {
        request.resume();
        throw new UnauthorizedError(
          "Send 'Authorization: Bearer <API_TOKEN>' (the token the server was started with).",
        );
      }
      let path: string;
      try {
        path = decodeURIComponent(url.pathname);
      } catch {
        throw new RouteNotFoundError(`No route matches ${url.pathname}.`);
      }
      const method = request.method ?? "GET";
      const match = matchRoute(routes, method, path);
      if (match.kind === "not-found") {
        request.resume();
        throw new RouteNotFoundError(`No route matches ${method} ${path}. See GET /openapi.yaml.`);
      }
      if (match.kind === "method-not-allowed") {
        request.resume();
        throw new MethodNotAllowedError(`${path} does not support ${method}.`, match.allowed);
      }
      const body = await readBody(request, maxBody);
      const event = toProxyEvent(
        request,
        url,
        match.route,
        match.params,
        body,
        options.apiToken ? "local-token" : "local",
      );
      const handler = apiHandlers.get(match.route.handler);
      let result: unknown;
      try {
        result = await handler?.(event, lambdaContext(match.route.handler, event.requestContext.requestId));
      } catch {
        throw new UpstreamError("The function failed (a Lambda error; API Gateway answers 502).");
      }
      const violation = proxyResultViolation(result);
      if (violation) throw new UpstreamError(`Malformed Lambda proxy response: ${violation}.`);
      send(response, result as APIGatewayProxyResult);
    } catch (error) {
      const result = errorToProxyResult(error, { requestId, path: url.pathname });
      if (error instanceof UnauthorizedError) {
        result.headers = { ...result.headers, "WWW-Authenticate": 'Bearer realm="hpc-cluster-api"' };
      }
      send(response, result);
    }
  }

  // A request Node's HTTP parser refuses (a control character in a header, headers over its limit, a
  // Content-Length that is not a number) never reaches `handle`, and Node would answer it with a bare
  // "400 Bad Request": answer it as a problem too, so every refusal reads the same.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || !error.code?.startsWith("HPE_")) {
      socket.destroy();
      return;
    }
    const refusal =
      error.code === "HPE_HEADER_OVERFLOW"
        ? new RequestValidationError(
            `The request headers are larger than ${Math.floor(maxHeaderSize / 1024)} KiB: send less.`,
            [{ path: "header", message: `at most ${Math.floor(maxHeaderSize / 1024)} KiB of headers` }],
          )
        : new RequestValidationError(
            "The request is not valid HTTP/1.1: check that header values hold no control characters and that Content-Length is a number.",
            [{ path: "request", message: `malformed HTTP request (${error.code})` }],
          );
    const result = errorToProxyResult(refusal, { requestId: randomUUID() });
    const body = Buffer.from(result.body);
    const headers = Object.entries({ ...result.headers, "Content-Length": body.length, Connection: "close" })
      .map(([name, value]) => `${name}: ${String(value)}\r\n`)
      .join("");
    socket.end(
      Buffer.concat([Buffer.from(`HTTP/1.1 ${result.statusCode} Bad Request\r\n${headers}\r\n`), body]),
    );
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close() {
      closing ??= (async () => {
        clearInterval(reconciler);
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        // No new inbox deliveries; the ones in flight are in `pending`.
        await inbox?.close();
        while (pending.size > 0) await Promise.allSettled([...pending]);
        server.closeAllConnections();
        await stopped;
        unsubscribe?.();
        local?.provisioner.close();
        await local?.runner.close();
        await db.close();
      })();
      return closing;
    },
  };
}
