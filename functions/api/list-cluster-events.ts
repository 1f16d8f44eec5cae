import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { parsePathParams, parseQuery } from "#shared/http/request-parsing.ts";
import { ClusterNameParamsSchema, ListEventsQuerySchema } from "#shared/http/request-schemas.ts";
import { makeListClusterEvents } from "#shared/use-cases/query-clusters.ts";

const listClusterEventsUseCase = makeListClusterEvents(clusterDeps());

/** GET /v1/clusters/{name}/events: the status history, newest first. */
export async function listClusterEvents(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, ClusterNameParamsSchema);
  const query = parseQuery(request, ListEventsQuerySchema);
  const page =
    query.source === "stack"
      ? await listClusterEventsUseCase(name, { ...query, source: "stack" })
      : await listClusterEventsUseCase(name, { ...query, source: "status" });
  return {
    statusCode: 200,
    json: { items: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) },
  };
}

export const handler = httpHandler(listClusterEvents);
