import { StackStatus } from "@aws-sdk/client-cloudformation";
import { describe, expect, it } from "vitest";
import { CLUSTER_STATUSES, type ClusterStatus } from "#shared/domain/cluster.ts";
import { clusterStatusForStack, headNodeFrom, stackNameFromId } from "#shared/domain/stack-status.ts";

/**
 * What each CloudFormation stack status means for the cluster. `undefined`: nothing new for the cluster
 * (the create it already records, cleanup phases, and operations this API never starts).
 */
const EXPECTED: Readonly<Record<string, ClusterStatus | undefined>> = {
  CREATE_IN_PROGRESS: undefined,
  CREATE_COMPLETE: "CREATE_COMPLETE",
  CREATE_FAILED: "CREATE_FAILED",
  // A failed create rolls back: the cluster failed whether or not the rollback itself succeeds.
  ROLLBACK_IN_PROGRESS: "CREATE_FAILED",
  ROLLBACK_COMPLETE: "CREATE_FAILED",
  ROLLBACK_FAILED: "CREATE_FAILED",
  UPDATE_IN_PROGRESS: "UPDATE_IN_PROGRESS",
  UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: undefined,
  UPDATE_COMPLETE: "UPDATE_COMPLETE",
  UPDATE_FAILED: "UPDATE_FAILED",
  UPDATE_ROLLBACK_IN_PROGRESS: "UPDATE_FAILED",
  UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS: undefined,
  UPDATE_ROLLBACK_COMPLETE: "UPDATE_FAILED",
  UPDATE_ROLLBACK_FAILED: "UPDATE_FAILED",
  DELETE_IN_PROGRESS: "DELETE_IN_PROGRESS",
  DELETE_COMPLETE: "DELETE_COMPLETE",
  DELETE_FAILED: "DELETE_FAILED",
  REVIEW_IN_PROGRESS: undefined,
  IMPORT_IN_PROGRESS: undefined,
  IMPORT_COMPLETE: undefined,
  IMPORT_ROLLBACK_IN_PROGRESS: undefined,
  IMPORT_ROLLBACK_FAILED: undefined,
  IMPORT_ROLLBACK_COMPLETE: undefined,
};

describe("clusterStatusForStack", () => {
  it("has an expectation for every stack status the CloudFormation SDK knows", () => {
    const sdkStatuses = Object.values(StackStatus);

    expect(sdkStatuses.filter((status) => !(status in EXPECTED))).toEqual([]);
    expect(Object.keys(EXPECTED).sort()).toEqual([...sdkStatuses].sort());
  });

  it.each(Object.entries(EXPECTED))("maps the stack status %s to %s", (stackStatus, clusterStatus) => {
    expect(clusterStatusForStack(stackStatus)).toBe(clusterStatus);
  });

  it("reaches every cluster status but CREATE_IN_PROGRESS, which the API records itself", () => {
    const reached = new Set(Object.values(StackStatus).map(clusterStatusForStack));

    expect(CLUSTER_STATUSES.filter((status) => !reached.has(status))).toEqual(["CREATE_IN_PROGRESS"]);
  });

  it.each(["", "create_complete", "DELETED", "CREATE_COMPLETE ", "UNKNOWN_STATUS"])(
    "ignores the unknown stack status %j",
    (stackStatus) => {
      expect(clusterStatusForStack(stackStatus)).toBeUndefined();
    },
  );
});

describe("stackNameFromId", () => {
  it.each([
    [
      "arn:aws:cloudformation:us-east-1:123456789012:stack/hpc-alpha/0a1b2c3d-1111-2222-3333-444455556666",
      "hpc-alpha",
    ],
    [
      "arn:aws:cloudformation:eu-west-1:123456789012:stack/parallelcluster-Blog-1/abc",
      "parallelcluster-Blog-1",
    ],
    ["arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/hpc-cn/abc", "hpc-cn"],
    ["arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/hpc-gov/abc", "hpc-gov"],
  ])("reads the stack name out of %s", (stackId, name) => {
    expect(stackNameFromId(stackId)).toBe(name);
  });

  it.each([
    "hpc-alpha",
    "",
    "arn:aws:cloudformation:us-east-1:123456789012:stack/hpc-alpha",
    "arn:aws:cloudformation:us-east-1:123456789012:stackset/hpc-alpha/abc",
  ])("finds no stack name in %j", (stackId) => {
    expect(stackNameFromId(stackId)).toBeUndefined();
  });
});

describe("headNodeFrom", () => {
  const outputs = {
    HeadNodePrivateIp: "10.0.1.15",
    HeadNodePublicIp: "54.1.2.3",
    HeadNodeInstanceId: "i-0123456789abcdef0",
    JobQueueArn: "arn:aws:batch:us-east-1:123456789012:job-queue/q",
  };
  const addresses = {
    privateIp: "10.0.1.15",
    publicIp: "54.1.2.3",
    instanceId: "i-0123456789abcdef0",
  };

  it("knows nothing of a head node for AWS Batch clusters, which have none", () => {
    for (const status of CLUSTER_STATUSES) expect(headNodeFrom(status, outputs, "awsbatch")).toBeUndefined();
  });

  it("says PENDING, with no address, while a Slurm cluster is being created", () => {
    expect(headNodeFrom("CREATE_IN_PROGRESS", undefined, "slurm")).toEqual({ state: "PENDING" });
    expect(headNodeFrom("CREATE_IN_PROGRESS", {}, "slurm")).toEqual({ state: "PENDING" });
  });

  it("says PENDING with the addresses when they are known before the create completes", () => {
    expect(headNodeFrom("CREATE_IN_PROGRESS", outputs, "slurm")).toEqual({ state: "PENDING", ...addresses });
  });

  it.each([
    ["CREATE_COMPLETE", "RUNNING"],
    ["UPDATE_IN_PROGRESS", "RUNNING"],
    ["UPDATE_COMPLETE", "RUNNING"],
    ["UPDATE_FAILED", "RUNNING"],
    ["DELETE_IN_PROGRESS", "RUNNING"],
    ["DELETE_FAILED", "RUNNING"],
    ["CREATE_FAILED", "STOPPED"],
    ["DELETE_COMPLETE", "TERMINATED"],
  ] as const)("reports a %s Slurm cluster's head node as %s, with the stack's addresses", (status, state) => {
    expect(headNodeFrom(status, outputs, "slurm")).toEqual({ state, ...addresses });
  });

  it("leaves out addresses the stack does not report, and outputs that are not head node facts", () => {
    const headNode = headNodeFrom(
      "CREATE_COMPLETE",
      { HeadNodePrivateIp: "10.0.1.15", HeadNodePublicIp: "", JobQueueArn: "arn" },
      "slurm",
    );

    expect(headNode).toEqual({ state: "RUNNING", privateIp: "10.0.1.15" });
  });

  it("gives the state alone when a complete cluster has no outputs", () => {
    expect(headNodeFrom("CREATE_COMPLETE", undefined, "slurm")).toEqual({ state: "RUNNING" });
  });
});
