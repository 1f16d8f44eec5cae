/**
 * The known key closest to a misspelt one (`Schedulng` -> `Scheduling`, `instancetype` -> `InstanceType`),
 * or undefined when nothing is close enough to be a plausible typo.
 */
export function closestKey(word: string, candidates: Iterable<string>): string | undefined {
  const target = word.toLowerCase();
  const budget = target.length <= 4 ? 1 : target.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = budget + 1;
  for (const candidate of candidates) {
    const distance = editDistance(target, candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return Math.min(previous[b.length] ?? limit, limit);
}

/** The end of a message about an unknown name: `; did you mean 'X'?` when one is close, else `.`. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hint = closestKey(word, candidates);
  return hint === undefined ? "." : `; did you mean '${hint}'?`;
}
