import { type ChildProcess, spawn } from "node:child_process";

const ROOT = new URL("../../", import.meta.url).pathname;

/** `npm start` in a child process: what a user runs, isolated from the test's own modules. */
export interface SpawnedServer {
  readonly url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Milliseconds from spawn to the listening line. */
  readonly startupMs: number;
}

/** Starts `local/server-main.ts` with `env`, resolving once it printed its listening and curl lines. */
export async function spawnLocalServer(
  env: Record<string, string>,
  timeoutMs = 5000,
): Promise<SpawnedServer> {
  const started = Date.now();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "local/server-main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const ready = new Promise<{ url: string; startupMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    let startupMs: number | undefined;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^listening on (http:\/\/\S+)$/m.exec(output);
      if (match?.[1] && startupMs === undefined) startupMs = Date.now() - started;
      if (match?.[1] && /curl/.test(output)) {
        clearTimeout(timer);
        resolve({ url: match[1], startupMs: startupMs ?? Date.now() - started });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before it was ready:\n${output}`));
    });
  });
  const { url, startupMs } = await ready;
  return {
    url,
    startupMs,
    output: () => output,
    stop(signal = "SIGTERM") {
      child.kill(signal);
      return exited;
    },
  };
}
