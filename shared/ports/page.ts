/** One page of a listing. `nextToken` is present only when another, non-empty page exists. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextToken?: string;
}

/** Paging arguments as the API receives them; `nextToken` is opaque and validated by the store. */
export interface PageRequest {
  readonly limit: number;
  readonly nextToken?: string;
}
