import { stores } from "#shared/composition/stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { clusterSummaryResource } from "#shared/http/representations.ts";
import { parseQuery } from "#shared/http/request-parsing.ts";
import { ListClustersQuerySchema } from "#shared/http/request-schemas.ts";
import { makeListClusters } from "#shared/use-cases/query-clusters.ts";

const listClustersUseCase = makeListClusters(stores());

/** GET /v1/clusters: live clusters by name, or those with one `status`. */
export async function listClusters(request: HttpRequest): Promise<HttpResult> {
  const query = parseQuery(request, ListClustersQuerySchema);
  const page = await listClustersUseCase(query);
  return {
    statusCode: 200,
    json: {
      items: page.items.map(clusterSummaryResource),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    },
  };
}

export const handler = httpHandler(listClusters);
