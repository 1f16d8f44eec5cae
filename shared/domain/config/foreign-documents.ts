/**
 * Documents people paste by mistake instead of a cluster configuration, recognized by their top-level keys,
 * so the error can say what the document is rather than only what it lacks.
 */
const FOREIGN: readonly { readonly keys: readonly string[]; readonly hint: string }[] = [
  { keys: ["apiVersion", "kind"], hint: "It looks like a Kubernetes manifest." },
  { keys: ["AWSTemplateFormatVersion"], hint: "It looks like a CloudFormation template." },
  { keys: ["Resources"], hint: "It looks like a CloudFormation template." },
  {
    keys: ["computeEnvironmentName"],
    hint: "It looks like an AWS Batch compute environment definition; for an AWS Batch cluster write a ParallelCluster configuration with Scheduling.Scheduler: awsbatch and AwsBatchQueues.",
  },
  { keys: ["jobQueueName"], hint: "It looks like an AWS Batch job queue definition." },
  { keys: ["jobDefinitionName"], hint: "It looks like an AWS Batch job definition." },
  { keys: ["Version", "Statement"], hint: "It looks like an IAM policy document." },
];

/** A sentence (with a leading space) naming what the document looks like, or "". */
export function foreignDocumentHint(topLevelKeys: readonly string[]): string {
  const present = new Set(topLevelKeys);
  const match = FOREIGN.find((f) => f.keys.every((k) => present.has(k)));
  return match === undefined ? "" : ` ${match.hint}`;
}

/** The same hint for text that did not even parse (e.g. a JSON body that lost its braces in a blog post). */
export function foreignTextHint(text: string): string {
  const keys = FOREIGN.flatMap((f) => f.keys).filter((k) =>
    new RegExp(`["'\u201C\u201D]?\\b${k}\\b["'\u201C\u201D]?\\s*[:=]`).test(text),
  );
  return foreignDocumentHint(keys);
}
