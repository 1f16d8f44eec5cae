// A fresh process, as on a Lambda cold start: import the bundled handler, answer one request, exit.
// Plain JavaScript on purpose: no TypeScript loader may add to what is measured.
const [, , bundle, eventFile] = process.argv;
const { readFileSync } = await import("node:fs");
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const { handler } = await import(bundle);
const context = { awsRequestId: "cold-start", getRemainingTimeInMillis: () => 30000, functionName: "bench" };
const result = await handler(event, context);
if (!result || typeof result.statusCode !== "number") {
  console.error("no proxy result", result);
  process.exit(2);
}
process.stdout.write(String(result.statusCode));
