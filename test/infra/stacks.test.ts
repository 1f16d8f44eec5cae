import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Validations } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { flattenCfnReference } from "cdk-nag/lib/utils/flatten-cfn-reference.js";
import { beforeAll, describe, expect, it } from "vitest";
import { createTableInput, TTL_ATTRIBUTE } from "#shared/adapters/aws/table-schema.ts";
import {
  STACK_NAME_PREFIXES,
  WILDCARD_RESOURCE_ACTIONS,
} from "../../infra/constructs/cluster-provisioning.ts";
import { JOB_RETENTION_PARAMETER } from "../../infra/constructs/job-access.ts";
import { PROJECT_ROOT } from "../../infra/hpc-cluster-api.ts";
import { deployedRoutes, loadOpenApiRoutes } from "../../infra/openapi-routes.ts";
import { INPUT_FUNCTION_TIMEOUT, INPUT_MAX_RECEIVE_COUNT } from "../../infra/stateful-stack.ts";
import {
  EVENT_FUNCTIONS,
  HEAD_NODE_API_TIMEOUT,
  INPUT_BATCH_SIZE,
  INPUT_BATCHING_WINDOW,
} from "../../infra/stateless-stack.ts";
import { type SynthesizedApp, synthApp } from "./synth-app.ts";

type Json = Record<string, unknown>;

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Condition?: string;
}

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Json;
}

let synth: SynthesizedApp;
let stateless: Template;
let stateful: Template;

beforeAll(() => {
  synth = synthApp();
  stateless = synth.statelessTemplate;
  stateful = synth.statefulTemplate;
}, 180_000);

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const flat = (value: unknown): string => flattenCfnReference(value);
const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.findResources(type) as Record<string, CfnResource>);
const refersTo = (value: unknown, logicalId: string) => JSON.stringify(value).includes(`"${logicalId}"`);

/** The value at `path` under a resource's properties, or undefined. */
function prop(resource: CfnResource | undefined, ...path: (string | number)[]): unknown {
  let value: unknown = resource?.Properties;
  for (const key of path)
    value = typeof value === "object" && value !== null ? (value as Json)[key] : undefined;
  return value;
}

/** The statements of a policy resource (`AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy`). */
function statementsIn(resource: CfnResource | undefined): Statement[] {
  return list(prop(resource, "PolicyDocument", "Statement") as Statement | Statement[] | undefined);
}

/** Every statement granted anywhere in `template` (inline role policies, policies, managed policies). */
function allStatements(template: Template): { where: string; statement: Statement }[] {
  const out: { where: string; statement: Statement }[] = [];
  for (const [id, r] of resourcesOf(template, "AWS::IAM::Policy")) {
    for (const s of statementsIn(r)) out.push({ where: id, statement: s });
  }
  for (const [id, r] of resourcesOf(template, "AWS::IAM::ManagedPolicy")) {
    for (const s of statementsIn(r)) out.push({ where: id, statement: s });
  }
  for (const [id, r] of resourcesOf(template, "AWS::IAM::Role")) {
    for (const p of list(r.Properties?.Policies as Json[])) {
      for (const s of list((p.PolicyDocument as Json).Statement as Statement[]))
        out.push({ where: id, statement: s });
    }
  }
  return out;
}

/** The function whose description starts with `<name>:`, with its logical id. */
function fn(name: string): [string, CfnResource] {
  const found = resourcesOf(stateless, "AWS::Lambda::Function").find(([, r]) =>
    String(r.Properties?.Description).startsWith(`${name}:`),
  );
  if (found === undefined) throw new Error(`no function ${name}`);
  return found;
}

/**
 * What reaches `name`'s role: the statements of its own policies, and the managed policies attached to it
 * (with their statements).
 */
function grantsOf(name: string): { own: Statement[]; managedPolicies: string[]; statements: Statement[] } {
  const [, f] = fn(name);
  const roleId = String(prop(f, "Role", "Fn::GetAtt", 0));
  const own: Statement[] = [];
  const managed: Statement[] = [];
  const managedPolicies: string[] = [];
  const attached = (r: CfnResource) => list(r.Properties?.Roles).some((role) => refersTo(role, roleId));
  for (const [, r] of resourcesOf(stateless, "AWS::IAM::Policy"))
    if (attached(r)) own.push(...statementsIn(r));
  for (const [id, r] of resourcesOf(stateless, "AWS::IAM::ManagedPolicy")) {
    if (!attached(r)) continue;
    managedPolicies.push(id);
    managed.push(...statementsIn(r));
  }
  const [, role] = resourcesOf(stateless, "AWS::IAM::Role").find(([id]) => id === roleId) ?? [];
  expect(
    role?.Properties?.ManagedPolicyArns,
    `${name}'s role lists no managed policy of its own`,
  ).toBeUndefined();
  expect(role?.Properties?.Policies, `${name}'s role has no inline policy`).toBeUndefined();
  return { own, managedPolicies, statements: [...own, ...managed] };
}

