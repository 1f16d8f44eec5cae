import { describe, expect, it } from "vitest";
import { RequestValidationError } from "#shared/domain/errors.ts";
import {
  parseSlurmTime,
  parseSubmitJobParameters,
  type SubmitJobOptions,
  submittedLines,
} from "#shared/domain/pcluster-command.ts";

describe("parseSlurmTime", () => {
  it.each<[string, number]>([
    ["0", 0],
    ["1", 60],
    ["90", 5400],
    ["5:30", 330],
    ["0:59", 59],
    ["1:00:00", 3600],
    ["12:34:56", 45296],
    ["2-0", 172800],
    ["1-12", 129600],
    ["1-2:30", 95400],
    ["1-2:03:04", 93784],
    ["0-0:1:0", 60],
  ])("reads %j as %i seconds", (text, seconds) => {
    expect(parseSlurmTime(text)).toBe(seconds);
  });

  it.each([
    "",
    "abc",
    "-5",
    "1-",
    "-1:00",
    "1:2:3:4",
    "1-2:3:4:5",
    "1.5",
    " 5",
    "5 ",
    "1:",
    "UNLIMITED",
    "1-2-3",
  ])("does not read %j", (text) => {
    expect(parseSlurmTime(text)).toBeUndefined();
  });
});

describe("parseSubmitJobParameters", () => {
  it.each<[string | undefined, SubmitJobOptions]>([
    [undefined, {}],
    ["", {}],
    ["  ", {}],
    ["--nowait", {}],
    ["-nw", {}],
    ["--job-name sim", { name: "sim" }],
    ["--job-name=sim_2-b", { name: "sim_2-b" }],
    ["-J sim", { name: "sim" }],
    ["\u2014job-name sim", { name: "sim" }],
    ["\u2013job-name=sim", { name: "sim" }],
    [`--job-name ${"a".repeat(128)}`, { name: "a".repeat(128) }],
    ["--array 5", { arraySize: 5 }],
    ["--array=2", { arraySize: 2 }],
    ["-a 10000", { arraySize: 10000 }],
    ["--array 0-9", { arraySize: 10 }],
    ["--array=0-1", { arraySize: 2 }],
    ["--array 0-9999", { arraySize: 10000 }],
    ["--nodes 4", { nodes: 4 }],
    ["-N 1", { nodes: 1 }],
    ["--nodes=1000", { nodes: 1000 }],
    ["--time 90", { timeoutSeconds: 5400 }],
    ["--time 1", { timeoutSeconds: 60 }],
    ["-t 1:00:00", { timeoutSeconds: 3600 }],
    ["--time=1-0", { timeoutSeconds: 86400 }],
    [
      "--nowait --job-name=cfd -a 0-4 -N 2 --time 10",
      { name: "cfd", arraySize: 5, nodes: 2, timeoutSeconds: 600 },
    ],
    ["--job-name first --job-name second", { name: "second" }],
    ["--job-name\tsim\n--nodes  3", { name: "sim", nodes: 3 }],
  ])("reads %j as %j", (header, options) => {
    expect(parseSubmitJobParameters(header)).toEqual(options);
  });

  it.each<[string, string]>([
    ["--job-name", "--job-name: needs a value"],
    ["--job-name=", "--job-name: needs a value"],
    ["-J", "-J: needs a value"],
    ["--job-name x;reboot", "--job-name: takes 1-128 letters, digits, '-' and '_'"],
    ["--job-name $(id)", "--job-name: takes 1-128 letters, digits, '-' and '_'"],
    ["--job-name -x", "--job-name: takes 1-128 letters, digits, '-' and '_'"],
    ["--job-name --array", "--job-name: takes 1-128 letters, digits, '-' and '_'"],
    ["--job-name=a=b", "--job-name: takes 1-128 letters, digits, '-' and '_'"],
    [`--job-name ${"a".repeat(129)}`, "--job-name: takes 1-128 letters, digits, '-' and '_'"],
    ["--array 1", "--array: takes a size from 2 to 10000, or a range 0-N"],
    ["--array 10001", "--array: takes a size from 2 to 10000, or a range 0-N"],
    ["--array 0-0", "--array: takes a size from 2 to 10000, or a range 0-N"],
    ["--array 0-10000", "--array: takes a size from 2 to 10000, or a range 0-N"],
    ["--array 1-5", "--array: takes a size from 2 to 10000, or a range 0-N"],
    ["-a 0-4%2", "-a: takes a size from 2 to 10000, or a range 0-N"],
    ["--array", "--array: needs a value"],
    ["--nodes 0", "--nodes: takes a node count from 1 to 1000"],
    ["--nodes 1001", "--nodes: takes a node count from 1 to 1000"],
    ["--nodes 1.5", "--nodes: takes a node count from 1 to 1000"],
    ["-N two", "-N: takes a node count from 1 to 1000"],
    ["--time 0:59", "--time: takes a time limit of at least 1 minute (minutes, HH:MM:SS or D-HH:MM:SS)"],
    ["-t soon", "-t: takes a time limit of at least 1 minute (minutes, HH:MM:SS or D-HH:MM:SS)"],
    ["--time 0", "--time: takes a time limit of at least 1 minute (minutes, HH:MM:SS or D-HH:MM:SS)"],
  ])("refuses %j, saying %j", (header, message) => {
    let thrown: unknown;
    try {
      parseSubmitJobParameters(header);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(RequestValidationError);
    expect((thrown as RequestValidationError).issues).toEqual([
      { path: "header.additional_parameters", message },
    ]);
  });

  it.each(["--partition=gpu", "--norollback", "; rm -rf /", "--nowait&&id", "-J=ok extra"])(
    "refuses %j as a flag that is not accepted",
    (header) => {
      let thrown: unknown;
      try {
        parseSubmitJobParameters(header);
      } catch (error) {
        thrown = error;
      }

      expect(thrown).toBeInstanceOf(RequestValidationError);
      const [issue] = (thrown as RequestValidationError).issues;
      expect(issue?.path).toBe("header.additional_parameters");
      expect(issue?.message).toContain("is not an accepted flag");
    },
  );

  it("shortens a long unknown flag in its message", () => {
    const long = `--${"x".repeat(100)}`;

    expect(() => parseSubmitJobParameters(long)).toThrow(`"${long.slice(0, 40)}…"`);
  });
});

describe("submittedLines", () => {
  it("answers as sbatch does", () => {
    expect(submittedLines("01HWSSHG800000000000000001")).toEqual([
      "Submitted batch job 01HWSSHG800000000000000001",
    ]);
  });
});
