import type { ClusterSpec } from "../cluster-spec.ts";
import type { FieldIssue } from "../errors.ts";
import { batchProvisioningIssues, buildBatchTemplate } from "./batch-template.ts";
import { buildPclusterTemplate, pclusterProvisioningIssues } from "./pcluster-template.ts";
import type { TemplateBuild, TemplateOptions } from "./template-options.ts";

/**
 * Template builders: pure functions from a `ClusterSpec` to a CloudFormation template. They import no AWS
 * SDK and do no I/O, so a dry run can call {@link buildStackTemplate} for free.
 */

export { BATCH_OUTPUTS, buildBatchTemplate, DEFAULT_VCPUS } from "./batch-template.ts";
export type { CfnOutput, CfnParameter, CfnResource, CfnTemplate, CfnValue } from "./cfn.ts";
export {
  buildPclusterTemplate,
  PCLUSTER_OUTPUTS,
  PCLUSTER_RESOURCE,
  PCLUSTER_SERVICE_TOKEN_PARAMETER,
} from "./pcluster-template.ts";
export { type Pcluster3Config, pcluster3ConfigYaml, toPcluster3Config } from "./pcluster3-config.ts";
export {
  DEFAULT_JOB_DEFINITION,
  type JobDefinitionSettings,
  type TemplateBuild,
  type TemplateOptions,
} from "./template-options.ts";

/**
 * The stack template for a cluster: an AWS Batch stack for `awsbatch`, a ParallelCluster custom resource
 * for `slurm`. Never throws for a spec that passed `ClusterSpecSchema`; what it had to drop or guess is in
 * `warnings`.
 */
export function buildStackTemplate(spec: ClusterSpec, options: TemplateOptions): TemplateBuild {
  return spec.scheduler === "awsbatch"
    ? buildBatchTemplate(spec, options)
    : buildPclusterTemplate(spec, options);
}

/**
 * What in the spec keeps its stack from being created (a missing subnet, no security group and no VPC):
 * empty when the template is complete. Dry runs still get a template; a backend refuses to create these.
 */
export function templateProvisioningIssues(spec: ClusterSpec): FieldIssue[] {
  return spec.scheduler === "awsbatch" ? batchProvisioningIssues(spec) : pclusterProvisioningIssues(spec);
}
