import * as z from "./domain/zod.ts";

/**
 * Every setting the handlers read, parsed once at init with zod. A missing or malformed setting throws
 * here, at cold start, with the variable's name, instead of failing a request later.
 */
const text = (min = 1) => z.string().check(z.minLength(min));
const wholeNumber = (fallback: number, min = 0) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min)), fallback);

const ConfigSchema = z.object({
  /** The single DynamoDB table. */
  TABLE_NAME: text(),
  /** Which `StackProvisioner` (and later `JobScheduler`) to use. */
  CLUSTER_BACKEND: z._default(z.enum(["aws", "local"]), "aws"),
  /** Prefix of stacks made through the resource API (`/v1`); the command endpoint uses `parallelcluster-`. */
  STACK_NAME_PREFIX: z._default(z.string().check(z.regex(/^[a-zA-Z][a-zA-Z0-9-]{0,30}$/)), "hpc-"),
  /** Key for the HMAC that makes pagination tokens tamper-evident (not a secret of consequence). */
  PAGE_TOKEN_SECRET: z.optional(text(16)),
  /** Local backend: how long a simulated stack takes to create or delete. */
  LOCAL_STACK_DELAY_MS: wholeNumber(3000),
  /** Local backend: where simulated stacks and job files live. */
  DATA_DIR: z._default(text(), ".data"),
  /** AWS backend: bucket for templates over CloudFormation's 51,200-byte inline limit (and job scripts). */
  TEMPLATE_BUCKET: z.optional(text(3)),
  /** AWS backend: the ParallelCluster CloudFormation custom resource's ServiceToken (Slurm clusters). */
  PCLUSTER_SERVICE_TOKEN: z.optional(z.string()),
  /** AWS backend: service role for Batch compute environments; the service-linked role when unset. */
  BATCH_SERVICE_ROLE_ARN: z.optional(z.string()),
  /** The reconciler re-reads clusters that have been in a *_IN_PROGRESS state longer than this. */
  RECONCILE_AFTER_SECONDS: wholeNumber(300),
  /** Local server with the AWS backend: how often the reconciler runs (no EventBridge pushes events there). */
  RECONCILE_INTERVAL_MS: wholeNumber(5000, 1),
  /** How long finished job records stay queryable (their DynamoDB TTL), in days. */
  JOB_RETENTION_DAYS: wholeNumber(90, 1),
  /** How long a clientToken is remembered. */
  IDEMPOTENCY_TTL_SECONDS: wholeNumber(24 * 3600, 1),
  /** Reported by /health and `pcluster version`. */
  API_VERSION: z._default(z.string(), "0.1.0"),
});

/** The validated settings. */
export type AppConfig = z.infer<typeof ConfigSchema> & { readonly PAGE_TOKEN_SECRET: string };

/** Thrown at init when a setting is missing or malformed; names every bad variable. */
export class ConfigurationError extends Error {}

/** Parses settings from `env` (default `process.env`); throws `ConfigurationError` naming each bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): AppConfig {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigurationError(`Invalid configuration: ${problems}`);
  }
  return {
    ...parsed.data,
    PAGE_TOKEN_SECRET:
      parsed.data.PAGE_TOKEN_SECRET ?? `hpc-cluster-api:page-token:${parsed.data.TABLE_NAME}`,
  };
}
