import { Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { flattenCfnReference } from "cdk-nag/lib/utils/flatten-cfn-reference.js";
import type { IConstruct } from "constructs";

/**
 * How this app accepts a cdk-nag finding: on a named construct (and what is under it), never on a whole
 * stack, always with the reason a reviewer needs, and for rules that report several findings per resource
 * (IAM4, IAM5) only for the exact findings named.
 *
 * cdk-nag 3 matches acknowledgements by exact finding id, e.g. `AwsSolutions-IAM5[Resource::<arn>]`, where
 * `<arn>` is the resource as it reads in the synthesized template. An ARN built from another stack's
 * resource only reads as its `Fn::ImportValue` after CDK has wired the stacks together, so acknowledgements
 * are recorded here with the ARN tokens themselves and written out by {@link HouseNagChecks} when it runs.
 */

/** One accepted finding (or, with `resources`/`findings`, several of one rule). */
export interface NagSuppression {
  /** The rule, e.g. `AwsSolutions-IAM5`. */
  readonly id: string;
  /** Why the finding is acceptable here. */
  readonly reason: string;
  /** IAM5 and the like: the wildcard resources accepted, as the ARNs (or ARN tokens) the code uses. */
  readonly resources?: readonly string[];
  /** Other per-finding rules: the finding ids as cdk-nag prints them, e.g. `Policy::arn:...`. */
  readonly findings?: readonly string[];
}

/** Suppressions as given, or a function that says them when the checks run (see {@link suppress}). */
type PendingSuppressions = readonly NagSuppression[] | (() => readonly NagSuppression[]);

const pending = new WeakMap<IConstruct, PendingSuppressions[]>();

/**
 * Accepts `suppressions` on `construct` and everything under it. Given a function, it is called when the
 * checks run: for a finding whose reason depends on grants made later (one acknowledgement per finding id,
 * with one reason naming everything it covers, rather than several reasons for the same id).
 */
export function suppress(construct: IConstruct, suppressions: PendingSuppressions): void {
  pending.set(construct, [...(pending.get(construct) ?? []), suppressions]);
}

/** The finding ids of one suppression, as cdk-nag will report them. */
function findingIds(construct: IConstruct, suppression: NagSuppression): string[] {
  const stack = Stack.of(construct);
  const ids = [
    ...(suppression.resources ?? []).map((r) => `Resource::${flattenCfnReference(stack.resolve(r))}`),
    ...(suppression.findings ?? []).map((f) => flattenCfnReference(stack.resolve(f))),
  ];
  return ids.length === 0 ? [suppression.id] : ids.map((finding) => `${suppression.id}[${finding}]`);
}

/** Writes the recorded suppressions under `scope` as CDK acknowledgements. Safe to call again. */
export function applySuppressions(scope: IConstruct): void {
  for (const construct of scope.node.findAll()) {
    const recorded = pending.get(construct);
    if (recorded === undefined) continue;
    pending.delete(construct);
    const suppressions = recorded.flatMap((entry) => (typeof entry === "function" ? entry() : entry));
    for (const suppression of suppressions) {
      for (const id of findingIds(construct, suppression)) {
        Validations.of(construct).acknowledge({ id, reason: suppression.reason });
      }
    }
  }
}

/**
 * The AWS Solutions pack, after writing this app's acknowledgements. Register it with
 * `Validations.of(app).addPlugins(new HouseNagChecks(app))`; tests call `validateScope(app)` after synth.
 */
export class HouseNagChecks extends AwsSolutionsChecks {
  override validateScope(scope: IConstruct): ReturnType<AwsSolutionsChecks["validateScope"]> {
    applySuppressions(scope);
    return super.validateScope(scope);
  }
}

/** The reason every dead-letter queue gives for AwsSolutions-SQS3 ("queue has no DLQ"). */
export const DEAD_LETTER_QUEUE_REASON =
  "This queue is itself a dead-letter queue (of an EventBridge target, a Lambda asynchronous invocation or another queue); a DLQ of a DLQ would only move the same messages again. Its depth is alarmed on.";
