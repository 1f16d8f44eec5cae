import { CloudFormationClient, type CloudFormationClientConfig } from "@aws-sdk/client-cloudformation";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

/**
 * Attempts per CloudFormation call, the first included. Adaptive mode adds client-side rate limiting on
 * top of backoff, which is what CloudFormation's low control-plane quotas (a few calls per second per
 * account) want when many clusters are created at once.
 */
export const CLOUDFORMATION_MAX_ATTEMPTS = 5;

/** Options for the client factories; everything else comes from the SDK's standard sources. */
export interface AwsClientOptions {
  /**
   * Overrides the endpoint (moto in tests). Without it the SDK itself reads `AWS_ENDPOINT_URL_<SERVICE>`,
   * then `AWS_ENDPOINT_URL`, then the shared config file.
   */
  readonly endpoint?: string;
  /** Without it the SDK reads `AWS_REGION` / the shared config file. */
  readonly region?: string;
  /** Without them the SDK uses its default provider chain (the Lambda role, env, profile). */
  readonly credentials?: CloudFormationClientConfig["credentials"];
  /** Attempts per call (tests set it low to reach give-up quickly). */
  readonly maxAttempts?: number;
}

/**
 * The CloudFormation client for {@link CloudFormationStackProvisioner}: adaptive retries, bounded
 * attempts and per-attempt timeouts. Create it once per process.
 */
export function createCloudFormationClient(options: AwsClientOptions = {}): CloudFormationClient {
  const config: CloudFormationClientConfig = {
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? CLOUDFORMATION_MAX_ATTEMPTS,
    // Without timeouts a stuck socket holds a Lambda until its own timeout; these bound one attempt.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.region !== undefined) config.region = options.region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new CloudFormationClient(config);
}

/** The S3 client that uploads templates too large to send inline. Create it once per process. */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const config: S3ClientConfig = {
    retryMode: "adaptive",
    maxAttempts: options.maxAttempts ?? CLOUDFORMATION_MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
  };
  if (options.endpoint !== undefined) {
    config.endpoint = options.endpoint;
    // Local S3 lookalikes answer on one host, not on a bucket subdomain.
    config.forcePathStyle = true;
  }
  if (options.region !== undefined) config.region = options.region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new S3Client(config);
}
