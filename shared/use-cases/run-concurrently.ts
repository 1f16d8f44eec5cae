/**
 * Runs `work` over `items`, at most `limit` at a time, in order of the list. Each worker runs to the end
 * of the list (or until `shouldStop`) before the first error, if any, is rethrown: none is left midway.
 */
export async function runConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  options: { readonly shouldStop?: () => boolean } = {},
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !options.shouldStop?.()) await work(items[next++] as T);
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = results.find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
}
