import { clusterDeps } from "#shared/composition/cluster-deps.ts";
import { jobDeps } from "#shared/composition/job-deps.ts";
import { settings } from "#shared/composition/settings.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { decodeScript } from "#shared/http/job-request.ts";
import { clusterSummaryResource, jobSummaryResource } from "#shared/http/representations.ts";
import { assertBodySize, parseQuery } from "#shared/http/request-parsing.ts";
import { PclusterCommandQuerySchema } from "#shared/http/request-schemas.ts";
import { makeCreateCluster } from "#shared/use-cases/create-cluster.ts";
import { makeDeleteCluster } from "#shared/use-cases/delete-cluster.ts";
import { makePclusterCommand } from "#shared/use-cases/pcluster-command.ts";
import { makeGetCluster, makeListClusters } from "#shared/use-cases/query-clusters.ts";
import { makeSubmitJob } from "#shared/use-cases/submit-job.ts";

const deps = clusterDeps();
const pclusterCommand = makePclusterCommand(
  {
    createCluster: makeCreateCluster(deps),
    getCluster: makeGetCluster(deps),
    deleteCluster: makeDeleteCluster(deps),
    listClusters: makeListClusters(deps),
    submitJob: makeSubmitJob(jobDeps()),
    decodeScript: (body) => decodeScript(body, "body"),
  },
  settings().API_VERSION,
);

/** A base64 config of at most 256 KiB, line-wrapped by `base64`. */
const MAX_BODY_BYTES = 360 * 1024;

/**
 * POST /pcluster and /Prod/pcluster: the command style of the blog post "Using AWS ParallelCluster with a
 * serverless API". Plain text in the CLI's words, or JSON with `Accept: application/json`.
 */
export async function pclusterCommandHandler(request: HttpRequest): Promise<HttpResult> {
  const query = parseQuery(request, PclusterCommandQuerySchema);
  assertBodySize(request, MAX_BODY_BYTES);
  const result = await pclusterCommand({
    command: query.command,
    ...(query.cluster_name ? { clusterName: query.cluster_name } : {}),
    ...(request.body ? { body: request.body } : {}),
    ...(request.headers.additional_parameters !== undefined
      ? { additionalParameters: request.headers.additional_parameters }
      : {}),
    principal: request.principal,
  });
  if (!request.headers.accept?.includes("application/json")) {
    const text = result.lines.map((line) => `${line}\n`).join("");
    return { statusCode: result.statusCode, text };
  }
  return {
    statusCode: result.statusCode,
    json: {
      command: result.command,
      lines: result.lines,
      ...(result.cluster ? { cluster: clusterSummaryResource(result.cluster) } : {}),
      ...(result.clusters ? { clusters: result.clusters.map(clusterSummaryResource) } : {}),
      ...(result.version ? { version: result.version } : {}),
      ...(result.job ? { job: jobSummaryResource(result.job) } : {}),
    },
  };
}

export const handler = httpHandler(pclusterCommandHandler);
