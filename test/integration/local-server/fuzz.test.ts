import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PC3_SLURM } from "../../fixtures/sample-configs.ts";
import { type LocalApi, startLocalApi } from "../../support/local-api.ts";
import {
  assertMatchesContract,
  deref,
  loadSpec,
  operations,
  pointerSegment,
  validateAt,
} from "../../support/openapi-contract.ts";

/**
 * A bounded, seeded fuzz of every route in openapi.yaml: a few hundred generated bad requests (wrong
 * media types, bodies that are not JSON, JSON of the wrong type at every level, hostile path, query and
 * header values). Whatever arrives, the answer is below 500, an error is problem+json that matches the
 * contract, no body leaks a stack or a file path, and nothing a rejected request carried is stored.
 *
 * The seed is fixed so CI is deterministic; `FUZZ_SEED=<n>` (and `FUZZ_CASES=<n>`) explore further,
 * `FUZZ_CONCURRENCY=<n>` sends n at a time to look for races, and every failure names the seed and the
 * case to replay it. The tests after the fuzz pin down each bug it found, one by one.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_131);
const CASES = Number(process.env.FUZZ_CASES ?? 600);
const CONCURRENCY = Math.max(1, Number(process.env.FUZZ_CONCURRENCY ?? 1));

const PC3 = PC3_SLURM;

/** Configurations in each format the API reads, for the configuration fuzz to break. */
const CONFIGS: readonly string[] = [
  PC3,
  readFileSync(new URL("../../fixtures/blog-pcluster.conf", import.meta.url), "utf8"),
  readFileSync(new URL("../../fixtures/configs/pcluster2-multi-queue.ini", import.meta.url), "utf8"),
  readFileSync(new URL("../../fixtures/configs/pcluster3-full-slurm.json", import.meta.url), "utf8"),
  readFileSync(new URL("../../fixtures/configs/cluster-spec-normalized.json", import.meta.url), "utf8"),
];

/** What the config reader answers when one of its parsers threw: a bug to find, not an answer to give. */
const READER_CRASHED = "The configuration could not be read";

/** The clusters this file creates on purpose; the fuzz never deletes them. */
const TARGET = "fuzz-target";
const OTHER = "fuzz-other";
/** A job id of the right shape that no job has. */
const GHOST_JOB = "01JHMT19E0DXJJAB0872XDCNPE";
const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

// ---------------------------------------------------------------------------------------------------
// A small seeded generator (mulberry32): the same seed gives the same requests on every machine.

class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)] as T;
  }
}

// ---------------------------------------------------------------------------------------------------
// Hostile values.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Strings that break naive code: empty, control characters, unicode, injection, huge, key names. */
const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\u0001\u0002\u001f\u007f",
  "\t\r\n",
  "clüster",
  "集群",
  "🧪🧪",
  "\u202egnp.exe",
  "\ud800",
  "\ufeff",
  "x".repeat(10_000),
  "é".repeat(3_000),
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "../../etc/passwd",
  "..",
  "%00",
  "%2F",
  "$(id)",
  "`id`",
  "; rm -rf /",
  "\r\nX-Injected: 1",
  "null",
  "true",
  "1e2",
  "0x10",
  " 5",
  "-1",
  "NaN",
  "Infinity",
  "<script>alert(1)</script>",
  "'\"\\",
  "a\nb",
];

const PROTO_OBJECTS: readonly string[] = [
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"__proto__":"yes"}',
  '{"prototype":{"polluted":"yes"}}',
];

