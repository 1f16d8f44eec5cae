import { describe, expect, it } from "vitest";
import type { ObjectCreated } from "#shared/domain/s3-event.ts";
import type { TriggerRule } from "#shared/domain/trigger.ts";
import { directoryOf, isBatchMarker, matchRule } from "#shared/domain/trigger-matching.ts";

type Rule = Pick<TriggerRule, "prefix" | "suffix" | "mode">;

/** A URI builder that shows what it was asked for. */
const uriFor = (bucket: string, key: string, isPrefix: boolean) =>
  `${isPrefix ? "dir" : "obj"}:${bucket}:${key}`;

function object(key: string, size = 2048): ObjectCreated {
  return {
    bucket: "input-bucket",
    key,
    size,
    eTag: "d41d8cd98f00b204e9800998ecf8427e",
    sequencer: "0A".padEnd(64, "0"),
    eventTime: "2024-05-01T12:00:00.000Z",
  };
}

function rule(mode: Rule["mode"], prefix?: string, suffix?: string): Rule {
  return { mode, ...(prefix === undefined ? {} : { prefix }), ...(suffix === undefined ? {} : { suffix }) };
}

describe("directoryOf", () => {
  it.each([
    ["file.csv", ""],
    ["in/file.csv", "in/"],
    ["in/sub/file.csv", "in/sub/"],
    ["in/sub/", "in/sub/"],
    ["", ""],
    ["données/résumé ü.csv", "données/"],
  ])("gives %j the directory %j", (key, directory) => {
    expect(directoryOf(key)).toBe(directory);
  });
});

describe("isBatchMarker", () => {
  it.each([
    [undefined, "_SUCCESS", true],
    [undefined, "in/b1/_SUCCESS", true],
    [undefined, "in/b1/my_SUCCESS", false],
    [undefined, "in/b1/_SUCCESS.txt", false],
    [undefined, "in/b1/_success", false],
    [undefined, "in/b1/_SUCCESS/part-0", false],
    ["", "in/_SUCCESS", true],
    [".done", "in/b1/batch.done", true],
    [".done", "in/b1/_SUCCESS", false],
    ["manifest.json", "in/b1/manifest.json", true],
  ])("with suffix %j, %j is a marker: %s", (suffix, key, marker) => {
    expect(isBatchMarker(suffix === undefined ? {} : { suffix }, key)).toBe(marker);
  });
});

describe("matchRule per object", () => {
  const CASES: ReadonlyArray<readonly [string, Rule, string, boolean]> = [
    ["any key without filters", rule("per-object"), "a.csv", true],
    ["a key under the prefix", rule("per-object", "data/"), "data/x.csv", true],
    ["a deeper key under the prefix", rule("per-object", "data/"), "data/2024/05/x.csv", true],
    ["the prefix without its slash", rule("per-object", "data/"), "data", false],
    ["another case than the prefix", rule("per-object", "data/"), "Data/x.csv", false],
    ["a sibling that shares the letters", rule("per-object", "data/"), "database/x.csv", false],
    ["a prefix without slash, as S3 filters do", rule("per-object", "data"), "database.csv", true],
    ["the suffix", rule("per-object", undefined, ".csv"), "x.csv", true],
    ["another case than the suffix", rule("per-object", undefined, ".csv"), "x.CSV", false],
    ["a longer extension", rule("per-object", undefined, ".csv"), "x.csv.gz", false],
    ["prefix and suffix", rule("per-object", "in/", ".csv"), "in/x.csv", true],
    ["prefix but not suffix", rule("per-object", "in/", ".csv"), "in/x.json", false],
    ["suffix but not prefix", rule("per-object", "in/", ".csv"), "out/x.csv", false],
    ["a prefix and suffix that overlap", rule("per-object", "ab", "bc"), "abc", true],
    ["a unicode prefix", rule("per-object", "données/"), "données/résumé ü.csv", true],
    ["an empty prefix and suffix", rule("per-object", "", ""), "anything", true],
    ["a folder placeholder", rule("per-object"), "in/", false],
    ["a folder placeholder under the prefix", rule("per-object", "in/"), "in/sub/", false],
    ["a folder placeholder ending with the suffix", rule("per-object", undefined, "/"), "in/", false],
  ];

  it.each(CASES)("%s: matches is %s", (_name, theRule, key, matches) => {
    expect(matchRule(theRule, object(key), uriFor).kind).toBe(matches ? "job" : "no-match");
  });

  it("hands the job the object's URI, bucket, key, directory and size", () => {
    expect(matchRule(rule("per-object", "in/"), object("in/run 1/x+y.csv", 123), uriFor)).toEqual({
      kind: "job",
      input: {
        uri: "obj:input-bucket:in/run 1/x+y.csv",
        bucket: "input-bucket",
        key: "in/run 1/x+y.csv",
        prefix: "in/run 1/",
        size: "123",
      },
    });
  });

  it("gives a key at the bucket's root an empty prefix", () => {
    const match = matchRule(rule("per-object"), object("root.csv"), uriFor);
    expect(match.kind === "job" && match.input.prefix).toBe("");
  });
});

