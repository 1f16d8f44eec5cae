import { describe, expect, it } from "vitest";
import {
  compareSequencers,
  decodeS3Key,
  encodeS3Key,
  MAX_REASON_LENGTH,
  normalizeSequencer,
  type ObjectCreated,
  type ParsedEvents,
  parseObjectEvents,
} from "#shared/domain/s3-event.ts";
import {
  encodeKeyAsS3,
  eventBridgeObjectCreated,
  type ObjectEventInit,
  s3Notification,
  s3Record,
  s3TestEvent,
  snsEnvelope,
  sqsEvent,
  sqsMessage,
} from "../../fixtures/s3-events.ts";
import { seededRandom } from "../../support/seeded-random.ts";

const pad = (hex: string) => hex.toUpperCase().padEnd(64, "0");

/** Keys with every kind of character S3 encodes, decoded. */
const AWKWARD_KEYS = [
  "HappyFace.jpg",
  "red flower.jpg",
  "c++ notes.txt",
  "a + b = c.csv",
  "données/résumé ü.csv",
  "literal %2F text",
  "100% done",
  "semi;colon:and=equals&amp?.log",
  "quotes \"double\" and 'single'.txt",
  "emoji 😀/日本語/файл.dat",
  "trailing space ",
  "  leading spaces",
  "dt=2018-05-04/_SUCCESS",
  "tab\there",
];

/** The one item of a parse result, asserting there is exactly one. */
function onlyItem(result: ParsedEvents) {
  expect(result.items).toHaveLength(1);
  const [item] = result.items;
  if (!item) throw new Error("no item");
  return item;
}

function parseOneS3Record(init: ObjectEventInit) {
  return onlyItem(parseObjectEvents(s3Notification(s3Record(init))));
}

describe("decodeS3Key", () => {
  const CASES: ReadonlyArray<readonly [string, string, string]> = [
    ["a plain key is unchanged", "plain/key.txt", "plain/key.txt"],
    ["+ is a space", "red+flower.jpg", "red flower.jpg"],
    ["a literal + arrives as %2B", "c%2B%2B+notes.txt", "c++ notes.txt"],
    ["+ and %2B side by side", "a+%2B+b", "a + b"],
    ["%2F decodes to a slash", "a%2Fb", "a/b"],
    ["literal %2F text arrives as %252F", "a%252Fb", "a%2Fb"],
    ["UTF-8 escapes become unicode", "donn%C3%A9es/r%C3%A9sum%C3%A9+%C3%BC.csv", "données/résumé ü.csv"],
    ["four-byte characters decode", "%F0%9F%98%80.png", "😀.png"],
    ["lowercase escapes decode too", "%c3%a9t%c3%a9", "été"],
  ];
  it.each(CASES)("%s", (_name, encoded, decoded) => {
    expect(decodeS3Key(encoded)).toBe(decoded);
  });

  it.each(["%", "%E9", "%C3", "%ZZ", "abc%2", "%ED%A0%80"])(
    "returns undefined for %s, which is not valid URL-encoded UTF-8",
    (encoded) => {
      expect(decodeS3Key(encoded)).toBeUndefined();
    },
  );

  it.each(AWKWARD_KEYS)("reads back %j as S3 encodes it", (key) => {
    expect(decodeS3Key(encodeKeyAsS3(key))).toBe(key);
  });
});

describe("encodeS3Key", () => {
  it.each(AWKWARD_KEYS)("encodes %j so that decoding gives it back", (key) => {
    expect(decodeS3Key(encodeS3Key(key))).toBe(key);
  });

  it("writes spaces as + and keeps slashes, as S3 does", () => {
    expect(encodeS3Key("in/red flower+1.jpg")).toBe("in/red+flower%2B1.jpg");
  });
});

