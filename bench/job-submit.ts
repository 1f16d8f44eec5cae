import { Agent, request } from "node:http";

/** Submit latency and rate for `count` jobs through the local server, `concurrency` at a time. */
export async function submitJobs(
  baseUrl: string,
  cluster: string,
  count: number,
  concurrency: number,
): Promise<{ perSecond: number; p50ms: number; p99ms: number; errors: number; jobIds: string[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${baseUrl}/v1/clusters/${cluster}/jobs`);
  const latencies: number[] = [];
  const jobIds: string[] = [];
  let errors = 0;
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = JSON.stringify({ name: `bench-${i}`, command: ["true"] });
      const t0 = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            if (res.statusCode === 202) {
              latencies.push(performance.now() - t0);
              jobIds.push((JSON.parse(Buffer.concat(chunks).toString()) as { jobId: string }).jobId);
            } else errors++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { perSecond: latencies.length / seconds, p50ms: at(50), p99ms: at(99), errors, jobIds };
}
