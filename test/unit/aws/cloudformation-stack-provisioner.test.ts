import {
  AlreadyExistsException,
  CloudFormationClient,
  CloudFormationServiceException,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
  type StackEvent as SdkStackEvent,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createCloudFormationClient } from "#shared/adapters/aws/aws-clients.ts";
import {
  CloudFormationStackProvisioner,
  type CloudFormationStackProvisionerOptions,
  clientRequestToken,
  MAX_TEMPLATE_BODY_BYTES,
  mapAwsError,
  STACK_TAGS,
} from "#shared/adapters/aws/cloudformation-stack-provisioner.ts";
import { type ClusterSpec, ClusterSpecSchema } from "#shared/domain/cluster-spec.ts";
import {
  ClusterExistsError,
  ConfigInvalidError,
  DomainError,
  InvalidNextTokenError,
  RequestValidationError,
  ServiceUnavailableError,
  UpstreamError,
} from "#shared/domain/errors.ts";
import type { CreateStackRequest } from "#shared/ports/stack-provisioner.ts";

const REGION = "eu-west-1";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const CLUSTER_ID = "01J0ABCDEFGHJKMNPQRSTVWXYZ";
const STACK_ID = `arn:aws:cloudformation:${REGION}:123456789012:stack/hpc-demo/5b7e0a40-0000-11ef-0000-0a1b2c3d4e5f`;
const SERVICE_TOKEN = `arn:aws:lambda:${REGION}:123456789012:function:pcluster-cfn-abc`;

function spec(scheduler: "slurm" | "awsbatch", queues = 1, resourcesPerQueue = 1): ClusterSpec {
  return ClusterSpecSchema.parse({
    sourceFormat: "pcluster3-yaml",
    scheduler,
    os: "alinux2",
    headNode: { instanceType: "t3.micro", subnetId: "subnet-0123456789abcdef0" },
    networking: { vpcId: "vpc-0123456789abcdef0" },
    sharedStorage: [],
    tags: { team: "hpc" },
    queues: Array.from({ length: queues }, (_, q) => ({
      name: `queue${q}`,
      capacityType: "ONDEMAND",
      subnetIds: ["subnet-0123456789abcdef0"],
      computeResources: Array.from({ length: resourcesPerQueue }, (_, c) => ({
        name: `compute-resource-${c}`,
        instanceTypes: ["c5.large", "c5.xlarge", "c5.2xlarge"],
        minCount: 0,
        maxCount: 10,
      })),
    })),
  });
}

function request(overrides: Partial<CreateStackRequest> = {}): CreateStackRequest {
  return {
    clusterId: CLUSTER_ID,
    clusterName: "demo",
    stackName: "hpc-demo",
    spec: spec("awsbatch"),
    rollbackOnFailure: true,
    tags: { owner: "alice", [STACK_TAGS.createdBy]: "arn:aws:iam::123456789012:user/alice" },
    ...overrides,
  };
}

