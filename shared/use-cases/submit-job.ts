import { createHash } from "node:crypto";
import type { Cluster } from "../domain/cluster.ts";
import {
  ClusterNotFoundError,
  ClusterNotReadyError,
  IdempotencyConflictError,
  RequestValidationError,
} from "../domain/errors.ts";
import type { Job, JobSpec } from "../domain/job.ts";
import type { JobDeps } from "./deps.ts";
import { dispatchJob } from "./dispatch-job.ts";

/** A job submission, validated at the edge (the script already decoded). */
export interface SubmitJobCommand {
  readonly clusterName: string;
  readonly name: string;
  readonly spec: JobSpec;
  readonly clientToken?: string;
  readonly principal: string;
}

/** Cluster statuses in which a cluster takes jobs. */
const READY = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_FAILED"]);

function requestHash(command: SubmitJobCommand): string {
  return createHash("sha256")
    .update(JSON.stringify([command.clusterName, command.name, command.spec]))
    .digest("hex");
}

/**
 * Submits a job. The record is written first, conditionally, so a retried request (same `clientToken`)
 * answers the first answer and never makes a second scheduler job: AWS Batch's SubmitJob has no client
 * token of its own. A scheduler that refuses the job leaves the record FAILED with its reason.
 */
export function makeSubmitJob(deps: JobDeps) {
  async function readyCluster(name: string): Promise<Cluster> {
    const cluster = await deps.store.get(name);
    if (!cluster || cluster.status === "DELETE_COMPLETE") throw new ClusterNotFoundError(name);
    if (!READY.has(cluster.status)) throw new ClusterNotReadyError(name, cluster.status);
    return cluster;
  }

  async function checkDependencies(command: SubmitJobCommand, cluster: Cluster): Promise<void> {
    const issues = [];
    for (const [index, dependency] of command.spec.dependsOn.entries()) {
      const job = await deps.jobs.get(command.clusterName, dependency.jobId);
      if (!job || job.clusterId !== cluster.clusterId) {
        issues.push({
          path: `body.dependsOn[${index}].jobId`,
          message: `no job ${dependency.jobId} on cluster ${command.clusterName}`,
        });
      }
    }
    if (issues.length > 0)
      throw new RequestValidationError("A dependency names a job this cluster does not have.", issues);
  }

  return async function submitJob(command: SubmitJobCommand): Promise<{ job: Job; replayed: boolean }> {
    const cluster = await readyCluster(command.clusterName);
    deps.schedulers.forCluster(cluster).validate?.(command.name, command.spec, cluster);
    await checkDependencies(command, cluster);

    const token = command.clientToken ? `job:${command.clusterName}:${command.clientToken}` : undefined;
    if (token) {
      const expiresAt = new Date(deps.clock.now().getTime() + deps.settings.idempotencyTtlSeconds * 1000);
      const claim = await deps.idempotency.claim(token, requestHash(command), expiresAt);
      if (claim.kind === "replay") return { job: claim.response.body as Job, replayed: true };
      if (claim.kind !== "claimed") {
        throw new IdempotencyConflictError(
          claim.kind === "mismatch"
            ? `clientToken '${command.clientToken}' was already used with a different job; use a new token.`
            : `A submission with clientToken '${command.clientToken}' is still being processed; retry shortly.`,
          [
            {
              path: "body.clientToken",
              message: claim.kind === "mismatch" ? "already used with another job" : "still in progress",
            },
          ],
        );
      }
    }

    const now = deps.clock.now().toISOString();
    const job: Job = {
      jobId: deps.ids.next(),
      clusterName: cluster.name,
      clusterId: cluster.clusterId,
      name: command.name,
      status: "SUBMITTED",
      spec: command.spec,
      scheduler: deps.schedulers.kindFor(cluster),
      attempts: [],
      createdAt: now,
      updatedAt: now,
      createdBy: command.principal,
      version: 1,
    };
    try {
      await deps.jobs.create(job);
    } catch (error) {
      if (token) await deps.idempotency.release(token);
      throw error;
    }

    // Once the scheduler has the job, the token stays claimed whatever fails next, so that a retry
    // cannot make a second scheduler job; only a refusal releases it.
    const submitted = await dispatchJob(deps, job, cluster, {
      ...(token ? { onRefused: () => deps.idempotency.release(token) } : {}),
    });
    if (token)
      await deps.idempotency.complete(token, { statusCode: 202, body: submitted }).catch(() => undefined);
    return { job: submitted, replayed: false };
  };
}
