import { LineCounter, parseDocument } from "yaml";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import { slurmConfigWithQueues } from "../test/unit/config/config-fixtures.ts";

/**
 * Parsing a 50-queue ParallelCluster 3 config: the best of many interleaved runs of our whole parse
 * (decode, YAML, normalize, validate) and of the YAML library's parse alone, the baseline.
 */
export function configParse(runs = 200): { oursMs: number; yamlOnlyMs: number } {
  const text = slurmConfigWithQueues(50);
  const yamlOnly = () => parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: true });
  const ours = () => parseClusterConfig(text);
  if (ours().spec.queues.length !== 50) throw new Error("the 50-queue config did not parse to 50 queues");
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let i = 0; i < runs; i++) {
    [ours, yamlOnly].forEach((fn, k) => {
      const start = performance.now();
      fn();
      best[k] = Math.min(best[k] ?? Number.POSITIVE_INFINITY, performance.now() - start);
    });
  }
  return { oursMs: best[0] ?? 0, yamlOnlyMs: best[1] ?? 0 };
}