function serviceError(name: string, message: string, status = 400): CloudFormationServiceException {
  return new CloudFormationServiceException({
    name,
    message,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}

const cfnClient = new CloudFormationClient({ region: REGION, credentials });
const s3Client = new S3Client({ region: REGION, credentials });
const cfn = mockClient(cfnClient);
const s3 = mockClient(s3Client);

function provisioner(options: Partial<CloudFormationStackProvisionerOptions> = {}) {
  return new CloudFormationStackProvisioner({ cloudFormation: cfnClient, ...options });
}

beforeEach(() => {
  cfn.reset();
  s3.reset();
});

describe("clientRequestToken", () => {
  it("is create-<clusterId> when that fits CloudFormation's token rule", () => {
    expect(clientRequestToken("create", CLUSTER_ID)).toBe(`create-${CLUSTER_ID}`);
    expect(clientRequestToken("delete", CLUSTER_ID)).toBe(`delete-${CLUSTER_ID}`);
  });

  it("hashes ids that do not fit, the same way every time", () => {
    for (const id of ["a_b/c", "x".repeat(200)]) {
      const token = clientRequestToken("create", id);
      expect(token).toMatch(/^[a-zA-Z0-9][-a-zA-Z0-9]*$/);
      expect(token.length).toBeLessThanOrEqual(128);
      expect(clientRequestToken("create", id)).toBe(token);
    }
    expect(clientRequestToken("create", "a_b")).not.toBe(clientRequestToken("create", "a_c"));
  });
});

describe("createStack", () => {
  it("sends the template inline with the cluster's token, tags, rollback choice and CAPABILITY_IAM", async () => {
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });

    const result = await provisioner().createStack(request({ rollbackOnFailure: false }));

    expect(result).toEqual({ stackId: STACK_ID });
    const input = cfn.commandCalls(CreateStackCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      StackName: "hpc-demo",
      ClientRequestToken: `create-${CLUSTER_ID}`,
      OnFailure: "DO_NOTHING",
      Capabilities: ["CAPABILITY_IAM"],
    });
    expect(input?.TemplateURL).toBeUndefined();
    expect(input?.Parameters).toBeUndefined();
    const template = JSON.parse(input?.TemplateBody ?? "{}");
    expect(Object.values(template.Resources).map((r) => (r as { Type: string }).Type)).toContain(
      "AWS::Batch::ComputeEnvironment",
    );
    expect(Object.fromEntries((input?.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      team: "hpc",
      owner: "alice",
      [STACK_TAGS.createdBy]: "arn:aws:iam::123456789012:user/alice",
      [STACK_TAGS.clusterName]: "demo",
      [STACK_TAGS.clusterId]: CLUSTER_ID,
      [STACK_TAGS.managed]: "true",
    });
  });

  it("asks CloudFormation to roll back on failure unless told not to", async () => {
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    await provisioner().createStack(request({ rollbackOnFailure: true }));
    expect(cfn.commandCalls(CreateStackCommand)[0]?.args[0].input.OnFailure).toBe("ROLLBACK");
  });

  it("keeps its own tags when the user's tags try to set them, and uses the deployment's marker", async () => {
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    await provisioner({ apiMarker: "prod" }).createStack(
      request({ tags: { [STACK_TAGS.clusterName]: "spoofed", [STACK_TAGS.managed]: "false" } }),
    );
    const tags = Object.fromEntries(
      (cfn.commandCalls(CreateStackCommand)[0]?.args[0].input.Tags ?? []).map((t) => [t.Key, t.Value]),
    );
    expect(tags[STACK_TAGS.clusterName]).toBe("demo");
    expect(tags[STACK_TAGS.managed]).toBe("prod");
  });

  it("passes the ParallelCluster service token as the template parameter for a Slurm cluster", async () => {
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    await provisioner({ pclusterServiceToken: SERVICE_TOKEN }).createStack(
      request({ stackName: "parallelcluster-demo", spec: spec("slurm") }),
    );
    const input = cfn.commandCalls(CreateStackCommand)[0]?.args[0].input;
    expect(input?.Parameters).toEqual([
      { ParameterKey: "PclusterServiceToken", ParameterValue: SERVICE_TOKEN },
    ]);
    expect(JSON.parse(input?.TemplateBody ?? "{}").Resources.PclusterCluster.Properties).toMatchObject({
      ClusterName: "demo",
      ClusterConfiguration: { Region: REGION },
    });
  });

  it("uploads a template over 51,200 bytes to the template bucket and passes its URL", async () => {
    const big = spec("slurm", 40, 10);
    s3.on(PutObjectCommand).resolves({});
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });

    await provisioner({
      s3: s3Client,
      templateBucket: "tpl-bucket",
      pclusterServiceToken: SERVICE_TOKEN,
    }).createStack(request({ spec: big }));

    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Bucket: "tpl-bucket",
      Key: `templates/${CLUSTER_ID}.json`,
      ContentType: "application/json",
    });
    expect(Buffer.byteLength(String(put?.Body))).toBeGreaterThan(MAX_TEMPLATE_BODY_BYTES);
    const input = cfn.commandCalls(CreateStackCommand)[0]?.args[0].input;
    expect(input?.TemplateBody).toBeUndefined();
    expect(input?.TemplateURL).toBe(
      `https://tpl-bucket.s3.${REGION}.amazonaws.com/templates/${CLUSTER_ID}.json`,
    );
  });

  it("refuses a template over 51,200 bytes when no bucket is configured, naming the setting, before any call", async () => {
    const big = spec("slurm", 40, 10);
    const p = provisioner({ pclusterServiceToken: SERVICE_TOKEN });

    await expect(p.createStack(request({ spec: big }))).rejects.toThrow(/TEMPLATE_BUCKET/);
    expect(() => p.checkCanProvision(big)).toThrow(ConfigInvalidError);
    expect(cfn.commandCalls(CreateStackCommand)).toHaveLength(0);
  });

  it("answers the existing stack when a retry finds the stack this cluster already made", async () => {
    cfn
      .on(CreateStackCommand)
      .rejects(new AlreadyExistsException({ message: "Stack [hpc-demo] already exists", $metadata: {} }));
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "hpc-demo",
          StackId: STACK_ID,
          StackStatus: "CREATE_IN_PROGRESS",
          CreationTime: new Date(),
          Tags: [{ Key: STACK_TAGS.clusterId, Value: CLUSTER_ID }],
        },
      ],
    });

    await expect(provisioner().createStack(request())).resolves.toEqual({ stackId: STACK_ID });
  });

  it("maps AlreadyExistsException for another cluster's stack to ClusterExistsError (409)", async () => {
    cfn
      .on(CreateStackCommand)
      .rejects(new AlreadyExistsException({ message: "Stack [hpc-demo] already exists", $metadata: {} }));
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "hpc-demo",
          StackId: STACK_ID,
          StackStatus: "CREATE_COMPLETE",
          CreationTime: new Date(),
          Tags: [{ Key: STACK_TAGS.clusterId, Value: "another-cluster" }],
        },
      ],
    });

    const error = await provisioner()
      .createStack(request())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterExistsError);
    expect((error as ClusterExistsError).message).toContain("CREATE_COMPLETE");
  });

  it("maps ValidationError to a 400 carrying CloudFormation's message", async () => {
    cfn.on(CreateStackCommand).rejects(serviceError("ValidationError", "Template format error: bad thing"));

    const error = await provisioner()
      .createStack(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as Error).message).toContain("Template format error: bad thing");
  });

  it("maps AccessDenied to an upstream error (502) naming the missing action", async () => {
    cfn
      .on(CreateStackCommand)
      .rejects(serviceError("AccessDenied", "User: arn:aws:sts::1:assumed-role/api is not authorized", 403));

    const error = await provisioner()
      .createStack(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain("cloudformation:CreateStack");
  });

  it("maps an access denial on the template upload to an upstream error naming s3:PutObject", async () => {
    s3.on(PutObjectCommand).rejects(serviceError("AccessDenied", "Access Denied", 403));

    const error = await provisioner({
      s3: s3Client,
      templateBucket: "b",
      pclusterServiceToken: SERVICE_TOKEN,
    })
      .createStack(request({ spec: spec("slurm", 40, 10) }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain("s3:PutObject");
  });

  it("refuses a Slurm cluster when the deployment has no ParallelCluster service token", async () => {
    const error = await provisioner()
      .createStack(request({ spec: spec("slurm") }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as Error).message).toMatch(/ParallelCluster/);
    expect((error as Error).message).toContain("PCLUSTER_SERVICE_TOKEN");
    expect(cfn.commandCalls(CreateStackCommand)).toHaveLength(0);
  });
});

describe("checkCanProvision", () => {
  it("accepts AWS Batch clusters without a ParallelCluster service token, and Slurm ones with it", () => {
    expect(() => provisioner().checkCanProvision(spec("awsbatch"))).not.toThrow();
    expect(() =>
      provisioner({ pclusterServiceToken: SERVICE_TOKEN }).checkCanProvision(spec("slurm")),
    ).not.toThrow();
  });

  it("refuses Slurm without the token, with an issue on the scheduler", () => {
    const error = (() => {
      try {
        provisioner().checkCanProvision(spec("slurm"));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).issues.map((i) => i.path)).toEqual(["Scheduling.Scheduler"]);
  });

  it("refuses an AWS Batch cluster with no subnet anywhere, naming the key", () => {
    const noSubnet = ClusterSpecSchema.parse({
      ...spec("awsbatch"),
      headNode: { instanceType: "t3.micro" },
      queues: [{ ...spec("awsbatch").queues[0], subnetIds: [] }],
    });
    expect(() => provisioner().checkCanProvision(noSubnet)).toThrow(ConfigInvalidError);
  });
});

describe("errors that outlive the SDK's retries", () => {
  it("maps throttling and server errors to ServiceUnavailableError (503 with Retry-After)", () => {
    for (const error of [
      serviceError("Throttling", "Rate exceeded"),
      serviceError("InternalFailure", "oops", 500),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    ]) {
      const mapped = mapAwsError(error, "cloudformation:DescribeStacks");
      expect(mapped).toBeInstanceOf(ServiceUnavailableError);
      expect((mapped as ServiceUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    }
  });

  it("never passes a raw SDK error on", () => {
    for (const name of [
      "LimitExceededException",
      "InsufficientCapabilitiesException",
      "Weird",
      "ExpiredToken",
    ]) {
      const mapped = mapAwsError(serviceError(name, "m"), "cloudformation:CreateStack");
      expect(mapped).toBeInstanceOf(DomainError);
      expect(mapped.cause).toBeInstanceOf(CloudFormationServiceException);
    }
  });
});

/**
 * A request handler that plays CloudFormation's wire answers (query protocol, XML), so the client's real
 * retry middleware runs: aws-sdk-client-mock replaces `send` and would skip it.
 */
function scriptedHandler(answers: { status: number; body: string }[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    handler: {
      async handle() {
        const answer = answers[Math.min(calls, answers.length - 1)] ?? { status: 500, body: "" };
        calls += 1;
        return {
          response: {
            statusCode: answer.status,
            headers: { "content-type": "text/xml", "x-amzn-requestid": `req-${calls}` },
            body: new TextEncoder().encode(answer.body),
          },
        };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs() {
        return {};
      },
    },
  };
}

const THROTTLED = {
  status: 400,
  body: `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
};
const CREATED = {
  status: 200,
  body: `<CreateStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateStackResult><StackId>${STACK_ID}</StackId></CreateStackResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateStackResponse>`,
};

describe("throttling, through the client's own retries", () => {
  it("succeeds when CloudFormation stops throttling within the attempts", async () => {
    const script = scriptedHandler([THROTTLED, CREATED]);
    const client = createCloudFormationClient({ region: REGION, credentials, maxAttempts: 3 });
    client.config.requestHandler = script.handler as typeof client.config.requestHandler;

    const result = await new CloudFormationStackProvisioner({ cloudFormation: client }).createStack(
      request(),
    );

    expect(result).toEqual({ stackId: STACK_ID });
    expect(script.calls).toBe(2);
  }, 20_000);

  it("gives up after maxAttempts with ServiceUnavailableError", async () => {
    const script = scriptedHandler([THROTTLED]);
    const client = createCloudFormationClient({ region: REGION, credentials, maxAttempts: 2 });
    client.config.requestHandler = script.handler as typeof client.config.requestHandler;

    const error = await new CloudFormationStackProvisioner({ cloudFormation: client })
      .createStack(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(script.calls).toBe(2);
  }, 20_000);
});

describe("deleteStack", () => {
  function stackIn(status: StackStatus): DescribeStacksCommandOutput {
    return {
      Stacks: [{ StackName: "hpc-demo", StackId: STACK_ID, StackStatus: status, CreationTime: new Date() }],
      $metadata: {},
    };
  }

  it("deletes by stack id with the cluster's delete token", async () => {
    cfn.on(DescribeStacksCommand).resolves(stackIn("CREATE_COMPLETE"));
    cfn.on(DeleteStackCommand).resolves({});
    await provisioner().deleteStack({ clusterId: CLUSTER_ID, stackName: "hpc-demo", stackId: STACK_ID });
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input.StackName).toBe(STACK_ID);
    expect(cfn.commandCalls(DeleteStackCommand)[0]?.args[0].input).toEqual({
      StackName: STACK_ID,
      ClientRequestToken: `delete-${CLUSTER_ID}`,
    });
  });

  it("deletes by name when the stack id is not known", async () => {
    cfn.on(DescribeStacksCommand).resolves(stackIn("ROLLBACK_COMPLETE"));
    cfn.on(DeleteStackCommand).resolves({});
    await provisioner().deleteStack({ clusterId: CLUSTER_ID, stackName: "hpc-demo" });
    expect(cfn.commandCalls(DeleteStackCommand)[0]?.args[0].input.StackName).toBe("hpc-demo");
  });

  it("does nothing for a stack that is already gone", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(serviceError("ValidationError", "Stack with id hpc-demo does not exist"));
    await provisioner().deleteStack({ clusterId: CLUSTER_ID, stackName: "hpc-demo" });
    cfn.on(DescribeStacksCommand).resolves(stackIn("DELETE_COMPLETE"));
    await provisioner().deleteStack({ clusterId: CLUSTER_ID, stackName: "hpc-demo", stackId: STACK_ID });
    expect(cfn.commandCalls(DeleteStackCommand)).toHaveLength(0);
  });

  it("tries again after DELETE_FAILED with a new token, since the old one names the failed delete", async () => {
    cfn.on(DescribeStacksCommand).resolves(stackIn("DELETE_FAILED"));
    cfn.on(DeleteStackCommand).resolves({});
    await provisioner().deleteStack({ clusterId: CLUSTER_ID, stackName: "hpc-demo", stackId: STACK_ID });
    const token = cfn.commandCalls(DeleteStackCommand)[0]?.args[0].input.ClientRequestToken;
    expect(token).toMatch(/^delete-[-a-zA-Z0-9]+$/);
    expect(token).not.toBe(`delete-${CLUSTER_ID}`);
  });

  it("maps AccessDenied to an upstream error naming cloudformation:DeleteStack", async () => {
    cfn.on(DescribeStacksCommand).resolves(stackIn("CREATE_COMPLETE"));
    cfn.on(DeleteStackCommand).rejects(serviceError("AccessDenied", "not authorized", 403));
    await expect(provisioner().deleteStack({ clusterId: CLUSTER_ID, stackName: "hpc-demo" })).rejects.toThrow(
      /cloudformation:DeleteStack/,
    );
  });
});

describe("describeStack", () => {
  it("answers undefined for a stack that does not exist", async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(serviceError("ValidationError", "Stack with id hpc-gone does not exist"));
    await expect(provisioner().describeStack("hpc-gone")).resolves.toBeUndefined();
  });

  it("describes a stack with its outputs, reason and last change", async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "hpc-demo",
          StackId: STACK_ID,
          StackStatus: "ROLLBACK_COMPLETE",
          StackStatusReason: "The following resource(s) failed to create: [Queue1ComputeEnvironment].",
          CreationTime: new Date("2024-05-01T10:00:00Z"),
          LastUpdatedTime: new Date("2024-05-01T10:05:00Z"),
          Outputs: [{ OutputKey: "JobQueueArn", OutputValue: "arn:aws:batch:eu-west-1:1:job-queue/q" }],
        },
      ],
    });

    await expect(provisioner().describeStack("hpc-demo")).resolves.toEqual({
      stackId: STACK_ID,
      stackName: "hpc-demo",
      status: "ROLLBACK_COMPLETE",
      statusReason: "The following resource(s) failed to create: [Queue1ComputeEnvironment].",
      outputs: { JobQueueArn: "arn:aws:batch:eu-west-1:1:job-queue/q" },
      updatedAt: "2024-05-01T10:05:00.000Z",
    });
  });

  it("maps throttling that outlived the retries to ServiceUnavailableError", async () => {
    cfn.on(DescribeStacksCommand).rejects(serviceError("Throttling", "Rate exceeded"));
    await expect(provisioner().describeStack("hpc-demo")).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});

describe("listStackEvents", () => {
  function event(n: number): SdkStackEvent {
    return {
      StackId: STACK_ID,
      StackName: "hpc-demo",
      EventId: `e${n}`,
      LogicalResourceId: `Resource${n}`,
      ResourceType: "AWS::Batch::JobQueue",
      ResourceStatus: "CREATE_COMPLETE",
      Timestamp: new Date(Date.UTC(2024, 4, 1, 10, 0, 60 - n)),
      ...(n === 1 ? { ResourceStatusReason: "Resource creation Initiated" } : {}),
    };
  }

  beforeEach(() => {
    // CloudFormation's own pages: three events, then two.
    cfn.on(DescribeStackEventsCommand, { StackName: "hpc-demo", NextToken: undefined }).resolves({
      StackEvents: [event(1), event(2), event(3)],
      NextToken: "cfn-page-2",
    });
    cfn.on(DescribeStackEventsCommand, { StackName: "hpc-demo", NextToken: "cfn-page-2" }).resolves({
      StackEvents: [event(4), event(5)],
    });
  });

  it("pages through the events at any page size, across CloudFormation's pages", async () => {
    const p = provisioner();
    const first = await p.listStackEvents("hpc-demo", { limit: 2 });
    const second = await p.listStackEvents("hpc-demo", { limit: 2, nextToken: first.nextToken });
    const third = await p.listStackEvents("hpc-demo", { limit: 2, nextToken: second.nextToken });

    expect(first.items.map((e) => e.logicalResourceId)).toEqual(["Resource1", "Resource2"]);
    expect(second.items.map((e) => e.logicalResourceId)).toEqual(["Resource3", "Resource4"]);
    expect(third.items.map((e) => e.logicalResourceId)).toEqual(["Resource5"]);
    expect(third.nextToken).toBeUndefined();
    expect(first.items[0]).toEqual({
      at: "2024-05-01T10:00:59.000Z",
      logicalResourceId: "Resource1",
      resourceType: "AWS::Batch::JobQueue",
      status: "CREATE_COMPLETE",
      reason: "Resource creation Initiated",
    });
    expect(cfn.commandCalls(DescribeStackEventsCommand).map((c) => c.args[0].input.NextToken)).toContain(
      "cfn-page-2",
    );
  });

  it("returns everything in one page when the limit allows", async () => {
    const all = await provisioner().listStackEvents("hpc-demo", { limit: 100 });
    expect(all.items).toHaveLength(5);
    expect(all.nextToken).toBeUndefined();
  });

  it("rejects a token it did not issue", async () => {
    await expect(
      provisioner().listStackEvents("hpc-demo", { limit: 2, nextToken: "not-ours" }),
    ).rejects.toBeInstanceOf(InvalidNextTokenError);
  });

  it("has no events for a stack that does not exist", async () => {
    cfn
      .on(DescribeStackEventsCommand, { StackName: "hpc-gone" })
      .rejects(serviceError("ValidationError", "Stack [hpc-gone] does not exist"));
    await expect(provisioner().listStackEvents("hpc-gone", { limit: 10 })).resolves.toEqual({ items: [] });
  });
});
