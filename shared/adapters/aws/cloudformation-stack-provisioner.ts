import { createHash } from "node:crypto";
import {
  type CloudFormationClient,
  CreateStackCommand,
  type CreateStackCommandInput,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Parameter,
  type StackEvent as SdkStackEvent,
  type Stack,
} from "@aws-sdk/client-cloudformation";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { ClusterSpec } from "../../domain/cluster-spec.ts";
import {
  ClusterExistsError,
  ConfigInvalidError,
  type DomainError,
  InvalidNextTokenError,
  RequestValidationError,
  ServiceUnavailableError,
  UpstreamError,
} from "../../domain/errors.ts";
import {
  buildStackTemplate,
  PCLUSTER_SERVICE_TOKEN_PARAMETER,
  type TemplateOptions,
  templateProvisioningIssues,
} from "../../domain/templates/index.ts";
import type {
  CreateStackRequest,
  StackDescription,
  StackEvent,
  StackProvisioner,
} from "../../ports/stack-provisioner.ts";

/** CloudFormation's limit for `TemplateBody`; larger templates must be passed as a `TemplateURL`. */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

/** Tags this API puts on every stack (besides the user's own). */
export const STACK_TAGS = {
  clusterName: "hpc-cluster-api:cluster-name",
  clusterId: "hpc-cluster-api:cluster-id",
  createdBy: "hpc-cluster-api:created-by",
  managed: "hpc-cluster-api:managed",
} as const;

/** Options of {@link CloudFormationStackProvisioner}. Clients are created once by the caller. */
export interface CloudFormationStackProvisionerOptions {
  readonly cloudFormation: CloudFormationClient;
  /** Needed only for templates over {@link MAX_TEMPLATE_BODY_BYTES}, with `templateBucket`. */
  readonly s3?: S3Client;
  /** Bucket for large templates (deployment setting `TEMPLATE_BUCKET`); objects go under `templates/`. */
  readonly templateBucket?: string;
  /** ServiceToken of the ParallelCluster provider stack (`PCLUSTER_SERVICE_TOKEN`); without it, no Slurm. */
  readonly pclusterServiceToken?: string;
  /** Value of the `hpc-cluster-api:managed` tag (default `true`), e.g. to tell deployments apart. */
  readonly apiMarker?: string;
  /** Service role of AWS Batch compute environments; default the Batch service-linked role. */
  readonly batchServiceRoleArn?: string;
}

/** Longest cluster name (the spec's rule): used to size templates before the real name is known. */
const LONGEST_CLUSTER_NAME = "x".repeat(60);

/** Upper bound on DescribeStackEvents calls for one page of ours, to stay inside API Gateway's timeout. */
const MAX_EVENT_PAGES_PER_CALL = 10;

const CLIENT_TOKEN = /^[a-zA-Z0-9][-a-zA-Z0-9]*$/;

/**
 * CloudFormation's `ClientRequestToken` for an operation on a cluster: `create-<clusterId>` when that
 * fits the token rule (128 characters of `[a-zA-Z0-9][-a-zA-Z0-9]*`), else the operation and a hash of the
 * id. Same cluster, same token: a retried call is recognised as the same request.
 */
export function clientRequestToken(operation: "create" | "delete", clusterId: string): string {
  const plain = `${operation}-${clusterId}`;
  if (plain.length <= 128 && CLIENT_TOKEN.test(plain)) return plain;
  return `${operation}-${createHash("sha256").update(clusterId).digest("hex")}`;
}

// Error classification. The SDK has already retried throttling and transient errors by the time one
// reaches us; what is left is sorted here into the domain's taxonomy, never passed on raw.

const THROTTLING = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "PriorRequestNotComplete",
]);
const TRANSIENT = new Set([
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
]);
const ACCESS_DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);
const BAD_CREDENTIALS = new Set([
  "CredentialsProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
]);

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

function errorName(error: unknown): string {
  if (typeof error !== "object" || error === null) return "UnknownError";
  const { name, code } = error as SdkErrorShape;
  // Node network errors carry the useful part in `code` (`ECONNREFUSED`), SDK errors in `name`.
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  return typeof name === "string" ? name : "UnknownError";
}

