import { jobDeps } from "#shared/composition/job-deps.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { parsePathParams, parseQuery } from "#shared/http/request-parsing.ts";
import { JobLogsQuerySchema, JobParamsSchema } from "#shared/http/request-schemas.ts";
import { makeGetJobLogs } from "#shared/use-cases/query-jobs.ts";

const getJobLogsUseCase = makeGetJobLogs(jobDeps());

/** GET /v1/clusters/{name}/jobs/{jobId}/logs: an attempt's output, oldest line first, paged. */
export async function getJobLogs(request: HttpRequest): Promise<HttpResult> {
  const { name, jobId } = parsePathParams(request, JobParamsSchema);
  const page = await getJobLogsUseCase(name, jobId, parseQuery(request, JobLogsQuerySchema));
  return {
    statusCode: 200,
    json: { lines: page.lines, ...(page.nextToken ? { nextToken: page.nextToken } : {}) },
  };
}

export const handler = httpHandler(getJobLogs);
