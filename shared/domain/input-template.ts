// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${input.<field>} placeholders are literal text in templates and messages
import type { FieldIssue } from "./errors.ts";
import type { JobSpec } from "./job.ts";
import {
  DEFAULT_BATCH_MARKER,
  INPUT_FIELDS,
  type InputField,
  type JobTemplate,
  type TriggerInput,
  type TriggerRule,
} from "./trigger.ts";
import { directoryOf, type InputUriFor } from "./trigger-matching.ts";

/**
 * Placeholders are exactly `${input.<field>}`. `${input}` and `${input.}` are caught too, so that they
 * are reported as unknown rather than silently kept. Anything else (`${HOME}`, `${1:-x}`, `$1`,
 * `${inputs}`, `${ input.uri }`) is not a placeholder and is left as it is. There is no escape: in
 * `$${input.uri}` the placeholder is still substituted after a literal `$` (`$$` means nothing special
 * in an argv element, and in a script nothing is substituted anyway).
 */
const PLACEHOLDER = /\$\{input(?:\.([^}]*))?\}/g;

/** The environment variables every triggered job gets, one per input field. */
export const INPUT_ENVIRONMENT: Readonly<Record<InputField, string>> = {
  uri: "HPC_INPUT_URI",
  bucket: "HPC_INPUT_BUCKET",
  key: "HPC_INPUT_KEY",
  prefix: "HPC_INPUT_PREFIX",
  size: "HPC_INPUT_SIZE",
};

/** The object size `sampleInput` reports (1 MiB). */
export const SAMPLE_SIZE = "1048576";

const KNOWN_PLACEHOLDERS = INPUT_FIELDS.map((field) => `\${input.${field}}`).join(", ");
const INPUT_VARIABLES = INPUT_FIELDS.map((field) => `$${INPUT_ENVIRONMENT[field]}`).join(", ");

/**
 * The problems with a rule's job template, each under `path`:
 * - in the name, a command element or an environment value, a `${input.<x>}` whose `x` is not one of
 *   `INPUT_FIELDS` (exact and case-sensitive; `${input}` and `${input.}` included);
 * - in a script, any `${input...}` at all: a script is a shell program run as written, never
 *   substituted, so it reads the `HPC_INPUT_*` environment variables instead;
 * - a placeholder in the program (`command[0]`): whoever can upload to the bucket must not choose what
 *   runs, only what it reads.
 */
export function templatePlaceholderIssues(template: JobTemplate, path = "body.job"): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const unknown = (text: string, at: string) => {
    for (const placeholder of placeholdersIn(text)) {
      if (placeholder.field !== undefined) continue;
      issues.push({
        path: at,
        message: `unknown placeholder ${show(placeholder.text)}: use one of ${KNOWN_PLACEHOLDERS}.`,
      });
    }
  };
  unknown(template.name, `${path}.name`);
  template.spec.command?.forEach((argument, index) => {
    unknown(argument, `${path}.command[${index}]`);
  });
  for (const [name, value] of Object.entries(template.spec.environment)) {
    unknown(value, `${path}.environment.${name}`);
  }
  if (template.spec.script !== undefined) {
    for (const placeholder of placeholdersIn(template.spec.script)) {
      const instead = placeholder.field
        ? `$${INPUT_ENVIRONMENT[placeholder.field]}`
        : `one of ${INPUT_VARIABLES}`;
      issues.push({
        path: `${path}.script`,
        message: `${show(placeholder.text)} is not substituted in a script (a script runs as written): read ${instead} instead; every triggered job has ${INPUT_VARIABLES}.`,
      });
    }
  }
  const program = template.spec.command?.[0];
  if (program !== undefined && placeholdersIn(program).length > 0) {
    issues.push({
      path: `${path}.command[0]`,
      message:
        'the program cannot come from the event (whoever uploads would choose what runs): name it, and pass the input as an argument, e.g. ["process", "${input.uri}"].',
    });
  }
  return issues;
}

