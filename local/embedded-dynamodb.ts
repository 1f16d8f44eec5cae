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

/** A running dynalite server. */
export interface EmbeddedDynamoDb {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** Stops the server and closes its database (releasing the LevelDB lock on `path`). */
  close(): Promise<void>;
}

/**
 * Starts dynalite (the DynamoDB API on LevelDB) in this process on a free loopback port: the local
 * server's store and the integration tests' store. Tables become ACTIVE at once.
 */
export async function startEmbeddedDynamoDb(
  options: { readonly path?: string } = {},
): Promise<EmbeddedDynamoDb> {
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