describe("normalizeSequencer", () => {
  it("pads a sequencer to 64 uppercase hex digits", () => {
    expect(normalizeSequencer("0A1B2C3D4E5F678901")).toBe(`0A1B2C3D4E5F678901${"0".repeat(46)}`);
  });

  it("uppercases EventBridge's lowercase sequencers", () => {
    expect(normalizeSequencer("617f08299329d189")).toBe(pad("617F08299329D189"));
  });

  it("keeps a 64-digit sequencer as it is", () => {
    const full = "F".repeat(64);
    expect(normalizeSequencer(full)).toBe(full);
  });

  it.each(["", "xyz", "0x12", "12 34", "-1", "１２", "A".repeat(65)])("rejects %j", (raw) => {
    expect(normalizeSequencer(raw)).toBeUndefined();
  });
});

describe("compareSequencers", () => {
  it("compares by right-padding, not by length or numeric value", () => {
    // Numerically the 18-digit value is larger; padded, the 16-digit one is later.
    expect(compareSequencers("0062E99A88DC4075", "0062E99A88DC407460")).toBeGreaterThan(0);
    expect(compareSequencers("0062E99A88DC407460", "0062E99A88DC4075")).toBeLessThan(0);
  });

  it("orders a longer value after its shorter prefix when it adds non-zero digits", () => {
    expect(compareSequencers("0062E99A88DC407460", "0062E99A88DC4074600001")).toBeLessThan(0);
  });

  it("treats values that differ only by trailing zeros and case as the same", () => {
    expect(compareSequencers("0a", "0A00")).toBe(0);
  });

  it("puts values that are not sequencers before every valid one", () => {
    expect(compareSequencers("not-hex", "00")).toBeLessThan(0);
    expect(compareSequencers("00", "")).toBeGreaterThan(0);
    expect(compareSequencers("zz", "yy")).toBe(0);
  });

  it("agrees with plain string order of normalized values, for random sequencers", () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 200 }, () =>
      Array.from(
        { length: 1 + Math.floor(random() * 24) },
        () => "0123456789abcdefABCDEF"[Math.floor(random() * 22)],
      ).join(""),
    );
    for (let index = 1; index < values.length; index += 1) {
      const a = values[index - 1] ?? "";
      const b = values[index] ?? "";
      const [na, nb] = [normalizeSequencer(a) ?? "", normalizeSequencer(b) ?? ""];
      expect(Math.sign(compareSequencers(a, b))).toBe(na < nb ? -1 : na > nb ? 1 : 0);
      expect(Math.sign(compareSequencers(b, a))).toBe(-Math.sign(compareSequencers(a, b)));
    }
  });
});

