import { jobStore } from "#shared/composition/job-store.ts";
import { stores } from "#shared/composition/stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { jobResource } from "#shared/http/representations.ts";
import { parsePathParams } from "#shared/http/request-parsing.ts";
import { JobParamsSchema } from "#shared/http/request-schemas.ts";
import { makeGetJob } from "#shared/use-cases/query-jobs.ts";

const getJobUseCase = makeGetJob({ store: stores().store, jobs: jobStore() });

/** GET /v1/clusters/{name}/jobs/{jobId}: status and every attempt. */
export async function getJob(request: HttpRequest): Promise<HttpResult> {
  const { name, jobId } = parsePathParams(request, JobParamsSchema);
  return { statusCode: 200, json: jobResource(await getJobUseCase(name, jobId)) };
}

export const handler = httpHandler(getJob);
