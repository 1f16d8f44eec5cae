import { Duration } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DEAD_LETTER_QUEUE_REASON, suppress } from "../nag-suppressions.ts";

/**
 * A queue that catches what could not be processed: encrypted (SSE-SQS, so EventBridge, S3 and Lambda can
 * write to it without a key policy), TLS only, and kept for the SQS maximum of 14 days so an operator has
 * time to look before anything is lost.
 */
export class DeadLetterQueue extends Queue {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    suppress(this, [{ id: "AwsSolutions-SQS3", reason: DEAD_LETTER_QUEUE_REASON }]);
  }
}
