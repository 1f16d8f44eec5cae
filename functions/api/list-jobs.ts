import { jobStore } from "#shared/composition/job-store.ts";
import { stores } from "#shared/composition/stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { jobSummaryResource } from "#shared/http/representations.ts";
import { parsePathParams, parseQuery } from "#shared/http/request-parsing.ts";
import { ClusterNameParamsSchema, ListJobsQuerySchema } from "#shared/http/request-schemas.ts";
import { makeListJobs } from "#shared/use-cases/query-jobs.ts";

const listJobsUseCase = makeListJobs({ store: stores().store, jobs: jobStore() });

/** GET /v1/clusters/{name}/jobs: newest first; by status and creation time for accounting. */
export async function listJobs(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, ClusterNameParamsSchema);
  const page = await listJobsUseCase(name, parseQuery(request, ListJobsQuerySchema));
  return {
    statusCode: 200,
    json: {
      items: page.items.map(jobSummaryResource),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    },
  };
}

export const handler = httpHandler(listJobs);
