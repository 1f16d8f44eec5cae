import { jobDeps } from "#shared/composition/job-deps.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { jobResource } from "#shared/http/representations.ts";
import { parsePathParams } from "#shared/http/request-parsing.ts";
import { JobParamsSchema } from "#shared/http/request-schemas.ts";
import { makeCancelJob } from "#shared/use-cases/cancel-job.ts";

const cancelJobUseCase = makeCancelJob(jobDeps());

/** DELETE /v1/clusters/{name}/jobs/{jobId}: cancel, or terminate if running; 202 with the job. */
export async function cancelJob(request: HttpRequest): Promise<HttpResult> {
  const { name, jobId } = parsePathParams(request, JobParamsSchema);
  return { statusCode: 202, json: jobResource(await cancelJobUseCase(name, jobId, request.principal)) };
}

export const handler = httpHandler(cancelJob);
