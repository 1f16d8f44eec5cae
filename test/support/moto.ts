import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import {
  type CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
} from "@aws-sdk/client-cloudformation";

/**
 * moto_server as a test dependency: it speaks the real AWS wire protocols, and its CloudFormation
 * provisions (simulated) IAM, EC2 and AWS Batch resources. One process serves every service on one port.
 */

/** Credentials moto accepts (any would do; these say what they are). */
export const MOTO_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" } as const;
/** The region the moto tier works in. */
export const MOTO_REGION = "us-east-1";

/** A running moto_server. */
export interface RunningMoto {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** Stops the server (by its pid) and waits until it has exited. */
  stop(): Promise<void>;
}

/** The `moto_server` executable on the PATH, or undefined. */
export function findMotoServer(path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "moto_server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Why the moto tier cannot run here, as one line, or undefined when it can. Tests call
 * {@link requireMoto}, which turns this into a failure on CI and a warning elsewhere.
 */
export function motoUnavailableReason(): string | undefined {
  return findMotoServer() === undefined
    ? "moto_server is not on the PATH (pip install 'moto[server]'): the moto tier cannot run."
    : undefined;
}

/** The reason is printed once per test file, however many tests need moto. */
let warned = false;

/**
 * For a test that needs moto: true when it may go on. When moto is missing it throws on CI (where the
 * tier must run) and otherwise prints the reason and returns false, so the test passes with a warning.
 */
export function requireMoto(moto: RunningMoto | undefined, reason: string | undefined): moto is RunningMoto {
  if (moto !== undefined) return true;
  const why = reason ?? "moto_server did not start.";
  if (process.env.CI) throw new Error(`${why} CI must run the moto tier.`);
  if (!warned) console.warn(`[moto tier] ${why} Its tests pass here without running; on CI they fail.`);
  warned = true;
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers. Returns undefined when
 * moto_server is not on the PATH (see {@link requireMoto}); throws if it is there but does not come up.
 */
export async function startMoto(
  options: { readonly timeoutMs?: number } = {},
): Promise<RunningMoto | undefined> {
  const executable = findMotoServer();
  // Silent: requireMoto prints the one line, and fails on CI.
  if (executable === undefined) return undefined;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(executable, ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    // Keep the tail only: moto logs every request.
    stderr = (stderr + chunk.toString("utf8")).slice(-4_000);
  });
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
      }, 5_000);
      await done;
      clearTimeout(timer);
    }
  };

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await answers(endpoint)) return { endpoint, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(
    `moto_server did not answer on ${endpoint}: ${stderr.trim().split("\n").slice(-5).join(" | ")}`,
  );
}

/**
 * What the moto tier builds on: a VPC, a subnet, a security group and a Batch service role, made by a
 * CloudFormation stack of its own (moto rejects unknown subnets outright, where AWS would roll back).
 */
export const NETWORK_TEMPLATE = {
  AWSTemplateFormatVersion: "2010-09-09",
  Resources: {
    Vpc: { Type: "AWS::EC2::VPC", Properties: { CidrBlock: "10.20.0.0/16" } },
    Subnet: {
      Type: "AWS::EC2::Subnet",
      Properties: { VpcId: { Ref: "Vpc" }, CidrBlock: "10.20.1.0/24", AvailabilityZone: "us-east-1a" },
    },
    ExistingSecurityGroup: {
      Type: "AWS::EC2::SecurityGroup",
      Properties: { GroupDescription: "made outside the cluster stack", VpcId: { Ref: "Vpc" } },
    },
    BatchServiceRole: {
      Type: "AWS::IAM::Role",
      Properties: {
        AssumeRolePolicyDocument: {
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "batch.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        },
        ManagedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole"],
      },
    },
  },
  Outputs: {
    VpcId: { Value: { Ref: "Vpc" } },
    SubnetId: { Value: { Ref: "Subnet" } },
    SecurityGroupId: { Value: { "Fn::GetAtt": ["ExistingSecurityGroup", "GroupId"] } },
    BatchServiceRoleArn: { Value: { "Fn::GetAtt": ["BatchServiceRole", "Arn"] } },
  },
};

/** The network stack's outputs: VpcId, SubnetId, SecurityGroupId, BatchServiceRoleArn. */
export async function createMotoNetwork(
  cfn: CloudFormationClient,
  stackName = "test-network",
): Promise<Record<string, string>> {
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify(NETWORK_TEMPLATE),
      Capabilities: ["CAPABILITY_IAM"],
    }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    if (stack?.StackStatus === "CREATE_COMPLETE") {
      const outputs: Record<string, string> = {};
      for (const output of stack.Outputs ?? []) {
        if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
      }
      return outputs;
    }
    if (/FAILED|ROLLBACK/.test(stack?.StackStatus ?? "") || Date.now() > deadline) {
      throw new Error(`network stack: ${stack?.StackStatus ?? "missing"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Makes moto's Batch run jobs to SUCCEEDED at once, without Docker (this machine has no engine). */
export async function runBatchJobsWithoutDocker(moto: RunningMoto): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/config`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ batch: { use_docker: false } }),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`moto refused its Batch config: HTTP ${response.status}`);
}