const BASELINE = new Set([
  "logs:CreateLogStream",
  "logs:PutLogEvents",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
]);
const TABLE_READ = ["dynamodb:GetItem", "dynamodb:Query"];
const TABLE_WRITE = [...TABLE_READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];
const CREATE_STACK = [
  "cloudformation:CreateStack",
  "cloudformation:TagResource",
  "cloudformation:DescribeStacks",
];
const DELETE_STACK = ["cloudformation:DeleteStack", "cloudformation:DescribeStacks"];
const TEMPLATES = ["s3:GetObject", "s3:PutObject"];
const DEAD_LETTERS = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"];
const SUBMIT_BATCH_JOBS = ["batch:SubmitJob", "batch:TagResource"];
const HEAD_NODE_COMMANDS = ["ssm:SendCommand", "ssm:GetCommandInvocation"];
/** What an SQS event source mapping needs of its queue. */
const CONSUME_QUEUE = [
  "sqs:ReceiveMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueUrl",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
];

/**
 * What each function may do beyond logging and tracing (its own statements), and whether it carries the
 * policies for the resources inside cluster stacks. Written out here, not derived from the app.
 */
const EXPECTED_ACCESS: Record<string, { readonly actions: readonly string[]; readonly provisions: boolean }> =
  {
    "get-cluster": { actions: TABLE_READ, provisions: false },
    "list-clusters": { actions: TABLE_READ, provisions: false },
    "list-cluster-events": {
      actions: [...TABLE_READ, "cloudformation:DescribeStackEvents"],
      provisions: false,
    },
    "create-cluster": { actions: [...TABLE_WRITE, ...CREATE_STACK, ...TEMPLATES], provisions: true },
    "delete-cluster": { actions: [...TABLE_WRITE, ...DELETE_STACK], provisions: true },
    "pcluster-command": {
      actions: [
        ...TABLE_WRITE,
        ...CREATE_STACK,
        ...DELETE_STACK,
        ...TEMPLATES,
        ...SUBMIT_BATCH_JOBS,
        ...HEAD_NODE_COMMANDS,
      ],
      provisions: true,
    },
    "submit-job": {
      actions: [...TABLE_WRITE, ...SUBMIT_BATCH_JOBS, ...HEAD_NODE_COMMANDS],
      provisions: false,
    },
    "list-jobs": { actions: TABLE_READ, provisions: false },
    "get-job": { actions: TABLE_READ, provisions: false },
    "cancel-job": {
      actions: [...TABLE_WRITE, "batch:TerminateJob", ...HEAD_NODE_COMMANDS],
      provisions: false,
    },
    "get-job-logs": {
      actions: [...TABLE_READ, "batch:DescribeJobs", "logs:GetLogEvents", ...HEAD_NODE_COMMANDS],
      provisions: false,
    },
    // A job a rule made that ended may delete the rule's cluster (whenDone: delete).
    "job-status": { actions: [...TABLE_WRITE, ...DELETE_STACK, ...DEAD_LETTERS], provisions: true },
    health: { actions: [], provisions: false },
    "get-openapi": { actions: [], provisions: false },
    // A settled cluster releases the jobs waiting for it, or fails them (and whenDone may delete it).
    "stack-status": {
      actions: [
        ...TABLE_WRITE,
        ...DELETE_STACK,
        "cloudformation:DescribeStackEvents",
        ...DEAD_LETTERS,
        ...SUBMIT_BATCH_JOBS,
        ...HEAD_NODE_COMMANDS,
      ],
      provisions: true,
    },
    reconcile: {
      actions: [
        ...TABLE_WRITE,
        ...CREATE_STACK,
        ...DELETE_STACK,
        ...TEMPLATES,
        ...DEAD_LETTERS,
        "batch:DescribeJobs",
        ...SUBMIT_BATCH_JOBS,
        ...HEAD_NODE_COMMANDS,
      ],
      provisions: true,
    },
    // The rule's settings alone (create-trigger checks its cluster template without creating anything).
    "create-trigger": { actions: TABLE_WRITE, provisions: false },
    "list-triggers": { actions: TABLE_READ, provisions: false },
    "get-trigger": { actions: TABLE_READ, provisions: false },
    "delete-trigger": { actions: TABLE_WRITE, provisions: false },
    "s3-input": {
      actions: [
        ...TABLE_WRITE,
        ...CREATE_STACK,
        ...DELETE_STACK,
        ...TEMPLATES,
        ...SUBMIT_BATCH_JOBS,
        ...HEAD_NODE_COMMANDS,
        ...CONSUME_QUEUE,
      ],
      provisions: true,
    },
  };

/** Functions that read the provisioning settings to check a cluster template, with no grant to create one. */
const CHECKS_PROVISIONING = ["create-trigger"];

/** The functions that write job records, and so get the retention of finished ones. */
const WRITES_JOBS = [
  "submit-job",
  "cancel-job",
  "job-status",
  "reconcile",
  "pcluster-command",
  "s3-input",
  "stack-status",
];

const specRoutes = loadOpenApiRoutes(join(PROJECT_ROOT, "openapi.yaml"));
/** What API Gateway serves: the spec's routes but the local server's own. */
const routes = deployedRoutes(specRoutes);
const functionNames = [...new Set(routes.map((r) => r.handler)), ...EVENT_FUNCTIONS.map((e) => e.name)];

describe("cdk-nag AwsSolutions", () => {
  it("reports no finding that the app has not acknowledged", () => {
    const findings = synth.nag.violations.map(
      (v) =>
        `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(", ")}`,
    );

    expect(findings).toEqual([]);
  });

  it("gives every acknowledged AwsSolutions finding a reason a reviewer can weigh", () => {
    const reasons: [string, string][] = [];
    for (const construct of synth.app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          if (id.includes("AwsSolutions-")) reasons.push([id, reason]);
        }
      }
    }

    expect(reasons.length).toBeGreaterThan(0);
    for (const [id, reason] of reasons) expect(reason.length, id).toBeGreaterThanOrEqual(80);
  });
});

