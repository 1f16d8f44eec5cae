import { ClusterStatusSchema } from "../domain/cluster.ts";
import { CLUSTER_NAME } from "../domain/cluster-spec.ts";
import { JOB_NAME, JobStatusSchema } from "../domain/job.ts";
import { TRIGGER_MODES, WHEN_DONE } from "../domain/trigger.ts";
import * as z from "../domain/zod.ts";

/**
 * One zod schema per operation's input, at the edge. `test/unit/contract/schema-drift.test.ts` checks each
 * against `openapi.yaml`, so the contract and the code cannot drift apart.
 */

const clusterName = z
  .string()
  .check(
    z.regex(
      CLUSTER_NAME,
      "must start with a letter and hold only letters, digits and hyphens, at most 60 characters",
    ),
  );

/** Tags the user attaches to the cluster (and its stack). */
export const TagsSchema = z
  .record(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(128),
        z.regex(/^[\p{L}\p{N}\s_.:/=+\-@]+$/u, "tag keys use letters, digits, spaces and _.:/=+-@"),
      ),
    z.string().check(z.maxLength(256)),
  )
  .check(z.refine((tags) => Object.keys(tags).length <= 50, "at most 50 tags"));

export const ClusterNameParamsSchema = z.object({ name: clusterName });

export const CreateClusterBodySchema = z.strictObject({
  name: clusterName,
  configuration: z.string().check(z.minLength(1, "the cluster configuration is required")),
  configurationEncoding: z._default(z.enum(["base64", "text"]), "text"),
  clientToken: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters: letters, digits, '-' and '_'")),
  ),
  dryRun: z._default(z.boolean(), false),
  rollbackOnFailure: z._default(z.boolean(), true),
  tags: z._default(TagsSchema, {}),
});
export type CreateClusterBody = z.infer<typeof CreateClusterBodySchema>;

/**
 * A whole number in a query string, written in plain decimal digits. `z.coerce.number()` would take
 * whatever `Number()` takes, so `0x10`, `1e2`, ` 5` and `` (as 0) would pass for numbers; here they are
 * left as text for the number schema to refuse, with its own message. The input side of the pipe is a
 * transform, so the JSON Schema (and the drift test) sees the number schema.
 */
function queryInt<S extends z.ZodMiniType<number, number | undefined>>(schema: S) {
  return z.pipe(
    z.transform((value: unknown) =>
      typeof value === "string" && /^[0-9]{1,15}$/.test(value) ? Number(value) : value,
    ),
    schema,
  );
}

// The default sits inside the pipe: outside it, the JSON Schema of the parameter would lose it.
const limit = queryInt(
  z._default(
    z
      .int("limit must be a whole number from 1 to 100")
      .check(z.minimum(1, "limit must be at least 1"), z.maximum(100, "limit must be at most 100")),
    50,
  ),
);
const nextToken = z.optional(z.string().check(z.minLength(1), z.maxLength(2048)));

export const ListClustersQuerySchema = z.strictObject({
  limit,
  nextToken,
  status: z.optional(ClusterStatusSchema),
});
export type ListClustersQuery = z.infer<typeof ListClustersQuerySchema>;

export const ListEventsQuerySchema = z.strictObject({
  limit,
  nextToken,
  source: z._default(z.enum(["status", "stack"]), "status"),
});

/** The pcluster v2 commands the command endpoint serves. */
export const PclusterCommandSchema = z.enum(["create", "status", "delete", "list", "version", "submit-job"]);

export const PclusterCommandQuerySchema = z.strictObject({
  command: PclusterCommandSchema,
  cluster_name: z.optional(clusterName),
});
export type PclusterCommandQuery = z.infer<typeof PclusterCommandQuerySchema>;

/** Our job ids are ULIDs. */
export const JOB_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const jobId = z.string().check(z.regex(JOB_ID, "a job id as this API returns it (26 characters)"));

export const JobParamsSchema = z.object({ name: clusterName, jobId });

/** Batch's pattern rules: digits (or letters and `.:` for reasons) with at most one `*`, at the end. */
const exitCodePattern = z
  .string()
  .check(z.regex(/^[0-9]{1,512}\*?$|^\*$/, "digits, with an optional trailing '*' (the only wildcard)"));
const reasonPattern = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9 .:]{0,512}\*?$/,
      "letters, digits, spaces, '.' and ':', with an optional trailing '*' (the only wildcard)",
    ),
  );

