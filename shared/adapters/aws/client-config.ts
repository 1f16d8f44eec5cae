import type { CloudFormationClientConfig } from "@aws-sdk/client-cloudformation";

/** Options for the client factories; everything else comes from the SDK's standard sources. */
export interface AwsClientOptions {
  /**
   * Overrides the endpoint (dynalite, moto in tests). Without it the SDK itself reads
   * `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the shared config file.
   */
  readonly endpoint?: string;
  /** Without it the SDK reads `AWS_REGION` / the shared config file. */
  readonly region?: string;
  /** Without them the SDK uses its default provider chain (the Lambda role, env, profile). */
  readonly credentials?: CloudFormationClientConfig["credentials"];
  /** Attempts per call, the first included (tests set it low to reach give-up quickly). */
  readonly maxAttempts?: number;
}

/**
 * The configuration every client of ours shares: bounded attempts, per-attempt timeouts (without them a
 * stuck socket holds a Lambda until its own timeout), and the overrides the caller gave.
 */
export function clientConfig(
  options: AwsClientOptions,
  defaults: {
    readonly maxAttempts: number;
    readonly requestTimeoutMs: number;
    readonly retryMode?: "standard" | "adaptive";
  },
) {
  return {
    maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
    ...(defaults.retryMode ? { retryMode: defaults.retryMode } : {}),
    requestHandler: { connectionTimeout: 3_000, requestTimeout: defaults.requestTimeoutMs },
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  };
}
