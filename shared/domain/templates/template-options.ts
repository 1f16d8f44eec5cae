import type { ConfigWarning } from "../cluster-spec.ts";
import type { CfnTemplate } from "./cfn.ts";

/** The default AWS Batch job definition: what a job gets when it names no job definition of its own. */
export interface JobDefinitionSettings {
  /** Container image. */
  readonly image: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** `RetryStrategy.Attempts`, 1 to 10. */
  readonly retryAttempts: number;
  /** `awslogs-group`; without it Batch writes to its own `/aws/batch/job` group. */
  readonly logGroup?: string;
}

/** The job definition a cluster gets when neither the config nor the deployment says otherwise. */
export const DEFAULT_JOB_DEFINITION: JobDefinitionSettings = {
  image: "public.ecr.aws/amazonlinux/amazonlinux:2023",
  vcpus: 1,
  memoryMiB: 2048,
  retryAttempts: 1,
};

/** What a template builder needs besides the spec. */
export interface TemplateOptions {
  /**
   * The cluster's name. It is ParallelCluster's `ClusterName`, which must differ from the stack's name:
   * our stacks are always prefixed (`hpc-`, `parallelcluster-`), so it does.
   */
  readonly clusterName: string;
  /** The region the stack will be created in, when known; a config naming another region gets a warning. */
  readonly region?: string;
  /**
   * AWS Batch: the service role of the compute environments. Without it Batch uses its service-linked
   * role (`AWSServiceRoleForBatch`), which is what AWS recommends.
   */
  readonly batchServiceRoleArn?: string;
  /** AWS Batch: overrides of {@link DEFAULT_JOB_DEFINITION}. */
  readonly jobDefinition?: Partial<JobDefinitionSettings>;
}

/** A template and the remarks a user should read about how their config was turned into it. */
export interface TemplateBuild {
  readonly template: CfnTemplate;
  readonly warnings: ConfigWarning[];
}
