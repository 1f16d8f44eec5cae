import type { Cluster } from "../domain/cluster.ts";
import { RequestValidationError } from "../domain/errors.ts";
import type { Job } from "../domain/job.ts";
import {
  createLines,
  deleteLines,
  listLines,
  parseAdditionalParameters,
  parseSubmitJobParameters,
  statusLines,
  submittedLines,
} from "../domain/pcluster-command.ts";
import type { ClusterSummary } from "../ports/cluster-store.ts";
import type { CreateClusterOutcome, makeCreateCluster } from "./create-cluster.ts";
import type { makeDeleteCluster } from "./delete-cluster.ts";
import { COMMAND_STACK_PREFIX } from "./deps.ts";
import type { makeGetCluster, makeListClusters } from "./query-clusters.ts";
import type { makeSubmitJob } from "./submit-job.ts";

/** A call of the pcluster-compatible command endpoint, validated at the edge. */
export interface PclusterCommand {
  readonly command: "create" | "status" | "delete" | "list" | "version" | "submit-job";
  readonly clusterName?: string;
  readonly body?: string;
  readonly additionalParameters?: string;
  readonly principal: string;
}

/** The answer: the CLI's lines plus the same facts as data. */
export interface PclusterCommandResult {
  readonly statusCode: 200 | 202;
  readonly command: PclusterCommand["command"];
  readonly lines: readonly string[];
  readonly cluster?: Cluster;
  readonly clusters?: readonly ClusterSummary[];
  readonly version?: string;
  readonly job?: Job;
}

interface UseCases {
  readonly createCluster: ReturnType<typeof makeCreateCluster>;
  readonly getCluster: ReturnType<typeof makeGetCluster>;
  readonly deleteCluster: ReturnType<typeof makeDeleteCluster>;
  readonly listClusters: ReturnType<typeof makeListClusters>;
  readonly submitJob: ReturnType<typeof makeSubmitJob>;
  /** Decodes the base64 script body (strict), naming `body` in errors. */
  readonly decodeScript: (body: string) => string;
}

/** Most clusters the `list` command prints; the resource API pages past that. */
const LIST_LIMIT = 1000;

function requireName(command: PclusterCommand): string {
  if (command.clusterName) return command.clusterName;
  throw new RequestValidationError(
    `The ${command.command} command needs a cluster: add &cluster_name=NAME.`,
    [{ path: "query.cluster_name", message: `required for command=${command.command}` }],
  );
}

/**
 * The command endpoint: the pcluster v2 CLI's verbs on top of the same use cases as the resource API,
 * answering in the CLI's words. Stacks made here are named `parallelcluster-<name>`, as the CLI named them.
 */
export function makePclusterCommand(useCases: UseCases, version: string) {
  return async function pclusterCommand(command: PclusterCommand): Promise<PclusterCommandResult> {
    if (command.command === "submit-job") {
      const clusterName = requireName(command);
      const options = parseSubmitJobParameters(command.additionalParameters);
      if (!command.body?.trim()) {
        throw new RequestValidationError(
          'The submit-job command needs the job script as the body: --data-binary "$(base64 job.sh)".',
          [{ path: "body", message: "the base64-encoded job script is required" }],
        );
      }
      const { job } = await useCases.submitJob({
        clusterName,
        name: options.name ?? "job",
        spec: {
          script: useCases.decodeScript(command.body),
          environment: {},
          dependsOn: [],
          ...(options.arraySize !== undefined ? { arraySize: options.arraySize } : {}),
          ...(options.nodes !== undefined ? { nodes: options.nodes } : {}),
          ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
        },
        principal: command.principal,
      });
      return { statusCode: 202, command: "submit-job", lines: submittedLines(job.jobId), job };
    }
    const options = parseAdditionalParameters(command.additionalParameters);
    switch (command.command) {
      case "create": {
        const name = requireName(command);
        if (!command.body?.trim()) {
          throw new RequestValidationError(
            'The create command needs the configuration as the body: --data-binary "$(base64 pcluster.conf)".',
            [{ path: "body", message: "the base64-encoded cluster configuration is required" }],
          );
        }
        const outcome: CreateClusterOutcome = await useCases.createCluster({
          name,
          configuration: command.body,
          configurationEncoding: "base64",
          dryRun: false,
          rollbackOnFailure: options.rollbackOnFailure,
          tags: {},
          principal: command.principal,
          stackNamePrefix: COMMAND_STACK_PREFIX,
        });
        if (outcome.kind !== "created") throw new Error("unreachable: create without dry run");
        return {
          statusCode: 202,
          command: "create",
          lines: createLines(outcome.cluster),
          cluster: outcome.cluster,
        };
      }
      case "status": {
        const cluster = await useCases.getCluster(requireName(command));
        return { statusCode: 200, command: "status", lines: statusLines(cluster), cluster };
      }
      case "delete": {
        const cluster = await useCases.deleteCluster(requireName(command));
        return { statusCode: 202, command: "delete", lines: deleteLines(cluster), cluster };
      }
      case "list": {
        const clusters: ClusterSummary[] = [];
        let nextToken: string | undefined;
        do {
          const page = await useCases.listClusters({ limit: 100, ...(nextToken ? { nextToken } : {}) });
          clusters.push(...page.items);
          nextToken = page.nextToken;
        } while (nextToken && clusters.length < LIST_LIMIT);
        return { statusCode: 200, command: "list", lines: listLines(clusters), clusters };
      }
      case "version":
        return { statusCode: 200, command: "version", lines: [version], version };
    }
  };
}