function deepArray(depth: number): Json {
  let value: Json = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function nastyValue(rng: Rng): Json {
  switch (rng.int(6)) {
    case 0:
      return rng.pick<Json>([null, true, false, 0, -1, 1.5, -0.5, 1e308, -1e308, 2 ** 53 + 2, 1e21, 4e-7]);
    case 1:
    case 2:
      return rng.pick(NASTY_STRINGS);
    case 3:
      return rng.pick<Json>([[], [null], [rng.pick(NASTY_STRINGS)], Array(1000).fill("x"), deepArray(400)]);
    case 4:
      return JSON.parse(rng.pick(PROTO_OBJECTS)) as Json;
    default:
      return rng.pick<Json>([{}, { a: rng.pick(NASTY_STRINGS) }, { "": "" }]);
  }
}

/** Own-property assignment, so a key such as `__proto__` becomes data, as JSON.parse makes it. */
function setOwn(target: Record<string, Json> | Json[], key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function containers(value: Json, out: Array<Record<string, Json> | Json[]> = []) {
  if (value !== null && typeof value === "object") {
    out.push(value);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

/** One to three hostile edits of a valid body: replace, delete or add a field anywhere in it. */
function mutate(rng: Rng, valid: Json): Json {
  let body = JSON.parse(JSON.stringify(valid)) as Json;
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i++) {
    const roll = rng.int(20);
    if (roll === 0) {
      body = nastyValue(rng);
      continue;
    }
    const all = containers(body);
    if (all.length === 0) continue;
    const parent = rng.pick(all);
    const keys = Object.keys(parent);
    if (roll <= 3 && !Array.isArray(parent)) {
      setOwn(parent, rng.pick(NASTY_STRINGS.filter((s) => s.length < 100)), nastyValue(rng));
    } else if (roll <= 5 && keys.length > 0) {
      const key = rng.pick(keys);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (keys.length > 0) {
      const key = rng.pick(keys);
      setOwn(parent, Array.isArray(parent) ? Number(key) : key, nastyValue(rng));
    }
  }
  return body;
}

/** Bodies that are not a JSON object at all, or not JSON. */
const RAW_BODIES: ReadonlyArray<string | Buffer> = [
  "",
  "   ",
  "{",
  "}",
  "[]",
  "null",
  "0",
  '"text"',
  "\ufeff{}",
  '{"name":}',
  "{} trailing",
  '{"name":1e999}',
  '{"name":"a","name":"b"}',
  '{"__proto__":{"polluted":"yes"},"name":"proto-body","configuration":"x"}',
  "[".repeat(20_000) + "]".repeat(20_000),
  Buffer.from([0xff, 0xfe, 0xfd, 0x00, 0x7b]),
  Buffer.from('{"name":"\xc3\x28"}', "latin1"),
  "name=c1&configuration=x",
  `{"name":"big","configuration":"${"A".repeat(600 * 1024)}"}`,
];

const CONTENT_TYPES: ReadonlyArray<string | undefined> = [
  undefined,
  "",
  ";",
  "text/plain",
  "text/plain; charset=utf-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "application/merge-patch+json",
  "application/jsonx",
  "json",
  "application/json, text/plain",
  "application/octet-stream",
];

/** fetch refuses control characters in headers: `sendRaw` carries those (see the raw-request test). */
const ADDITIONAL_PARAMETERS: readonly string[] = [
  "--nowait",
  "\t-nw\t",
  "x".repeat(10 * 1024),
  "--nowait ".repeat(1200),
  "constructor",
  "hasOwnProperty",
  "__proto__",
  "toString",
  "valueOf",
  "__defineGetter__",
  "isPrototypeOf",
  "--job-name=$(id)",
  "--job-name",
  "--job-name= ",
  "--time 99999999999999999999",
  "--time=-1",
  "--time 0:0:0:0",
  "--array 0-99999",
  "--array=1e3",
  "--nodes=1e3",
  "--nodes 0x10",
  "-J \u00e9t\u00e9",
  "--config /etc/passwd",
  "; rm -rf /",
];

const EXTRA_HEADERS: ReadonlyArray<Record<string, string>> = [
  { accept: "application/json" },
  { accept: "text/html" },
  { accept: "application/problem+json" },
  { accept: "application/json;q=0, */*;q=0" },
  { authorization: "Bearer nothing" },
  { "x-fuzz": "y".repeat(10 * 1024) },
  { "x-http-method-override": "DELETE" },
  { "x-forwarded-for": "999.999.999.999, \u00ff" },
  { "content-encoding": "gzip" },
  { __proto__: "yes" } as Record<string, string>,
];

// ---------------------------------------------------------------------------------------------------
// The operations, from the contract.

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly handler: string;
  readonly query: ReadonlyArray<{ readonly name: string; readonly schema: Record<string, unknown> }>;
  readonly body: "json" | "text" | "none";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function contractOperations(): Operation[] {
  const spec = loadSpec() as { paths: Record<string, Record<string, unknown>> };
  return operations().map((op) => {
    const pointer = `/paths/${pointerSegment(op.path)}/${op.method.toLowerCase()}`;
    const node = spec.paths[op.path]?.[op.method.toLowerCase()];
    if (!isObject(node)) throw new Error(`no ${op.method} ${op.path}`);
    const query: Operation["query"][number][] = [];
    for (const [i, raw] of (Array.isArray(node.parameters) ? node.parameters : []).entries()) {
      const param = deref(raw, `${pointer}/parameters/${i}`).node;
      if (!isObject(param) || param.in !== "query") continue;
      const schema = deref(param.schema, `${pointer}/parameters/${i}/schema`).node;
      query.push({ name: String(param.name), schema: isObject(schema) ? schema : {} });
    }
    const requestBody = node.requestBody === undefined ? undefined : deref(node.requestBody, pointer).node;
    const content = isObject(requestBody) && isObject(requestBody.content) ? requestBody.content : {};
    const body = "application/json" in content ? "json" : Object.keys(content).length > 0 ? "text" : "none";
    return { ...op, query, body };
  });
}

function validQueryValue(rng: Rng, schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return String(rng.pick(schema.enum));
  if (schema.format === "date-time") return "2026-01-31T00:00:00Z";
  if (schema.type === "integer") return String(Math.max(Number(schema.minimum ?? 1), 1));
  return "fuzz-ghost";
}

const BAD_QUERY_VALUES: readonly string[] = [
  "",
  " ",
  "1e2",
  "0x10",
  " 5",
  "5 ",
  "+5",
  "-1",
  "0",
  "1.5",
  "1.0",
  "NaN",
  "Infinity",
  "99999999999999999999",
  "\u0000",
  "clüster",
  "x".repeat(5000),
  "__proto__",
  "constructor",
  "[]",
  "{}",
  "true",
  "2026-13-45T99:99:99Z",
  "eyJhZnRlciI6InoifQ",
  "eyJhZnRlciI6InoifQ.AAAAAAAAAAAAAAAAAAAAAA",
  `${"A".repeat(3000)}.x`,
];

const UNKNOWN_QUERY_KEYS: readonly string[] = [
  "unknown",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "toString",
  "Limit",
  "limit[]",
  "",
  "\u0000",
];

/** Percent-encodes, sending a lone surrogate as the bytes of one (not UTF-8), which servers must survive. */
function encodeQuery(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text
      .split(/([\ud800-\udfff])/)
      .map((part) => (/^[\ud800-\udfff]$/.test(part) ? "%ED%A0%80" : encodeURIComponent(part)))
      .join("");
  }
}

function queryString(rng: Rng, op: Operation): string {
  const pairs: Array<[string, string]> = [];
  for (const param of op.query) {
    if (rng.chance(0.5)) pairs.push([param.name, validQueryValue(rng, param.schema)]);
  }
  // The command endpoint needs a valid command most of the time, or nothing past it is reached.
  if (op.handler === "pcluster-command" && rng.chance(0.7)) {
    const command = rng.pick(["create", "status", "delete", "list", "version", "submit-job"]);
    for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i]?.[0] === "command") pairs.splice(i, 1);
    pairs.push(["command", command]);
    if (rng.chance(0.8)) {
      for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i]?.[0] === "cluster_name") pairs.splice(i, 1);
      pairs.push(["cluster_name", rng.pick(["fuzz-cmd", "fuzz-ghost", ...NASTY_STRINGS.slice(0, 20)])]);
    }
  }
  const edits = rng.int(3);
  for (let i = 0; i < edits; i++) {
    const roll = rng.int(4);
    const declared = op.query.length > 0 ? rng.pick(op.query).name : "limit";
    if (roll === 0) pairs.push([declared, rng.pick(BAD_QUERY_VALUES)]);
    else if (roll === 1) pairs.push([declared, validQueryValue(rng, op.query[0]?.schema ?? {})]);
    else if (roll === 2) pairs.push([rng.pick(UNKNOWN_QUERY_KEYS), rng.pick(BAD_QUERY_VALUES)]);
    else pairs.push([declared, rng.pick(BAD_QUERY_VALUES)]);
  }
  const parts = pairs.map(([k, v]) => `${encodeQuery(k)}=${encodeQuery(v)}`);
  if (rng.chance(0.1)) parts.push(rng.pick(["%ZZ", "&&", "=", "a=b=c", "%", "limit"]));
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** Path segments as sent on the wire (already percent-encoded where that is the point). */
const NAME_SEGMENTS: readonly string[] = [
  "fuzz-ghost",
  "..",
  ".",
  "%2e%2e",
  "a%2Fb",
  "%2F",
  "%00",
  "a%00b",
  "%ZZ",
  "%",
  "x".repeat(300),
  "a".repeat(61),
  encodeURIComponent("clüster"),
  encodeURIComponent("集群"),
  encodeURIComponent("🧪"),
  encodeURIComponent("\u202e"),
  "%C0%AE",
  "%ff",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "-lead",
  "1abc",
  "a%20b",
  "a;b",
  "a%0Ab",
  "%24(id)",
  "a%5C..%5Cb",
];

