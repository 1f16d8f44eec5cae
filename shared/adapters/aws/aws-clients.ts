import { BatchClient } from "@aws-sdk/client-batch";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { type AwsClientOptions, clientConfig } from "./client-config.ts";

export type { AwsClientOptions } from "./client-config.ts";

/**
 * Attempts per CloudFormation call, the first included. Adaptive mode adds client-side rate limiting on
 * top of backoff, which is what CloudFormation's low control-plane quotas (a few calls per second per
 * account) want when many clusters are created at once.
 */
export const CLOUDFORMATION_MAX_ATTEMPTS = 5;

/**
 * The CloudFormation client for {@link CloudFormationStackProvisioner}: adaptive retries, bounded
 * attempts and per-attempt timeouts. Create it once per process.
 */
export function createCloudFormationClient(options: AwsClientOptions = {}): CloudFormationClient {
  return new CloudFormationClient(
    clientConfig(options, {
      maxAttempts: CLOUDFORMATION_MAX_ATTEMPTS,
      requestTimeoutMs: 10_000,
      retryMode: "adaptive",
    }),
  );
}

/** The S3 client that uploads templates too large to send inline. Create it once per process. */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  return new S3Client({
    ...clientConfig(options, {
      maxAttempts: CLOUDFORMATION_MAX_ATTEMPTS,
      requestTimeoutMs: 10_000,
      retryMode: "adaptive",
    }),
    // Local S3 lookalikes answer on one host, not on a bucket subdomain.
    ...(options.endpoint !== undefined ? { forcePathStyle: true } : {}),
  });
}

/**
 * Attempts per jobs call (Batch, SSM, CloudWatch Logs), the first included. Adaptive mode paces us when
 * the control planes throttle (DescribeJobs, SendCommand and GetCommandInvocation have low quotas), and
 * four attempts still answer well inside API Gateway's 29 s.
 */
export const JOBS_MAX_ATTEMPTS = 4;

/** The AWS Batch client for {@link BatchJobScheduler}. Create it once per process. */
export function createBatchClient(options: AwsClientOptions = {}): BatchClient {
  return new BatchClient(
    clientConfig(options, {
      maxAttempts: JOBS_MAX_ATTEMPTS,
      requestTimeoutMs: 10_000,
      retryMode: "adaptive",
    }),
  );
}

/** The Systems Manager client for {@link SlurmSsmScheduler}. Create it once per process. */
export function createSsmClient(options: AwsClientOptions = {}): SSMClient {
  return new SSMClient(
    clientConfig(options, {
      maxAttempts: JOBS_MAX_ATTEMPTS,
      requestTimeoutMs: 10_000,
      retryMode: "adaptive",
    }),
  );
}

/** The CloudWatch Logs client that reads AWS Batch job output. Create it once per process. */
export function createLogsClient(options: AwsClientOptions = {}): CloudWatchLogsClient {
  return new CloudWatchLogsClient(
    clientConfig(options, {
      maxAttempts: JOBS_MAX_ATTEMPTS,
      requestTimeoutMs: 10_000,
      retryMode: "adaptive",
    }),
  );
}
