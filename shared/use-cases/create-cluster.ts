import { createHash } from "node:crypto";
import type { Cluster } from "../domain/cluster.ts";
import type { ClusterSpec, ConfigWarning } from "../domain/cluster-spec.ts";
import { decodeConfiguration, parseClusterConfig } from "../domain/config/index.ts";
import { IdempotencyConflictError } from "../domain/errors.ts";
import { buildStackTemplate } from "../domain/templates/index.ts";
import type { ClusterDeps } from "./deps.ts";
import { requestStack } from "./request-stack.ts";

/** A request to create a cluster, already validated at the edge. */
export interface CreateClusterCommand {
  readonly name: string;
  readonly configuration: string;
  readonly configurationEncoding: "base64" | "text";
  readonly clientToken?: string;
  readonly dryRun: boolean;
  readonly rollbackOnFailure: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly principal: string;
  /** Overrides the deployment's stack name prefix (the command endpoint uses `parallelcluster-`). */
  readonly stackNamePrefix?: string;
}

/** What a dry run answers: the config as we understood it, what we would deploy, and the warnings. */
export interface DryRunResult {
  readonly valid: true;
  readonly normalized: ClusterSpec;
  readonly warnings: readonly ConfigWarning[];
  readonly template?: unknown;
}

export type CreateClusterOutcome =
  | { readonly kind: "dry-run"; readonly result: DryRunResult }
  | { readonly kind: "created"; readonly cluster: Cluster; readonly replayed: boolean };

function requestHash(command: CreateClusterCommand, configText: string, prefix: string): string {
  const canonical = JSON.stringify([
    command.name,
    configText,
    Object.entries(command.tags).sort(([a], [b]) => a.localeCompare(b)),
    command.rollbackOnFailure,
    prefix,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * Creates a cluster: decode, parse and validate the config, record the cluster (conditionally: one live
 * cluster per name), then ask the provisioner for the stack. The stack work happens after the answer;
 * its progress arrives as stack status events. A `clientToken` makes a retried request answer the first
 * answer; a failure before the stack was requested leaves no record behind.
 */
export function makeCreateCluster(deps: ClusterDeps) {
  return async function createCluster(command: CreateClusterCommand): Promise<CreateClusterOutcome> {
    const configText = decodeConfiguration(command.configuration, command.configurationEncoding);
    const { spec, warnings } = parseClusterConfig(configText);
    deps.provisioner.checkCanProvision(spec);

    if (command.dryRun) {
      // Whatever backend answers, show what the AWS backend would deploy: the plan before the bill.
      const plan = buildStackTemplate(spec, { clusterName: command.name });
      return {
        kind: "dry-run",
        result: {
          valid: true,
          normalized: spec,
          warnings: [...warnings, ...plan.warnings],
          template: plan.template,
        },
      };
    }

    const prefix = command.stackNamePrefix ?? deps.settings.stackNamePrefix;
    const token = command.clientToken;
    if (token) {
      const expiresAt = new Date(deps.clock.now().getTime() + deps.settings.idempotencyTtlSeconds * 1000);
      const claim = await deps.idempotency.claim(token, requestHash(command, configText, prefix), expiresAt);
      if (claim.kind === "replay")
        return { kind: "created", cluster: claim.response.body as Cluster, replayed: true };
      if (claim.kind === "mismatch") {
        throw new IdempotencyConflictError(
          `clientToken '${token}' was already used with a different request; use a new token for a new request.`,
          [{ path: "body.clientToken", message: "already used with a different request body" }],
        );
      }
      if (claim.kind === "in-progress") {
        throw new IdempotencyConflictError(
          `A request with clientToken '${token}' is still being processed; retry in a few seconds.`,
          [{ path: "body.clientToken", message: "the first request with this token has not finished" }],
        );
      }
    }

    let cluster: Cluster;
    try {
      cluster = await recordAndProvision(deps, command, spec, warnings, prefix);
    } catch (error) {
      if (token) await deps.idempotency.release(token);
      throw error;
    }
    // The cluster exists now, whatever happens to the token: failing to store the answer must not turn
    // a success into an error. A repeat then finds the claim in progress until it is abandoned.
    if (token)
      await deps.idempotency.complete(token, { statusCode: 202, body: cluster }).catch(() => undefined);
    return { kind: "created", cluster, replayed: false };
  };
}

async function recordAndProvision(
  deps: ClusterDeps,
  command: CreateClusterCommand,
  spec: ClusterSpec,
  warnings: readonly ConfigWarning[],
  prefix: string,
): Promise<Cluster> {
  const now = deps.clock.now().toISOString();
  const tags = { ...spec.tags, ...command.tags };
  const cluster: Cluster = {
    name: command.name,
    clusterId: deps.ids.next(),
    status: "CREATE_IN_PROGRESS",
    scheduler: spec.scheduler,
    stackName: `${prefix}${command.name}`,
    createdAt: now,
    updatedAt: now,
    createdBy: command.principal,
    tags,
    config: spec,
    warnings,
    options: { rollbackOnFailure: command.rollbackOnFailure },
    version: 1,
  };
  await deps.store.create(cluster, {
    at: now,
    status: "CREATE_IN_PROGRESS",
    source: "api",
    reason: "create requested",
  });

  try {
    return await requestStack(deps, cluster);
  } catch (error) {
    // The stack was never requested: take the record back so the failed request leaves nothing behind.
    await deps.store
      .remove(cluster.name, { version: cluster.version, clusterId: cluster.clusterId })
      .catch(() => undefined); // the original error is the one the caller must see
    throw error;
  }
}
