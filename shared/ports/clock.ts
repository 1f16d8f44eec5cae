/** Time and identity sources, injected so tests control them. */
export interface Clock {
  now(): Date;
}

/** Makes unique, sortable ids. */
export interface IdGenerator {
  next(): string;
}