describe("the REST API", () => {
  /** `METHOD /path` of every deployed method, the path rebuilt from the resource tree. */
  function deployedMethods(): string[] {
    const resources = new Map(resourcesOf(stateless, "AWS::ApiGateway::Resource"));
    const pathOf = (ref: unknown): string => {
      const id = (ref as Json).Ref;
      if (typeof id !== "string") return ""; // Fn::GetAtt RootResourceId: the root
      const resource = resources.get(id);
      return `${pathOf(resource?.Properties?.ParentId)}/${String(resource?.Properties?.PathPart)}`;
    };
    return resourcesOf(stateless, "AWS::ApiGateway::Method").map(
      ([, m]) => `${String(m.Properties?.HttpMethod)} ${pathOf(m.Properties?.ResourceId) || "/"}`,
    );
  }

  it("deploys every route of openapi.yaml and nothing else", () => {
    expect(deployedMethods().sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("serves the trigger routes with IAM (SigV4) authorization", () => {
    const methods = resourcesOf(stateless, "AWS::ApiGateway::Method").map(([, m]) => m.Properties ?? {});
    const triggerOperations = ["createTrigger", "listTriggers", "getTrigger", "deleteTrigger"];

    for (const operation of triggerOperations) {
      const method = methods.find((m) => m.OperationName === operation);
      expect(method, operation).toBeDefined();
      expect(method?.AuthorizationType, operation).toBe("AWS_IAM");
    }
    expect(deployedMethods()).toEqual(
      expect.arrayContaining([
        "POST /v1/triggers",
        "GET /v1/triggers",
        "GET /v1/triggers/{name}",
        "DELETE /v1/triggers/{name}",
      ]),
    );
  });

  it("deploys no method, resource or function for the local server's own routes", () => {
    const localOnly = specRoutes.filter((r) => r.localOnly);

    expect(localOnly.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /local/s3-events"]);
    expect(deployedMethods().filter((m) => m.includes("/local"))).toEqual([]);
    expect(
      resourcesOf(stateless, "AWS::ApiGateway::Resource").map(([, r]) => r.Properties?.PathPart),
    ).not.toContain("local");
    expect(() => fn("local-s3-events")).toThrow(/no function/);
  });

  it("requires IAM (SigV4) authorization on every method and has no CORS preflight method", () => {
    const methods = resourcesOf(stateless, "AWS::ApiGateway::Method");

    expect(methods.length).toBe(routes.length);
    for (const [id, m] of methods) {
      expect(m.Properties?.AuthorizationType, id).toBe("AWS_IAM");
      expect(m.Properties?.HttpMethod, id).not.toBe("OPTIONS");
    }
  });

  it("serves the stage Prod, so the blog's /Prod/pcluster URL holds, with tracing, throttling and JSON access logs", () => {
    const stages = resourcesOf(stateless, "AWS::ApiGateway::Stage");
    expect(stages).toHaveLength(1);
    const stage = stages[0]?.[1].Properties ?? {};

    expect(stage.StageName).toBe("Prod");
    expect(stage.TracingEnabled).toBe(true);
    const settings = list(stage.MethodSettings as Json[]);
    expect(settings).toContainEqual(
      expect.objectContaining({
        HttpMethod: "*",
        ResourcePath: "/*",
        ThrottlingRateLimit: expect.any(Number),
      }),
    );
    expect(settings).toContainEqual(
      expect.objectContaining({
        HttpMethod: "POST",
        ResourcePath: "/~1v1~1clusters",
        ThrottlingRateLimit: 5,
      }),
    );
    const format = String((stage.AccessLogSetting as Json).Format);
    const line = JSON.parse(format.replaceAll("$context.error.messageString", '"an error"')) as Json;
    expect(line).toMatchObject({
      requestId: "$context.requestId",
      status: "$context.status",
      error: "an error",
    });
  });

  it("checks required parameters and the JSON envelope before a function runs, answering problem+json", () => {
    const methods = resourcesOf(stateless, "AWS::ApiGateway::Method").map(([, m]) => m.Properties ?? {});
    const validators = resourcesOf(stateless, "AWS::ApiGateway::RequestValidator");

    expect(validators).toHaveLength(1);
    expect(validators[0]?.[1].Properties).toMatchObject({
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    for (const m of methods) expect(m.RequestValidatorId).toBeDefined();
    const pcluster = methods.filter(
      (m) => m.OperationName === "pclusterCommand" || m.OperationName === "pclusterCommandProd",
    );
    expect(pcluster).toHaveLength(2);
    for (const m of pcluster)
      expect(m.RequestParameters).toMatchObject({ "method.request.querystring.command": true });
    const create = methods.find((m) => m.OperationName === "createCluster");
    expect(Object.keys((create?.RequestModels as Json | undefined) ?? {})).toEqual(["application/json"]);
    for (const type of ["BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS"]) {
      stateless.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
        ResponseType: type,
        StatusCode: "400",
        ResponseParameters: { "gatewayresponse.header.Content-Type": "'application/problem+json'" },
      });
    }
  });

  it("outputs the API URL and the command endpoint URL", () => {
    const outputs = stateless.findOutputs("*") as Record<string, { Value: unknown }>;

    expect(flat(outputs.ApiUrl?.Value)).toContain(".execute-api.");
    expect(flat(outputs.CommandEndpointUrl?.Value)).toMatch(/\.execute-api\..*\/pcluster$/);
  });
});

describe("the functions", () => {
  it("are exactly the openapi.yaml handlers and the event functions, each with an expected access profile", () => {
    const deployed = resourcesOf(stateless, "AWS::Lambda::Function").map(
      ([, r]) => String(r.Properties?.Description).split(":")[0],
    );

    expect(deployed.sort()).toEqual([...functionNames].sort());
    expect(Object.keys(EXPECTED_ACCESS).sort()).toEqual(expect.arrayContaining([...functionNames].sort()));
  });

  it("share the house settings: arm64, Node.js 22 or newer, active tracing, own log group, Powertools", () => {
    for (const name of functionNames) {
      const [, f] = fn(name);
      const p = f.Properties ?? {};
      expect(p.Architectures, name).toEqual(["arm64"]);
      expect(Number(/^nodejs(\d+)\.x$/.exec(String(p.Runtime))?.[1]), name).toBeGreaterThanOrEqual(22);
      expect(p.TracingConfig, name).toEqual({ Mode: "Active" });
      expect((p.LoggingConfig as Json).LogGroup, name).toEqual({ Ref: expect.any(String) });
      expect((p.Environment as Json).Variables, name).toMatchObject({
        POWERTOOLS_SERVICE_NAME: "hpc-cluster-api",
        POWERTOOLS_LOG_LEVEL: expect.any(String),
        POWERTOOLS_METRICS_NAMESPACE: expect.any(String),
        NODE_OPTIONS: "--enable-source-maps",
        CLUSTER_BACKEND: "aws",
      });
    }
  });

  it("ship ESM bundles with the createRequire banner and source maps, and get-openapi ships the spec", () => {
    for (const name of functionNames) {
      const [, f] = fn(name);
      const key = String(prop(f, "Code", "S3Key"));
      const dir = join(synth.outdir, `asset.${key.replace(/\.zip$/, "")}`);
      const bundle = readFileSync(join(dir, "index.mjs"), "utf8");
      expect(bundle.startsWith("import { createRequire as __houseCreateRequire }"), name).toBe(true);
      expect(existsSync(join(dir, "index.mjs.map")), name).toBe(true);
      expect(existsSync(join(dir, "openapi.yaml")), name).toBe(name === "get-openapi");
    }
  });

  it("each reach only what they use", () => {
    for (const name of functionNames) {
      const { own, managedPolicies } = grantsOf(name);
      const expected = EXPECTED_ACCESS[name];
      const actions = new Set(own.flatMap((s) => list(s.Action)).filter((a) => !BASELINE.has(a)));

      expect([...actions].sort(), name).toEqual([...new Set(expected?.actions)].sort());
      // The stack-resources policies, both or neither.
      expect(managedPolicies.length, `${name} provisions`).toBe(expected?.provisions ? 2 : 0);
      for (const s of own) {
        const resources = list(s.Resource).map(flat);
        const service = list(s.Action)[0]?.split(":")[0];
        if (service === "dynamodb") {
          for (const r of resources)
            expect(r, name).toMatch(/GetAttTable\w+Arn\w+"\}\}(\/index\/(byName|byStatus))?$/);
          expect(
            resources.some((r) => r.includes("/index/*")),
            name,
          ).toBe(false);
        }
        if (service === "cloudformation") {
          expect(resources.sort(), name).toEqual([
            expect.stringMatching(/:stack\/hpc-\*\/\*$/),
            expect.stringMatching(/:stack\/parallelcluster-\*\/\*$/),
          ]);
        }
        if (service === "s3")
          for (const r of resources) expect(r, name).toMatch(/TemplateBucket.*\/templates\/\*$/);
        // Dead-letter queues of the functions' own; the input queue only for the function it feeds.
        if (service === "sqs") {
          for (const r of resources)
            expect(r, name).toMatch(name === "s3-input" ? /InputQueue/ : /DeadLetters/);
        }
      }
    }
  });

  it("set each environment variable together with its grant", () => {
    for (const name of functionNames) {
      const [, f] = fn(name);
      const env = (prop(f, "Environment", "Variables") ?? {}) as Json;
      const actions = new Set(grantsOf(name).statements.flatMap((s) => list(s.Action)));
      // A function that only checks cluster templates reads the provisioning settings, with no grant.
      const checks = CHECKS_PROVISIONING.includes(name);
      expect("TEMPLATE_BUCKET" in env, name).toBe(
        checks || actions.has("s3:PutObject") || actions.has("s3:GetObject"),
      );
      expect("STACK_NAME_PREFIX" in env, name).toBe(
        [...actions].some((a) => a.startsWith("cloudformation:")),
      );
      expect("PCLUSTER_SERVICE_TOKEN" in env, name).toBe(
        checks || actions.has("cloudformation:CreateStack") || actions.has("cloudformation:DeleteStack"),
      );
      // health reads the shared config, which insists on TABLE_NAME, but never touches the table.
      expect("TABLE_NAME" in env, name).toBe(actions.has("dynamodb:GetItem") || name === "health");
      expect(env.JOB_RETENTION_DAYS, name).toEqual(
        WRITES_JOBS.includes(name) ? { Ref: JOB_RETENTION_PARAMETER } : undefined,
      );
      if (WRITES_JOBS.includes(name)) expect(actions.has("dynamodb:PutItem"), name).toBe(true);
    }
  });
});

describe("jobs", () => {
  const ARN = "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>";
  /**
   * Every statement of `name`'s own policies that grants one of `actions` (the stack-resources policies,
   * for CloudFormation's sake, have Batch statements of their own, asserted above).
   */
  const statementsWith = (name: string, ...actions: string[]) =>
    grantsOf(name).own.filter((s) => list(s.Action).some((a) => actions.includes(a)));
  const functionsWith = (action: string) =>
    functionNames.filter((name) => grantsOf(name).statements.some((s) => list(s.Action).includes(action)));

  it("lets get-job and list-jobs read the table and reach nothing else: no Batch, no SSM, no logs", () => {
    for (const name of ["get-job", "list-jobs"]) {
      const actions = grantsOf(name).statements.flatMap((s) => list(s.Action));

      expect(actions.filter((a) => !BASELINE.has(a)).sort(), name).toEqual([...TABLE_READ].sort());
      expect(
        actions.filter((a) => /^(batch|ssm|logs:Get|cloudformation|s3):/.test(a)),
        name,
      ).toEqual([]);
    }
  });

  it("submits only to our job queues with our job definitions, and creates only jobs carrying our tag", () => {
    const submitters = ["pcluster-command", "reconcile", "s3-input", "stack-status", "submit-job"];
    expect(functionsWith("batch:SubmitJob").sort()).toEqual(submitters);
    for (const name of submitters) {
      const statements = statementsWith(name, "batch:SubmitJob", "batch:TagResource");
      const scoped = statements
        .flatMap((s) => list(s.Resource).map(flat))
        .filter((r) => !r.endsWith(":job/*"));

      expect(scoped.sort(), name).toEqual([
        `${ARN}:job-definition/hpc-*`,
        `${ARN}:job-definition/parallelcluster-*`,
        `${ARN}:job-queue/hpc-*`,
        `${ARN}:job-queue/parallelcluster-*`,
      ]);
      for (const s of statements) {
        const resources = list(s.Resource).map(flat);
        if (resources.includes(`${ARN}:job/*`)) {
          // The new job: Batch picks its id, so only the request's tags tell it is one of ours.
          expect(resources, name).toEqual([`${ARN}:job/*`]);
          expect(s.Condition, name).toEqual({ Null: { "aws:RequestTag/hpc-cluster-api:job-id": "false" } });
        } else {
          expect(list(s.Action), name).toEqual(["batch:SubmitJob"]);
          expect(s.Condition, name).toBeUndefined();
        }
      }
    }
  });

  it("terminates only jobs that carry the tag the API puts on every job it submits", () => {
    expect(functionsWith("batch:TerminateJob")).toEqual(["cancel-job"]);
    const statements = statementsWith("cancel-job", "batch:TerminateJob");

    expect(statements).toHaveLength(1);
    expect(list(statements[0]?.Resource).map(flat)).toEqual([`${ARN}:job/*`]);
    expect(statements[0]?.Condition).toEqual({
      Null: { "aws:ResourceTag/hpc-cluster-api:job-id": "false" },
    });
  });

  it("reads job output only from our streams in /aws/batch/job and from log groups under /hpc-cluster-api/", () => {
    expect(functionsWith("logs:GetLogEvents")).toEqual(["get-job-logs"]);
    const resources = statementsWith("get-job-logs", "logs:GetLogEvents").flatMap((s) =>
      list(s.Resource).map(flat),
    );
    const logs = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:";

    expect(resources.sort()).toEqual([
      `${logs}/aws/batch/job:log-stream:hpc-*`,
      `${logs}/aws/batch/job:log-stream:parallelcluster-*`,
      `${logs}/hpc-cluster-api/*:log-stream:*`,
    ]);
  });

  it("sends only AWS-RunShellScript, and only to instances tagged as the head node of one of our clusters", () => {
    const senders = functionsWith("ssm:SendCommand");

    expect(senders.sort()).toEqual([
      "cancel-job",
      "get-job-logs",
      "pcluster-command",
      "reconcile",
      "s3-input",
      "stack-status",
      "submit-job",
    ]);
    for (const name of senders) {
      const ssm = statementsWith(name, "ssm:SendCommand", "ssm:GetCommandInvocation");
      for (const s of ssm) {
        const resources = list(s.Resource).map(flat);
        if (list(s.Action).includes("ssm:GetCommandInvocation")) {
          expect(resources, name).toEqual(["*"]);
          continue;
        }
        expect(list(s.Action), name).toEqual(["ssm:SendCommand"]);
        if (resources.some((r) => r.includes(":document/"))) {
          expect(resources, name).toEqual([
            "arn:<AWS::Partition>:ssm:<AWS::Region>::document/AWS-RunShellScript",
          ]);
        } else {
          expect(resources, name).toEqual([
            "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*",
          ]);
          expect(s.Condition, name).toEqual({
            StringEquals: { "ssm:resourceTag/parallelcluster:node-type": "HeadNode" },
            Null: { "ssm:resourceTag/hpc-cluster-api:cluster-name": "false" },
          });
        }
      }
      const actions = new Set(ssm.flatMap((s) => list(s.Action)).filter((a) => a.startsWith("ssm:")));
      expect([...actions].sort(), name).toEqual(["ssm:GetCommandInvocation", "ssm:SendCommand"]);
    }
  });

  it("gives the API functions that wait on a head node 28 seconds, still under API Gateway's 29", () => {
    for (const name of ["submit-job", "cancel-job", "get-job-logs", "pcluster-command"]) {
      expect(prop(fn(name)[1], "Timeout"), name).toBe(HEAD_NODE_API_TIMEOUT.toSeconds());
    }
    expect(HEAD_NODE_API_TIMEOUT.toSeconds()).toBeLessThan(29);
    expect(prop(fn("get-job")[1], "Timeout")).toBe(20);
  });

  it("keeps finished job records for JobRetentionDays, a parameter of 90 days by default", () => {
    stateless.hasParameter(JOB_RETENTION_PARAMETER, { Type: "Number", Default: 90, MinValue: 1 });
  });
});

describe("IAM", () => {
  it("grants no action with a wildcard anywhere", () => {
    const wildcards = [...allStatements(stateless), ...allStatements(stateful)].flatMap(
      ({ where, statement }) =>
        list(statement.Action)
          .filter((a) => a.includes("*"))
          .map((a) => `${where}: ${a}`),
    );

    expect(wildcards).toEqual([]);
  });

  it("uses Resource '*' only for actions that support no resource-level permissions", () => {
    for (const { where, statement } of [...allStatements(stateless), ...allStatements(stateful)]) {
      if (!list(statement.Resource).includes("*")) continue;
      for (const action of list(statement.Action)) {
        expect(Object.keys(WILDCARD_RESOURCE_ACTIONS), `${where}: ${action}`).toContain(action);
      }
    }
  });

  it("scopes the stack-resources policy to our stack-name prefixes, attachable policies and passed-to services", () => {
    const [, policy] =
      resourcesOf(stateless, "AWS::IAM::ManagedPolicy").find(([id]) => id.includes("StackResourcesPolicy")) ??
      [];
    const statements = statementsIn(policy);
    const bySid = (sid: string) => statements.find((s) => (s as unknown as Json).Sid === sid);

    for (const sid of [
      "ClusterRoles",
      "ClusterInstanceProfiles",
      "ClusterBatchResources",
      "PassClusterRoles",
    ]) {
      for (const r of list(bySid(sid)?.Resource).map(flat)) {
        expect(r, sid).toMatch(new RegExp(`/(${STACK_NAME_PREFIXES.join("|")})\\*$`));
      }
    }
    expect(bySid("PassClusterRoles")?.Condition).toEqual({
      StringEquals: {
        "iam:PassedToService": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "batch.amazonaws.com"],
      },
    });
    expect(Object.keys(bySid("ClusterRolePolicies")?.Condition ?? {})).toEqual(["ArnEquals"]);
    expect(bySid("ChangeOurSecurityGroups")?.Condition).toEqual({
      StringLike: { "aws:ResourceTag/aws:cloudformation:stack-name": ["hpc-*", "parallelcluster-*"] },
    });
  });

  it("lets CloudFormation invoke the ParallelCluster provider only when its service token is given", () => {
    const [, invoke] =
      resourcesOf(stateless, "AWS::IAM::ManagedPolicy").find(([id]) =>
        id.includes("InvokePclusterProvider"),
      ) ?? [];
    const statements = statementsIn(invoke);

    expect(invoke?.Condition).toBeDefined();
    expect(statements).toEqual([
      expect.objectContaining({ Action: "lambda:InvokeFunction", Resource: { Ref: "PclusterServiceToken" } }),
    ]);
    stateless.hasParameter("PclusterServiceToken", { Type: "String", Default: "" });
  });
});

describe("the stateful stack", () => {
  it("keeps the table on-demand, with point-in-time recovery and TTL, retained on deletion", () => {
    stateful.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      },
    });
  });

  it("builds the table the adapters query: the keys and indexes of table-schema.ts", () => {
    const expected = createTableInput("any");
    const [, table] = resourcesOf(stateful, "AWS::DynamoDB::Table")[0] ?? [];
    const p = table?.Properties ?? {};
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) =>
      [...items].sort((a, b) =>
        String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)),
      );

    expect(p.KeySchema).toEqual(expected.KeySchema);
    expect(byName(p.AttributeDefinitions as { AttributeName: string }[])).toEqual(
      byName(expected.AttributeDefinitions as { AttributeName: string }[]),
    );
    expect(byName(p.GlobalSecondaryIndexes as { IndexName: string }[])).toEqual(
      byName(expected.GlobalSecondaryIndexes as { IndexName: string }[]),
    );
  });

  it("retains every bucket, blocks public access, encrypts and denies requests without TLS", () => {
    const buckets = resourcesOf(stateful, "AWS::S3::Bucket");
    const policies = resourcesOf(stateful, "AWS::S3::BucketPolicy").map(([, r]) => r.Properties ?? {});

    expect(buckets.length).toBe(3);
    for (const [id, bucket] of buckets) {
      expect(bucket.DeletionPolicy, id).toBe("Retain");
      expect(bucket.Properties?.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties?.BucketEncryption, id).toBeDefined();
      const policy = policies.find((p) => refersTo(p.Bucket, id));
      const statements = list((policy?.PolicyDocument as Json | undefined)?.Statement as Statement[]);
      expect(statements, id).toContainEqual(
        expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      );
    }
  });

  it("versions the input bucket and sends each new object to the input queue, which has a dead-letter queue", () => {
    const [inputId, input] =
      resourcesOf(stateful, "AWS::S3::Bucket").find(([id]) => id.startsWith("InputBucket")) ?? [];
    const [queueId, queue] =
      resourcesOf(stateful, "AWS::SQS::Queue").find(([id]) => id.startsWith("InputQueue")) ?? [];

    expect(input?.Properties?.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(queue?.Properties?.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    stateful.hasResourceProperties("Custom::S3BucketNotifications", {
      BucketName: { Ref: inputId },
      NotificationConfiguration: {
        QueueConfigurations: [
          { Events: ["s3:ObjectCreated:*"], QueueArn: { "Fn::GetAtt": [queueId, "Arn"] } },
        ],
      },
    });
  });

  it("outputs the table and bucket names", () => {
    const outputs = Object.keys(stateful.findOutputs("*"));

    expect(outputs).toEqual(expect.arrayContaining(["TableName", "InputBucketName", "TemplateBucketName"]));
  });
});

