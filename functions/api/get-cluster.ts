import { stores } from "#shared/composition/stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { clusterResource } from "#shared/http/representations.ts";
import { parsePathParams } from "#shared/http/request-parsing.ts";
import { ClusterNameParamsSchema } from "#shared/http/request-schemas.ts";
import { makeGetCluster } from "#shared/use-cases/query-clusters.ts";

const getClusterUseCase = makeGetCluster(stores());

/** GET /v1/clusters/{name}. */
export async function getCluster(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, ClusterNameParamsSchema);
  return { statusCode: 200, json: clusterResource(await getClusterUseCase(name)) };
}

export const handler = httpHandler(getCluster);
