import { stringify } from "yaml";
import type { ClusterSpec, ComputeResource, ConfigWarning, Queue, SharedStorage } from "../cluster-spec.ts";
import { keysOf, STORAGE_SETTINGS } from "../config/pcluster3-keys.ts";

/**
 * ClusterSpec -> a ParallelCluster 3 cluster configuration (Slurm). Every input format arrives here as the
 * same ClusterSpec, so this is also the ParallelCluster 2 INI -> 3 YAML conversion: what the spec holds but
 * ParallelCluster 3 cannot take comes back as a warning naming the key, and is left out.
 *
 * Security groups map to `SecurityGroups` (not `AdditionalSecurityGroups`): that is what the parser reads
 * them from in ParallelCluster 3 configs, and what ParallelCluster's own converter makes of
 * `vpc_security_group_id`.
 */

/** `Tags` entry. */
export interface Pcluster3Tag {
  readonly Key: string;
  readonly Value: string;
}

export interface Pcluster3ComputeResource {
  readonly Name: string;
  /** One instance type... */
  readonly InstanceType?: string;
  /** ...or several (flexible instance types, ParallelCluster >= 3.3). */
  readonly Instances?: readonly { readonly InstanceType: string }[];
  readonly MinCount?: number;
  readonly MaxCount?: number;
  readonly DisableSimultaneousMultithreading?: boolean;
  readonly Efa?: { readonly Enabled: boolean };
}

export interface Pcluster3SlurmQueue {
  readonly Name: string;
  readonly CapacityType: "ONDEMAND" | "SPOT";
  readonly Networking: {
    readonly SubnetIds: readonly string[];
    readonly SecurityGroups?: readonly string[];
    readonly PlacementGroup?: { readonly Enabled: boolean };
  };
  readonly ComputeResources: readonly Pcluster3ComputeResource[];
}

export interface Pcluster3SharedStorage {
  readonly Name: string;
  readonly MountDir: string;
  readonly StorageType: "FsxLustre" | "Ebs" | "Efs";
  readonly FsxLustreSettings?: Readonly<Record<string, string | number | boolean>>;
  readonly EbsSettings?: Readonly<Record<string, string | number | boolean>>;
  readonly EfsSettings?: Readonly<Record<string, string | number | boolean>>;
}

/** The ParallelCluster 3 configuration this API writes (a subset of what ParallelCluster reads). */
export interface Pcluster3Config {
  readonly Region?: string;
  readonly Image: { readonly Os: string };
  readonly HeadNode: {
    readonly InstanceType: string;
    readonly Networking: { readonly SubnetId?: string; readonly SecurityGroups?: readonly string[] };
    readonly Ssh?: { readonly KeyName: string };
    readonly Dcv?: { readonly Enabled: boolean };
  };
  readonly Scheduling: { readonly Scheduler: "slurm"; readonly SlurmQueues: readonly Pcluster3SlurmQueue[] };
  readonly SharedStorage?: readonly Pcluster3SharedStorage[];
  readonly Tags?: readonly Pcluster3Tag[];
}

/** Operating systems current ParallelCluster 3 releases accept in `Image.Os`. */
export const PCLUSTER3_OS = new Set([
  "alinux2",
  "alinux2023",
  "ubuntu2004",
  "ubuntu2204",
  "ubuntu2404",
  "rhel8",
  "rocky8",
  "rhel9",
  "rocky9",
]);

/** ParallelCluster 2 (or retired ParallelCluster 3) operating systems -> their closest current successor. */
const OS_SUCCESSOR: Readonly<Record<string, string>> = {
  alinux: "alinux2",
  centos7: "rocky8",
  centos8: "rocky8",
  ubuntu1604: "ubuntu2004",
  ubuntu1804: "ubuntu2004",
};

/** The OS a cluster gets when the config names one ParallelCluster 3 does not know at all. */
export const FALLBACK_OS = "alinux2023";

const STORAGE_TYPE = { "fsx-lustre": "FsxLustre", ebs: "Ebs", efs: "Efs" } as const;

/** Tag key prefixes ParallelCluster (and AWS) keep for themselves. */
const RESERVED_TAG_PREFIXES = ["parallelcluster:", "aws:"];

