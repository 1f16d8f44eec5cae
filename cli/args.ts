/**
 * The command line, parsed with `node:util` `parseArgs` in strict mode: `hpcctl [global options] GROUP
 * COMMAND [arguments] [options] [-- CMD ARGS...]`. Global options may come before the group or anywhere
 * after the command. Every mistake is a `UsageError` carrying the command's usage (exit 2).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.ts";

/** One option of a command, with what `--help` says about it. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in the usage (`FILE`, `K=V`). */
  readonly placeholder?: string;
  readonly description: string;
}

/** What a command accepts and how `--help` describes it. */
export interface CommandSpec {
  /** `["clusters", "create"]`. */
  readonly path: readonly [string, string];
  readonly summary: string;
  /** The synopsis after `hpcctl`, e.g. `clusters create NAME --config FILE [--dry-run] [--wait]`. */
  readonly synopsis: string;
  /** Required positional arguments, by name (`NAME`, `CLUSTER`, `JOB_ID`). */
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Whether words after `--` are accepted (the job's command). */
  readonly trailing?: boolean;
  /** Options that must be given (`--config`). */
  readonly required?: readonly string[];
  readonly description?: string;
  readonly examples: readonly string[];
}

/** The options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  endpoint: {
    type: "string",
    placeholder: "URL",
    description: "the API's URL (default: $HPC_API_URL, else http://127.0.0.1:3000)",
  },
  output: {
    type: "string",
    short: "o",
    placeholder: "table|json",
    description: "table for people (default), json for scripts",
  },
  quiet: { type: "boolean", short: "q", description: "no progress or notes on stderr (errors still print)" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

/** The global options' values. */
export interface GlobalValues {
  readonly endpoint?: string;
  readonly output?: OutputFormat;
  readonly quiet: boolean;
  readonly help: boolean;
}

/** Option values of a command, as `parseArgs` gives them. */
export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/** A parsed command line for one command. */
export interface ParsedArgs {
  readonly positionals: Readonly<Record<string, string>>;
  readonly values: OptionValues;
  /** The words after `--`. */
  readonly trailing: readonly string[];
  readonly global: GlobalValues;
}

/** The command words and the rest of the line, before the command is known. */
export interface SplitLine {
  readonly group?: string;
  readonly command?: string;
  /** Everything after the command words. */
  readonly rest: readonly string[];
  readonly global: GlobalValues;
}

function toConfig(options: Readonly<Record<string, OptionSpec>>): NonNullable<ParseArgsConfig["options"]> {
  const config: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, spec] of Object.entries(options)) {
    config[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return config;
}

function globalsFrom(values: OptionValues, usage: string, base?: GlobalValues): GlobalValues {
  const output = values.output ?? base?.output;
  if (output !== undefined && !OUTPUT_FORMATS.includes(output as OutputFormat))
    throw new UsageError(
      `--output must be one of ${OUTPUT_FORMATS.join(", ")} (got '${String(output)}')`,
      usage,
    );
  const endpoint = values.endpoint ?? base?.endpoint;
  return {
    ...(typeof endpoint === "string" ? { endpoint } : {}),
    ...(output !== undefined ? { output: output as OutputFormat } : {}),
    quiet: values.quiet === true || base?.quiet === true,
    help: values.help === true || base?.help === true,
  };
}

/** Turns `parseArgs`' messages into one short line. */
function usageMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]?.replace(/\. To specify a positional argument.*$/, "") ?? message;
}

/**
 * Finds the command words (`clusters create`), reading the global options that come before them. An
 * unknown option before the command words is a usage error of the top level.
 */
export function splitCommandLine(argv: readonly string[], topUsage: string): SplitLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: toConfig(GLOBAL_OPTIONS),
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(usageMessage(error), topUsage);
  }
  const tokens = parsed.tokens ?? [];
  const words: { value: string; index: number }[] = [];
  const globals: Record<string, string | boolean> = {};
  for (const token of tokens) {
    if (token.kind === "positional") {
      words.push({ value: token.value, index: token.index });
      if (words.length === 2) break;
      continue;
    }
    if (token.kind === "option-terminator") break;
    // Only global options may come before the command words.
    if (words.length < 2) {
      const spec = GLOBAL_OPTIONS[token.name];
      if (!spec) throw new UsageError(`unknown option '${token.rawName}' before the command`, topUsage);
      if (spec.type === "string" && token.value === undefined)
        throw new UsageError(`option '${token.rawName}' needs a value`, topUsage);
      globals[token.name] = token.value ?? true;
    }
  }
  const [group, command] = words;
  const restStart = command ? command.index + 1 : argv.length;
  return {
    ...(group ? { group: group.value } : {}),
    ...(command ? { command: command.value } : {}),
    rest: argv.slice(restStart),
    global: globalsFrom(globals, topUsage),
  };
}

