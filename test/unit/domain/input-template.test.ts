// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders and shell expansions are literal text under test
import { describe, expect, it } from "vitest";
import {
  INPUT_ENVIRONMENT,
  jobNameFrom,
  renderJob,
  SAMPLE_SIZE,
  sampleInput,
  sampleKey,
  templatePlaceholderIssues,
} from "#shared/domain/input-template.ts";
import { JOB_NAME, type JobSpec } from "#shared/domain/job.ts";
import type { JobTemplate, TriggerInput, TriggerRule } from "#shared/domain/trigger.ts";
import { matchRule } from "#shared/domain/trigger-matching.ts";
import { seededRandom } from "../../support/seeded-random.ts";

const ALL_PLACEHOLDERS = "${input.uri}, ${input.bucket}, ${input.key}, ${input.prefix}, ${input.size}";

function template(spec: Partial<JobSpec> = {}, name = "job-${input.key}"): JobTemplate {
  return {
    name,
    spec: { command: ["echo", "hello"], environment: {}, dependsOn: [], ...spec },
  };
}

const INPUT: TriggerInput = {
  uri: "s3://input-bucket/in/run 1/data.csv",
  bucket: "input-bucket",
  key: "in/run 1/data.csv",
  prefix: "in/run 1/",
  size: "2048",
};

function withKey(key: string): TriggerInput {
  return { ...INPUT, key, uri: `s3://input-bucket/${key}` };
}

describe("templatePlaceholderIssues", () => {
  it("finds nothing wrong in a template that uses every known placeholder", () => {
    const job = template(
      {
        command: ["proc", "--in", "${input.uri}", "--size=${input.size}"],
        environment: { BUCKET: "${input.bucket}", WHERE: "${input.prefix}${input.key}" },
      },
      "proc-${input.key}",
    );
    expect(templatePlaceholderIssues(job)).toEqual([]);
  });

  it("reports an unknown placeholder in a command element by its index", () => {
    const issues = templatePlaceholderIssues(template({ command: ["proc", "${input.uri}", "${input.foo}"] }));
    expect(issues).toEqual([
      {
        path: "body.job.command[2]",
        message: `unknown placeholder \${input.foo}: use one of ${ALL_PLACEHOLDERS}.`,
      },
    ]);
  });

  it.each([
    ["a field in another case", "${input.Key}"],
    ["an input without field", "${input}"],
    ["an input with an empty field", "${input.}"],
    ["a nested field", "${input.key.name}"],
    ["a shell default inside the braces", "${input.uri:-none}"],
  ])("reports %s as unknown", (_name, placeholder) => {
    expect(templatePlaceholderIssues(template({ environment: { FOO: placeholder } }))).toEqual([
      {
        path: "body.job.environment.FOO",
        message: expect.stringContaining(`unknown placeholder ${placeholder}`),
      },
    ]);
  });

  it("reports an unknown placeholder in the name", () => {
    expect(templatePlaceholderIssues(template({}, "run-${input.file}"))).toEqual([
      { path: "body.job.name", message: expect.stringContaining("${input.file}") },
    ]);
  });

  it.each([
    ["a shell variable", "${HOME}"],
    ["a shell default", "${1:-x}"],
    ["a positional parameter", "$1"],
    ["a variable that starts with input", "${inputs}"],
    ["a placeholder with spaces", "${ input.uri }"],
    ["a dollar before a known placeholder", "$${input.uri}"],
    ["an unclosed placeholder", "${input.uri"],
    ["an HPC variable", "$HPC_INPUT_KEY"],
  ])("leaves %s alone", (_name, text) => {
    const job = template({ command: ["sh", text], environment: { X: text } }, `n${text}`);
    expect(templatePlaceholderIssues(job)).toEqual([]);
  });

  it("reports each distinct unknown placeholder once per place", () => {
    const issues = templatePlaceholderIssues(
      template({ command: ["process", "${input.a}-${input.a}-${input.b}"] }),
    );
    expect(issues.map((issue) => issue.message)).toEqual([
      expect.stringContaining("${input.a}"),
      expect.stringContaining("${input.b}"),
    ]);
  });

  it("collects the issues of every place", () => {
    const job = template(
      { command: ["process", "${input.x}"], environment: { A: "ok", B: "${input.y}" } },
      "${input.z}",
    );
    expect(templatePlaceholderIssues(job).map((issue) => issue.path)).toEqual([
      "body.job.name",
      "body.job.command[1]",
      "body.job.environment.B",
    ]);
  });

  it("refuses any placeholder in the program itself: an uploader must not choose what runs", () => {
    for (const program of ["${input.key}", "/opt/${input.prefix}run"]) {
      expect(templatePlaceholderIssues(template({ command: [program, "x"] }))).toEqual([
        {
          path: "body.job.command[0]",
          message: expect.stringContaining("the program cannot come from the event"),
        },
      ]);
    }
    expect(templatePlaceholderIssues(template({ command: ["/opt/run", "${input.key}"] }))).toEqual([]);
  });

  it("puts the issues under the path it is given", () => {
    expect(templatePlaceholderIssues(template({ command: ["${input.nope}"] }), "job")[0]?.path).toBe(
      "job.command[0]",
    );
  });

  it("reports a known placeholder in a script, naming the variable to read instead", () => {
    const job = template({ command: undefined, script: 'aws s3 cp "${input.uri}" /tmp/in\n' });
    expect(templatePlaceholderIssues(job)).toEqual([
      { path: "body.job.script", message: expect.stringContaining("read $HPC_INPUT_URI instead") },
    ]);
  });

  it("reports an unknown placeholder in a script, listing every input variable", () => {
    const job = template({ command: undefined, script: "echo ${input.nope}" });
    const [issue] = templatePlaceholderIssues(job);
    expect(issue?.path).toBe("body.job.script");
    for (const variable of Object.values(INPUT_ENVIRONMENT)) expect(issue?.message).toContain(`$${variable}`);
  });

  it("accepts a script that uses shell expansions and the input variables", () => {
    const script = 'set -eu\nIN="${HPC_INPUT_URI}"\necho "${HOME:-/root}" "$1" "${#IN}" "$HPC_INPUT_SIZE"\n';
    expect(templatePlaceholderIssues(template({ command: undefined, script }))).toEqual([]);
  });
});

