import { decodeBase64Text, tooLargeError } from "../domain/base64-text.ts";
import { RequestValidationError } from "../domain/errors.ts";
import type { JobSpec } from "../domain/job.ts";
import type { SubmitJobBody } from "./request-schemas.ts";

/** The largest job script accepted, decoded. */
export const MAX_SCRIPT_BYTES = 256 * 1024;

/** Decodes a job script sent as base64 (strict), naming `path` in every error. */
export function decodeScript(script: string, path: string): string {
  return decodeBase64Text(script, {
    path,
    howTo:
      "Send the script base64-encoded, e.g. the output of `base64 -w0 job.sh`, or set scriptEncoding to text.",
    maxBytes: MAX_SCRIPT_BYTES,
    notText: (why) =>
      new RequestValidationError(`The decoded script is not text (${why}).`, [
        { path, message: `not text: ${why}` },
      ]),
    tooLarge: tooLargeError(path, "script", MAX_SCRIPT_BYTES),
  });
}

/** The job fields of a request: a submission's, or (without dependencies or input) a rule's template. */
export type JobFields = Omit<SubmitJobBody, "name" | "clientToken" | "dependsOn" | "inputUri"> &
  Partial<Pick<SubmitJobBody, "dependsOn" | "inputUri">>;

/**
 * The job as the domain takes it, from validated request fields; a base64 script is decoded, its errors
 * naming `scriptPath`.
 */
export function toJobSpec(body: JobFields, scriptPath = "body.script"): JobSpec {
  const script =
    body.script === undefined
      ? undefined
      : body.scriptEncoding === "base64"
        ? decodeScript(body.script, scriptPath)
        : body.script;
  return {
    ...(body.command ? { command: body.command } : {}),
    ...(script !== undefined ? { script } : {}),
    ...(body.image ? { image: body.image } : {}),
    ...(body.vcpus !== undefined ? { vcpus: body.vcpus } : {}),
    ...(body.memoryMiB !== undefined ? { memoryMiB: body.memoryMiB } : {}),
    environment: body.environment,
    ...(body.arraySize !== undefined ? { arraySize: body.arraySize } : {}),
    dependsOn: body.dependsOn ?? [],
    ...(body.retryStrategy ? { retryStrategy: body.retryStrategy } : {}),
    ...(body.timeoutSeconds !== undefined ? { timeoutSeconds: body.timeoutSeconds } : {}),
    ...(body.nodes !== undefined ? { nodes: body.nodes } : {}),
    ...(body.logGroup ? { logGroup: body.logGroup } : {}),
    ...(body.inputUri ? { inputUri: body.inputUri } : {}),
  };
}