const JOB_SEGMENTS: readonly string[] = [
  GHOST_JOB,
  GHOST_JOB.toLowerCase(),
  `${GHOST_JOB}A`,
  "ILOU0000000000000000000000",
  "..",
  "%2F",
  "%00",
  "constructor",
  "x".repeat(500),
];

// ---------------------------------------------------------------------------------------------------
// Requests and the checks every answer must pass.

interface FuzzRequest {
  readonly label: string;
  readonly method: string;
  /** Path and query, as sent. */
  readonly target: string;
  /** The operation's path with plain parameters, so the contract is looked up for the operation hit. */
  readonly contractPath: string;
  /**
   * The method the contract is looked up with: the one sent when the path has it, else the operation's
   * own (a method the path lacks can only be answered 404 or 405, which every operation documents).
   */
  readonly contractMethod: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  readonly op: Operation;
}

interface Observed {
  readonly status: number;
  readonly headers: Record<string, string | undefined>;
  readonly text: string;
}

/** Whatever the answer, it must not show how the server is built. */
const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  ["a stack frame", /^\s*at\s.+:\d+:\d+\)?$|\bat (?:async )?[\w$.<>]+ \((?:file:|\/|node:)/m],
  ["a file path", /\/work\/|node_modules|file:\/\/|\.ts:\d+/],
  ["an error dump", /\b(?:Type|Reference|Syntax|Range|Eval|URI)?Error: /],
];

