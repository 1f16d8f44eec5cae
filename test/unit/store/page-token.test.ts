import { describe, expect, it } from "vitest";
import {
  assertPageTokenSecret,
  decodePageToken,
  EventsPositionSchema,
  encodePageToken,
  pageHistory,
} from "#shared/adapters/aws/page-token.ts";
import type { ClusterEvent } from "#shared/domain/cluster.ts";
import { InvalidNextTokenError } from "#shared/domain/errors.ts";

const SECRET = "unit-test-secret-0123456789";

describe("page tokens", () => {
  it("round-trips a payload under the same scope and secret", () => {
    const payload = { after: "cluster-ü-1", n: 3, nested: [true, null] };

    const token = encodePageToken(payload, "clusters", SECRET);

    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(decodePageToken(token, "clusters", SECRET)).toEqual(payload);
  });

  it("refuses the token under another scope or secret", () => {
    const token = encodePageToken({ after: "a" }, "clusters", SECRET);

    expect(() => decodePageToken(token, "clusters:STATUS#CREATE_COMPLETE", SECRET)).toThrow(
      InvalidNextTokenError,
    );
    expect(() => decodePageToken(token, "clusters", `${SECRET}x`)).toThrow(InvalidNextTokenError);
  });

  it("refuses every single-character change to a token, including ones that decode to the same bytes", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const tokens = ["alpha", "b", "cluster-42"].map((after) =>
      encodePageToken({ after }, "clusters", SECRET),
    );

    for (const token of tokens) {
      for (let i = 0; i < token.length; i++) {
        for (const replacement of alphabet) {
          if (replacement === token[i] || token[i] === ".") continue;
          const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
          expect(() => decodePageToken(tampered, "clusters", SECRET), `${tampered}`).toThrow(
            InvalidNextTokenError,
          );
        }
      }
    }
  });

  it("refuses a payload that does not match the expected shape even when correctly signed", () => {
    const token = encodePageToken({ before: -1 }, "events:x", SECRET);
    const notJson = `${Buffer.from("not json").toString("base64url")}`;

    expect(() => decodePageToken(token, "events:x", SECRET, EventsPositionSchema)).toThrow(
      InvalidNextTokenError,
    );
    expect(() => decodePageToken(`${notJson}.AAAA`, "events:x", SECRET)).toThrow(InvalidNextTokenError);
  });

  it("requires a secret of at least 16 characters", () => {
    expect(() => assertPageTokenSecret("0123456789abcde")).toThrow(/at least 16/);
    expect(() => assertPageTokenSecret("0123456789abcdef")).not.toThrow();
  });
});

describe("pageHistory", () => {
  const history: ClusterEvent[] = Array.from({ length: 5 }, (_, i) => ({
    at: `2024-05-01T10:0${i}:00.000Z`,
    status: "CREATE_IN_PROGRESS",
    source: "api",
    reason: `e${i}`,
  }));

  it("pages newest first and refuses a position past the end of the history", () => {
    const first = pageHistory(history, "id-1", { limit: 2 }, SECRET);
    const second = pageHistory(history, "id-1", { limit: 2, nextToken: first.nextToken }, SECRET);
    const beyond = encodePageToken({ before: 6 }, "events:id-1", SECRET);

    expect(first.items.map((e) => e.reason)).toEqual(["e4", "e3"]);
    expect(second.items.map((e) => e.reason)).toEqual(["e2", "e1"]);
    expect(() => pageHistory(history, "id-1", { limit: 2, nextToken: beyond }, SECRET)).toThrow(
      InvalidNextTokenError,
    );
  });

  it("rejects a limit that is not a positive integer", () => {
    expect(() => pageHistory(history, "id-1", { limit: 0 }, SECRET)).toThrow(RangeError);
    expect(() => pageHistory(history, "id-1", { limit: 1.5 }, SECRET)).toThrow(RangeError);
  });
});
