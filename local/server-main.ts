import { startLocalServer } from "./server.ts";

/**
 * `npm start`: the local API, configured from the environment (HOST, PORT, DATA_DIR, API_TOKEN,
 * LOCAL_STACK_DELAY_MS). Prints `listening on http://HOST:PORT` once it answers, then a curl example.
 */
async function main(): Promise<void> {
  const host = process.env.HOST ?? "127.0.0.1";
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT=${process.env.PORT} is not a port number`);
  const apiToken = process.env.API_TOKEN || undefined;
  const delay = process.env.LOCAL_STACK_DELAY_MS;
  const server = await startLocalServer({
    host,
    port,
    dataDir: process.env.DATA_DIR ?? ".data",
    ...(apiToken ? { apiToken } : {}),
    ...(delay !== undefined ? { stackDelayMs: Number(delay) } : {}),
  });
  const auth = apiToken ? ' -H "Authorization: Bearer $API_TOKEN"' : "";
  console.log(`listening on ${server.url}`);
  console.log(
    `try: curl -X POST${auth} --data-binary "$(base64 pcluster.conf)" "${server.url}/Prod/pcluster?command=create&cluster_name=cluster1"`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight requests, then closing the store`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("shutdown failed:", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