function checkAnswer(request: FuzzRequest, observed: Observed): string[] {
  const problems: string[] = [];
  if (!(observed.status >= 200 && observed.status < 500)) problems.push(`status ${observed.status}`);
  const type = observed.headers["content-type"] ?? "";
  if (observed.status >= 400 && request.method !== "HEAD") {
    if (!type.startsWith("application/problem+json")) problems.push(`content-type '${type}' for an error`);
    try {
      const problem = JSON.parse(observed.text) as unknown;
      if (!isObject(problem) || problem.status !== observed.status) problems.push("problem status differs");
      else if (typeof problem.detail !== "string" || problem.detail === "") problems.push("no detail");
    } catch {
      problems.push("error body is not JSON");
    }
  }
  if (observed.text.includes(READER_CRASHED)) problems.push("a configuration reader threw");
  // The contract itself is the one body allowed to mention file:// (job inputUri).
  const isSpec = request.op.operationId === "getOpenApi" && observed.status === 200;
  for (const [what, pattern] of isSpec ? [] : LEAKS) {
    if (pattern.test(observed.text)) problems.push(`body shows ${what}`);
  }
  if (request.method !== "HEAD") {
    try {
      assertMatchesContract({
        method: request.contractMethod,
        path: request.contractPath,
        status: observed.status,
        headers: observed.headers,
        body: observed.text,
      });
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

async function send(url: string, request: FuzzRequest): Promise<Observed> {
  const canHaveBody = request.method !== "GET" && request.method !== "HEAD";
  const response = await fetch(`${url}${request.target}`, {
    method: request.method,
    headers: request.headers,
    ...(canHaveBody && request.body !== undefined ? { body: request.body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const headers: Record<string, string | undefined> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { status: response.status, headers, text: await response.text() };
}

/** One HTTP/1.1 exchange over a bare socket, for requests fetch refuses to send. */
async function sendRaw(url: string, head: string, body: Buffer = Buffer.alloc(0)): Promise<Observed> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setTimeout(10_000, () => socket.destroy(new Error("raw request timed out")));
  await once(socket, "connect");
  // Not end(): a half-closed connection makes the server drop the request; `Connection: close` ends it.
  socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const split = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = (split < 0 ? text : text.slice(0, split)).split("\r\n");
  const headers: Record<string, string | undefined> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(" ")[1] ?? 0),
    headers,
    text: split < 0 ? "" : text.slice(split + 4),
  };
}

// ---------------------------------------------------------------------------------------------------

let api: LocalApi;
let targetJob: string;
/** Names and jobs that a 2xx answer created: the only records a fuzz run may leave behind. */
const acceptedClusters = new Set<string>([TARGET, OTHER]);
const acceptedJobs = new Set<string>();
/** Valid-looking cluster names that a rejected create carried. */
const rejectedNames = new Set<string>();

beforeAll(async () => {
  api = await startLocalApi({ stackDelayMs: 50 });
  for (const name of [TARGET, OTHER]) {
    const created = await api.request("POST", "/v1/clusters", { json: { name, configuration: PC3 } });
    expect(created.status).toBe(202);
  }
  await api.waitForStatus(TARGET, "CREATE_COMPLETE");
  await api.waitForStatus(OTHER, "CREATE_COMPLETE");
  const job = await api.request("POST", `/v1/clusters/${TARGET}/jobs`, {
    json: { name: "seed", command: ["true"] },
  });
  expect(job.status).toBe(202);
  targetJob = job.json.jobId;
  acceptedJobs.add(targetJob);
});
afterAll(async () => {
  await api?.close();
});

const VALID_CREATE: Json = {
  name: "fuzz-new",
  configuration: PC3,
  configurationEncoding: "text",
  clientToken: "fuzz-token-1",
  rollbackOnFailure: true,
  tags: { team: "cfd", "cost center": "42" },
};

const VALID_JOB: Json = {
  name: "fuzz-job",
  command: ["true"],
  environment: { RUN: "1" },
  retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: "3", action: "EXIT" }] },
  dependsOn: [],
  timeoutSeconds: 60,
  vcpus: 1,
  memoryMiB: 128,
  clientToken: "fuzz-job-token",
};

function pathFor(rng: Rng, op: Operation): { target: string; contract: string } {
  const mutating = op.method === "DELETE";
  let target = op.path;
  let contract = op.path;
  if (op.path.includes("{name}")) {
    // Reads and job submissions may reach the real cluster; deletes never touch the clusters kept here.
    const pool = !mutating && rng.chance(0.35) ? [TARGET] : NAME_SEGMENTS;
    target = target.replace("{name}", rng.pick(pool));
    contract = contract.replace("{name}", "x");
  }
  if (op.path.includes("{jobId}")) {
    const pool = !mutating && rng.chance(0.3) ? [targetJob] : JOB_SEGMENTS;
    target = target.replace("{jobId}", rng.pick(pool));
    contract = contract.replace("{jobId}", GHOST_JOB);
  }
  if (rng.chance(0.05)) target = rng.pick([`${target}/`, `${target}//`, target.replace("/v1/", "/v1//")]);
  return { target, contract };
}

/** Tokens that break YAML, INI and JSON readers: anchors, tags, prototype names, odd numbers. */
const CONFIG_TOKENS: readonly string[] = [
  "constructor",
  "[constructor x]",
  "[__proto__ x]",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "*nowhere",
  "&a",
  "!!binary AAAA",
  "!!js/function 'return 1'",
  "!!python/object:os.system",
  "{",
  "[",
  "]",
  "1e999",
  "-1",
  "0x10",
  ".inf",
  "~",
  "null",
  "''",
  "|",
  "? complex",
  "- item",
  "x".repeat(5000),
  "clüster",
  "\t",
  "%YAML 1.1",
  "<<: *a",
];

/** A configuration with a line's key or value replaced by a hostile token, or a hostile line added. */
function mutateConfig(rng: Rng): string {
  const lines = rng.pick(CONFIGS).trimEnd().split("\n");
  const edits = 1 + rng.int(2);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(lines.length);
    const line = lines[at] ?? "";
    const token = rng.pick(CONFIG_TOKENS);
    const separator = line.includes("=") ? line.indexOf("=") : line.indexOf(":");
    const roll = rng.int(4);
    if (roll === 0 && separator > 0) lines[at] = `${line.slice(0, separator + 1)} ${token}`;
    else if (roll === 1 && separator > 0)
      lines[at] = `${line.slice(0, separator).replace(/[A-Za-z_]+/, token)}${line.slice(separator)}`;
    else if (roll === 2 && line.includes('"')) lines[at] = line.replace(/"[^"]*"/, JSON.stringify(token));
    else lines.splice(at, 0, `${" ".repeat(rng.int(8))}${token}: ${rng.pick(CONFIG_TOKENS)}`);
  }
  return `${lines.join("\n")}\n`;
}

function bodyFor(rng: Rng, op: Operation): { body?: string | Buffer; contentType?: string } {
  if (op.body === "json" && op.handler === "create-cluster" && rng.chance(0.35)) {
    const configuration = mutateConfig(rng);
    const encoded = rng.chance(0.3);
    return {
      body: JSON.stringify({
        name: "fuzz-config",
        dryRun: rng.chance(0.8),
        configuration: encoded ? b64(configuration) : configuration,
        configurationEncoding: encoded ? "base64" : "text",
      }),
      contentType: "application/json",
    };
  }
  if (op.body === "json") {
    const valid = op.handler === "create-cluster" ? VALID_CREATE : VALID_JOB;
    const contentType = rng.chance(0.75) ? "application/json" : rng.pick(CONTENT_TYPES);
    if (rng.chance(0.2)) return { body: rng.pick(RAW_BODIES), ...(contentType ? { contentType } : {}) };
    return { body: JSON.stringify(mutate(rng, valid)), ...(contentType ? { contentType } : {}) };
  }
  if (op.body === "text") {
    const body = rng.chance(0.3)
      ? b64(mutateConfig(rng))
      : rng.pick<string | Buffer>([
          b64(PC3),
          b64(PC3).replace(/(.{76})/g, "$1\n"),
          b64(PC3).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""),
          PC3,
          b64("#!/bin/sh\necho hi\n"),
          b64(Buffer.from([0, 1, 2, 255])),
          b64("\u0000"),
          "not base64 !!!",
          "====",
          "A",
          "",
          "A".repeat(400 * 1024),
          b64(JSON.stringify({ HeadNode: { __proto__: null }, Scheduling: "x" })),
          b64("[cluster __proto__]\nscheduler = slurm\n"),
          Buffer.from([0xff, 0xfe]),
        ]);
    return {
      body,
      contentType: rng.pick([
        undefined,
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json",
      ]),
    };
  }
  return rng.chance(0.2) ? { body: rng.pick(RAW_BODIES), contentType: "application/json" } : {};
}

/** The operations whose template matches a path, the most literal ones only (as OpenAPI routes). */
function operationsAt(ops: readonly Operation[], path: string): Operation[] {
  const actual = path.split("/").slice(1);
  const matching = ops.filter((op) => {
    const template = op.path.split("/").slice(1);
    return (
      template.length === actual.length &&
      template.every((t, i) => (t.startsWith("{") ? actual[i] !== "" : t === actual[i]))
    );
  });
  const literal = (op: Operation) => op.path.split("/").filter((t) => t && !t.startsWith("{")).length;
  const best = Math.max(...matching.map(literal));
  return matching.filter((op) => literal(op) === best);
}

