import { describe, expect, it } from "vitest";
import { parseCommandArgs, splitCommandLine } from "../../../cli/args.ts";
import { submitRequest } from "../../../cli/commands/jobs.ts";
import { COMMANDS } from "../../../cli/main.ts";
import { cli } from "./cli-harness.ts";

function commandOf(path: string) {
  const command = COMMANDS.find((candidate) => candidate.spec.path.join(" ") === path);
  if (!command) throw new Error(`no command ${path}`);
  return command;
}

function parse(argv: readonly string[]) {
  const split = splitCommandLine(argv, "top usage");
  return parseCommandArgs(commandOf(`${split.group} ${split.command}`).spec, split);
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: a trigger placeholder, which hpcctl passes on as typed
const URI = "${input.uri}";

/** A valid line for every command, with the values parsing must find. */
const VALID: ReadonlyArray<
  [readonly string[], Record<string, string>, Record<string, unknown>, readonly string[]]
> = [
  [
    [
      "clusters",
      "create",
      "cfd",
      "--config",
      "c.yaml",
      "--wait",
      "--dry-run",
      "--tag",
      "a=1",
      "--tag",
      "b=2",
    ],
    { NAME: "cfd" },
    { config: "c.yaml", wait: true, "dry-run": true, tag: ["a=1", "b=2"] },
    [],
  ],
  [
    ["clusters", "ensure", "burst", "-c", "b.yaml", "-w"],
    { NAME: "burst" },
    { config: "b.yaml", wait: true },
    [],
  ],
  [["clusters", "list", "--status", "CREATE_FAILED"], {}, { status: "CREATE_FAILED" }, []],
  [["clusters", "get", "cfd"], { NAME: "cfd" }, {}, []],
  [["clusters", "delete", "cfd", "--wait"], { NAME: "cfd" }, { wait: true }, []],
  [
    ["clusters", "events", "cfd", "--follow", "--source", "stack"],
    { NAME: "cfd" },
    { follow: true, source: "stack" },
    [],
  ],
  [
    [
      "jobs",
      "submit",
      "cfd",
      "--name",
      "hello",
      "--array",
      "4",
      "--retry-attempts",
      "3",
      "--timeout",
      "600",
      "--env",
      "A=1",
      "--",
      "echo",
      "-n",
      "hi",
    ],
    { CLUSTER: "cfd" },
    { name: "hello", array: "4", "retry-attempts": "3", timeout: "600", env: ["A=1"] },
    ["echo", "-n", "hi"],
  ],
  [
    ["jobs", "get", "cfd", "01JHMT19E0DXJJAB0872XDCNPE"],
    { CLUSTER: "cfd", JOB_ID: "01JHMT19E0DXJJAB0872XDCNPE" },
    {},
    [],
  ],
  [["jobs", "list", "cfd", "--status", "RUNNING"], { CLUSTER: "cfd" }, { status: "RUNNING" }, []],
  [
    ["jobs", "logs", "cfd", "01JHMT19E0DXJJAB0872XDCNPE", "-f", "--attempt", "2"],
    { CLUSTER: "cfd", JOB_ID: "01JHMT19E0DXJJAB0872XDCNPE" },
    { follow: true, attempt: "2" },
    [],
  ],
  [
    ["jobs", "cancel", "cfd", "01JHMT19E0DXJJAB0872XDCNPE"],
    { CLUSTER: "cfd", JOB_ID: "01JHMT19E0DXJJAB0872XDCNPE" },
    {},
    [],
  ],
  [["jobs", "run", "cfd", "--script", "job.sh"], { CLUSTER: "cfd" }, { script: "job.sh" }, []],
  [
    ["jobs", "run", "cfd", "--", "sh", "-c", "echo hi; exit 3"],
    { CLUSTER: "cfd" },
    {},
    ["sh", "-c", "echo hi; exit 3"],
  ],
  [
    [
      "triggers",
      "create",
      "thumbs",
      "--bucket",
      "photos",
      "--cluster",
      "img",
      "--mode",
      "per-batch",
      "--env",
      `IN=${URI}`,
      "--",
      "convert",
      URI,
    ],
    { NAME: "thumbs" },
    { bucket: "photos", cluster: "img", mode: "per-batch", env: [`IN=${URI}`] },
    ["convert", URI],
  ],
  [["triggers", "list"], {}, {}, []],
  [["triggers", "get", "thumbs"], { NAME: "thumbs" }, {}, []],
  [["triggers", "delete", "thumbs"], { NAME: "thumbs" }, {}, []],
];

describe("argument parsing", () => {
  it("covers every command with a valid line", () => {
    const covered = new Set(VALID.map(([argv]) => `${argv[0]} ${argv[1]}`));
    expect([...covered].sort()).toEqual(COMMANDS.map((command) => command.spec.path.join(" ")).sort());
  });

  it.each(VALID)("parses %j", (argv, positionals, values, trailing) => {
    const parsed = parse(argv);
    expect(parsed.positionals).toEqual(positionals);
    expect(parsed.values).toMatchObject(values);
    expect(parsed.trailing).toEqual(trailing);
  });

  it("reads global options before the command words and after them", () => {
    const before = parse(["--endpoint", "http://h:1", "-o", "json", "clusters", "list"]);
    expect(before.global).toMatchObject({ endpoint: "http://h:1", output: "json", quiet: false });
    const after = parse(["clusters", "list", "--output", "json", "--endpoint=http://h:2", "-q"]);
    expect(after.global).toMatchObject({ endpoint: "http://h:2", output: "json", quiet: true });
  });

  it("leaves everything after -- to the job, options included", () => {
    const parsed = parse(["jobs", "run", "cfd", "--name", "x", "--", "ls", "--help", "-la"]);
    expect(parsed.trailing).toEqual(["ls", "--help", "-la"]);
    expect(parsed.global.help).toBe(false);
  });
});

describe("usage errors exit 2 before any request, with a one-line message and the command's usage", () => {
  const cases: ReadonlyArray<[string, readonly string[], RegExp]> = [
    ["no command at all", [], /^hpcctl: missing a command$/m],
    ["an unknown group", ["nodes", "list"], /unknown command 'nodes'/],
    ["a group without its command", ["clusters"], /missing a clusters command/],
    ["an unknown command", ["clusters", "resize", "x"], /unknown command 'clusters resize'/],
    ["an unknown option", ["clusters", "list", "--bogus"], /Unknown option '--bogus'/],
    ["an unknown option before the command", ["--bogus", "clusters", "list"], /unknown option '--bogus'/],
    ["a missing NAME", ["clusters", "get"], /missing NAME/],
    ["a missing --config", ["clusters", "create", "cfd"], /missing --config/],
    ["a missing JOB_ID", ["jobs", "get", "cfd"], /missing JOB_ID/],
    ["an extra argument", ["clusters", "get", "a", "b"], /unexpected argument 'b'/],
    ["a command without --", ["jobs", "submit", "cfd", "echo", "hi"], /put the job's command after '--'/],
    [
      "words after -- where no command is taken",
      ["clusters", "get", "a", "--", "x"],
      /unexpected arguments after '--'/,
    ],
    ["neither a script nor a command", ["jobs", "submit", "cfd"], /missing the job/],
    ["both a script and a command", ["jobs", "run", "cfd", "--script", "a.sh", "--", "true"], /not both/],
    ["a bad --output", ["clusters", "list", "-o", "yaml"], /--output must be one of table, json/],
    [
      "a bad --status",
      ["clusters", "list", "--status", "RUNNING"],
      /--status must be one of CREATE_IN_PROGRESS/,
    ],
    ["a bad job --status", ["jobs", "list", "cfd", "--status", "DONE"], /--status must be one of SUBMITTED/],
    [
      "a non-numeric --array",
      ["jobs", "submit", "cfd", "--array", "ten", "--", "true"],
      /--array takes a whole number/,
    ],
    ["an --env without =", ["jobs", "submit", "cfd", "--env", "A", "--", "true"], /--env takes KEY=VALUE/],
    [
      "a --tag without =",
      ["clusters", "create", "c", "--config", "c.yaml", "--tag", "x"],
      /--tag takes KEY=VALUE/,
    ],
    [
      "an unreadable --config",
      ["clusters", "create", "c", "--config", "missing.yaml"],
      /cannot read the configuration file 'missing.yaml' \(ENOENT\)/,
    ],
    ["a string option without its value", ["clusters", "create", "c", "--config"], /--config/],
    [
      "a bad --source",
      ["clusters", "events", "c", "--source", "cfn"],
      /--source must be one of status, stack/,
    ],
    ["a bad endpoint", ["--endpoint", "ftp://x", "clusters", "list"], /not an http:\/\/ or https:\/\/ URL/],
  ];

  it.each(cases)("%s", async (_, argv, message) => {
    const run = await cli(argv, { files: { "c.yaml": "HeadNode: {}\n" } });
    expect(run.code).toBe(2);
    expect(run.seen).toHaveLength(0);
    expect(run.stdout).toBe("");
    const [first] = run.stderr.split("\n");
    expect(first).toMatch(/^hpcctl: /);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage: hpcctl/);
  });
});

describe("--help", () => {
  it.each(COMMANDS.map((command) => command.spec.path.join(" ")))(
    "prints the usage of '%s' with examples and exits 0",
    async (path) => {
      const run = await cli([...path.split(" "), "--help"]);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
      expect(run.stdout).toContain(`Usage: hpcctl ${path}`);
      expect(run.stdout).toMatch(/Examples:\n {2}hpcctl /);
    },
  );

  it("wins over missing arguments and unknown options", async () => {
    expect((await cli(["clusters", "create", "--help"])).code).toBe(0);
    expect((await cli(["jobs", "logs", "-h", "--nope"])).code).toBe(0);
  });

  it("lists every command and the exit codes at the top level, and a group's commands for a group", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`hpcctl ${command.spec.path.join(" ")}`);
    expect(top.stdout).toMatch(/Exit codes:/);
    const group = await cli(["jobs", "--help"]);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("hpcctl jobs run");
    expect(group.stdout).not.toContain("hpcctl clusters create");
  });
});