describe("parseObjectEvents on a direct S3 notification", () => {
  it("reads the user guide's sample record", () => {
    const result = parseObjectEvents(
      s3Notification(s3Record({ versionId: "096fKKXTRTtl3on89fVO.nfljtsv6qko" })),
    );
    expect(result.sqs).toBe(false);
    expect(onlyItem(result)).toEqual({
      itemId: "record-0",
      objects: [
        {
          bucket: "amzn-s3-demo-bucket",
          key: "HappyFace.jpg",
          size: 1024,
          eTag: "0123456789abcdef0123456789abcdef",
          versionId: "096fKKXTRTtl3on89fVO.nfljtsv6qko",
          sequencer: pad("0A1B2C3D4E5F678901"),
          eventTime: "2024-05-01T12:00:00.000Z",
        },
      ],
      malformed: [],
      ignored: [],
    });
  });

  it("makes each record its own item", () => {
    const result = parseObjectEvents(s3Notification(s3Record({ key: "a" }), s3Record({ key: "b" })));
    expect(result.items.map((item) => [item.itemId, item.objects.map((o) => o.key)])).toEqual([
      ["record-0", ["a"]],
      ["record-1", ["b"]],
    ]);
  });

  it.each(AWKWARD_KEYS)("decodes the key %j", (key) => {
    expect(parseOneS3Record({ key }).objects[0]?.key).toBe(key);
  });

  it("decodes %2F in a key to a slash", () => {
    expect(parseOneS3Record({ rawKey: "dir%2Fsub%2Ffile.txt" }).objects[0]?.key).toBe("dir/sub/file.txt");
  });

  it("strips the quotes around an eTag", () => {
    expect(parseOneS3Record({ eTag: '"abc123"' }).objects[0]?.eTag).toBe("abc123");
  });

  it("leaves out a versionId that is null, as in unversioned buckets", () => {
    const object = parseOneS3Record({ versionId: null }).objects[0];
    expect(object).toBeDefined();
    expect(object).not.toHaveProperty("versionId");
  });

  it("accepts a size given as a decimal string", () => {
    expect(parseOneS3Record({ size: "42" }).objects[0]?.size).toBe(42);
  });

  it("accepts an empty object", () => {
    expect(parseOneS3Record({ size: 0 }).objects[0]?.size).toBe(0);
  });

  it("normalizes the event time to UTC with milliseconds", () => {
    expect(parseOneS3Record({ eventTime: "2024-05-01T14:00:00+02:00" }).objects[0]?.eventTime).toBe(
      "2024-05-01T12:00:00.000Z",
    );
  });

  it.each([
    "ObjectRemoved:Delete",
    "ObjectRestore:Completed",
    "ObjectTagging:Put",
    "LifecycleExpiration:Delete",
  ])("ignores %s events", (eventName) => {
    const item = parseOneS3Record({ eventName });
    expect(item.objects).toEqual([]);
    expect(item.malformed).toEqual([]);
    expect(item.ignored).toEqual([expect.stringContaining(eventName)]);
  });

  it.each([
    "ObjectCreated:Put",
    "ObjectCreated:Post",
    "ObjectCreated:Copy",
    "ObjectCreated:CompleteMultipartUpload",
  ])("reads %s events", (eventName) => {
    expect(parseOneS3Record({ eventName }).objects).toHaveLength(1);
  });

  it("accepts a key of exactly 1024 UTF-8 bytes", () => {
    const key = "é".repeat(512);
    expect(parseOneS3Record({ key }).objects[0]?.key).toBe(key);
  });
});

describe("parseObjectEvents on malformed records", () => {
  const CASES: ReadonlyArray<readonly [string, ObjectEventInit, RegExp]> = [
    ["a bucket name with capitals", { bucket: "My_Bucket" }, /bucket name/],
    ["a bucket name too short", { bucket: "ab" }, /bucket name/],
    ["a bucket name too long", { bucket: "b".repeat(64) }, /bucket name/],
    ["a missing key", { rawKey: undefined }, /key is missing/],
    ["a numeric key", { rawKey: 42 }, /key is a number/],
    ["an empty key", { rawKey: "" }, /key is empty/],
    ["a key that is not valid URL encoding", { rawKey: "caf%E9.txt" }, /not valid URL encoding/],
    ["a key with a NUL character", { rawKey: "a%00b" }, /NUL/],
    ["a key over 1024 bytes", { key: "é".repeat(513) }, /1026 bytes/],
    ["a key with a lone surrogate", { rawKey: "a\uD800b" }, /well-formed/],
    ["a negative size", { size: -1 }, /size/],
    ["a fractional size", { size: 1.5 }, /size/],
    ["a size that is not a number", { size: "12a" }, /size/],
    ["a missing size", { size: undefined }, /size is missing/],
    ["a size beyond safe integers", { size: 2 ** 53 }, /size/],
    ["a sequencer that is not hex", { sequencer: "xyz" }, /not a hex sequencer/],
    ["a sequencer longer than 64 digits", { sequencer: "A".repeat(65) }, /not a hex sequencer/],
    ["a numeric sequencer", { sequencer: 12 }, /sequencer/],
    ["a missing event time", { eventTime: undefined }, /event time/],
    ["an event time that is not ISO 8601", { eventTime: "yesterday" }, /event time/],
    ["an impossible date", { eventTime: "2024-02-30T25:00:00Z" }, /event time/],
    ["a numeric eTag", { eTag: 12 }, /eTag/],
    ["a numeric versionId", { versionId: 3 }, /versionId/],
  ];

  it.each(CASES)("reports %s as malformed", (_name, init, reason) => {
    const item = parseOneS3Record(init);
    expect(item.objects).toEqual([]);
    expect(item.malformed).toEqual([expect.stringMatching(reason)]);
  });

  it("does not echo a huge key back in the reason", () => {
    const item = parseOneS3Record({ rawKey: `${"x".repeat(5000)}%` });
    expect(item.malformed[0]?.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
  });

  it("keeps the good records of a notification when one is bad", () => {
    const body = s3Notification(s3Record({ key: "good" }), s3Record({ sequencer: "nope" }), "junk");
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(body, "m-1"))));
    expect(item.objects.map((object) => object.key)).toEqual(["good"]);
    expect(item.malformed).toEqual([
      expect.stringMatching(/^record 1: .*sequencer/),
      expect.stringMatching(/^record 2: the record is a string/),
    ]);
  });
});