describe("renderJob", () => {
  it("substitutes the name, command elements and environment values, and adds the input", () => {
    const job = template(
      {
        command: ["proc", "--in=${input.uri}", "${input.size}"],
        environment: { WHERE: "${input.bucket}:${input.prefix}", PLAIN: "x" },
        vcpus: 2,
      },
      "proc-${input.key}",
    );
    expect(renderJob(job, INPUT)).toEqual({
      name: "proc-in-run-1-data-csv",
      spec: {
        command: ["proc", "--in=s3://input-bucket/in/run 1/data.csv", "2048"],
        environment: {
          HPC_INPUT_URI: INPUT.uri,
          HPC_INPUT_BUCKET: INPUT.bucket,
          HPC_INPUT_KEY: INPUT.key,
          HPC_INPUT_PREFIX: INPUT.prefix,
          HPC_INPUT_SIZE: INPUT.size,
          WHERE: "input-bucket:in/run 1/",
          PLAIN: "x",
        },
        vcpus: 2,
        dependsOn: [],
        inputUri: INPUT.uri,
      },
    });
  });

  it("never touches a script", () => {
    const script = 'echo "${input.uri}" "$HPC_INPUT_URI" ${HOME}\n';
    const { spec } = renderJob(template({ command: undefined, script }), INPUT);
    expect(spec.script).toBe(script);
    expect(spec).not.toHaveProperty("command");
  });

  it("lets the template's own variables win over the input variables", () => {
    const { spec } = renderJob(template({ environment: { HPC_INPUT_KEY: "mine-${input.size}" } }), INPUT);
    expect(spec.environment.HPC_INPUT_KEY).toBe("mine-2048");
    expect(spec.environment.HPC_INPUT_URI).toBe(INPUT.uri);
  });

  it("substitutes in one pass: a value that reads like a placeholder stays as it is", () => {
    const { spec } = renderJob(
      template({ command: ["${input.key}", "${input.bucket}"] }),
      withKey("${input.bucket}"),
    );
    expect(spec.command).toEqual(["${input.bucket}", "input-bucket"]);
  });

  it("keeps replacement patterns in values verbatim", () => {
    const key = "a$&b$1c$$d$`e$'f";
    expect(renderJob(template({ command: ["${input.key}"] }), withKey(key)).spec.command).toEqual([key]);
  });

  it("keeps a value with spaces, quotes and semicolons as one argv element", () => {
    const key = `in/a b "c" 'd'; rm -rf / && echo $(id) | tee \`x\``;
    const { spec } = renderJob(template({ command: ["proc", "--in=${input.key}", "--flag"] }), withKey(key));
    expect(spec.command).toEqual(["proc", `--in=${key}`, "--flag"]);
  });

  it("leaves shell expansions and unknown placeholders as they are", () => {
    const command = ["sh", "-c", 'echo "${HOME}" $1 ${1:-x} ${inputs} ${input.nope}'];
    expect(renderJob(template({ command }), INPUT).spec.command).toEqual(command);
  });

  it("substitutes after a literal dollar", () => {
    expect(renderJob(template({ command: ["$${input.size}"] }), INPUT).spec.command).toEqual(["$2048"]);
  });

  it("keeps an environment variable named __proto__", () => {
    const { spec } = renderJob(
      template({ environment: Object.fromEntries([["__proto__", "${input.size}"]]) }),
      INPUT,
    );
    expect(Object.hasOwn(spec.environment, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(spec.environment, "__proto__")?.value).toBe("2048");
  });

  it("drops dependencies and replaces any inputUri of the template", () => {
    const job = template({ dependsOn: [{ jobId: "01ABC" }], inputUri: "s3://other/x" });
    const { spec } = renderJob(job, INPUT);
    expect(spec.dependsOn).toEqual([]);
    expect(spec.inputUri).toBe(INPUT.uri);
  });

  it("does not change the template", () => {
    const job = template({ command: ["${input.key}"], environment: { A: "${input.uri}" } }, "n-${input.key}");
    const before = structuredClone(job);
    renderJob(job, INPUT);
    expect(job).toEqual(before);
  });

  it.each([
    ["proc-${input.key}", "données/résumé ü.csv", "proc-donn-es-r-sum-csv"],
    ["${input.key}", "_SUCCESS", "j_SUCCESS"],
    ["${input.key}", ".hidden", "j-hidden"],
    ["${input.key}", "", "j"],
    ["a--b-${input.key}", "c", "a-b-c"],
    ["run_${input.key}", "2024/05/01", "run_2024-05-01"],
    ["${input.key}", "😀😀", "j-"],
    ["plain-name_1", "ignored", "plain-name_1"],
  ])("names %j with key %j as %j", (name, key, expected) => {
    expect(renderJob(template({}, name), withKey(key)).name).toBe(expected);
  });

  it("cuts a long name to 128 characters", () => {
    const name = renderJob(template({}, "x-${input.key}"), withKey("k".repeat(1000))).name;
    expect(name).toBe(`x-${"k".repeat(126)}`);
  });

  it("makes every name a valid job name, for random names and keys", () => {
    const random = seededRandom(42);
    const alphabet = ["a", "Z", "0", "-", "_", ".", "/", " ", "é", "😀", "$", "{", "}", "+", "%"];
    const text = (length: number) =>
      Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    for (let round = 0; round < 300; round += 1) {
      const name = `${text(Math.floor(random() * 20))}\${input.key}${text(Math.floor(random() * 20))}`;
      const rendered = renderJob(template({}, name), withKey(text(Math.floor(random() * 300)))).name;
      expect(rendered).toMatch(JOB_NAME);
      expect(jobNameFrom(rendered)).toBe(rendered);
    }
  });
});

describe("sampleInput", () => {
  const uriFor = (bucket: string, key: string, isPrefix: boolean) =>
    `${isPrefix ? "dir" : "obj"}:${bucket}:${key}`;
  type SampleRule = Pick<TriggerRule, "bucket" | "prefix" | "suffix" | "mode">;
  const rule = (mode: SampleRule["mode"], prefix?: string, suffix?: string): SampleRule => ({
    bucket: "input-bucket",
    mode,
    ...(prefix === undefined ? {} : { prefix }),
    ...(suffix === undefined ? {} : { suffix }),
  });

  it.each([
    [rule("per-object"), "sample-input.dat", "", "obj:input-bucket:sample-input.dat"],
    [rule("per-object", "in/"), "in/sample-input.dat", "in/", "obj:input-bucket:in/sample-input.dat"],
    [rule("per-object", "in/", ".csv"), "in/sample-input.csv", "in/", "obj:input-bucket:in/sample-input.csv"],
    [
      rule("per-object", "in/run-"),
      "in/run-sample-input.dat",
      "in/",
      "obj:input-bucket:in/run-sample-input.dat",
    ],
    [rule("per-batch"), "_SUCCESS", "", "dir:input-bucket:"],
    [rule("per-batch", "in/"), "in/_SUCCESS", "in/", "dir:input-bucket:in/"],
    [rule("per-batch", "in/run-"), "in/run-/_SUCCESS", "in/run-/", "dir:input-bucket:in/run-/"],
    [rule("per-batch", "in/", ".manifest"), "in/.manifest", "in/", "dir:input-bucket:in/"],
  ])("for %j gives key %j, prefix %j and URI %j", (theRule, key, prefix, uri) => {
    expect(sampleInput(theRule, uriFor)).toEqual({
      uri,
      bucket: "input-bucket",
      key,
      prefix,
      size: SAMPLE_SIZE,
    });
  });

  it("accepts a URI builder that ignores whether it names a prefix", () => {
    expect(sampleInput(rule("per-object"), (bucket, key) => `s3://${bucket}/${key}`).uri).toBe(
      "s3://input-bucket/sample-input.dat",
    );
  });

  it.each([
    rule("per-object"),
    rule("per-object", "in/"),
    rule("per-object", "in/", ".csv"),
    rule("per-object", "données/", " ü.csv"),
    rule("per-batch"),
    rule("per-batch", "in/"),
    rule("per-batch", "in/run-"),
    rule("per-batch", "in/", ".manifest"),
    rule("per-batch", undefined, "DONE"),
  ])("is what matchRule gives an object with the sample key, for %j", (theRule) => {
    const object = {
      bucket: theRule.bucket,
      key: sampleKey(theRule),
      size: Number(SAMPLE_SIZE),
      sequencer: "0".repeat(64),
      eventTime: "2024-05-01T12:00:00.000Z",
    };
    expect(matchRule(theRule, object, uriFor)).toEqual({ kind: "job", input: sampleInput(theRule, uriFor) });
  });

  it("gives input that renders a template without issues", () => {
    const job = template({ command: ["proc", "${input.uri}"] }, "run-${input.key}");
    const { name, spec } = renderJob(job, sampleInput(rule("per-batch", "in/"), uriFor));
    expect(name).toMatch(JOB_NAME);
    expect(spec.command).toEqual(["proc", "dir:input-bucket:in/"]);
  });
});