export const RetryStrategySchema = z.strictObject({
  attempts: z
    .int("attempts must be a whole number from 1 to 10")
    .check(z.minimum(1, "attempts must be at least 1"), z.maximum(10, "attempts must be at most 10")),
  evaluateOnExit: z.optional(
    z
      .array(
        z.strictObject({
          onExitCode: z.optional(exitCodePattern),
          onReason: z.optional(reasonPattern),
          onStatusReason: z.optional(reasonPattern),
          action: z.enum(["RETRY", "EXIT"]),
        }),
      )
      .check(z.maxLength(5, "at most 5 evaluateOnExit rules (AWS Batch's limit)")),
  ),
});

/** The fields of a job submission, shared by `SubmitJobBodySchema` and the job template of a trigger rule. */
const submitJobFields = {
  name: z
    .string()
    .check(z.regex(JOB_NAME, "1-128 letters, digits, '-' and '_', starting with a letter or digit")),
  command: z.optional(
    z
      .array(z.string().check(z.maxLength(8192)))
      .check(z.minLength(1, "the command needs at least the program"), z.maxLength(1000)),
  ),
  script: z.optional(z.string().check(z.minLength(1), z.maxLength(256 * 1024))),
  scriptEncoding: z._default(z.enum(["base64", "text"]), "text"),
  image: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/, "a container image reference")),
  ),
  vcpus: z.optional(z.number().check(z.positive(), z.maximum(256))),
  memoryMiB: z.optional(z.int().check(z.minimum(4), z.maximum(1_048_576))),
  environment: z._default(
    z
      .record(
        z.string().check(
          z.regex(
            /^[A-Za-z_][A-Za-z0-9_]{0,254}$/,
            "names use letters, digits and '_', not starting with a digit",
          ),
          z.refine((name) => !name.startsWith("AWS_BATCH"), "names starting with AWS_BATCH are reserved"),
        ),
        z.string().check(z.maxLength(32_768)),
      )
      .check(z.refine((env) => Object.keys(env).length <= 100, "at most 100 environment variables")),
    {},
  ),
  arraySize: z.optional(
    z
      .int("arraySize must be a whole number")
      .check(
        z.minimum(2, "arraySize must be at least 2 (AWS Batch's rule)"),
        z.maximum(10_000, "arraySize must be at most 10,000"),
      ),
  ),
  dependsOn: z._default(
    z
      .array(z.strictObject({ jobId, type: z.optional(z.enum(["N_TO_N", "SEQUENTIAL"])) }))
      .check(z.maxLength(20, "at most 20 dependencies (AWS Batch's limit)")),
    [],
  ),
  retryStrategy: z.optional(RetryStrategySchema),
  timeoutSeconds: z.optional(
    z.int().check(z.minimum(60, "timeoutSeconds must be at least 60 (AWS Batch's minimum)")),
  ),
  nodes: z.optional(z.int().check(z.minimum(1), z.maximum(1000))),
  logGroup: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^\/hpc-cluster-api\/[A-Za-z0-9._/#-]{1,490}$/,
          "a CloudWatch Logs group under /hpc-cluster-api/ (the API may read only those): letters, digits, '.', '_', '/', '#', '-'",
        ),
      ),
  ),
  inputUri: z.optional(z.string().check(z.regex(/^(s3|file):\/\/[^\s]{1,2040}$/, "an s3:// or file:// URI"))),
  clientToken: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters: letters, digits, '-' and '_'")),
  ),
};

/** A job runs either an argv or a script, never both, never neither. */
const exactlyOneOfCommandAndScript = z.refine<{ readonly command?: unknown; readonly script?: unknown }>(
  (body) => (body.command === undefined) !== (body.script === undefined),
  { message: "give exactly one of command (an argv array) and script", path: ["command"] },
);

export const SubmitJobBodySchema = z.strictObject(submitJobFields).check(exactlyOneOfCommandAndScript);
export type SubmitJobBody = z.infer<typeof SubmitJobBodySchema>;

const isoTime = z
  .string()
  .check(z.iso.datetime({ offset: true, error: "an ISO 8601 time such as 2026-01-31T00:00:00Z" }));

export const ListJobsQuerySchema = z.strictObject({
  limit,
  nextToken,
  status: z.optional(JobStatusSchema),
  createdAfter: z.optional(isoTime),
  createdBefore: z.optional(isoTime),
});

