/** Helpers shared by the DynamoDB stores to turn items into domain records. */

/** The item without its storage attributes (keys, index keys, TTL, bookkeeping). */
export function withoutAttributes<T>(item: Record<string, unknown>, storage: ReadonlySet<string>): T {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (!storage.has(key)) record[key] = value;
  }
  return record as T;
}

/** Only `fields` of the item, those that are present. */
export function pickDefined<T>(item: Record<string, unknown>, fields: readonly string[]): T {
  const picked: Record<string, unknown> = {};
  for (const key of fields) {
    if (item[key] !== undefined) picked[key] = item[key];
  }
  return picked as T;
}

/** Reads a string attribute from the raw (marshalled) item a failed condition may return. */
export function rawString(item: unknown, attribute: string): string | undefined {
  if (typeof item !== "object" || item === null) return undefined;
  const value = (item as Record<string, { S?: unknown } | undefined>)[attribute]?.S;
  return typeof value === "string" ? value : undefined;
}
