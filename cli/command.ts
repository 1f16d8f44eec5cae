/**
 * What a command is: its spec (arguments, options, help) and a `run` that gets everything it needs as a
 * context, so commands never reach for `process` themselves.
 */
import type { ApiClient } from "./api-client.ts";
import type { CommandSpec, ParsedArgs } from "./args.ts";
import type { Output } from "./output.ts";

/** What a running command may use. */
export interface CommandContext {
  readonly client: ApiClient;
  readonly output: Output;
  /** Aborted on SIGINT/SIGTERM; its reason is an `InterruptedError`. */
  readonly signal: AbortSignal;
  readonly now: () => number;
  /** Reads a file named on the command line (`-` is stdin). */
  readonly readFile: (path: string) => Promise<Buffer>;
}

/** A command: its spec and what it does. `run` resolves with the exit code (or throws, see errors.ts). */
export interface Command {
  readonly spec: CommandSpec;
  run(context: CommandContext, args: ParsedArgs, usage: string): Promise<number>;
}