function errorMessage(error: unknown): string {
  const message = typeof error === "object" && error !== null ? (error as SdkErrorShape).message : undefined;
  return typeof message === "string" ? message : "";
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/** True for CloudFormation's answer about a stack that does not exist (a `ValidationError`). */
export function isStackMissing(error: unknown): boolean {
  return errorName(error) === "ValidationError" && /does not exist/i.test(errorMessage(error));
}

function withCause<E extends DomainError>(mapped: E, error: unknown): E {
  mapped.cause = error;
  return mapped;
}

/**
 * Maps an AWS SDK error from `action` (IAM action name, e.g. `cloudformation:CreateStack`) to a domain
 * error: throttling and transient failures that outlived the SDK's retries -> 503, `ValidationError` ->
 * 400 with CloudFormation's message, access denied -> 502 naming the action, anything else -> 502.
 */
export function mapAwsError(error: unknown, action: string): DomainError {
  const name = errorName(error);
  const message = errorMessage(error);
  const status = httpStatus(error);
  const fault = typeof error === "object" && error !== null ? (error as SdkErrorShape).$fault : undefined;
  const service = action.split(":")[0] ?? action;

  if (THROTTLING.has(name) || status === 429) {
    return withCause(
      // A throttled request is refused before it starts: retrying it cannot act twice.
      new ServiceUnavailableError(`${service} is throttling requests (${action}); retry shortly.`, 10, true),
      error,
    );
  }
  if (TRANSIENT.has(name) || (status !== undefined && status >= 500) || fault === "server") {
    return withCause(
      new ServiceUnavailableError(`${service} is unavailable (${action}: ${name}); retry shortly.`),
      error,
    );
  }
  if (ACCESS_DENIED.has(name)) {
    return withCause(
      new UpstreamError(
        `Access denied: the API's IAM role is not allowed to call ${action}. Grant ${action} to it. (${message})`,
      ),
      error,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return withCause(
      new UpstreamError(`The API's AWS credentials were refused calling ${action} (${name}).`),
      error,
    );
  }
  if (name === "ValidationError") {
    return withCause(new RequestValidationError(`CloudFormation rejected the request: ${message}`), error);
  }
  return withCause(new UpstreamError(`${action} failed: ${name}${message ? `: ${message}` : ""}`), error);
}

interface EventCursor {
  /** CloudFormation's NextToken of the page we stopped in (absent: the first page). */
  readonly t?: string;
  /** How many events of that page were already returned. */
  readonly o: number;
}

function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
}

function decodeCursor(token: string | undefined): EventCursor {
  if (token === undefined) return { o: 0 };
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof parsed === "object" && parsed !== null) {
      const { t, o } = parsed as { t?: unknown; o?: unknown };
      if (
        (t === undefined || typeof t === "string") &&
        typeof o === "number" &&
        Number.isInteger(o) &&
        o >= 0
      ) {
        return t === undefined ? { o } : { t, o };
      }
    }
  } catch {
    // fall through: not ours
  }
  throw new InvalidNextTokenError();
}

function toStackEvent(event: SdkStackEvent): StackEvent {
  return {
    at: (event.Timestamp ?? new Date(0)).toISOString(),
    logicalResourceId: event.LogicalResourceId ?? "",
    resourceType: event.ResourceType ?? "",
    status: event.ResourceStatus ?? "",
    ...(event.ResourceStatusReason ? { reason: event.ResourceStatusReason } : {}),
  };
}

function toDescription(stack: Stack): StackDescription {
  const outputs: Record<string, string> = {};
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined)
      outputs[output.OutputKey] = output.OutputValue;
  }
  return {
    stackId: stack.StackId ?? "",
    stackName: stack.StackName ?? "",
    status: stack.StackStatus ?? "",
    ...(stack.StackStatusReason ? { statusReason: stack.StackStatusReason } : {}),
    outputs,
    updatedAt: (stack.LastUpdatedTime ?? stack.CreationTime ?? new Date(0)).toISOString(),
  };
}

function templateBytes(body: string): number {
  return Buffer.byteLength(body, "utf8");
}

/**
 * `StackProvisioner` on CloudFormation: an AWS Batch stack for `awsbatch` clusters, a ParallelCluster
 * custom resource for `slurm`. Throttling and transient errors are retried by the client (see
 * `createCloudFormationClient`); what is left is mapped to domain errors by {@link mapAwsError}.
 */
export class CloudFormationStackProvisioner implements StackProvisioner {
  readonly #cfn: CloudFormationClient;
  readonly #s3: S3Client | undefined;
  readonly #bucket: string | undefined;
  readonly #serviceToken: string | undefined;
  readonly #marker: string;
  readonly #batchServiceRoleArn: string | undefined;

  constructor(options: CloudFormationStackProvisionerOptions) {
    this.#cfn = options.cloudFormation;
    this.#s3 = options.s3;
    this.#bucket = options.templateBucket || undefined;
    this.#serviceToken = options.pclusterServiceToken || undefined;
    this.#marker = options.apiMarker ?? "true";
    this.#batchServiceRoleArn = options.batchServiceRoleArn || undefined;
  }

  #templateOptions(clusterName: string, region?: string): TemplateOptions {
    return {
      clusterName,
      ...(region === undefined ? {} : { region }),
      ...(this.#batchServiceRoleArn === undefined ? {} : { batchServiceRoleArn: this.#batchServiceRoleArn }),
    };
  }