describe("matchRule per batch", () => {
  const CASES: ReadonlyArray<readonly [string, Rule, string, "job" | "accumulate" | "no-match", string?]> = [
    ["the default marker closes its directory", rule("per-batch", "in/"), "in/b1/_SUCCESS", "job", "in/b1/"],
    ["a marker right under the prefix", rule("per-batch", "in/"), "in/_SUCCESS", "job", "in/"],
    ["a marker at the root without prefix", rule("per-batch"), "_SUCCESS", "job", ""],
    ["a deep marker", rule("per-batch", "in/"), "in/2024/05/01/_SUCCESS", "job", "in/2024/05/01/"],
    ["a data object", rule("per-batch", "in/"), "in/b1/part-00000.parquet", "accumulate"],
    ["a name that only ends like the marker", rule("per-batch", "in/"), "in/b1/my_SUCCESS", "accumulate"],
    ["the marker in another case", rule("per-batch", "in/"), "in/b1/_success", "accumulate"],
    [
      "a key inside a directory named like the marker",
      rule("per-batch", "in/"),
      "in/_SUCCESS/x",
      "accumulate",
    ],
    ["a marker outside the prefix", rule("per-batch", "in/"), "out/b1/_SUCCESS", "no-match"],
    ["a data object outside the prefix", rule("per-batch", "in/"), "out/b1/part-0", "no-match"],
    ["a folder placeholder", rule("per-batch", "in/"), "in/b1/", "no-match"],
    ["the suffix as marker", rule("per-batch", "in/", ".manifest"), "in/b1/run.manifest", "job", "in/b1/"],
    [
      "the default marker when a suffix is named",
      rule("per-batch", "in/", ".manifest"),
      "in/b1/_SUCCESS",
      "accumulate",
    ],
    [
      "a data object when a suffix is named",
      rule("per-batch", "in/", ".manifest"),
      "in/b1/part-0",
      "accumulate",
    ],
    ["a suffix marker at the root", rule("per-batch", undefined, "DONE"), "DONE", "job", ""],
    [
      "an empty suffix means the default marker",
      rule("per-batch", "in/", ""),
      "in/b/_SUCCESS",
      "job",
      "in/b/",
    ],
  ];

  for (const [name, theRule, key, kind, directory] of CASES) {
    it(`${name}: ${kind}`, () => {
      const match = matchRule(theRule, object(key), uriFor);
      expect(match.kind).toBe(kind);
      if (match.kind === "job") expect(match.input.prefix).toBe(directory);
    });
  }

  it("hands the job the batch directory's URI, and the marker's key and size", () => {
    expect(matchRule(rule("per-batch", "in/"), object("in/run 7/_SUCCESS", 0), uriFor)).toEqual({
      kind: "job",
      input: {
        uri: "dir:input-bucket:in/run 7/",
        bucket: "input-bucket",
        key: "in/run 7/_SUCCESS",
        prefix: "in/run 7/",
        size: "0",
      },
    });
  });

  it("turns a thousand data objects and one marker into exactly one job", () => {
    const theRule = rule("per-batch", "in/");
    const keys = [...Array.from({ length: 1000 }, (_, index) => `in/b1/part-${index}`), "in/b1/_SUCCESS"];
    const kinds = keys.map((key) => matchRule(theRule, object(key), uriFor).kind);
    expect(kinds.filter((kind) => kind === "job")).toHaveLength(1);
    expect(kinds.filter((kind) => kind === "accumulate")).toHaveLength(1000);
  });
});
