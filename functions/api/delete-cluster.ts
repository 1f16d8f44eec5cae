import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { clusterResource } from "#shared/http/representations.ts";
import { parsePathParams } from "#shared/http/request-parsing.ts";
import { ClusterNameParamsSchema } from "#shared/http/request-schemas.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";

const deleteClusterUseCase = makeDeleteCluster(clusterDeps());

/** DELETE /v1/clusters/{name}: 202, also when the cluster is already being deleted. */
export async function deleteCluster(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, ClusterNameParamsSchema);
  return { statusCode: 202, json: clusterResource(await deleteClusterUseCase(name)) };
}

export const handler = httpHandler(deleteCluster);
