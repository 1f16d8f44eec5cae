import type { TriggerFailure, TriggerRule } from "../domain/trigger.ts";
import type { Page, PageRequest } from "./page.ts";

/** What a listing returns per rule: no template, no job. */
export type TriggerSummary = Pick<
  TriggerRule,
  "name" | "bucket" | "prefix" | "suffix" | "clusterName" | "mode" | "whenDone" | "createdAt"
>;

/** The fields of a `TriggerSummary` (the DynamoDB indexes project them); complete by the `satisfies`. */
export const TRIGGER_SUMMARY_FIELDS = Object.keys({
  name: true,
  bucket: true,
  prefix: true,
  suffix: true,
  clusterName: true,
  mode: true,
  whenDone: true,
  createdAt: true,
} satisfies Record<keyof TriggerSummary, true>) as (keyof TriggerSummary)[];

/** Where trigger rules live (the same table as clusters and jobs). Every write is one conditional write. */
export interface TriggerStore {
  /** Stores a new rule. Throws `TriggerExistsError` when the name is taken. */
  create(rule: TriggerRule): Promise<void>;
  /** The rule, or undefined. */
  get(name: string): Promise<TriggerRule | undefined>;
  /** Rules by name order. */
  list(request: PageRequest): Promise<Page<TriggerSummary>>;
  /** Every rule watching `bucket`, in full (through an index, never a scan), by name. */
  listForBucket(bucket: string): Promise<readonly TriggerRule[]>;
  /** Deletes the rule; false when there was none. */
  remove(name: string): Promise<boolean>;
  /**
   * Keeps `failure` on the rule (newest first, at most `MAX_TRIGGER_FAILURES`). Does nothing when the rule
   * is gone; concurrent failures are all kept (optimistic locking on `version`, retried).
   */
  recordFailure(name: string, failure: TriggerFailure): Promise<void>;
}
