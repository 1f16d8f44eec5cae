import type { ClusterStatus, HeadNodeInfo } from "./cluster.ts";

/** A stack status change, from an EventBridge "CloudFormation Stack Status Change" event or a poll. */
export interface StackStatusChange {
  readonly stackId: string;
  readonly stackName: string;
  /** CloudFormation's stack status, e.g. `ROLLBACK_IN_PROGRESS`. */
  readonly status: string;
  readonly reason?: string;
  /** When CloudFormation reported it (ISO 8601). */
  readonly time: string;
}

/**
 * Maps a CloudFormation stack status onto the cluster vocabulary. Statuses that say nothing new for the
 * cluster (cleanup phases, the start of a create) map to undefined and are ignored.
 */
export function clusterStatusForStack(stackStatus: string): ClusterStatus | undefined {
  switch (stackStatus) {
    case "CREATE_COMPLETE":
      return "CREATE_COMPLETE";
    case "CREATE_FAILED":
    case "ROLLBACK_IN_PROGRESS":
    case "ROLLBACK_COMPLETE":
    case "ROLLBACK_FAILED":
      return "CREATE_FAILED";
    case "UPDATE_IN_PROGRESS":
      return "UPDATE_IN_PROGRESS";
    case "UPDATE_COMPLETE":
      return "UPDATE_COMPLETE";
    case "UPDATE_FAILED":
    case "UPDATE_ROLLBACK_IN_PROGRESS":
    case "UPDATE_ROLLBACK_COMPLETE":
    case "UPDATE_ROLLBACK_FAILED":
      return "UPDATE_FAILED";
    case "DELETE_IN_PROGRESS":
      return "DELETE_IN_PROGRESS";
    case "DELETE_COMPLETE":
      return "DELETE_COMPLETE";
    case "DELETE_FAILED":
      return "DELETE_FAILED";
    default:
      return undefined;
  }
}

/** The stack name inside a CloudFormation stack ARN (`arn:aws:cloudformation:r:a:stack/NAME/uuid`). */
export function stackNameFromId(stackId: string): string | undefined {
  const match = /:stack\/([^/]+)\//.exec(stackId);
  return match?.[1];
}

/** Head node facts derived from the status and the stack outputs (`HeadNodePrivateIp`, ...). */
export function headNodeFrom(
  status: ClusterStatus,
  outputs: Readonly<Record<string, string>> | undefined,
  scheduler: string,
): HeadNodeInfo | undefined {
  if (scheduler !== "slurm") return undefined;
  const state: HeadNodeInfo["state"] =
    status === "DELETE_COMPLETE"
      ? "TERMINATED"
      : status === "CREATE_IN_PROGRESS"
        ? "PENDING"
        : status === "CREATE_FAILED"
          ? "STOPPED"
          : "RUNNING";
  const privateIp = outputs?.HeadNodePrivateIp;
  const instanceId = outputs?.HeadNodeInstanceId;
  const publicIp = outputs?.HeadNodePublicIp;
  if (state === "PENDING" && !privateIp) return { state };
  return {
    state,
    ...(privateIp ? { privateIp } : {}),
    ...(instanceId ? { instanceId } : {}),
    ...(publicIp ? { publicIp } : {}),
  };
}