/**
 * The job a rule submits for one event: `${input.<field>}` replaced by the event's value in the name,
 * each command element and each environment value, in one pass (a value that itself reads
 * `${input.key}` stays as it is) and as plain text (each element stays one argv element, whatever it
 * holds). The script is never touched. The name is then made a valid job name (see {@link jobNameFrom}).
 * The spec gets `inputUri` and the `HPC_INPUT_*` variables (the template's own variables of those names
 * win) and no dependencies. The template is not changed.
 */
export function renderJob(template: JobTemplate, input: TriggerInput): { name: string; spec: JobSpec } {
  const { command, environment: own, ...rest } = template.spec;
  const fill = (text: string) => substitute(text, input);
  // fromEntries defines own properties, so even a variable named `__proto__` survives.
  const environment = Object.fromEntries([
    ...INPUT_FIELDS.map((field) => [INPUT_ENVIRONMENT[field], input[field]]),
    ...Object.entries(own).map(([name, value]) => [name, fill(value)]),
  ]);
  return {
    name: jobNameFrom(fill(template.name)),
    spec: {
      ...rest,
      ...(command === undefined ? {} : { command: command.map(fill) }),
      environment,
      dependsOn: [],
      inputUri: input.uri,
    },
  };
}

/**
 * Makes any text a valid job name ({@link JOB_NAME}): every character other than letters,
 * digits, `_` and `-` becomes `-`, runs of `-` collapse into one, a `j` goes first when the text does not
 * start with a letter or digit, and the result is cut to 128 characters.
 */
export function jobNameFrom(text: string): string {
  const name = text.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/-{2,}/g, "-");
  return (/^[A-Za-z0-9]/.test(name) ? name : `j${name}`).slice(0, 128);
}

/**
 * Plausible input for validating a rule when it is written: the key an event matching the rule could
 * have (`sample-input.dat` under the prefix, or `sample-input` + the suffix; for `per-batch`, the
 * marker under the prefix), 1 MiB. `matchRule` gives the same input for an object with that key.
 */
export function sampleInput(
  rule: Pick<TriggerRule, "bucket" | "prefix" | "suffix" | "mode">,
  uriFor: InputUriFor,
): TriggerInput {
  const key = sampleKey(rule);
  const directory = directoryOf(key);
  const uri =
    rule.mode === "per-batch" ? uriFor(rule.bucket, directory, true) : uriFor(rule.bucket, key, false);
  return { uri, bucket: rule.bucket, key, prefix: directory, size: SAMPLE_SIZE };
}

/** The key `sampleInput` uses for a rule. */
export function sampleKey(rule: Pick<TriggerRule, "prefix" | "suffix" | "mode">): string {
  const prefix = rule.prefix ?? "";
  if (rule.mode === "per-object") return `${prefix}sample-input${rule.suffix || ".dat"}`;
  if (rule.suffix) return `${prefix}${rule.suffix}`;
  // The default marker must be a whole path segment.
  return prefix === "" || prefix.endsWith("/")
    ? `${prefix}${DEFAULT_BATCH_MARKER}`
    : `${prefix}/${DEFAULT_BATCH_MARKER}`;
}

interface Placeholder {
  readonly text: string;
  /** The input field it names; undefined when it names none. */
  readonly field: InputField | undefined;
}

function placeholdersIn(text: string): Placeholder[] {
  const seen = new Set<string>();
  const found: Placeholder[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (seen.has(match[0])) continue;
    seen.add(match[0]);
    found.push({ text: match[0], field: asInputField(match[1]) });
  }
  return found;
}

function substitute(text: string, input: TriggerInput): string {
  // A replacer function, never a replacement string: `$&` or `$1` in a key must stay as they are.
  return text.replace(PLACEHOLDER, (match: string, name: string | undefined) => {
    const field = asInputField(name);
    return field === undefined ? match : input[field];
  });
}

function asInputField(name: string | undefined): InputField | undefined {
  return INPUT_FIELDS.find((field) => field === name);
}

function show(placeholder: string): string {
  return placeholder.length > 60 ? `${placeholder.slice(0, 59)}…` : placeholder;
}