/**
 * Where the contract is checked: fetch resolves `.` and `..` segments before sending, so the request may
 * reach another operation than the one it was made for; a method the path lacks is checked against an
 * operation of that path (404 and 405 are documented by every operation).
 */
function contractTarget(
  ops: readonly Operation[],
  op: Operation,
  method: string,
  target: string,
  fallback: string,
): { path: string; method: string } {
  // The router takes one trailing slash as the same path.
  const sent = new URL(target, "http://local").pathname.replace(/(.)\/$/, "$1");
  const reached = operationsAt(ops, sent);
  const first = reached[0];
  if (first === undefined) {
    return {
      path: fallback,
      method: ops.some((o) => o.path === op.path && o.method === method) ? method : op.method,
    };
  }
  return { path: sent, method: reached.some((o) => o.method === method) ? method : first.method };
}

function generate(rng: Rng, ops: readonly Operation[], index: number): FuzzRequest {
  const op = rng.pick(ops);
  const method = rng.chance(0.88)
    ? op.method
    : rng.pick(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]);
  const { target, contract } = pathFor(rng, op);
  const { body, contentType } = bodyFor(rng, op);
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers["content-type"] = contentType;
  if (op.handler === "pcluster-command" ? rng.chance(0.6) : rng.chance(0.1)) {
    headers.additional_parameters = rng.pick(ADDITIONAL_PARAMETERS);
  }
  // One 10 KiB header at a time: together they pass Node's 16 KiB limit, tested on its own below.
  if (rng.chance(0.25) && !headers.additional_parameters?.startsWith("x".repeat(100))) {
    Object.assign(headers, rng.pick(EXTRA_HEADERS));
  }
  const query = queryString(rng, op);
  const checked = contractTarget(ops, op, method, target, contract);
  return {
    label: `#${index} ${method} ${target.slice(0, 80)}${query.slice(0, 120)} (${op.operationId})`,
    method,
    target: `${target}${query}`,
    contractPath: checked.path,
    contractMethod: checked.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    op,
  };
}

/** Keeps track of what a request may have created, from what it sent and what it got. */
function account(request: FuzzRequest, observed: Observed): void {
  const ok = observed.status >= 200 && observed.status < 300;
  if (request.method !== "POST") return;
  if (request.op.handler === "create-cluster") {
    let name: unknown;
    try {
      name = (JSON.parse(String(request.body)) as { name?: unknown }).name;
    } catch {
      return;
    }
    if (typeof name !== "string") return;
    if (ok) acceptedClusters.add(name);
    else if (/^[A-Za-z][A-Za-z0-9-]{0,59}$/.test(name)) rejectedNames.add(name);
  } else if (request.op.handler === "pcluster-command" && ok) {
    // As API Gateway does, the last of repeated parameters counts.
    const name = new URL(request.target, "http://x").searchParams.getAll("cluster_name").at(-1);
    if (name) acceptedClusters.add(name);
    const jobId = /Submitted batch job (\w+)/.exec(observed.text)?.[1];
    if (jobId) acceptedJobs.add(jobId);
    try {
      const parsed = JSON.parse(observed.text) as { job?: { jobId?: string } };
      if (parsed.job?.jobId) acceptedJobs.add(parsed.job.jobId);
    } catch {
      // plain text answer
    }
  } else if (request.op.handler === "submit-job" && ok) {
    acceptedJobs.add((JSON.parse(observed.text) as { jobId: string }).jobId);
  }
}

async function listAll(path: string, key = "items"): Promise<Array<Record<string, string>>> {
  const items: Array<Record<string, string>> = [];
  let token: string | undefined;
  do {
    const page = await api.request(
      "GET",
      `${path}?limit=100${token ? `&nextToken=${encodeURIComponent(token)}` : ""}`,
    );
    expect(page.status).toBe(200);
    items.push(...page.json[key]);
    token = page.json.nextToken;
  } while (token);
  return items;
}