/** Parses the arguments of one command strictly: unknown options, missing or extra arguments are usage errors. */
export function parseCommandArgs(spec: CommandSpec, split: SplitLine): ParsedArgs {
  const usage = formatUsage(spec);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...split.rest],
      options: toConfig({ ...GLOBAL_OPTIONS, ...spec.options }),
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    // `--help` wins over anything else that is wrong on the line.
    if (split.rest.includes("--help") || split.rest.includes("-h") || split.global.help) {
      return { positionals: {}, values: {}, trailing: [], global: { ...split.global, help: true } };
    }
    throw new UsageError(usageMessage(error), usage);
  }
  const global = globalsFrom(parsed.values, usage, split.global);
  if (global.help) return { positionals: {}, values: parsed.values, trailing: [], global };

  const terminator = parsed.tokens?.find((token) => token.kind === "option-terminator");
  const words: string[] = [];
  const trailing: string[] = [];
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "positional") continue;
    if (terminator && token.index > terminator.index) trailing.push(token.value);
    else words.push(token.value);
  }
  if (trailing.length > 0 && !spec.trailing)
    throw new UsageError(`unexpected arguments after '--': ${trailing.join(" ")}`, usage);
  if (words.length < spec.positionals.length) {
    const missing = spec.positionals.slice(words.length).join(" ");
    throw new UsageError(`missing ${missing}`, usage);
  }
  if (words.length > spec.positionals.length) {
    const extra = words.slice(spec.positionals.length).join(" ");
    const hint = spec.trailing ? " (put the job's command after '--')" : "";
    throw new UsageError(`unexpected argument '${extra}'${hint}`, usage);
  }
  for (const name of spec.required ?? []) {
    if (parsed.values[name] === undefined) throw new UsageError(`missing --${name}`, usage);
  }
  const positionals: Record<string, string> = {};
  spec.positionals.forEach((name, i) => {
    positionals[name] = words[i] ?? "";
  });
  return { positionals, values: parsed.values, trailing, global };
}

function optionLine(name: string, spec: OptionSpec): [string, string] {
  const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.placeholder ?? "VALUE"}` : ""}`;
  return [flag, `${spec.description}${spec.multiple ? " (repeatable)" : ""}`];
}

function optionBlock(options: Readonly<Record<string, OptionSpec>>): string[] {
  const lines = Object.entries(options).map(([name, spec]) => optionLine(name, spec));
  const width = Math.max(...lines.map(([flag]) => flag.length));
  return lines.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

/** The `--help` text of a command: synopsis, description, options, global options and examples. */
export function formatUsage(spec: CommandSpec): string {
  const lines = [`Usage: hpcctl ${spec.synopsis}`, "", spec.summary];
  if (spec.description) lines.push("", spec.description);
  if (Object.keys(spec.options).length > 0) lines.push("", "Options:", ...optionBlock(spec.options));
  lines.push("", "Global options:", ...optionBlock(GLOBAL_OPTIONS));
  if (spec.examples.length > 0)
    lines.push("", "Examples:", ...spec.examples.map((example) => `  ${example}`));
  return lines.join("\n");
}

/** Reads a string option (undefined when absent). */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** Reads a boolean option (false when absent). */
export function booleanOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** Reads a repeatable string option (empty when absent). */
export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  return typeof value === "string" ? [value] : [];
}

/** Reads an integer option within bounds; anything else is a usage error naming the option. */
export function integerOption(
  values: OptionValues,
  name: string,
  usage: string,
  bounds: { readonly min?: number; readonly max?: number } = {},
): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value))
    throw new UsageError(`--${name} takes a whole number (got '${text}')`, usage);
  if (bounds.min !== undefined && value < bounds.min)
    throw new UsageError(`--${name} must be at least ${bounds.min} (got ${value})`, usage);
  if (bounds.max !== undefined && value > bounds.max)
    throw new UsageError(`--${name} must be at most ${bounds.max} (got ${value})`, usage);
  return value;
}

/** Reads a repeatable `K=V` option into a map (the value may hold `=`); later keys win. */
export function keyValueOption(values: OptionValues, name: string, usage: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of listOption(values, name)) {
    const at = item.indexOf("=");
    if (at <= 0) throw new UsageError(`--${name} takes KEY=VALUE (got '${item}')`, usage);
    map[item.slice(0, at)] = item.slice(at + 1);
  }
  return map;
}

/** Reads an option restricted to a set of values (`--status`). */
export function choiceOption<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
  usage: string,
): T | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return undefined;
  if (!choices.includes(value as T))
    throw new UsageError(`--${name} must be one of ${choices.join(", ")} (got '${value}')`, usage);
  return value as T;
}