describe("queues and events", () => {
  it("encrypts every queue and denies it requests without TLS", () => {
    for (const template of [stateful, stateless]) {
      const policies = resourcesOf(template, "AWS::SQS::QueuePolicy").map(([, r]) => r.Properties ?? {});
      for (const [id, queue] of resourcesOf(template, "AWS::SQS::Queue")) {
        expect(queue.Properties?.SqsManagedSseEnabled, id).toBe(true);
        const statements = policies
          .filter((p) => list(p.Queues).some((q) => refersTo(q, id)))
          .flatMap((p) => list((p.PolicyDocument as Json).Statement as Statement[]));
        expect(statements, id).toContainEqual(
          expect.objectContaining({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        );
      }
    }
  });

  it("sends only our stacks' status changes to stack-status, with retries and a dead-letter queue", () => {
    const [stackStatusId] = fn("stack-status");
    const rules = resourcesOf(stateless, "AWS::Events::Rule").filter(
      ([, r]) => r.Properties?.EventPattern !== undefined,
    );
    const rule = rules.find(([, r]) => refersTo(r.Properties?.Targets, stackStatusId))?.[1].Properties ?? {};
    const pattern = rule.EventPattern as Json;

    expect(pattern.source).toEqual(["aws.cloudformation"]);
    expect(pattern["detail-type"]).toEqual(["CloudFormation Stack Status Change"]);
    const prefixes = list((pattern.detail as Json)["stack-id"] as Json[]).map((m) => flat(m.prefix));
    expect(prefixes).toEqual([
      "arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/hpc-",
      "arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/parallelcluster-",
    ]);
    expect(list(rule.Targets as Json[])[0]).toMatchObject({
      DeadLetterConfig: { Arn: expect.anything() },
      RetryPolicy: { MaximumRetryAttempts: 4 },
    });
  });

  it("sends only job state changes in our job queues to job-status, with retries and a dead-letter queue", () => {
    const [jobStatusId] = fn("job-status");
    const rules = resourcesOf(stateless, "AWS::Events::Rule").filter(([, r]) =>
      refersTo(r.Properties?.Targets, jobStatusId),
    );
    const rule = rules[0]?.[1].Properties ?? {};
    const pattern = rule.EventPattern as Json;

    expect(rules).toHaveLength(1);
    expect(Object.keys(pattern).sort()).toEqual(["detail", "detail-type", "source"]);
    expect(pattern.source).toEqual(["aws.batch"]);
    expect(pattern["detail-type"]).toEqual(["Batch Job State Change"]);
    expect(Object.keys(pattern.detail as Json)).toEqual(["jobQueue"]);
    const prefixes = list((pattern.detail as Json).jobQueue as Json[]).map((m) => flat(m.prefix));
    expect(prefixes).toEqual([
      "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job-queue/hpc-",
      "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job-queue/parallelcluster-",
    ]);
    const target = list(rule.Targets as Json[])[0];
    expect(target).toMatchObject({
      Arn: { "Fn::GetAtt": [jobStatusId, "Arn"] },
      DeadLetterConfig: {
        Arn: { "Fn::GetAtt": [expect.stringMatching(/^EventJobStatusDeadLetters/), "Arn"] },
      },
      RetryPolicy: { MaximumRetryAttempts: 4 },
    });
    // Lambda's own retries of the asynchronous invocation end in the same dead-letter queue.
    stateless.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: jobStatusId },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: (target?.DeadLetterConfig as Json | undefined)?.Arn },
      },
    });
  });

  it("feeds s3-input from the input queue in batches, naming the messages that failed", () => {
    const [inputId, input] = fn("s3-input");
    const mappings = resourcesOf(stateless, "AWS::Lambda::EventSourceMapping").filter(([, m]) =>
      refersTo(m.Properties?.FunctionName, inputId),
    );

    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]?.[1].Properties ?? {};
    expect(mapping).toMatchObject({
      BatchSize: INPUT_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: INPUT_BATCHING_WINDOW.toSeconds(),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(INPUT_BATCH_SIZE).toBe(10);
    expect(flat(mapping.EventSourceArn)).toMatch(/InputQueue/);
    expect(prop(input, "Timeout")).toBe(INPUT_FUNCTION_TIMEOUT.toSeconds());
  });

  it("lets the input queue hide a message six times as long as s3-input may run, then dead-letter it", () => {
    const [, queue] =
      resourcesOf(stateful, "AWS::SQS::Queue").find(([id]) => id.startsWith("InputQueue")) ?? [];
    const [deadLettersId = "InputDeadLetterQueue"] =
      resourcesOf(stateful, "AWS::SQS::Queue").find(([id]) => id.startsWith("InputDeadLetterQueue")) ?? [];
    const timeout = Number(prop(fn("s3-input")[1], "Timeout"));

    expect(Number(queue?.Properties?.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * timeout);
    expect(queue?.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [deadLettersId, "Arn"] },
      maxReceiveCount: INPUT_MAX_RECEIVE_COUNT,
    });
    const alarms = resourcesOf(stateless, "AWS::CloudWatch::Alarm").map(([, r]) => r.Properties ?? {});
    const depth = alarms.filter(
      (a) =>
        a.MetricName === "ApproximateNumberOfMessagesVisible" && flat(a.Dimensions).includes(deadLettersId),
    );
    expect(depth).toHaveLength(1);
  });

  it("sends every S3 Object Created event of the account to the input queue, dead-lettering what it cannot", () => {
    const [queueId = "InputQueue"] =
      resourcesOf(stateful, "AWS::SQS::Queue").find(([id]) => id.startsWith("InputQueue")) ?? [];
    const [deadLettersId] =
      resourcesOf(stateful, "AWS::SQS::Queue").find(([id]) => id.startsWith("InputDeadLetterQueue")) ?? [];
    const rules = resourcesOf(stateful, "AWS::Events::Rule").filter(
      ([, r]) => (r.Properties?.EventPattern as Json | undefined)?.source !== undefined,
    );

    expect(rules).toHaveLength(1);
    const rule = rules[0]?.[1].Properties ?? {};
    expect(rule.EventPattern).toEqual({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      account: [{ Ref: "AWS::AccountId" }],
    });
    expect(list(rule.Targets as Json[])).toEqual([
      expect.objectContaining({
        Arn: { "Fn::GetAtt": [queueId, "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [deadLettersId, "Arn"] } },
        RetryPolicy: expect.objectContaining({ MaximumRetryAttempts: expect.any(Number) }),
      }),
    ]);
    // EventBridge may write to the queue only for this rule.
    const statements = resourcesOf(stateful, "AWS::SQS::QueuePolicy")
      .filter(([, p]) => list(p.Properties?.Queues).some((q) => refersTo(q, queueId)))
      .flatMap(([, p]) => statementsIn(p));
    const fromEvents = statements.filter((st) =>
      JSON.stringify((st as unknown as Json).Principal).includes("events.amazonaws.com"),
    );
    expect(fromEvents).toHaveLength(1);
    expect(flat(fromEvents[0]?.Condition)).toContain("ObjectCreatedRule");
  });

  it("runs the reconciler every five minutes", () => {
    const [reconcileId] = fn("reconcile");
    const scheduled = resourcesOf(stateless, "AWS::Events::Rule").find(([, r]) =>
      refersTo(r.Properties?.Targets, reconcileId),
    );

    expect(scheduled?.[1].Properties?.ScheduleExpression).toBe("rate(5 minutes)");
  });
});