function convertOs(os: string, warnings: ConfigWarning[]): string {
  if (PCLUSTER3_OS.has(os)) return os;
  const successor = (Object.hasOwn(OS_SUCCESSOR, os) ? OS_SUCCESSOR[os] : undefined) ?? FALLBACK_OS;
  warnings.push({
    path: "Image.Os",
    message: `Operating system '${os}' (base_os) is not offered by current ParallelCluster 3 releases; the cluster uses '${successor}' instead.`,
  });
  return successor;
}

function convertComputeResource(
  cr: ComputeResource,
  path: string,
  warnings: ConfigWarning[],
): Pcluster3ComputeResource {
  if (cr.minVcpus !== undefined || cr.desiredVcpus !== undefined || cr.maxVcpus !== undefined) {
    warnings.push({
      path: `${path}.MinvCpus`,
      message:
        "MinvCpus/DesiredvCpus/MaxvCpus (min_vcpus, desired_vcpus, max_vcpus) are AWS Batch settings; Slurm sizes queues by node counts (MinCount, MaxCount), so they were dropped.",
    });
  }
  const [onlyType] = cr.instanceTypes;
  return {
    Name: cr.name,
    ...(cr.instanceTypes.length === 1 && onlyType !== undefined
      ? { InstanceType: onlyType }
      : { Instances: cr.instanceTypes.map((InstanceType) => ({ InstanceType })) }),
    ...(cr.minCount === undefined ? {} : { MinCount: cr.minCount }),
    ...(cr.maxCount === undefined ? {} : { MaxCount: cr.maxCount }),
    ...(cr.disableHyperthreading === undefined
      ? {}
      : { DisableSimultaneousMultithreading: cr.disableHyperthreading }),
    ...(cr.efa === undefined ? {} : { Efa: { Enabled: cr.efa } }),
  };
}

function convertQueue(
  spec: ClusterSpec,
  queue: Queue,
  index: number,
  warnings: ConfigWarning[],
): Pcluster3SlurmQueue {
  const path = `Scheduling.SlurmQueues[${index}]`;
  if (queue.spotBidPercentage !== undefined) {
    warnings.push({
      path: `${path}.ComputeResources.SpotPrice`,
      message:
        "SpotBidPercentage (spot_bid_percentage) is an AWS Batch setting; Slurm compute resources take an absolute SpotPrice, so it was dropped and Spot instances are bid up to the On-Demand price.",
    });
  }
  let subnetIds = queue.subnetIds;
  if (subnetIds.length === 0 && spec.headNode.subnetId !== undefined) {
    // ParallelCluster 2's compute_subnet_id defaults to master_subnet_id; ParallelCluster 3 wants it spelt out.
    subnetIds = [spec.headNode.subnetId];
    warnings.push({
      path: `${path}.Networking.SubnetIds`,
      message: `Queue '${queue.name}' names no subnet; it uses the head node's subnet ${spec.headNode.subnetId}.`,
    });
  } else if (subnetIds.length === 0) {
    warnings.push({
      path: `${path}.Networking.SubnetIds`,
      message: `Queue '${queue.name}' has no subnet and ParallelCluster 3 requires one (compute_subnet_id or master_subnet_id in ParallelCluster 2).`,
    });
  }
  const placementGroup = queue.placementGroup ?? spec.networking.placementGroup;
  return {
    Name: queue.name,
    CapacityType: queue.capacityType,
    Networking: {
      SubnetIds: [...subnetIds],
      ...(queue.securityGroupIds !== undefined && queue.securityGroupIds.length > 0
        ? { SecurityGroups: [...queue.securityGroupIds] }
        : {}),
      ...(placementGroup === undefined ? {} : { PlacementGroup: { Enabled: placementGroup } }),
    },
    ComputeResources: queue.computeResources.map((cr, crIndex) =>
      convertComputeResource(cr, `${path}.ComputeResources[${crIndex}]`, warnings),
    ),
  };
}