describe("the submit request built from the command line", () => {
  const readFile = async (path: string) => {
    if (path === "job.sh") return Buffer.from("#!/bin/sh\necho 'quoted' $HOME\n");
    throw Object.assign(new Error("nope"), { code: "ENOENT" });
  };

  it("sends the words after -- as the command, and the options as typed fields", async () => {
    const args = parse([
      "jobs",
      "submit",
      "cfd",
      "--array",
      "4",
      "--retry-attempts",
      "3",
      "--timeout",
      "600",
      "--env",
      "A=1",
      "--env",
      "B=x=y",
      "--",
      "sh",
      "-c",
      "echo hi; exit 3",
    ]);
    const body = await submitRequest({ readFile }, args, "usage");
    expect(body).toMatchObject({
      name: "sh",
      command: ["sh", "-c", "echo hi; exit 3"],
      environment: { A: "1", B: "x=y" },
      arraySize: 4,
      retryStrategy: { attempts: 3 },
      timeoutSeconds: 600,
    });
    expect(body).not.toHaveProperty("script");
    expect(body.clientToken).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it("sends a script as base64, named after its file unless --name says otherwise", async () => {
    const body = await submitRequest(
      { readFile },
      parse(["jobs", "run", "cfd", "--script", "job.sh"]),
      "usage",
    );
    expect(body).toMatchObject({ name: "job-sh", scriptEncoding: "base64" });
    expect(Buffer.from(String(body.script), "base64").toString()).toBe("#!/bin/sh\necho 'quoted' $HOME\n");
    const named = await submitRequest(
      { readFile },
      parse(["jobs", "run", "cfd", "-n", "mine", "--script", "job.sh"]),
      "u",
    );
    expect(named.name).toBe("mine");
  });

  it("gives every submission its own client token", async () => {
    const args = parse(["jobs", "submit", "cfd", "--", "true"]);
    const first = await submitRequest({ readFile }, args, "usage");
    const second = await submitRequest({ readFile }, args, "usage");
    expect(first.clientToken).not.toBe(second.clientToken);
  });
});
