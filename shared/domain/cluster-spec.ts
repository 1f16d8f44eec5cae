import * as z from "./zod.ts";

/**
 * The normalized cluster configuration. ParallelCluster 3 YAML, ParallelCluster 2 INI and JSON inputs all
 * become one `ClusterSpec`; everything downstream (validation, templates, the record) works on this shape.
 */

/** Names of queues, compute resources and storage follow ParallelCluster's rule. */
export const RESOURCE_NAME = /^[a-z][a-z0-9-]{0,24}$/;
/** Cluster names: ParallelCluster's rule, which also keeps them safe in stack names and URLs. */
export const CLUSTER_NAME = /^[a-zA-Z][a-zA-Z0-9-]{0,59}$/;

export const SchedulerSchema = z.enum(["slurm", "awsbatch"]);
export const CapacityTypeSchema = z.enum(["ONDEMAND", "SPOT"]);
export const SourceFormatSchema = z.enum(["pcluster3-yaml", "pcluster2-ini", "json"]);

const count = () => z.int().check(z.nonnegative());
const positiveCount = () => z.int().check(z.positive());

export const ComputeResourceSchema = z.object({
  name: z.string(),
  instanceTypes: z.array(z.string()).check(z.minLength(1)),
  /** Slurm: node counts. */
  minCount: z.optional(count()),
  maxCount: z.optional(positiveCount()),
  /** AWS Batch: vCPU counts. */
  minVcpus: z.optional(count()),
  desiredVcpus: z.optional(count()),
  maxVcpus: z.optional(positiveCount()),
  disableHyperthreading: z.optional(z.boolean()),
  efa: z.optional(z.boolean()),
});

export const QueueSchema = z.object({
  name: z.string(),
  capacityType: CapacityTypeSchema,
  /** Only with SPOT on AWS Batch: the maximum percentage of the On-Demand price. */
  spotBidPercentage: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
  subnetIds: z.array(z.string()),
  securityGroupIds: z.optional(z.array(z.string())),
  placementGroup: z.optional(z.boolean()),
  computeResources: z.array(ComputeResourceSchema).check(z.minLength(1)),
});

export const SharedStorageSchema = z.object({
  kind: z.enum(["fsx-lustre", "ebs", "efs"]),
  name: z.string(),
  mountDir: z.string(),
  /** Kind-specific settings, kept with their ParallelCluster 3 key names (e.g. `StorageCapacity`, `ImportPath`). */
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export const HeadNodeSchema = z.object({
  instanceType: z.string(),
  subnetId: z.optional(z.string()),
  keyName: z.optional(z.string()),
  securityGroupIds: z.optional(z.array(z.string())),
  dcv: z.optional(z.boolean()),
});

export const ClusterSpecSchema = z.object({
  sourceFormat: SourceFormatSchema,
  scheduler: SchedulerSchema,
  region: z.optional(z.string()),
  /** ParallelCluster OS name: alinux2, alinux2023, centos7, ubuntu1804, ubuntu2004, ubuntu2204, rhel8, ... */
  os: z.string(),
  headNode: HeadNodeSchema,
  queues: z.array(QueueSchema).check(z.minLength(1), z.maxLength(50)),
  networking: z.object({
    vpcId: z.optional(z.string()),
    placementGroup: z.optional(z.boolean()),
  }),
  sharedStorage: z.array(SharedStorageSchema),
  tags: z.record(z.string(), z.string()),
});

export type Scheduler = z.infer<typeof SchedulerSchema>;
export type CapacityType = z.infer<typeof CapacityTypeSchema>;
export type SourceFormat = z.infer<typeof SourceFormatSchema>;
export type ComputeResource = z.infer<typeof ComputeResourceSchema>;
export type Queue = z.infer<typeof QueueSchema>;
export type SharedStorage = z.infer<typeof SharedStorageSchema>;
export type HeadNode = z.infer<typeof HeadNodeSchema>;
export type ClusterSpec = z.infer<typeof ClusterSpecSchema>;

/** What parsing a configuration gives back: the spec and the warnings a user should read. */
export interface ParsedConfig {
  readonly spec: ClusterSpec;
  readonly warnings: readonly ConfigWarning[];
}

/** A non-fatal remark about the input: an unknown key, a setting we ignore, a value we normalized. */
export interface ConfigWarning {
  readonly path: string;
  readonly message: string;
  readonly line?: number;
}

/** The user name ParallelCluster creates on the head node, by OS (what `pcluster status` calls ClusterUser). */
export function clusterUserFor(os: string): string {
  if (os.startsWith("ubuntu")) return "ubuntu";
  if (os === "centos7" || os === "centos8") return "centos";
  return "ec2-user";
}

/**
 * The most vCPUs a cluster runs jobs on at once: AWS Batch's maximum vCPUs summed over its compute
 * resources; for Slurm, one per compute node slot (the local runner's concurrency bound).
 */
export function clusterMaxVcpus(spec: ClusterSpec): number {
  let total = 0;
  for (const queue of spec.queues) {
    for (const resource of queue.computeResources) {
      total += spec.scheduler === "awsbatch" ? (resource.maxVcpus ?? 0) : (resource.maxCount ?? 0);
    }
  }
  return Math.max(1, total);
}