describe("parseObjectEvents on an SQS event", () => {
  it("makes each message one item named by its messageId", () => {
    const result = parseObjectEvents(
      sqsEvent(
        sqsMessage(s3Notification(s3Record({ key: "in/a.csv" }), s3Record({ key: "in/b.csv" })), "m-1"),
        sqsMessage(s3Notification(s3Record({ key: "in/c.csv" })), "m-2"),
      ),
    );
    expect(result.sqs).toBe(true);
    expect(result.items.map((item) => [item.itemId, item.objects.map((o) => o.key)])).toEqual([
      ["m-1", ["in/a.csv", "in/b.csv"]],
      ["m-2", ["in/c.csv"]],
    ]);
  });

  it("ignores S3's test event", () => {
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(s3TestEvent(), "m-test"))));
    expect(item).toEqual({ itemId: "m-test", objects: [], malformed: [], ignored: ["s3:TestEvent"] });
  });

  it("reads an EventBridge event delivered through SQS", () => {
    const item = onlyItem(
      parseObjectEvents(sqsEvent(sqsMessage(eventBridgeObjectCreated({ key: "x y.bin" }), "m-eb"))),
    );
    expect(item.itemId).toBe("m-eb");
    expect(item.objects.map((object) => object.key)).toEqual(["x y.bin"]);
  });

  it("reads an S3 notification inside an SNS envelope", () => {
    const body = snsEnvelope(s3Notification(s3Record({ key: "via sns.csv" })));
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(body, "m-sns"))));
    expect(item.objects.map((object) => object.key)).toEqual(["via sns.csv"]);
  });

  it("does not unwrap an SNS envelope inside another", () => {
    const body = snsEnvelope(snsEnvelope(s3Notification(s3Record())));
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(body, "m-sns"))));
    expect(item.objects).toEqual([]);
    expect(item.malformed).toEqual([expect.stringMatching(/not an S3 or EventBridge event/)]);
  });

  const BAD_BODIES: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ["a body that is not JSON", "{not json", /not JSON/],
    [
      "a JSON body of another shape",
      { hello: "world" },
      /not an S3 or EventBridge event: an object with keys hello/,
    ],
    ["a JSON string body", '"just text"', /a string/],
    ["a JSON array body", "[1,2]", /an array of 2/],
    ["an SNS envelope whose message is not JSON", { Type: "Notification", Message: "{" }, /SNS .* not JSON/],
  ];
  it.each(BAD_BODIES)("reports %s as malformed under its messageId", (_name, body, reason) => {
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(body, "m-bad"))));
    expect(item.itemId).toBe("m-bad");
    expect(item.objects).toEqual([]);
    expect(item.malformed).toEqual([expect.stringMatching(reason)]);
  });

  it("reports a body that is not a string", () => {
    const message = { ...sqsMessage("x", "m-num"), body: 42 };
    expect(onlyItem(parseObjectEvents(sqsEvent(message))).malformed).toEqual([
      expect.stringMatching(/body is a number/),
    ]);
  });

  it("names a message without a messageId by its position", () => {
    const { messageId: _dropped, ...message } = sqsMessage(s3Notification(s3Record()));
    const result = parseObjectEvents(sqsEvent(sqsMessage(s3TestEvent(), "m-0"), message));
    expect(result.items[1]).toEqual({
      itemId: "record-1",
      objects: [],
      malformed: [expect.stringMatching(/messageId/)],
      ignored: [],
    });
  });

  it("ignores an S3 notification without records", () => {
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(s3Notification(), "m-empty"))));
    expect(item.ignored).toHaveLength(1);
    expect(item.malformed).toEqual([]);
  });
});