function convertStorage(
  storage: SharedStorage,
  index: number,
  warnings: ConfigWarning[],
): Pcluster3SharedStorage {
  const storageType = STORAGE_TYPE[storage.kind];
  const block = STORAGE_SETTINGS[storageType];
  const settingsKey = block?.key ?? `${storageType}Settings`;
  const known = new Set(keysOf(block?.shape));
  const settings: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(storage.settings)) {
    if (known.has(key)) {
      settings[key] = value;
    } else {
      warnings.push({
        path: `SharedStorage[${index}].${settingsKey}.${key}`,
        message: `${key} is not a ParallelCluster 3 ${settingsKey} setting; it was dropped.`,
      });
    }
  }
  return {
    Name: storage.name,
    MountDir: storage.mountDir,
    StorageType: storageType,
    ...(Object.keys(settings).length > 0 ? { [settingsKey]: settings } : {}),
  };
}

function convertTags(tags: Readonly<Record<string, string>>, warnings: ConfigWarning[]): Pcluster3Tag[] {
  const out: Pcluster3Tag[] = [];
  for (const [Key, Value] of Object.entries(tags)) {
    if (RESERVED_TAG_PREFIXES.some((prefix) => Key.startsWith(prefix))) {
      warnings.push({
        path: `Tags.${Key}`,
        message: `Tag keys starting with ${RESERVED_TAG_PREFIXES.join(" or ")} are reserved; tag '${Key}' was dropped.`,
      });
      continue;
    }
    out.push({ Key, Value });
  }
  return out;
}

/** Options of {@link toPcluster3Config}. */
export interface Pcluster3ConfigOptions {
  /** Where the cluster will really be created; wins over the config's own region (with a warning). */
  readonly region?: string;
}

/** Converts a spec to a ParallelCluster 3 Slurm configuration. Total: never throws for a valid spec. */
export function toPcluster3Config(
  spec: ClusterSpec,
  options: Pcluster3ConfigOptions = {},
): { config: Pcluster3Config; warnings: ConfigWarning[] } {
  const warnings: ConfigWarning[] = [];
  if (spec.scheduler !== "slurm") {
    warnings.push({
      path: "Scheduling.Scheduler",
      message: `Scheduler '${spec.scheduler}' was written as Slurm queues: this API runs AWS Batch clusters as AWS Batch stacks, not through ParallelCluster.`,
    });
  }
  if (options.region !== undefined && spec.region !== undefined && spec.region !== options.region) {
    warnings.push({
      path: "Region",
      message: `The config names region ${spec.region}, but this API creates clusters in ${options.region}.`,
    });
  }
  const region = options.region ?? spec.region;

  let headSubnet = spec.headNode.subnetId;
  if (headSubnet === undefined) {
    headSubnet = spec.queues.find((q) => q.subnetIds.length > 0)?.subnetIds[0];
    warnings.push({
      path: "HeadNode.Networking.SubnetId",
      message:
        headSubnet === undefined
          ? "The head node has no subnet and ParallelCluster 3 requires one (master_subnet_id in ParallelCluster 2)."
          : `The head node names no subnet; it uses the first queue subnet ${headSubnet}.`,
    });
  }
  const head = spec.headNode;
  const headSecurityGroups = head.securityGroupIds ?? [];

  const os = convertOs(spec.os, warnings);
  const slurmQueues = spec.queues.map((queue, index) => convertQueue(spec, queue, index, warnings));
  const sharedStorage = spec.sharedStorage.map((storage, index) => convertStorage(storage, index, warnings));
  const tags = convertTags(spec.tags, warnings);

  const config: Pcluster3Config = {
    ...(region === undefined ? {} : { Region: region }),
    Image: { Os: os },
    HeadNode: {
      InstanceType: head.instanceType,
      Networking: {
        ...(headSubnet === undefined ? {} : { SubnetId: headSubnet }),
        ...(headSecurityGroups.length > 0 ? { SecurityGroups: [...headSecurityGroups] } : {}),
      },
      ...(head.keyName === undefined ? {} : { Ssh: { KeyName: head.keyName } }),
      ...(head.dcv === undefined ? {} : { Dcv: { Enabled: head.dcv } }),
    },
    Scheduling: { Scheduler: "slurm", SlurmQueues: slurmQueues },
    ...(sharedStorage.length > 0 ? { SharedStorage: sharedStorage } : {}),
    ...(tags.length > 0 ? { Tags: tags } : {}),
  };
  return { config, warnings };
}

/** The configuration as ParallelCluster 3 YAML text (what `pcluster create-cluster` would read). */
export function pcluster3ConfigYaml(config: Pcluster3Config): string {
  return stringify(config);
}
