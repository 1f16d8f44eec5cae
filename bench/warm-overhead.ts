import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { MemoryClusterStore } from "#shared/adapters/local/memory-cluster-store.ts";
import { MemoryIdempotencyStore } from "#shared/adapters/local/memory-idempotency-store.ts";
import { useStores } from "#shared/composition/stores.ts";
import { apiEvent, benchCluster } from "./fixtures.ts";

const context = { awsRequestId: "warm", getRemainingTimeInMillis: () => 30_000 } as Context;

async function perRequestMicros(fn: () => Promise<unknown>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * The cost of the handler stack (middy, event decoding, zod, representation, problem mapping) per
 * request: the real get-cluster handler on an in-memory store, minus a bare function doing the same
 * store read and JSON answer. Rounds alternate so drift weighs on both alike; the median round counts.
 */
export async function warmOverhead(n = 20_000, rounds = 5): Promise<{ found: number; notFound: number }> {
  // In-memory stores, so the figure is the handler stack's and not a network hop's.
  const store = new MemoryClusterStore();
  useStores({ store, idempotency: new MemoryIdempotencyStore() });
  const { handler } = await import("#functions/api/get-cluster.ts");
  await store.create(benchCluster("bench"), {
    at: new Date().toISOString(),
    status: "CREATE_IN_PROGRESS",
    source: "api",
  });
  const found = apiEvent("GET", "/v1/clusters/{name}", { name: "bench" });
  const missing = apiEvent("GET", "/v1/clusters/{name}", { name: "nobody" });
  const bare = async (event: APIGatewayProxyEvent) => {
    const cluster = await store.get(event.pathParameters?.name ?? "");
    return cluster
      ? { statusCode: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify(cluster) }
      : { statusCode: 404, headers: { "Content-Type": "application/problem+json" }, body: '{"status":404}' };
  };
  const overheads = { found: [] as number[], notFound: [] as number[] };
  for (let round = 0; round <= rounds; round++) {
    for (const [key, event] of [
      ["found", found],
      ["notFound", missing],
    ] as const) {
      const stack = await perRequestMicros(() => handler(event, context), n);
      const base = await perRequestMicros(() => bare(event), n);
      if (round > 0) overheads[key].push(stack - base); // round 0 warms the JIT
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  return { found: median(overheads.found), notFound: median(overheads.notFound) };
}