export const JobLogsQuerySchema = z.strictObject({
  limit: queryInt(
    z._default(
      z
        .int("limit must be a whole number from 1 to 1000")
        .check(z.minimum(1, "limit must be at least 1"), z.maximum(1000, "limit must be at most 1000")),
      100,
    ),
  ),
  nextToken,
  attempt: z.optional(
    queryInt(
      z.int("attempt must be a whole number from 1").check(z.minimum(1, "attempt must be at least 1")),
    ),
  ),
});

/** Trigger rules are named like clusters. */
export const TriggerNameParamsSchema = z.object({ name: clusterName });

export const ListTriggersQuerySchema = z.strictObject({ limit, nextToken });

/**
 * S3's bucket naming rules: 3-63 characters, lowercase letters, digits, `.` and `-`, starting and ending
 * with a letter or digit, no `..`, not an IP address, none of the prefixes and suffixes S3 reserves.
 */
const bucketName = z.string("the name of the S3 bucket to watch is required").check(
  z.regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit (S3's bucket naming rules)",
  ),
  z.refine((name) => !name.includes(".."), "S3 bucket names never hold two adjacent periods ('..')"),
  z.refine(
    (name) => !/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(name),
    "S3 bucket names are never formatted as an IP address",
  ),
  z.refine(
    (name) =>
      !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
      !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name),
    "S3 reserves this prefix or suffix (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, .mrap, --x-s3, --table-s3)",
  ),
);

/** A part of an S3 key (a prefix or a suffix). */
function keyPart(field: string) {
  return z.string().check(
    z.minLength(1, `omit ${field} rather than send it empty`),
    z.maxLength(1024, `at most 1024 characters (S3's longest key)`),
    z.refine((value) => !value.includes("\u0000"), "must not contain NUL characters"),
  );
}

/** Keys under the prefix: S3 keys never start with `/`, and `..` must not climb out of a local inbox. */
const keyPrefix = keyPart("prefix").check(
  z.refine((value) => !value.startsWith("/"), "S3 keys do not start with '/': drop the leading slash"),
  z.refine((value) => !value.split("/").includes(".."), "must not contain a '..' path segment"),
);

/**
 * A job name in a rule: the job name rule, where a placeholder `${input.<field>}` may stand for
 * characters (an unknown field is reported by `templatePlaceholderIssues`, with the fields it knows).
 * Once substituted, the name is made a valid job name by `renderJob`.
 */
export const TEMPLATE_JOB_NAME =
  /^(?:[A-Za-z0-9]|\$\{input(?:\.[A-Za-z0-9_]{0,32})?\})(?:[A-Za-z0-9_-]|\$\{input(?:\.[A-Za-z0-9_]{0,32})?\}){0,127}$/;

const {
  name: _name,
  clientToken: _clientToken,
  dependsOn: _dependsOn,
  inputUri: _inputUri,
  ...templateJobFields
} = submitJobFields;

/** The job a rule submits: the fields of a job submission but the client token, dependencies and input URI. */
export const TriggerJobTemplateSchema = z
  .strictObject({
    name: z.string().check(
      z.regex(
        TEMPLATE_JOB_NAME,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: names the placeholder syntax, literally
        "1-128 letters, digits, '-', '_' and ${input.<field>} placeholders, starting with a letter, a digit or a placeholder",
      ),
    ),
    ...templateJobFields,
  })
  .check(exactlyOneOfCommandAndScript);
export type TriggerJobTemplateBody = z.infer<typeof TriggerJobTemplateSchema>;

/** The configuration a rule's cluster is created from when it is absent, as in cluster create. */
export const ClusterTemplateSchema = z.strictObject({
  configuration: z.string().check(z.minLength(1, "the cluster configuration is required")),
  configurationEncoding: z._default(z.enum(["base64", "text"]), "text"),
});

export const CreateTriggerBodySchema = z.strictObject({
  name: clusterName,
  bucket: bucketName,
  prefix: z.optional(keyPrefix),
  suffix: z.optional(keyPart("suffix")),
  clusterName,
  clusterTemplate: z.optional(ClusterTemplateSchema),
  job: TriggerJobTemplateSchema,
  mode: z._default(z.enum(TRIGGER_MODES), "per-object"),
  whenDone: z._default(z.enum(WHEN_DONE), "keep"),
});
export type CreateTriggerBody = z.infer<typeof CreateTriggerBodySchema>;
