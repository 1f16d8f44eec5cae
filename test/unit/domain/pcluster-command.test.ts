import { describe, expect, it } from "vitest";
import type { Cluster, ClusterStatus } from "#shared/domain/cluster.ts";
import { RequestValidationError } from "#shared/domain/errors.ts";
import {
  createLines,
  deleteLines,
  listLines,
  parseAdditionalParameters,
  statusLines,
} from "#shared/domain/pcluster-command.ts";

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

describe("parseAdditionalParameters", () => {
  it.each([undefined, "", "   ", "\t\n"])("keeps rollback on when the header is %j", (header) => {
    expect(parseAdditionalParameters(header)).toEqual({ rollbackOnFailure: true });
  });

  it.each([
    ["--nowait", true],
    ["-nw", true],
    ["--norollback", false],
    ["-nr", false],
    ["--nowait --norollback", false],
    ["  -nw\t-nr  ", false],
    ["--nowait -nw", true],
    // The blog post's typography turned "--" into an em dash; a pasted command must still work.
    ["\u2014nowait", true],
    ["\u2014norollback", false],
    ["\u2013nowait", true],
  ])("reads %j as rollbackOnFailure %s", (header, rollbackOnFailure) => {
    expect(parseAdditionalParameters(header)).toEqual({ rollbackOnFailure });
  });

  it.each([
    ["--nowait ; rm -rf /", ";"],
    ["; rm -rf /", ";"],
    ["--nowait;rm", "--nowait;rm"],
    ["`reboot`", "`reboot`"],
    ["--nowait `curl evil.example`", "`curl"],
    ["$(curl evil.example)", "$(curl"],
    ["--config x", "--config"],
    ["--nowait --config /etc/passwd", "--config"],
    ["-NR", "-NR"],
    ["nowait", "nowait"],
    ["--nowait=true", "--nowait=true"],
  ])("refuses %j, naming the token %j under header.additional_parameters", (header, token) => {
    const error = thrownBy(() => parseAdditionalParameters(header));

    expect(error).toBeInstanceOf(RequestValidationError);
    const issues = (error as RequestValidationError).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe("header.additional_parameters");
    expect(issues[0]?.message).toContain(JSON.stringify(token));
    expect((error as Error).message).toContain(JSON.stringify(token));
  });

  it("names the accepted flags in the error, so the caller can fix the request", () => {
    const error = thrownBy(() => parseAdditionalParameters("--force"));

    for (const flag of ["--nowait", "-nw", "--norollback", "-nr"])
      expect((error as Error).message).toContain(flag);
  });

  it("shortens a long offending token rather than echoing all of it", () => {
    const token = `--${"x".repeat(200)}`;

    const error = thrownBy(() => parseAdditionalParameters(token)) as RequestValidationError;

    expect(error.message).not.toContain(token);
    expect(error.issues[0]?.message).toContain(`${token.slice(0, 40)}…`);
  });
});

function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: "Blog",
    clusterId: "cluster-0001",
    status: "CREATE_COMPLETE",
    scheduler: "slurm",
    stackName: "parallelcluster-Blog",
    createdAt: "2024-05-01T10:00:00.000Z",
    updatedAt: "2024-05-01T10:20:00.000Z",
    createdBy: "alice",
    tags: {},
    config: {
      sourceFormat: "pcluster2-ini",
      scheduler: "slurm",
      os: "alinux2",
      headNode: { instanceType: "t2.micro" },
      queues: [
        {
          name: "compute",
          capacityType: "ONDEMAND",
          subnetIds: [],
          computeResources: [{ name: "t2", instanceTypes: ["t2.micro"] }],
        },
      ],
      networking: {},
      sharedStorage: [],
      tags: {},
    },
    warnings: [],
    options: { rollbackOnFailure: true },
    version: 3,
    ...overrides,
  };
}

describe("the pcluster output lines", () => {
  it("announces a create with the cluster and its stack", () => {
    expect(createLines(cluster())).toEqual([
      "Beginning cluster creation for cluster: Blog",
      "Creating stack named: parallelcluster-Blog",
    ]);
  });

  it("announces a delete with the cluster name", () => {
    expect(deleteLines(cluster())).toEqual(["Deleting: Blog"]);
  });

  it("shows a complete cluster's head node and the OS's cluster user", () => {
    const complete = cluster({
      headNode: { state: "RUNNING", publicIp: "54.1.2.3", privateIp: "10.0.1.15", instanceId: "i-1" },
    });

    expect(statusLines(complete)).toEqual([
      "Status: parallelcluster-Blog - CREATE_COMPLETE",
      "MasterServer: RUNNING",
      "MasterPublicIP: 54.1.2.3",
      "MasterPrivateIP: 10.0.1.15",
      "ClusterUser: ec2-user",
    ]);
  });

  it.each([
    ["ubuntu2004", "ubuntu"],
    ["centos7", "centos"],
    ["alinux2023", "ec2-user"],
  ])("names the cluster user of %s %s", (os, user) => {
    const base = cluster();
    const lines = statusLines({ ...base, config: { ...base.config, os }, headNode: { state: "RUNNING" } });

    expect(lines.at(-1)).toBe(`ClusterUser: ${user}`);
  });

  it("leaves out addresses the head node does not have", () => {
    const lines = statusLines(
      cluster({ status: "UPDATE_COMPLETE", headNode: { state: "RUNNING", privateIp: "10.0.1.15" } }),
    );

    expect(lines).toEqual([
      "Status: parallelcluster-Blog - UPDATE_COMPLETE",
      "MasterServer: RUNNING",
      "MasterPrivateIP: 10.0.1.15",
      "ClusterUser: ec2-user",
    ]);
  });

  it.each<ClusterStatus>(["CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"])(
    "shows only the status line while the cluster is %s",
    (status) => {
      const lines = statusLines(cluster({ status, headNode: { state: "PENDING", privateIp: "10.0.1.15" } }));

      expect(lines).toEqual([`Status: parallelcluster-Blog - ${status}`]);
    },
  );

  it("gives the reason of a failed cluster", () => {
    const failed = cluster({
      status: "CREATE_FAILED",
      failureReason: "The following resource(s) failed to create: [HeadNode].",
      headNode: { state: "STOPPED" },
    });

    expect(statusLines(failed)).toEqual([
      "Status: parallelcluster-Blog - CREATE_FAILED",
      "StatusReason: The following resource(s) failed to create: [HeadNode].",
    ]);
  });

  it("does not show an old failure reason once the cluster is no longer failed", () => {
    const lines = statusLines(cluster({ status: "DELETE_IN_PROGRESS", failureReason: "old trouble" }));

    expect(lines).toEqual(["Status: parallelcluster-Blog - DELETE_IN_PROGRESS"]);
  });

  it("lists clusters in aligned columns of name, status and scheduler", () => {
    const lines = listLines([
      { name: "a", status: "CREATE_COMPLETE", scheduler: "slurm" },
      { name: "longer-name", status: "DELETE_IN_PROGRESS", scheduler: "awsbatch" },
    ]);

    expect(lines).toEqual([
      "a            CREATE_COMPLETE     slurm",
      "longer-name  DELETE_IN_PROGRESS  awsbatch",
    ]);
    expect(
      new Set(lines.map((line) => line.indexOf(line.includes("slurm") ? "slurm" : "awsbatch"))).size,
    ).toBe(1);
  });

  it("lists no lines when there are no clusters", () => {
    expect(listLines([])).toEqual([]);
  });
});
