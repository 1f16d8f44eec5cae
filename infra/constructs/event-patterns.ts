import { ArnFormat, Stack } from "aws-cdk-lib";
import type { EventPattern } from "aws-cdk-lib/aws-events";
import type { Construct } from "constructs";
import { STACK_NAME_PREFIXES } from "./cluster-provisioning.ts";

/** `arn:<partition>:<service>:<region>:<account>:<resource>/<name prefix>` for each of our prefixes. */
function ourArnPrefixes(scope: Construct, service: string, resource: string): { prefix: string }[] {
  const stack = Stack.of(scope);
  return STACK_NAME_PREFIXES.map((namePrefix) => ({
    prefix: stack.formatArn({
      service,
      resource,
      resourceName: namePrefix,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
  }));
}

/**
 * CloudFormation status changes of our cluster stacks only: the stack id is an ARN whose name part starts
 * with one of our prefixes, in this account and region. The app's own stacks (`HpcClusterApi-*`) do not
 * match: ARN matching is case-sensitive.
 */
export function stackStatusPattern(scope: Construct): EventPattern {
  return {
    source: ["aws.cloudformation"],
    detailType: ["CloudFormation Stack Status Change"],
    detail: { "stack-id": ourArnPrefixes(scope, "cloudformation", "stack") },
  };
}

/**
 * AWS Batch job state changes in our job queues only (queues named after our stacks), for the
 * `job-status` function.
 */
export function batchJobStatePattern(scope: Construct): EventPattern {
  return {
    source: ["aws.batch"],
    detailType: ["Batch Job State Change"],
    detail: { jobQueue: ourArnPrefixes(scope, "batch", "job-queue") },
  };
}

/**
 * S3 "Object Created" events of every bucket in this account that sends its events to EventBridge (a
 * per-bucket switch), for the input queue: which buckets and keys matter is the trigger rules' business.
 */
export function objectCreatedPattern(scope: Construct): EventPattern {
  return {
    source: ["aws.s3"],
    detailType: ["Object Created"],
    account: [Stack.of(scope).account],
  };
}
