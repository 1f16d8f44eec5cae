import { jobDeps } from "#shared/composition/job-deps.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { MAX_SCRIPT_BYTES, toJobSpec } from "#shared/http/job-request.ts";
import { jobResource } from "#shared/http/representations.ts";
import { parseJsonBody, parsePathParams } from "#shared/http/request-parsing.ts";
import { ClusterNameParamsSchema, SubmitJobBodySchema } from "#shared/http/request-schemas.ts";
import { makeSubmitJob } from "#shared/use-cases/submit-job.ts";

const submitJobUseCase = makeSubmitJob(jobDeps());

/** POST /v1/clusters/{name}/jobs: 202 with the job, recorded before it reaches the scheduler. */
export async function submitJob(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, ClusterNameParamsSchema);
  const body = parseJsonBody(request, SubmitJobBodySchema, {
    maxBytes: Math.ceil((MAX_SCRIPT_BYTES * 4) / 3) + 64 * 1024,
  });
  const { job } = await submitJobUseCase({
    clusterName: name,
    name: body.name,
    spec: toJobSpec(body),
    ...(body.clientToken ? { clientToken: body.clientToken } : {}),
    principal: request.principal,
  });
  const resource = jobResource(job);
  return { statusCode: 202, json: resource, headers: { Location: resource.links.self } };
}

export const handler = httpHandler(submitJob);