  #canUploadTemplates(): boolean {
    return this.#s3 !== undefined && this.#bucket !== undefined;
  }

  #tooLargeError(bytes: number): ConfigInvalidError {
    return new ConfigInvalidError(
      `This configuration makes a ${bytes}-byte stack template, over CloudFormation's ${MAX_TEMPLATE_BODY_BYTES}-byte limit for inline templates, and this deployment has no template bucket: set TEMPLATE_BUCKET (an S3 bucket the API may write to) or use fewer queues.`,
      [{ path: "Scheduling", message: "stack template too large to send inline" }],
    );
  }

  checkCanProvision(spec: ClusterSpec): void {
    if (spec.scheduler === "slurm" && this.#serviceToken === undefined) {
      throw new ConfigInvalidError(
        "Slurm clusters are created through ParallelCluster, and this deployment is not connected to it: deploy the ParallelCluster CloudFormation custom resource provider (ParallelCluster >= 3.6, the stack that exposes the ParallelCluster API to CloudFormation) and set PCLUSTER_SERVICE_TOKEN to its ServiceToken output. AWS Batch clusters (scheduler awsbatch) work without it.",
        [
          {
            path: "Scheduling.Scheduler",
            message: "slurm is not available on this deployment (PCLUSTER_SERVICE_TOKEN is not set)",
          },
        ],
      );
    }
    const issues = templateProvisioningIssues(spec);
    if (issues.length > 0) {
      throw new ConfigInvalidError(
        `The configuration lacks what AWS needs to create this cluster: ${issues.map((i) => i.path).join(", ")}.`,
        issues,
      );
    }
    if (!this.#canUploadTemplates()) {
      // Sized with the longest possible name, so a spec that passes here also passes in createStack.
      const { template } = buildStackTemplate(spec, this.#templateOptions(LONGEST_CLUSTER_NAME));
      const bytes = templateBytes(JSON.stringify(template));
      if (bytes > MAX_TEMPLATE_BODY_BYTES) throw this.#tooLargeError(bytes);
    }
  }

  async createStack(request: CreateStackRequest): Promise<{ readonly stackId: string }> {
    this.checkCanProvision(request.spec);
    const region = await this.#region();
    const { template } = buildStackTemplate(request.spec, this.#templateOptions(request.clusterName, region));
    const body = JSON.stringify(template);

    const parameters: Parameter[] = [];
    if (
      template.Parameters?.[PCLUSTER_SERVICE_TOKEN_PARAMETER] !== undefined &&
      this.#serviceToken !== undefined
    ) {
      parameters.push({ ParameterKey: PCLUSTER_SERVICE_TOKEN_PARAMETER, ParameterValue: this.#serviceToken });
    }
    const tags: Record<string, string> = {
      ...request.spec.tags,
      ...request.tags,
      [STACK_TAGS.clusterName]: request.clusterName,
      [STACK_TAGS.clusterId]: request.clusterId,
      [STACK_TAGS.managed]: this.#marker,
    };

    const input: CreateStackCommandInput = {
      StackName: request.stackName,
      ...(await this.#templateSource(request.clusterId, body, region)),
      ...(parameters.length > 0 ? { Parameters: parameters } : {}),
      Capabilities: ["CAPABILITY_IAM"],
      OnFailure: request.rollbackOnFailure ? "ROLLBACK" : "DO_NOTHING",
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      ClientRequestToken: clientRequestToken("create", request.clusterId),
    };

    try {
      const out = await this.#cfn.send(new CreateStackCommand(input));
      if (out.StackId === undefined)
        throw new UpstreamError("CloudFormation accepted CreateStack but returned no StackId.");
      return { stackId: out.StackId };
    } catch (error) {
      const name = errorName(error);
      if (name === "AlreadyExistsException" || name === "TokenAlreadyExistsException") {
        return this.#existingStackOf(request);
      }
      if (error instanceof UpstreamError) throw error;
      throw mapAwsError(error, "cloudformation:CreateStack");
    }
  }

  /**
   * A stack of that name exists. If it carries this cluster's id, this call is a retry (CloudFormation
   * recognises retries by `ClientRequestToken` for a while; the tag covers the rest): answer that stack.
   */
  async #existingStackOf(request: CreateStackRequest): Promise<{ readonly stackId: string }> {
    const stack = await this.#describe(request.stackName);
    if (stack === undefined) {
      // Gone between the two calls (a delete finished): the caller may simply retry.
      throw new ServiceUnavailableError(`Stack ${request.stackName} is being replaced; retry shortly.`);
    }
    const owner = stack.Tags?.find((tag) => tag.Key === STACK_TAGS.clusterId)?.Value;
    if (owner === request.clusterId && stack.StackId !== undefined) return { stackId: stack.StackId };
    throw new ClusterExistsError(
      request.clusterName,
      `${stack.StackStatus ?? "unknown"}, stack ${request.stackName}`,
    );
  }

  async #templateSource(
    clusterId: string,
    body: string,
    region: string | undefined,
  ): Promise<{ TemplateBody: string } | { TemplateURL: string }> {
    const bytes = templateBytes(body);
    if (bytes <= MAX_TEMPLATE_BODY_BYTES) return { TemplateBody: body };
    const s3 = this.#s3;
    const bucket = this.#bucket;
    if (s3 === undefined || bucket === undefined) throw this.#tooLargeError(bytes);
    const key = `templates/${clusterId}.json`;
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json" }),
      );
    } catch (error) {
      throw mapAwsError(error, "s3:PutObject");
    }
    const s3Region = (await s3.config.region().catch(() => undefined)) || region || "us-east-1";
    const suffix = s3Region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    const path = key.split("/").map(encodeURIComponent).join("/");
    return { TemplateURL: `https://${bucket}.s3.${s3Region}.${suffix}/${path}` };
  }

  async #region(): Promise<string | undefined> {
    try {
      return await this.#cfn.config.region();
    } catch {
      // No region configured: the SDK will say so on the call itself; templates do without it.
      return undefined;
    }
  }

  async deleteStack(request: {
    readonly clusterId: string;
    readonly stackName: string;
    readonly stackId?: string;
  }): Promise<void> {
    // The id names exactly this cluster's stack, even if a newer stack took the name since.
    const target = request.stackId ?? request.stackName;
    const stack = await this.#describe(target);
    if (stack === undefined || stack.StackStatus === "DELETE_COMPLETE") return;
    // A token names one request. After DELETE_FAILED the same token would name the delete that already
    // failed, so trying again is a new request with a token of its own.
    const token =
      stack.StackStatus === "DELETE_FAILED"
        ? clientRequestToken("delete", `${request.clusterId}-retry-${Date.now()}`)
        : clientRequestToken("delete", request.clusterId);
    try {
      await this.#cfn.send(new DeleteStackCommand({ StackName: target, ClientRequestToken: token }));
    } catch (error) {
      if (isStackMissing(error)) return;
      throw mapAwsError(error, "cloudformation:DeleteStack");
    }
  }

  async #describe(stackName: string): Promise<Stack | undefined> {
    try {
      const out = await this.#cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      return out.Stacks?.[0];
    } catch (error) {
      if (isStackMissing(error)) return undefined;
      throw mapAwsError(error, "cloudformation:DescribeStacks");
    }
  }

  async describeStack(stackName: string): Promise<StackDescription | undefined> {
    const stack = await this.#describe(stackName);
    return stack === undefined ? undefined : toDescription(stack);
  }

  /**
   * CloudFormation pages events by its own page size (newest first). Our token remembers the page and how
   * far into it we got, so any `limit` works. While a stack is still changing, new events land on the
   * first page, so paging from the start of a live stack may repeat an event.
   */
  async listStackEvents(
    stackName: string,
    request: { readonly limit: number; readonly nextToken?: string },
  ): Promise<{ readonly items: StackEvent[]; readonly nextToken?: string }> {
    const limit = Math.max(1, Math.floor(request.limit));
    let cursor = decodeCursor(request.nextToken);
    const items: StackEvent[] = [];
    for (let pages = 0; pages < MAX_EVENT_PAGES_PER_CALL; pages++) {
      let page: { StackEvents?: SdkStackEvent[]; NextToken?: string };
      try {
        page = await this.#cfn.send(
          new DescribeStackEventsCommand({
            StackName: stackName,
            ...(cursor.t ? { NextToken: cursor.t } : {}),
          }),
        );
      } catch (error) {
        if (isStackMissing(error)) return { items };
        if (errorName(error) === "ValidationError" && cursor.t !== undefined)
          throw new InvalidNextTokenError();
        throw mapAwsError(error, "cloudformation:DescribeStackEvents");
      }
      const fresh = (page.StackEvents ?? []).slice(cursor.o);
      const room = limit - items.length;
      if (fresh.length > room) {
        items.push(...fresh.slice(0, room).map(toStackEvent));
        return {
          items,
          nextToken: encodeCursor({ ...(cursor.t ? { t: cursor.t } : {}), o: cursor.o + room }),
        };
      }
      items.push(...fresh.map(toStackEvent));
      if (page.NextToken === undefined) return { items };
      cursor = { t: page.NextToken, o: 0 };
      if (items.length === limit) break;
    }
    return { items, nextToken: encodeCursor(cursor) };
  }
}
