import { ArnFormat, CfnCondition, CfnParameter, Fn, Stack } from "aws-cdk-lib";
import { type CfnManagedPolicy, ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { suppress } from "../nag-suppressions.ts";

/**
 * The stacks this API creates are named with one of these prefixes: `hpc-` by the resource API (`/v1`),
 * `parallelcluster-` by the pcluster command endpoint. Every CloudFormation permission, every permission
 * on the resources inside those stacks and the stack-status event rule are scoped by them.
 */
export const STACK_NAME_PREFIXES = ["hpc-", "parallelcluster-"] as const;

/** The prefix of stacks made through `/v1` (the functions' `STACK_NAME_PREFIX`). */
export const RESOURCE_API_STACK_PREFIX = "hpc-";

/**
 * Actions allowed on Resource "*" anywhere in the app, each with the reason. Tests hold every statement
 * with a `*` resource to this list.
 */
export const WILDCARD_RESOURCE_ACTIONS: Readonly<Record<string, string>> = {
  "xray:PutTraceSegments": "X-Ray supports no resource-level permissions for this action.",
  "xray:PutTelemetryRecords": "X-Ray supports no resource-level permissions for this action.",
  "batch:DescribeComputeEnvironments": "AWS Batch Describe actions support no resource-level permissions.",
  "batch:DescribeJobQueues": "AWS Batch Describe actions support no resource-level permissions.",
  "batch:DescribeJobDefinitions": "AWS Batch Describe actions support no resource-level permissions.",
  "ec2:DescribeSecurityGroups": "EC2 Describe actions support no resource-level permissions.",
  "ec2:DescribeVpcs":
    "EC2 Describe actions support no resource-level permissions; CloudFormation validates AWS::EC2::VPC::Id parameters with it.",
  "ec2:DescribeSubnets":
    "EC2 Describe actions support no resource-level permissions; CloudFormation validates List<AWS::EC2::Subnet::Id> parameters with it.",
  "batch:DescribeJobs":
    "AWS Batch's DescribeJobs supports no resource-level permissions; it only reads the status of jobs, and the functions ask only for the Batch job ids recorded on our own job records.",
  "ssm:GetCommandInvocation":
    "Systems Manager's GetCommandInvocation supports no resource-level permissions; it only reads the result of a command, and the functions ask only for commands they sent themselves (to our head nodes, with AWS-RunShellScript).",
};

/** The unscoped actions of the stack-resources policy (what CloudFormation reads while it builds a stack). */
const PROVISIONING_DESCRIBE_ACTIONS = [
  "batch:DescribeComputeEnvironments",
  "batch:DescribeJobQueues",
  "batch:DescribeJobDefinitions",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeVpcs",
  "ec2:DescribeSubnets",
] as const;

/**
 * AWS managed policies our Batch templates attach to the roles they create; no other policy can be
 * attached by the API (see `shared/domain/templates/batch-template.ts`).
 */
export const ATTACHABLE_MANAGED_POLICIES = [
  "service-role/AmazonEC2ContainerServiceforEC2Role",
  "service-role/AmazonECSTaskExecutionRolePolicy",
] as const;

/** Services the roles our templates create may be passed to. */
export const PASSED_TO_SERVICES = [
  "ec2.amazonaws.com",
  "ecs-tasks.amazonaws.com",
  "batch.amazonaws.com",
] as const;

/**
 * What creating and deleting our cluster stacks takes. CloudFormation acts with the caller's
 * credentials, so a function calling CreateStack or DeleteStack needs the permissions for the resources
 * inside the stack too; they live here, in managed policies attached to exactly those functions.
 *
 * Scoping, service by service:
 * - IAM roles and instance profiles: named by CloudFormation `<stack name>-<logical id>-<suffix>`, so
 *   scoped to our prefixes; only the managed policies in {@link ATTACHABLE_MANAGED_POLICIES} may be
 *   attached; PassRole only for those roles and only to EC2, ECS tasks and Batch.
 * - AWS Batch: compute environments, job queues and job definitions named with our prefixes (the
 *   template must name them after the stack); Describe actions cannot be scoped.
 * - EC2 security groups: their ARNs carry ids, not names, so changes are allowed only on groups tagged
 *   by CloudFormation as part of one of our stacks (`aws:cloudformation:stack-name`).
 * - ParallelCluster: the `Custom::PclusterCluster` resource invokes the service token function with the
 *   caller's credentials, so lambda:InvokeFunction on that one function, when a token is configured.
 */
export class ClusterProvisioning extends Construct {
  /** The ServiceToken of the ParallelCluster custom resource provider (may be empty). */
  readonly serviceToken: string;
  /** ARNs of our stacks, one per prefix: `arn:...:stack/<prefix>*\/*`. */
  readonly stackArns: readonly string[];
  /** Attach to every function that calls CreateStack or DeleteStack. */
  readonly policies: readonly ManagedPolicy[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    const arn = (service: string, resource: string, resourceName: string, region = true) =>
      stack.formatArn({
        service,
        resource,
        resourceName,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        ...(region ? {} : { region: "" }),
      });
    const prefixed = (service: string, resource: string, suffix: string, region = true) =>
      STACK_NAME_PREFIXES.map((prefix) => arn(service, resource, `${prefix}*${suffix}`, region));

    const token = new CfnParameter(stack, "PclusterServiceToken", {
      type: "String",
      default: "",
      description:
        "ServiceToken output of the ParallelCluster custom resource provider stack (a Lambda function ARN). Empty: Slurm clusters cannot be created, AWS Batch clusters still can.",
      allowedPattern:
        "^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?)?$",
      constraintDescription: "must be empty or a Lambda function ARN",
    });
    this.serviceToken = token.valueAsString;
    this.stackArns = prefixed("cloudformation", "stack", "/*");

    const passedToServices = [...PASSED_TO_SERVICES];
    const serviceLinkedRoles = ["batch.amazonaws.com", "ecs.amazonaws.com"].map((service) =>
      arn("iam", "role", `aws-service-role/${service}/*`, false),
    );
    const batchResources = [
      ...prefixed("batch", "compute-environment", ""),
      ...prefixed("batch", "job-queue", ""),
      ...prefixed("batch", "job-definition", ""),
    ];
    const securityGroupCreation = [arn("ec2", "security-group", "*"), arn("ec2", "vpc", "*")];
    const stackTagCondition = {
      StringLike: {
        "aws:ResourceTag/aws:cloudformation:stack-name": STACK_NAME_PREFIXES.map((p) => `${p}*`),
      },
    };
    const resources = new ManagedPolicy(this, "StackResourcesPolicy", {
      description:
        "Resources inside hpc-cluster-api cluster stacks (CloudFormation acts with the caller's rights)",
      statements: [
        new PolicyStatement({
          sid: "ClusterRoles",
          actions: [
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:GetRole",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
          ],
          resources: prefixed("iam", "role", "", false),
        }),
        new PolicyStatement({
          sid: "ClusterRolePolicies",
          actions: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
          resources: prefixed("iam", "role", "", false),
          conditions: {
            ArnEquals: {
              "iam:PolicyARN": ATTACHABLE_MANAGED_POLICIES.map(
                (name) => `arn:${stack.partition}:iam::aws:policy/${name}`,
              ),
            },
          },
        }),
        new PolicyStatement({
          sid: "PassClusterRoles",
          actions: ["iam:PassRole"],
          resources: prefixed("iam", "role", "", false),
          conditions: { StringEquals: { "iam:PassedToService": passedToServices } },
        }),
        new PolicyStatement({
          sid: "ClusterInstanceProfiles",
          actions: [
            "iam:CreateInstanceProfile",
            "iam:DeleteInstanceProfile",
            "iam:GetInstanceProfile",
            "iam:TagInstanceProfile",
            "iam:AddRoleToInstanceProfile",
            "iam:RemoveRoleFromInstanceProfile",
          ],
          resources: prefixed("iam", "instance-profile", "", false),
        }),
        new PolicyStatement({
          sid: "BatchServiceLinkedRoles",
          actions: ["iam:CreateServiceLinkedRole"],
          resources: serviceLinkedRoles,
          conditions: {
            StringEquals: { "iam:AWSServiceName": ["batch.amazonaws.com", "ecs.amazonaws.com"] },
          },
        }),
        new PolicyStatement({
          sid: "ClusterBatchResources",
          actions: [
            "batch:CreateComputeEnvironment",
            "batch:UpdateComputeEnvironment",
            "batch:DeleteComputeEnvironment",
            "batch:CreateJobQueue",
            "batch:UpdateJobQueue",
            "batch:DeleteJobQueue",
            "batch:RegisterJobDefinition",
            "batch:DeregisterJobDefinition",
            "batch:TagResource",
          ],
          resources: batchResources,
        }),
        new PolicyStatement({
          sid: "CreateSecurityGroups",
          actions: ["ec2:CreateSecurityGroup"],
          resources: securityGroupCreation,
        }),
        new PolicyStatement({
          sid: "TagSecurityGroupsOnCreate",
          actions: ["ec2:CreateTags"],
          resources: [arn("ec2", "security-group", "*")],
          conditions: { StringEquals: { "ec2:CreateAction": "CreateSecurityGroup" } },
        }),
        new PolicyStatement({
          sid: "ChangeOurSecurityGroups",
          actions: [
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:DeleteSecurityGroup",
          ],
          resources: [arn("ec2", "security-group", "*")],
          conditions: stackTagCondition,
        }),
        new PolicyStatement({
          sid: "DescribeWhatCannotBeScoped",
          actions: [...PROVISIONING_DESCRIBE_ACTIONS],
          resources: ["*"],
        }),
      ],
    });
    suppress(resources, [
      {
        id: "AwsSolutions-IAM5",
        reason: [
          "Each wildcard is justified: (1) roles, instance profiles and Batch resources end in '<prefix>*' after our stack-name prefixes hpc- and parallelcluster-, because CloudFormation and the templates name them after the stack;",
          "(2) security-group/* and vpc/* for CreateSecurityGroup and tag-on-create only (a new empty group grants nothing), while every change to a group requires the aws:cloudformation:stack-name tag of one of our stacks;",
          "(3) the Batch and ECS service-linked role paths for CreateServiceLinkedRole, limited by iam:AWSServiceName;",
          `(4) Resource '*' only for Describe actions that support no resource-level permissions: ${PROVISIONING_DESCRIBE_ACTIONS.join(", ")}.`,
        ].join(" "),
        resources: [
          ...prefixed("iam", "role", "", false),
          ...prefixed("iam", "instance-profile", "", false),
          ...batchResources,
          ...securityGroupCreation,
          ...serviceLinkedRoles,
          "*",
        ],
      },
    ]);

    const hasToken = new CfnCondition(stack, "HasPclusterServiceToken", {
      expression: Fn.conditionNot(Fn.conditionEquals(this.serviceToken, "")),
    });
    const invoke = new ManagedPolicy(this, "InvokePclusterProviderPolicy", {
      description:
        "Lets CloudFormation invoke the ParallelCluster custom resource provider on the caller's behalf",
      statements: [
        new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [this.serviceToken] }),
      ],
    });
    (invoke.node.defaultChild as CfnManagedPolicy).cfnOptions.condition = hasToken;

    this.policies = [resources, invoke];
  }
}