describe("parseObjectEvents on a direct EventBridge event", () => {
  it("reads the user guide's sample event, named by its id", () => {
    const result = parseObjectEvents(eventBridgeObjectCreated());
    expect(result.sqs).toBe(false);
    expect(onlyItem(result)).toEqual({
      itemId: "17793124-05d4-b198-2fde-7ededc63b103",
      objects: [
        {
          bucket: "amzn-s3-demo-bucket1",
          key: "example-key",
          size: 5,
          eTag: "b1946ac92492d2347c6235b4d2611184",
          versionId: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
          sequencer: pad("617F08299329D189"),
          eventTime: "2021-11-12T00:00:00.000Z",
        },
      ],
      malformed: [],
      ignored: [],
    });
  });

  it("decodes its key as notification keys are decoded", () => {
    const item = onlyItem(parseObjectEvents(eventBridgeObjectCreated({ rawKey: "my+file%2B1+%C3%A9.txt" })));
    expect(item.objects[0]?.key).toBe("my file+1 é.txt");
  });

  it.each(AWKWARD_KEYS)("decodes the key %j", (key) => {
    expect(onlyItem(parseObjectEvents(eventBridgeObjectCreated({ key }))).objects[0]?.key).toBe(key);
  });

  it.each(["Object Deleted", "Object Restore Completed", "Object Tags Added"])(
    "ignores %s events",
    (detailType) => {
      const item = onlyItem(parseObjectEvents(eventBridgeObjectCreated({ detailType })));
      expect(item.objects).toEqual([]);
      expect(item.ignored).toEqual([expect.stringContaining(detailType)]);
    },
  );

  it("names an event without an id as the whole event", () => {
    expect(onlyItem(parseObjectEvents(eventBridgeObjectCreated({ id: undefined }))).itemId).toBe("event");
  });

  it("orders an event without a sequencer by its time instead of dropping it", () => {
    const early = onlyItem(
      parseObjectEvents(
        eventBridgeObjectCreated({ sequencer: undefined, eventTime: "2024-05-01T12:00:00.000Z" }),
      ),
    );
    const late = onlyItem(
      parseObjectEvents(
        eventBridgeObjectCreated({ sequencer: undefined, eventTime: "2024-05-01T12:00:00.001Z" }),
      ),
    );
    expect(early.malformed).toEqual([]);
    const [a, b] = [early.objects[0]?.sequencer ?? "", late.objects[0]?.sequencer ?? ""];
    expect(a).toMatch(/^[0-9A-F]{64}$/);
    expect(a < b).toBe(true);
  });
});