function expectNoPollution(): void {
  const probe: Record<string, unknown> = {};
  expect(probe.polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty("polluted");
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
}

describe(`fuzzing every route of openapi.yaml (seed ${SEED}, ${CASES} requests)`, () => {
  it("answers every generated bad request below 500 with a contract problem and no leak", async () => {
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_CASES=${CASES} replays this run)`);
    const ops = contractOperations();
    expect(ops.length).toBeGreaterThanOrEqual(14);
    const rng = new Rng(SEED);
    // Operations that take a body have the most to get wrong: they come up three times as often.
    const weighted = ops.flatMap((op) => (op.body === "none" ? [op] : [op, op, op]));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const hit = new Set<string>();
    const requests = Array.from({ length: CASES }, (_, i) => generate(rng, weighted, i));
    const exchange = async (request: FuzzRequest) => {
      hit.add(request.op.operationId);
      let observed: Observed;
      try {
        observed = await send(api.url, request);
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause;
        failures.push(`${request.label}: no answer (${(error as Error).message}: ${cause?.message})`);
        return;
      }
      statuses.set(observed.status, (statuses.get(observed.status) ?? 0) + 1);
      account(request, observed);
      const problems = checkAnswer(request, observed);
      if (problems.length > 0) {
        failures.push(
          `${request.label}:\n    ${problems.join("\n    ")}\n    body: ${observed.text.slice(0, 300)}`,
        );
      }
    };
    // One at a time, so a failure replays exactly; FUZZ_CONCURRENCY=8 looks for races instead.
    for (let i = 0; i < requests.length; i += CONCURRENCY) {
      await Promise.all(requests.slice(i, i + CONCURRENCY).map(exchange));
    }
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(failures, `seed ${SEED}: ${failures.length} bad answers`).toEqual([]);
    // The run reached every operation, so a route added to the contract is fuzzed too.
    expect([...hit].sort()).toEqual(ops.map((op) => op.operationId).sort());
    expectNoPollution();
  }, 60_000);

  it("answers requests fetch cannot send (control characters, bad framing) with a problem", async () => {
    const host = new URL(api.url).host;
    const heads: ReadonlyArray<readonly [string, string]> = [
      [
        "control characters in additional_parameters",
        `POST /pcluster?command=version HTTP/1.1\r\nHost: ${host}\r\nadditional_parameters: --nowait\u0001\u0007\u001b[2J\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      ],
      [
        "DEL and latin-1 in additional_parameters",
        `POST /pcluster?command=version HTTP/1.1\r\nHost: ${host}\r\nadditional_parameters: --nowait\u007f \u00e9\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      ],
      [
        "a NUL in the path",
        `GET /v1/clusters/a\u0000b HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ],
      [
        "a header too large for the server",
        `GET /health HTTP/1.1\r\nHost: ${host}\r\nx-big: ${"z".repeat(20 * 1024)}\r\nConnection: close\r\n\r\n`,
      ],
      [
        "a Content-Length that is not a number",
        `POST /v1/clusters HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ten\r\nConnection: close\r\n\r\n{}`,
      ],
      [
        "a GET with a body",
        `GET /v1/clusters HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      ],
    ];
    const failures: string[] = [];
    for (const [label, head] of heads) {
      const observed = await sendRaw(api.url, head);
      const problems: string[] = [];
      if (!(observed.status >= 200 && observed.status < 500)) problems.push(`status ${observed.status}`);
      if (observed.status >= 400) {
        if (!observed.headers["content-type"]?.startsWith("application/problem+json"))
          problems.push(`content-type '${observed.headers["content-type"]}'`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(observed.text);
        } catch {
          problems.push("body is not JSON");
        }
        if (parsed !== undefined) {
          problems.push(...validateAt("/components/schemas/Problem", parsed).map((p) => `problem ${p}`));
        }
      }
      for (const [what, pattern] of LEAKS) if (pattern.test(observed.text)) problems.push(`shows ${what}`);
      if (problems.length > 0)
        failures.push(
          `${label} -> ${observed.status}: ${problems.join("; ")} ${observed.text.slice(0, 200)}`,
        );
    }
    expect(failures).toEqual([]);
  });

  it("does not let __proto__ or constructor keys pollute anything, and names them", async () => {
    const bodies = [
      `{"name":"proto-tags","configuration":${JSON.stringify(PC3)},"tags":{"__proto__":{"x":1}}}`,
      `{"name":"proto-tags","configuration":${JSON.stringify(PC3)},"tags":{"__proto__":"x"}}`,
      `{"name":"proto-tags","configuration":${JSON.stringify(PC3)},"tags":{"constructor":{"prototype":{"x":1}}}}`,
      `{"__proto__":{"polluted":"yes"},"name":"proto-tags","configuration":${JSON.stringify(PC3)}}`,
      `{"constructor":{"prototype":{"polluted":"yes"}},"name":"proto-tags","configuration":${JSON.stringify(PC3)}}`,
    ];
    for (const body of bodies) {
      const response = await api.request("POST", "/v1/clusters", {
        body,
        headers: { "content-type": "application/json" },
      });
      expect(response.status, body).toBe(400);
      expect(response.json.errors.map((e: { path: string }) => e.path).join(" "), body).toMatch(
        /__proto__|constructor/,
      );
    }
    const job = await api.request("POST", `/v1/clusters/${TARGET}/jobs`, {
      body: '{"name":"proto-env","command":["true"],"environment":{"__proto__":"x"}}',
      headers: { "content-type": "application/json" },
    });
    expect(job.status).toBe(400);
    expect(job.json.errors.map((e: { path: string }) => e.path)).toContain("body.environment.__proto__");

    // In the configuration itself, in every format: a tag called __proto__ is refused by name, where
    // it used to vanish on the way (and `constructor` is an ordinary tag).
    const [, blog = "", , , spec = ""] = CONFIGS;
    const configs: ReadonlyArray<readonly [string, string]> = [
      [
        `${PC3}Tags:\n  - Key: constructor\n    Value: x\n  - Key: __proto__\n    Value: polluted\n`,
        "Tags[1].Key",
      ],
      [
        blog.replace("[vpc public]", 'tags = {"constructor": "x", "__proto__": "polluted"}\n\n[vpc public]'),
        "tags",
      ],
      [spec.replace('"tags": {}', '"tags": {"constructor": "x", "__proto__": "polluted"}'), "tags.__proto__"],
    ];
    for (const [configuration, path] of configs) {
      const tagged = await api.request("POST", "/v1/clusters", {
        json: { name: "proto-config", dryRun: true, configuration },
      });
      expect(tagged.status, tagged.text.slice(0, 300)).toBe(422);
      expect(tagged.json.errors).toContainEqual(
        expect.objectContaining({
          path: expect.stringContaining(path),
          message: expect.stringContaining("__proto__"),
        }),
      );
      const withoutIt = await api.request("POST", "/v1/clusters", {
        json: {
          name: "proto-config",
          dryRun: true,
          configuration: configuration.replace(/__proto__/g, "proto"),
        },
      });
      expect(withoutIt.status, withoutIt.text.slice(0, 300)).toBe(200);
      expect(withoutIt.json.normalized.tags).toMatchObject({ constructor: "x", proto: "polluted" });
    }

    for (const query of ["?__proto__=1", "?constructor=1", "?hasOwnProperty=1"]) {
      const listed = await api.request("GET", `/v1/clusters${query}`);
      expect(listed.status, query).toBe(400);
      expect(listed.json.errors.map((e: { path: string }) => e.path)).toContain(
        `query.${query.slice(1, -2)}`,
      );
    }
    expectNoPollution();
  });

  it("refuses additional_parameters that name Object.prototype members, naming the header", async () => {
    for (const flag of [
      "hasOwnProperty",
      "valueOf",
      "toString",
      "constructor",
      "__proto__",
      "__defineGetter__",
    ]) {
      for (const command of [
        "version",
        "list",
        "status&cluster_name=fuzz-ghost",
        "submit-job&cluster_name=x",
      ]) {
        const response = await api.request("POST", `/pcluster?command=${command}`, {
          body: b64("#!/bin/sh\ntrue\n"),
          headers: { additional_parameters: `--nowait ${flag}` },
        });
        expect(response.status, `${command} ${flag}`).toBe(400);
        expect(response.json.errors.map((e: { path: string }) => e.path)).toContain(
          "header.additional_parameters",
        );
      }
    }
  });

  it("keeps a problem small however many mistakes the input holds", async () => {
    // 21,000 broken queues in 250 KiB: listed in full, the 422 was 7 MB, past Lambda's response limit.
    const queues = `HeadNode:\n  InstanceType: t3.micro\nScheduling:\n  Scheduler: slurm\n  SlurmQueues:\n${"  - Name: _\n".repeat(21_000)}`;
    const many = await api.request("POST", "/v1/clusters", { json: { name: "many", configuration: queues } });
    expect(many.status).toBe(422);
    expect(many.text.length).toBeLessThan(100 * 1024);
    expect(many.json.errors.length).toBeLessThanOrEqual(100);
    expect(many.json.detail).toMatch(/first 100 of \d+ issues/);

    const longKey = await api.request("POST", "/v1/clusters", {
      body: `{"${"k".repeat(300_000)}":0,"name":"a","configuration":"x"}`,
      headers: { "content-type": "application/json" },
    });
    expect(longKey.status).toBe(400);
    expect(longKey.text.length).toBeLessThan(10 * 1024);

    const numbers = await api.request("POST", `/v1/clusters/${TARGET}/jobs`, {
      json: { name: "a", command: Array(1000).fill(0) },
    });
    expect(numbers.status).toBe(400);
    expect(numbers.json.errors.length).toBeLessThanOrEqual(100);
  });

  it("names the rule a tag or environment key broke, not just 'invalid key'", async () => {
    const job = await api.request("POST", `/v1/clusters/${TARGET}/jobs`, {
      json: { name: "a", command: ["true"], environment: { "1BAD": "x" } },
    });
    expect(job.status).toBe(400);
    expect(job.json.errors).toContainEqual({
      path: "body.environment.1BAD",
      message: expect.stringMatching(/letters, digits and '_'/),
    });
    const cluster = await api.request("POST", "/v1/clusters", {
      json: { name: "a", dryRun: true, configuration: PC3, tags: { "bad!": "x" } },
    });
    expect(cluster.status).toBe(400);
    expect(cluster.json.errors).toContainEqual({
      path: "body.tags.bad!",
      message: expect.stringMatching(/tag keys use letters/),
    });
  });

  it("reads keys named like Object.prototype members as unknown keys, in every format", async () => {
    const dryRun = (configuration: string) =>
      api.request("POST", "/v1/clusters", { json: { name: "proto-keys", dryRun: true, configuration } });
    const [, blog = "", , json = ""] = CONFIGS;
    for (const key of ["toString", "__proto__", "hasOwnProperty", "constructor", "valueOf"]) {
      for (const configuration of [
        PC3.replace("HeadNode:\n", `HeadNode:\n  ${key}: {a: 1}\n`),
        `${PC3}${key}:\n  x: 1\n`,
        `${PC3}SharedStorage:\n  - Name: s\n    MountDir: /s\n    StorageType: Ebs\n    EbsSettings:\n      ${key}: 5\n`,
        json.replace('"HeadNode": {', `"HeadNode": {"${key}": {"a": 1},`),
      ]) {
        const response = await dryRun(configuration);
        expect(response.status, `${key}: ${response.text.slice(0, 300)}`).toBe(200);
        expect(response.json.warnings.map((w: { message: string }) => w.message).join(" ")).toContain(
          `Unknown key '${key}'`,
        );
      }
      const ini = await dryRun(`${blog}\n[${key.toLowerCase()} x]\na = b\n`);
      expect(ini.status, ini.text.slice(0, 300)).toBe(200);
      expect(ini.json.warnings.map((w: { message: string }) => w.message).join(" ")).toContain(
        `Unknown section type '${key.toLowerCase()}'`,
      );
      const storage = await dryRun(
        `${PC3}SharedStorage:\n  - Name: s\n    MountDir: /s\n    StorageType: ${key}\n`,
      );
      expect(storage.status).toBe(422);
      expect(storage.json.errors).toContainEqual(
        expect.objectContaining({
          path: "SharedStorage[0].StorageType",
          message: expect.stringContaining(`'${key}' is not a storage type`),
        }),
      );
      const os = await dryRun(PC3.replace("Os: alinux2", `Os: ${key}`));
      expect(os.status).toBe(200);
      // An unknown OS is replaced by a known one, never by a built-in function found under its name.
      expect(os.text).not.toContain("native code");
      expect(os.json.warnings.map((w: { message: string }) => w.message).join(" ")).toContain("alinux2023");
    }
  });

  it("refuses a billion-laughs configuration in under a second with a 4xx", async () => {
    const laughs = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ..."bcdefghi".split("").map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`),
      "HeadNode: *i",
      "Scheduling:",
      "  Scheduler: slurm",
      "  SlurmQueues: *i",
      "Tags: *i",
      "",
    ].join("\n");
    for (const configuration of [laughs, laughs.replace("HeadNode: *i", "HeadNode:\n  InstanceType: *i")]) {
      const started = performance.now();
      const response = await api.request("POST", "/v1/clusters", {
        json: { name: "laughs", configuration },
      });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });

  it("reads a configuration full of aliases in time linear in its size", async () => {
    // Each alias used to walk the whole document to find its anchor: 1,000 aliases in a 200 KiB
    // document took seconds. Compare with a document of the same size and no aliases, in this run.
    const queue = PC3.slice(PC3.indexOf("    - Name: queue1")).replace("    - Name", "    - &q\n      Name");
    const head = PC3.slice(0, PC3.indexOf("    - Name: queue1"));
    const filler = `Filler: [${Array(90_000).fill("a").join(",")}]\n`;
    const withAliases = `${head}${queue}${"    - *q\n".repeat(999)}${filler}`;
    const without = `${head}${queue}${"    - Name: qq\n".repeat(999)}${filler}`;
    const time = async (configuration: string) => {
      const started = performance.now();
      const response = await api.request("POST", "/v1/clusters", {
        json: { name: "aliases", dryRun: true, configuration },
      });
      expect(response.status).toBe(422);
      return performance.now() - started;
    };
    await time(without); // warm up
    const baseline = await time(without);
    const aliased = await time(withAliases);
    expect(aliased, `aliases ${Math.round(aliased)} ms, baseline ${Math.round(baseline)} ms`).toBeLessThan(
      3 * baseline + 300,
    );
  });

  it("refuses a 10,000-queue JSON configuration with 413 or 422, not a crash", async () => {
    const compact = JSON.stringify({
      HeadNode: { InstanceType: "t3.micro" },
      Scheduling: {
        Scheduler: "slurm",
        SlurmQueues: Array.from({ length: 10_000 }, (_, i) => ({ Name: `q${i}` })),
      },
    });
    const full = JSON.stringify({
      scheduler: "slurm",
      headNode: { instanceType: "t3.micro", subnetId: "subnet-0123456789abcdef0" },
      queues: Array.from({ length: 10_000 }, (_, i) => ({
        name: `q${i}`,
        computeResources: [{ name: "cr", instanceType: "t3.micro", minCount: 0, maxCount: 1 }],
      })),
    });
    for (const [configuration, encoding] of [
      [compact, "text"],
      [full, "text"],
      [b64(compact), "base64"],
    ] as const) {
      const started = performance.now();
      const response = await api.request("POST", "/v1/clusters", {
        json: { name: "many-queues", configuration, configurationEncoding: encoding },
      });
      expect([413, 422]).toContain(response.status);
      expect(performance.now() - started).toBeLessThan(5000);
    }
  });

  it("answers unicode and encoded path names with a 400 naming the path parameter", async () => {
    for (const segment of ["clüster", "集群", "🧪", "\u202ename", "cafe\u0301"].map(encodeURIComponent)) {
      for (const path of [
        `/v1/clusters/${segment}`,
        `/v1/clusters/${segment}/events`,
        `/v1/clusters/${segment}/jobs`,
        `/v1/clusters/${segment}/jobs/${GHOST_JOB}`,
      ]) {
        const response = await api.request("GET", path);
        expect(response.status, path).toBe(400);
        expect(response.json.errors.map((e: { path: string }) => e.path)).toContain("path.name");
      }
    }
    const slashed = await api.request("GET", "/v1/clusters/a%2Fb", { contract: false });
    expect([400, 404]).toContain(slashed.status);
    expect(slashed.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("refuses a nextToken issued by another listing", async () => {
    const clusters = await api.request("GET", "/v1/clusters?limit=1");
    const clusterToken: string = clusters.json.nextToken;
    expect(clusterToken).toBeTypeOf("string");
    const events = await api.request("GET", `/v1/clusters/${TARGET}/events?limit=1`);
    const eventsToken: string = events.json.nextToken;
    expect(eventsToken).toBeTypeOf("string");
    const failed = await api.request("GET", "/v1/clusters?limit=1&status=CREATE_COMPLETE");
    const statusToken: string = failed.json.nextToken;

    const cases: Array<readonly [string, string]> = [
      [`/v1/clusters/${TARGET}/events`, clusterToken],
      [`/v1/clusters/${OTHER}/events`, eventsToken],
      ["/v1/clusters", eventsToken],
      ["/v1/clusters?status=CREATE_COMPLETE", clusterToken],
      ["/v1/clusters", statusToken],
      [`/v1/clusters/${TARGET}/jobs`, clusterToken],
      [`/v1/clusters/${TARGET}/jobs/${targetJob}/logs`, eventsToken],
    ];
    for (const [path, token] of cases) {
      const separator = path.includes("?") ? "&" : "?";
      const response = await api.request("GET", `${path}${separator}nextToken=${encodeURIComponent(token)}`);
      expect(response.status, path).toBe(400);
      expect(response.json.type, path).toBe("urn:hpc-cluster-api:problem:invalid-next-token");
    }
  });

  it("takes limit only as plain decimal digits", async () => {
    for (const path of ["/v1/clusters", `/v1/clusters/${TARGET}/events`, `/v1/clusters/${TARGET}/jobs`]) {
      for (const limit of ["1e2", "0x10", " 5", "5 ", "+5", "1.0", "", "0b11", "5%00"]) {
        const response = await api.request(
          "GET",
          `${path}?limit=${encodeURIComponent(limit).replace("%2500", "%00")}`,
        );
        expect(response.status, `${path} limit=${JSON.stringify(limit)}`).toBe(400);
        expect(response.json.errors.map((e: { path: string }) => e.path)).toContain("query.limit");
      }
      expect((await api.request("GET", `${path}?limit=5`)).status).toBe(200);
    }
    const logs = `/v1/clusters/${TARGET}/jobs/${targetJob}/logs`;
    for (const query of ["limit=1e2", "limit=0x10", "attempt=0x1", "attempt=1e0", "attempt= 1"]) {
      const response = await api.request("GET", `${logs}?${query}`);
      expect(response.status, query).toBe(400);
    }
  });

  it("still serves after the run, and no rejected request left a record", async () => {
    const health = await api.request("GET", "/health");
    expect(health.json).toMatchObject({ status: "ok" });

    const live = (await listAll("/v1/clusters")).map((c) => c.name);
    expect(live).toContain(TARGET);
    expect(live.filter((name) => !acceptedClusters.has(name ?? ""))).toEqual([]);
    for (const name of rejectedNames) {
      if (acceptedClusters.has(name)) continue;
      const response = await api.request("GET", `/v1/clusters/${name}`);
      expect(response.status, name).toBe(404);
    }
    const jobs = (await listAll(`/v1/clusters/${TARGET}/jobs`)).map((j) => j.jobId);
    expect(jobs).toContain(targetJob);
    expect(jobs.filter((id) => !acceptedJobs.has(id ?? ""))).toEqual([]);
    expectNoPollution();
  });
});
