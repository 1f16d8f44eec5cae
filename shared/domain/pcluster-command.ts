import type { Cluster } from "./cluster.ts";
import { clusterUserFor } from "./cluster-spec.ts";
import { RequestValidationError } from "./errors.ts";

/** Options the pcluster v2 CLI flags in `additional_parameters` map to. */
export interface CommandOptions {
  readonly rollbackOnFailure: boolean;
}

/**
 * The flags we accept in the `additional_parameters` header, with what each does. Waiting flags are
 * accepted for compatibility and change nothing: the API never blocks on a stack.
 */
const ALLOWED_FLAGS: Readonly<Record<string, (options: { rollbackOnFailure: boolean }) => void>> = {
  "--nowait": () => {},
  "-nw": () => {},
  "--norollback": (o) => {
    o.rollbackOnFailure = false;
  },
  "-nr": (o) => {
    o.rollbackOnFailure = false;
  },
};

/**
 * Parses the `additional_parameters` header against the allow-list. The header is only ever compared
 * with fixed strings; nothing of it is passed on, so nothing of it can reach a shell.
 */
export function parseAdditionalParameters(header: string | undefined): CommandOptions {
  const options = { rollbackOnFailure: true };
  const tokens = (header ?? "").split(/\s+/).filter((token) => token !== "");
  for (const token of tokens) {
    // Blog posts were pasted through word processors: accept an em/en dash for "--".
    const flag = token.replace(/^[\u2013\u2014]/, "--");
    const apply = ALLOWED_FLAGS[flag];
    if (!apply) {
      const shown = JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token);
      throw new RequestValidationError(
        `additional_parameters: ${shown} is not an accepted flag; accepted: ${Object.keys(ALLOWED_FLAGS).join(", ")}.`,
        [{ path: "header.additional_parameters", message: `unsupported flag ${shown}` }],
      );
    }
    apply(options);
  }
  return options;
}

/** `pcluster create` output. */
export function createLines(cluster: Pick<Cluster, "name" | "stackName">): string[] {
  return [
    `Beginning cluster creation for cluster: ${cluster.name}`,
    `Creating stack named: ${cluster.stackName}`,
  ];
}

/** `pcluster status` output: the stack status, then head node facts once the cluster is complete. */
export function statusLines(cluster: Cluster): string[] {
  const lines = [`Status: ${cluster.stackName} - ${cluster.status}`];
  if (cluster.failureReason && cluster.status.endsWith("FAILED"))
    lines.push(`StatusReason: ${cluster.failureReason}`);
  const complete = cluster.status === "CREATE_COMPLETE" || cluster.status.startsWith("UPDATE_");
  if (complete && cluster.headNode) {
    lines.push(`MasterServer: ${cluster.headNode.state}`);
    if (cluster.headNode.publicIp) lines.push(`MasterPublicIP: ${cluster.headNode.publicIp}`);
    if (cluster.headNode.privateIp) lines.push(`MasterPrivateIP: ${cluster.headNode.privateIp}`);
    lines.push(`ClusterUser: ${clusterUserFor(cluster.config.os)}`);
  }
  return lines;
}

/** `pcluster delete` output. */
export function deleteLines(cluster: Pick<Cluster, "name">): string[] {
  return [`Deleting: ${cluster.name}`];
}

/** `pcluster list` output: one line per cluster, name, status and scheduler in columns. */
export function listLines(clusters: readonly Pick<Cluster, "name" | "status" | "scheduler">[]): string[] {
  const width = Math.max(0, ...clusters.map((c) => c.name.length));
  return clusters.map((c) => `${c.name.padEnd(width)}  ${c.status.padEnd(18)}  ${c.scheduler}`.trimEnd());
}
