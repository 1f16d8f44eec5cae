import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { MAX_CONFIG_BYTES } from "#shared/domain/config/index.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { clusterResource } from "#shared/http/representations.ts";
import { parseJsonBody } from "#shared/http/request-parsing.ts";
import { CreateClusterBodySchema } from "#shared/http/request-schemas.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";

const createClusterUseCase = makeCreateCluster(clusterDeps());

/** Base64 grows a config by 4/3; leave room for the JSON around it. */
const MAX_BODY_BYTES = Math.ceil((MAX_CONFIG_BYTES * 4) / 3) + 16 * 1024;

/** POST /v1/clusters: 202 with the new cluster, or 200 with the plan for a dry run. */
export async function createCluster(request: HttpRequest): Promise<HttpResult> {
  const body = parseJsonBody(request, CreateClusterBodySchema, { maxBytes: MAX_BODY_BYTES });
  const outcome = await createClusterUseCase({ ...body, principal: request.principal });
  if (outcome.kind === "dry-run") return { statusCode: 200, json: outcome.result };
  const resource = clusterResource(outcome.cluster);
  return { statusCode: 202, json: resource, headers: { Location: resource.links.self } };
}

export const handler = httpHandler(createCluster);
