import { randomBytes } from "node:crypto";
import { TriggerExistsError } from "../../domain/errors.ts";
import type { TriggerFailure, TriggerRule } from "../../domain/trigger.ts";
import type { Page, PageRequest } from "../../ports/page.ts";
import { TRIGGER_SUMMARY_FIELDS, type TriggerStore, type TriggerSummary } from "../../ports/trigger-store.ts";
import { TRIGGER_LIST_SCOPE, withFailure } from "../aws/dynamodb-trigger-store.ts";
import {
  assertPageLimit,
  assertPageTokenSecret,
  ClusterListPositionSchema,
  decodePageToken,
  encodePageToken,
} from "../aws/page-token.ts";
import { compareKeys } from "./key-order.ts";

/** Construction options for {@link MemoryTriggerStore}. */
export interface MemoryTriggerStoreOptions {
  /** Signs pagination tokens; a random one per store when omitted. */
  readonly pageTokenSecret?: string;
}

function withoutUndefined<T>(value: T): T {
  // Mirrors the DynamoDB store, which never writes undefined (removeUndefinedValues).
  return JSON.parse(JSON.stringify(value)) as T;
}

function toSummary(rule: TriggerRule): TriggerSummary {
  return withoutUndefined(
    Object.fromEntries(TRIGGER_SUMMARY_FIELDS.map((field) => [field, rule[field]])) as TriggerSummary,
  );
}

/**
 * `TriggerStore` in process memory, for unit tests, benchmarks and local runs without DynamoDB. Same
 * semantics as the DynamoDB store (conditions, order, tokens), checked by one shared test suite. Each call
 * reads and writes with no `await` in between, so concurrent calls never lose a write; values going in or
 * out are copied, so callers cannot change stored rules by mutating what they hold.
 */
export class MemoryTriggerStore implements TriggerStore {
  readonly #rules = new Map<string, TriggerRule>();
  readonly #secret: string;

  constructor(options: MemoryTriggerStoreOptions = {}) {
    this.#secret = options.pageTokenSecret ?? randomBytes(32).toString("base64url");
    assertPageTokenSecret(this.#secret);
  }

  async create(rule: TriggerRule): Promise<void> {
    if (this.#rules.has(rule.name)) throw new TriggerExistsError(rule.name);
    this.#rules.set(rule.name, withoutUndefined(rule));
  }

  async get(name: string): Promise<TriggerRule | undefined> {
    const rule = this.#rules.get(name);
    return rule === undefined ? undefined : structuredClone(rule);
  }

  async list(request: PageRequest): Promise<Page<TriggerSummary>> {
    assertPageLimit(request.limit);
    const after =
      request.nextToken === undefined
        ? undefined
        : decodePageToken(request.nextToken, TRIGGER_LIST_SCOPE, this.#secret, ClusterListPositionSchema)
            .after;
    const matching = this.#sorted().filter(
      (rule) => after === undefined || compareKeys(rule.name, after) > 0,
    );
    const page = matching.slice(0, request.limit).map(toSummary);
    const last = page.at(-1);
    if (matching.length <= request.limit || last === undefined) return { items: page };
    return {
      items: page,
      nextToken: encodePageToken({ after: last.name }, TRIGGER_LIST_SCOPE, this.#secret),
    };
  }

  async listForBucket(bucket: string): Promise<readonly TriggerRule[]> {
    return this.#sorted()
      .filter((rule) => rule.bucket === bucket)
      .map((rule) => structuredClone(rule));
  }

  async remove(name: string): Promise<boolean> {
    return this.#rules.delete(name);
  }

  async recordFailure(name: string, failure: TriggerFailure): Promise<void> {
    const rule = this.#rules.get(name);
    if (rule === undefined) return;
    this.#rules.set(name, {
      ...rule,
      recentFailures: withoutUndefined(withFailure(rule.recentFailures, failure)),
      version: rule.version + 1,
    });
  }

  /** Every rule, by name in DynamoDB's order. */
  #sorted(): TriggerRule[] {
    return [...this.#rules.values()].sort((a, b) => compareKeys(a.name, b.name));
  }
}