describe("observability", () => {
  it("alarms on the 5xx rate, on every function's errors and on every dead-letter queue, notifying one topic", () => {
    const alarms = resourcesOf(stateless, "AWS::CloudWatch::Alarm").map(([, r]) => r.Properties ?? {});
    const [topicId] = resourcesOf(stateless, "AWS::SNS::Topic")[0] ?? [];
    const deadLetterQueues = resourcesOf(stateless, "AWS::SQS::Queue").length + 1; // + the input DLQ

    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: "5XXError",
        Namespace: "AWS/ApiGateway",
        Statistic: "Average",
        Threshold: 0.05,
      }),
    );
    expect(alarms.filter((a) => a.MetricName === "Errors" && a.Namespace === "AWS/Lambda")).toHaveLength(
      functionNames.length,
    );
    expect(alarms.filter((a) => a.MetricName === "ApproximateNumberOfMessagesVisible")).toHaveLength(
      deadLetterQueues,
    );
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    stateless.hasParameter("AlarmEmail", { Default: "" });
  });

  it("has a dashboard with clusters, jobs, API, function and dead-letter widgets", () => {
    const [, dashboard] = resourcesOf(stateless, "AWS::CloudWatch::Dashboard")[0] ?? [];
    const body = flat(dashboard?.Properties?.DashboardBody);

    for (const title of [
      "Clusters by status",
      "Jobs by status",
      "API requests and errors",
      "API latency (ms)",
      "Function errors",
      "Function duration p90 (ms)",
      "Dead-letter queue depth",
    ]) {
      expect(body).toContain(`"title":"${title}"`);
    }
    expect(body).toContain('SEARCH(\'Namespace=\\"HpcClusterApi\\" MetricName=\\"Clusters\\"');
    // Jobs by status: one line per `status` dimension of the custom metric Jobs.
    expect(body).toContain("SEARCH('Namespace=\\\"HpcClusterApi\\\" MetricName=\\\"Jobs\\\"', 'Sum'");
  });
});

describe("the app", () => {
  it("names its own stacks so that no cluster-stack rule or grant can match them", () => {
    for (const stack of [synth.stateful, synth.stateless]) {
      for (const prefix of STACK_NAME_PREFIXES) expect(stack.stackName.startsWith(prefix)).toBe(false);
    }
  });
});
