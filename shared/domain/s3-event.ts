/**
 * Reads S3 object-created events in every shape they reach the input handler, without trusting them:
 * S3 event notifications (`Records[]`), EventBridge "Object Created" events, and either of those inside
 * SQS messages. Nothing here throws: what cannot be read becomes a short reason.
 *
 * Keys: S3 notifications carry keys URL-encoded as a form would (`application/x-www-form-urlencoded`):
 * a space is `+`, a literal `+` is `%2B`, `/` stays as it is, UTF-8 bytes are `%XX`. EventBridge's
 * "Object Created" `detail.object.key` is encoded the same way: the S3 user guide does not say so, but
 * AWS's own readers decode it (Powertools for AWS Lambda (Python) `S3EventBridgeNotificationObject.key`
 * applies `unquote_plus`; OpenSearch Data Prepper's `S3EventBridgeNotification` exposes
 * `getUrlDecodedKey()`), and emulators validated against AWS (LocalStack) encode it. So both shapes go
 * through the same `decodeS3Key`.
 */

/** One object-created event, as read from an S3 notification record or an EventBridge event. */
export interface ObjectCreated {
  readonly bucket: string;
  /** The object's key, decoded. */
  readonly key: string;
  /** Bytes. */
  readonly size: number;
  /** The object's ETag without surrounding quotes. */
  readonly eTag?: string;
  readonly versionId?: string;
  /** S3's sequencer, normalized by {@link normalizeSequencer}: plain string order is S3's order for one key. */
  readonly sequencer: string;
  /** When S3 finished the request, as an ISO 8601 UTC time with milliseconds. */
  readonly eventTime: string;
}

/**
 * What one delivery unit carried: an SQS message, one record of a direct S3 notification, or one
 * direct EventBridge event. Partial batch failures name `itemId`.
 */
export interface ParsedItem {
  /** The SQS `messageId`; `record-<index>` for a direct S3 record; the EventBridge event `id`. */
  readonly itemId: string;
  readonly objects: readonly ObjectCreated[];
  /** Why parts of the item could not be read (short, never an echo of the input). */
  readonly malformed: readonly string[];
  /** Events read but not wanted: other event types, S3's `s3:TestEvent`. */
  readonly ignored: readonly string[];
}

/** The result of {@link parseObjectEvents}. */
export interface ParsedEvents {
  /** True when the event came from an SQS event source mapping (partial batch failures apply). */
  readonly sqs: boolean;
  readonly items: readonly ParsedItem[];
}

/** The item id used when the event as a whole cannot be read, or an EventBridge event has no id. */
export const WHOLE_EVENT_ID = "event";

/** Normalized sequencers are this many hex digits. */
export const SEQUENCER_WIDTH = 64;

/** Longest reason kept for a malformed or ignored event. */
export const MAX_REASON_LENGTH = 200;

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

const MAX_IDENTITY_LENGTH = 1024;
const HEX = /^[0-9A-Fa-f]+$/;
/** Loose on purpose: legacy and local buckets need not follow every rule of today's names. */
const BUCKET_NAME = /^[a-z0-9.-]{3,63}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Reads every object-created event in `event`, looping over every record: an SQS event (each message
 * one item, its body an S3 notification, an `s3:TestEvent`, an EventBridge event, or any of those in an
 * SNS envelope), a direct S3 notification (each record one item) or a direct EventBridge event (one
 * item). Never throws, whatever `event` is.
 */
export function parseObjectEvents(event: unknown): ParsedEvents {
  try {
    return parseEvent(event);
  } catch {
    // A hostile object (a throwing getter or proxy) is the only way here; report it, never rethrow.
    return { sqs: false, items: [malformedItem(WHOLE_EVENT_ID, "the event could not be read")] };
  }
}

/**
 * Decodes a key as S3 notifications encode it: `+` is a space, then percent-escapes of UTF-8 bytes.
 * Undefined when the escapes are not valid UTF-8.
 */
