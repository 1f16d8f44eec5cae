import { MAX_CONFIG_BYTES } from "../domain/config/index.ts";
import type { JobTemplate } from "../domain/trigger.ts";
import type { CreateTriggerCommand } from "../use-cases/manage-triggers.ts";
import { MAX_SCRIPT_BYTES, toJobSpec } from "./job-request.ts";
import type { CreateTriggerBody, TriggerJobTemplateBody } from "./request-schemas.ts";

/**
 * The largest `POST /v1/triggers` body: a base64 script and a base64 cluster configuration, each at its
 * own limit (base64 grows them by 4/3), and room for the JSON around them.
 */
export const MAX_TRIGGER_BODY_BYTES = Math.ceil(((MAX_SCRIPT_BYTES + MAX_CONFIG_BYTES) * 4) / 3) + 64 * 1024;

/**
 * The job a rule submits, from its validated `job` field: the script decoded (errors name
 * `body.job.script`), no dependencies (a rule has no job ids to depend on) and no input URI (the event
 * gives it, through `${input.uri}`).
 */
export function toJobTemplate(job: TriggerJobTemplateBody): JobTemplate {
  return { name: job.name, spec: toJobSpec(job, "body.job.script") };
}

/** The create command, from a validated `POST /v1/triggers` body and the caller. */
export function toCreateTriggerCommand(body: CreateTriggerBody, principal: string): CreateTriggerCommand {
  return {
    name: body.name,
    bucket: body.bucket,
    ...(body.prefix !== undefined ? { prefix: body.prefix } : {}),
    ...(body.suffix !== undefined ? { suffix: body.suffix } : {}),
    clusterName: body.clusterName,
    ...(body.clusterTemplate ? { clusterTemplate: body.clusterTemplate } : {}),
    job: toJobTemplate(body.job),
    mode: body.mode,
    whenDone: body.whenDone,
    principal,
  };
}