describe("parseObjectEvents never throws", () => {
  const throwing = Object.defineProperty({}, "Records", {
    enumerable: true,
    get() {
      throw new Error("boom");
    },
  });
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error("boom");
      },
      getOwnPropertyDescriptor() {
        throw new Error("boom");
      },
      has() {
        throw new Error("boom");
      },
      ownKeys() {
        throw new Error("boom");
      },
    },
  );
  const deepBody = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
  const INPUTS: ReadonlyArray<readonly [string, unknown]> = [
    ["null", null],
    ["undefined", undefined],
    ["a number", 0],
    ["a string", "Records"],
    ["an array", [1, 2, 3]],
    ["an empty object", {}],
    ["Records that is not an array", { Records: null }],
    ["records of every kind", { Records: [null, 1, "x", [], {}, { eventSource: "aws:sns" }] }],
    ["an SQS record with nothing else", { Records: [{ eventSource: "aws:sqs" }] }],
    ["an S3 record with nothing else", { Records: [{ eventSource: "aws:s3" }] }],
    ["an EventBridge source with nothing else", { source: "aws.s3" }],
    ["Records behind __proto__", JSON.parse('{"__proto__": {"Records": [{"eventSource": "aws:s3"}]}}')],
    [
      "constructor and toString as keys",
      JSON.parse('{"constructor": 1, "toString": 2, "Records": [{"__proto__": 1}]}'),
    ],
    ["a throwing getter", throwing],
    ["a hostile proxy", hostile],
    ["a hostile proxy record", { Records: [hostile, sqsMessage(s3TestEvent(), "m-ok")] }],
    ["a hostile proxy in a body", { Records: [{ eventSource: "aws:sqs", messageId: "m", body: hostile }] }],
    ["absurdly nested JSON in a body", sqsEvent(sqsMessage(deepBody, "m-deep"))],
    ["a huge junk body", sqsEvent(sqsMessage("x".repeat(1_000_000), "m-huge"))],
  ];

  it.each(INPUTS)("on %s", (_name, input) => {
    const result = parseObjectEvents(input);
    expectWellFormed(result);
  });

  it("reports an unreadable event as one malformed item", () => {
    expect(parseObjectEvents(hostile)).toEqual({
      sqs: false,
      items: [{ itemId: "event", objects: [], malformed: [expect.any(String)], ignored: [] }],
    });
  });

  it("keeps the readable records beside a hostile one", () => {
    const result = parseObjectEvents({ Records: [hostile, sqsMessage(s3TestEvent(), "m-ok")] });
    expect(result.items.map((item) => item.itemId)).toEqual(["record-0", "m-ok"]);
    expect(result.items[1]?.ignored).toEqual(["s3:TestEvent"]);
  });

  it("never reads an inherited or __proto__ property, nor pollutes prototypes", () => {
    const body =
      '{"__proto__": {"Records": [], "polluted": true}, "constructor": {"prototype": {"polluted": true}}}';
    const item = onlyItem(parseObjectEvents(sqsEvent(sqsMessage(body, "m-proto"))));
    expect(item.malformed).toEqual([expect.stringMatching(/not an S3 or EventBridge event/)]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("survives a few hundred random mutations of valid events", () => {
    const random = seededRandom(20240501);
    const seen = { objects: 0, malformed: 0 };
    for (let round = 0; round < 400; round += 1) {
      const event = mutate(validBatch(), random, 1 + Math.floor(random() * 4));
      let result: ParsedEvents | undefined;
      expect(() => {
        result = parseObjectEvents(event);
      }).not.toThrow();
      if (result) expectWellFormed(result);
      for (const item of result?.items ?? []) {
        seen.objects += item.objects.length;
        seen.malformed += item.malformed.length;
      }
    }
    // The mutations keep some events intact and break others: both paths were exercised.
    expect(seen.objects).toBeGreaterThan(100);
    expect(seen.malformed).toBeGreaterThan(100);
  });
});

/** Every parse result, whatever the input: items with ids, short reasons, objects that hold their promises. */
function expectWellFormed(result: ParsedEvents): void {
  expect(typeof result.sqs).toBe("boolean");
  for (const item of result.items) {
    expect(typeof item.itemId).toBe("string");
    expect(item.itemId.length).toBeGreaterThan(0);
    for (const reason of [...item.malformed, ...item.ignored]) {
      expect(typeof reason).toBe("string");
      expect(reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    }
    for (const object of item.objects) expectValidObject(object);
  }
}

function expectValidObject(object: ObjectCreated): void {
  expect(object.bucket).toMatch(/^[a-z0-9.-]{3,63}$/);
  expect(object.key.length).toBeGreaterThan(0);
  expect(new TextEncoder().encode(object.key).length).toBeLessThanOrEqual(1024);
  expect(object.key).not.toContain("\u0000");
  expect(Number.isSafeInteger(object.size) && object.size >= 0).toBe(true);
  expect(object.sequencer).toMatch(/^[0-9A-F]{64}$/);
  expect(new Date(object.eventTime).toISOString()).toBe(object.eventTime);
}

/** An SQS batch with every body shape, and a direct notification and EventBridge event mixed in. */
function validBatch(): unknown {
  return sqsEvent(
    sqsMessage(s3Notification(s3Record({ key: "in/a b.csv" }), s3Record({ key: "in/c+d.csv" })), "m-1"),
    sqsMessage(eventBridgeObjectCreated({ key: "données/résumé.csv" }), "m-2"),
    sqsMessage(s3TestEvent(), "m-3"),
    sqsMessage(snsEnvelope(s3Notification(s3Record({ key: "sns/x" }))), "m-4"),
    s3Record({ key: "direct" }),
  );
}

const JUNK: readonly unknown[] = [
  null,
  undefined,
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "%",
  "%E9",
  "+",
  "\u0000",
  "\uD800",
  "x".repeat(3000),
  "ObjectCreated:Put",
  "aws:sqs",
  "aws:s3",
  "aws.s3",
  "{",
  "[]",
  '{"Records":[{}]}',
  [],
  [null],
  {},
  { __proto__: null },
  JSON.parse('{"__proto__": {"x": 1}}'),
  { Records: [] },
  { source: "aws.s3", "detail-type": "Object Created" },
  true,
];

/** Applies `count` random edits: replace a node by junk, delete a key, corrupt a body, add odd keys. */
function mutate(value: unknown, random: () => number, count: number): unknown {
  let current = value;
  for (let edit = 0; edit < count; edit += 1) current = mutateOnce(current, random, 0);
  return current;
}

function mutateOnce(value: unknown, random: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  if (depth > 0 && random() < 0.15) return pick(JUNK);
  if (typeof value === "string") {
    // A JSON body: mutate the parsed value, or cut the text.
    const parsed = jsonOrUndefined(value);
    if (parsed !== undefined) {
      if (random() < 0.3) return value.slice(0, Math.floor(random() * value.length));
      return JSON.stringify(mutateOnce(parsed, random, depth + 1));
    }
    return random() < 0.5 ? value + pick(["%", "+", "%00", "%2B", "\uD800", "é"]) : pick(JUNK);
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || random() < 0.1) return [...value, pick(JUNK)];
    const index = Math.floor(random() * value.length);
    const copy = [...value];
    copy[index] = mutateOnce(copy[index], random, depth + 1);
    return copy;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    const roll = random();
    if (entries.length === 0 || roll < 0.1) {
      return Object.fromEntries([
        ...entries,
        [pick(["__proto__", "constructor", "Records", "body", "key"]), pick(JUNK)],
      ]);
    }
    const index = Math.floor(random() * entries.length);
    if (roll < 0.25) return Object.fromEntries(entries.filter((_, at) => at !== index));
    return Object.fromEntries(
      entries.map(([key, inner], at) => [key, at === index ? mutateOnce(inner, random, depth + 1) : inner]),
    );
  }
  return pick(JUNK);
}

function jsonOrUndefined(text: string): unknown {
  try {
    return text.startsWith("{") ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