export function decodeS3Key(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** Characters S3 leaves as they are in an event's key: Java's URLEncoder set, plus `/`. */
const KEY_SAFE = /[A-Za-z0-9.\-_*/]/;

/**
 * Encodes a key as S3 writes it in event notifications (`application/x-www-form-urlencoded`, like Java's
 * URLEncoder): a space becomes `+`, `/` and `A-Za-z0-9.-_*` stay, every other UTF-8 byte becomes `%XX`
 * (upper case). Local mode builds its events with it; `decodeS3Key(encodeS3Key(key)) === key` for every
 * well-formed key.
 */
export function encodeS3Key(key: string): string {
  let out = "";
  for (const char of key) {
    if (char === " ") out += "+";
    else if (KEY_SAFE.test(char)) out += char;
    else
      for (const byte of new TextEncoder().encode(char))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * S3 sequencers are hex strings of varying length; AWS compares them by right-padding the shorter with
 * zeros, then lexicographically. Returns the value in uppercase, right-padded with `0` to
 * {@link SEQUENCER_WIDTH} digits, so that plain string order is S3's order. Undefined for an empty,
 * non-hex or longer value.
 */
export function normalizeSequencer(raw: string): string | undefined {
  if (typeof raw !== "string" || raw.length > SEQUENCER_WIDTH || !HEX.test(raw)) return undefined;
  return raw.toUpperCase().padEnd(SEQUENCER_WIDTH, "0");
}

/**
 * Orders two raw sequencers as S3 does: negative when `a` came first, positive when `b` did, 0 when they
 * are the same. A value {@link normalizeSequencer} rejects sorts before every valid one (it can never
 * win over a real event); two such values compare equal.
 */
export function compareSequencers(a: string, b: string): number {
  const left = normalizeSequencer(a);
  const right = normalizeSequencer(b);
  if (left === undefined || right === undefined) {
    return (left === undefined ? 0 : 1) - (right === undefined ? 0 : 1);
  }
  return left < right ? -1 : left > right ? 1 : 0;
}

interface ItemParts {
  readonly objects: ObjectCreated[];
  readonly malformed: string[];
  readonly ignored: string[];
}

function parseEvent(event: unknown): ParsedEvents {
  const records = field(event, "Records");
  if (Array.isArray(records)) {
    const read = records.map(parseTopRecord);
    return { sqs: read.some(([, fromSqs]) => fromSqs), items: read.map(([item]) => item) };
  }
  if (field(event, "source") === "aws.s3") {
    const id = field(event, "id");
    const itemId = typeof id === "string" && id !== "" ? id : WHOLE_EVENT_ID;
    return { sqs: false, items: [collect(itemId, (parts) => readEventBridge(event, parts))] };
  }
  return {
    sqs: false,
    items: [malformedItem(WHOLE_EVENT_ID, `not an S3, SQS or EventBridge event: ${describe(event)}`)],
  };
}

/** One record of a top-level `Records[]`, and whether it is an SQS message. */
function parseTopRecord(record: unknown, index: number): [ParsedItem, boolean] {
  const fallbackId = `record-${index}`;
  try {
    const source = field(record, "eventSource");
    if (source === "aws:sqs") return [parseSqsMessage(record, fallbackId), true];
    if (source === "aws:s3") return [collect(fallbackId, (parts) => readS3Record(record, parts, "")), false];
    const why = isObject(record)
      ? `unsupported eventSource ${quote(source)}`
      : `the record is ${describe(record)}`;
    return [malformedItem(fallbackId, why), false];
  } catch {
    return [malformedItem(fallbackId, "the record could not be read"), false];
  }
}

function parseSqsMessage(record: unknown, fallbackId: string): ParsedItem {
  const messageId = field(record, "messageId");
  if (typeof messageId !== "string" || messageId === "") {
    return malformedItem(fallbackId, "SQS message without a messageId");
  }
  return collect(messageId, (parts) => {
    const body = field(record, "body");
    if (typeof body !== "string") {
      parts.malformed.push(reason(`SQS message body is ${describe(body)}, not text`));
      return;
    }
    const parsed = parseJson(body);
    if (parsed === NOT_JSON) {
      parts.malformed.push("SQS message body is not JSON");
      return;
    }
    readBody(parsed, parts, true);
  });
}

/** An SQS message body: an S3 notification, a test event, an EventBridge event, or an SNS envelope. */
function readBody(body: unknown, parts: ItemParts, envelopeAllowed: boolean): void {
  if (field(body, "Event") === "s3:TestEvent") {
    parts.ignored.push("s3:TestEvent");
    return;
  }
  const records = field(body, "Records");
  if (Array.isArray(records)) {
    if (records.length === 0) parts.ignored.push("S3 notification without records");
    records.forEach((record, index) => {
      readS3Record(record, parts, `record ${index}: `);
    });
    return;
  }
  if (field(body, "source") === "aws.s3") {
    readEventBridge(body, parts);
    return;
  }
  // S3 -> SNS -> SQS without raw message delivery: the S3 message is the envelope's `Message` text.
  const message = field(body, "Message");
  if (envelopeAllowed && field(body, "Type") === "Notification" && typeof message === "string") {
    const inner = parseJson(message);
    if (inner === NOT_JSON) parts.malformed.push("SNS notification message is not JSON");
    else readBody(inner, parts, false);
    return;
  }
  parts.malformed.push(reason(`message body is not an S3 or EventBridge event: ${describe(body)}`));
}

function readS3Record(record: unknown, parts: ItemParts, label: string): void {
  if (!isObject(record)) {
    parts.malformed.push(reason(`${label}the record is ${describe(record)}`));
    return;
  }
  const source = field(record, "eventSource");
  if (source !== undefined && source !== "aws:s3") {
    parts.malformed.push(reason(`${label}unsupported eventSource ${quote(source)}`));
    return;
  }
  const eventName = field(record, "eventName");
  if (typeof eventName !== "string") {
    parts.malformed.push(reason(`${label}eventName is ${describe(eventName)}`));
    return;
  }
  if (!eventName.startsWith("ObjectCreated:")) {
    parts.ignored.push(reason(`${label}${quote(eventName)} is not an object-created event`));
    return;
  }
  const s3 = field(record, "s3");
  const object = field(s3, "object");
  add(parts, label, {
    bucket: field(field(s3, "bucket"), "name"),
    key: field(object, "key"),
    size: field(object, "size"),
    eTag: field(object, "eTag"),
    versionId: field(object, "versionId"),
    sequencer: field(object, "sequencer"),
    eventTime: field(record, "eventTime"),
  });
}

function readEventBridge(event: unknown, parts: ItemParts): void {
  const detailType = field(event, "detail-type");
  if (typeof detailType !== "string") {
    parts.malformed.push(reason(`EventBridge detail-type is ${describe(detailType)}`));
    return;
  }
  if (detailType !== "Object Created") {
    parts.ignored.push(reason(`EventBridge ${quote(detailType)} is not an object-created event`));
    return;
  }
  const detail = field(event, "detail");
  const object = field(detail, "object");
  add(parts, "", {
    bucket: field(field(detail, "bucket"), "name"),
    key: field(object, "key"),
    size: field(object, "size"),
    eTag: field(object, "etag"),
    versionId: field(object, "version-id"),
    sequencer: field(object, "sequencer"),
    eventTime: field(event, "time"),
  });
}

/** The raw fields of one object-created event, whatever its shape. */
interface RawObject {
  readonly bucket: unknown;
  readonly key: unknown;
  readonly size: unknown;
  readonly eTag: unknown;
  readonly versionId: unknown;
  readonly sequencer: unknown;
  readonly eventTime: unknown;
}

function add(parts: ItemParts, label: string, raw: RawObject): void {
  const object = toObjectCreated(raw);
  if (typeof object === "string") parts.malformed.push(reason(`${label}${object}`));
  else parts.objects.push(object);
}

/** The object, or why it is malformed. */
function toObjectCreated(raw: RawObject): ObjectCreated | string {
  if (typeof raw.bucket !== "string") return `bucket name is ${describe(raw.bucket)}`;
  if (!BUCKET_NAME.test(raw.bucket)) return `bucket name ${quote(raw.bucket)} is not a bucket name`;
  if (typeof raw.key !== "string") return `object key is ${describe(raw.key)}`;
  const key = decodeS3Key(raw.key);
  if (key === undefined) return `object key ${quote(raw.key)} is not valid URL encoding`;
  const keyProblem = keyIssue(key);
  if (keyProblem) return keyProblem;
  const size = toSize(raw.size);
  if (size === undefined) return `object size is ${describe(raw.size)}, not a whole number of bytes`;
  const eventTime = toIsoTime(raw.eventTime);
  if (eventTime === undefined) return `event time ${quote(raw.eventTime)} is not an ISO 8601 time`;
  // S3 documents a sequencer on every object-created event; should one come without (emulators, other
  // event sources), the event time orders it instead of the object being dropped: same-key writes within
  // one millisecond are then told apart by their version alone.
  const sequencer =
    raw.sequencer === undefined || raw.sequencer === null || raw.sequencer === ""
      ? normalizeSequencer(Date.parse(eventTime).toString(16).padStart(12, "0"))
      : typeof raw.sequencer === "string"
        ? normalizeSequencer(raw.sequencer)
        : undefined;
  if (sequencer === undefined) return `object sequencer ${quote(raw.sequencer)} is not a hex sequencer`;
  const eTag = toIdentity(raw.eTag, true);
  if (eTag === false) return `object eTag is ${describe(raw.eTag)}`;
  const versionId = toIdentity(raw.versionId, false);
  if (versionId === false) return `object versionId is ${describe(raw.versionId)}`;
  return {
    bucket: raw.bucket,
    key,
    size,
    ...(eTag === undefined ? {} : { eTag }),
    ...(versionId === undefined ? {} : { versionId }),
    sequencer,
    eventTime,
  };
}

function keyIssue(key: string): string | undefined {
  if (key === "") return "object key is empty";
  if (key.includes("\u0000")) return "object key contains a NUL character";
  if (LONE_SURROGATE.test(key)) return "object key is not well-formed Unicode";
  const bytes = utf8Length(key);
  if (bytes > MAX_KEY_BYTES) return `object key is ${bytes} bytes of UTF-8, more than ${MAX_KEY_BYTES}`;
  return undefined;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

function toSize(value: unknown): number | undefined {
  const size = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : value;
  return typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

function toIsoTime(value: unknown): string | undefined {
  if (typeof value !== "string" || !ISO_TIME.test(value)) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/** An optional identity string: undefined when absent, `false` when of the wrong kind. */
function toIdentity(value: unknown, stripQuotes: boolean): string | undefined | false {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length > MAX_IDENTITY_LENGTH) return false;
  const text = stripQuotes && value.length >= 2 && value.startsWith('"') && value.endsWith('"');
  const identity = text ? value.slice(1, -1) : value;
  return identity === "" ? undefined : identity;
}

function collect(itemId: string, read: (parts: ItemParts) => void): ParsedItem {
  const parts: ItemParts = { objects: [], malformed: [], ignored: [] };
  try {
    read(parts);
  } catch {
    parts.malformed.push("part of the item could not be read");
  }
  return { itemId, ...parts };
}

function malformedItem(itemId: string, why: string): ParsedItem {
  return { itemId, objects: [], malformed: [reason(why)], ignored: [] };
}

const NOT_JSON = Symbol("not JSON");

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Syntax errors, and RangeError for absurd nesting.
    return NOT_JSON;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An own property only: names like `__proto__` or `constructor` never reach inherited values. */
function field(value: unknown, name: string): unknown {
  return isObject(value) && Object.hasOwn(value, name) ? value[name] : undefined;
}

function reason(text: string): string {
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/** A short, escaped rendering of a value from the event, for reasons. */
function quote(value: unknown): string {
  if (typeof value !== "string") return describe(value);
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** What kind of value this is, without echoing it. */
function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 3).map((key) => (key.length > 20 ? `${key.slice(0, 20)}…` : key));
    return keys.length === 0 ? "an empty object" : `an object with keys ${shown.join(", ")}`;
  }
  return `a ${typeof value}`;
}
