import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

/** The part of dynalite's (untyped, CommonJS) factory we use. */
type DynaliteFactory = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

const require = createRequire(import.meta.url);
const dynalite = require("dynalite") as DynaliteFactory;

/** Options for {@link startDynalite}. */
export interface DynaliteOptions {
  /** A directory for LevelDB files, so data outlives the server; in memory when omitted. */
  readonly path?: string;
}

/** A running dynalite server. */
export interface RunningDynalite {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** Stops the server and closes its database (releasing the LevelDB lock on `path`). */
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process on a free loopback port. Tables become ACTIVE at once, so tests do not
 * wait for the 500 ms dynalite pretends creation takes by default.
 */
export async function startDynalite(options: DynaliteOptions = {}): Promise<RunningDynalite> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps connections alive; without this, close waits for them to time out.
        server.closeAllConnections();
      }),
  };
}
