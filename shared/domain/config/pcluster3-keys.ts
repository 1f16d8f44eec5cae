/**
 * The ParallelCluster 3 configuration keys this API knows, as a tree. Keys the spec models are walked into;
 * real ParallelCluster keys the spec does not model are `"opaque"` (accepted, kept out of the spec, no
 * warning); any other key is unknown and gets a warning with a did-you-mean.
 */
export type KeyShape = MapShape | ListShape | "scalar" | "opaque";

export interface MapShape {
  readonly kind: "map";
  readonly keys: Readonly<Record<string, KeyShape>>;
}

export interface ListShape {
  readonly kind: "list";
  readonly item: KeyShape;
}

function map(keys: Record<string, KeyShape>): MapShape {
  return { kind: "map", keys };
}

function list(item: KeyShape): ListShape {
  return { kind: "list", item };
}

const S = "scalar";
const O = "opaque";

const SLURM_COMPUTE_RESOURCE = map({
  Name: S,
  InstanceType: S,
  Instances: list(map({ InstanceType: S })),
  MinCount: S,
  MaxCount: S,
  DisableSimultaneousMultithreading: S,
  Efa: map({ Enabled: S, GdrSupport: O }),
  SpotPrice: O,
  DynamicNodePriority: O,
  StaticNodePriority: O,
  SchedulableMemory: O,
  HealthChecks: O,
  CapacityReservationTarget: O,
  Networking: O,
  CustomSlurmSettings: O,
  Tags: O,
  LaunchTemplateOverrides: O,
  CapacityType: O,
});

const SLURM_QUEUE = map({
  Name: S,
  CapacityType: S,
  Networking: map({
    SubnetIds: list(S),
    SecurityGroups: list(S),
    PlacementGroup: map({ Enabled: S, Id: O, Name: O }),
    AdditionalSecurityGroups: O,
    AssignPublicIp: O,
    Proxy: O,
  }),
  ComputeResources: list(SLURM_COMPUTE_RESOURCE),
  AllocationStrategy: O,
  ComputeSettings: O,
  CustomActions: O,
  Iam: O,
  Image: O,
  CapacityReservationTarget: O,
  JobExclusiveAllocation: O,
  CustomSlurmSettings: O,
  Tags: O,
  HealthChecks: O,
});

const BATCH_QUEUE = map({
  Name: S,
  CapacityType: S,
  Networking: map({
    SubnetIds: list(S),
    SecurityGroups: list(S),
    AdditionalSecurityGroups: O,
    AssignPublicIp: O,
  }),
  ComputeResources: list(
    map({ Name: S, InstanceTypes: list(S), MinvCpus: S, DesiredvCpus: S, MaxvCpus: S, SpotBidPercentage: S }),
  ),
});

const EBS_SETTINGS = map({
  VolumeType: S,
  Iops: S,
  Size: S,
  Encrypted: S,
  KmsKeyId: S,
  SnapshotId: S,
  Throughput: S,
  VolumeId: S,
  DeletionPolicy: S,
  Raid: O,
});

const FSX_LUSTRE_SETTINGS = map({
  StorageCapacity: S,
  DeploymentType: S,
  ImportedFileChunkSize: S,
  DataCompressionType: S,
  ExportPath: S,
  ImportPath: S,
  WeeklyMaintenanceStartTime: S,
  AutomaticBackupRetentionDays: S,
  CopyTagsToBackups: S,
  DailyAutomaticBackupStartTime: S,
  PerUnitStorageThroughput: S,
  BackupId: S,
  KmsKeyId: S,
  FileSystemId: S,
  AutoImportPolicy: S,
  DriveCacheType: S,
  StorageType: S,
  DeletionPolicy: S,
  FileSystemTypeVersion: S,
  DataRepositoryAssociations: O,
});

const EFS_SETTINGS = map({
  ThroughputMode: S,
  ProvisionedThroughput: S,
  Encrypted: S,
  KmsKeyId: S,
  PerformanceMode: S,
  FileSystemId: S,
  DeletionPolicy: S,
  EncryptionInTransit: S,
  IamAuthorization: S,
  AccessPointId: S,
});

/** `StorageType` -> the key of its settings block and that block's shape. */
export const STORAGE_SETTINGS: Readonly<Record<string, { readonly key: string; readonly shape: MapShape }>> =
  {
    Ebs: { key: "EbsSettings", shape: EBS_SETTINGS },
    FsxLustre: { key: "FsxLustreSettings", shape: FSX_LUSTRE_SETTINGS },
    Efs: { key: "EfsSettings", shape: EFS_SETTINGS },
  };

export const PCLUSTER3_SHAPE: MapShape = map({
  Region: S,
  Image: map({ Os: S, CustomAmi: O }),
  HeadNode: map({
    InstanceType: S,
    Networking: map({
      SubnetId: S,
      SecurityGroups: list(S),
      ElasticIp: O,
      AdditionalSecurityGroups: O,
      Proxy: O,
    }),
    Ssh: map({ KeyName: S, AllowedIps: O }),
    Dcv: map({ Enabled: S, Port: O, AllowedIps: O }),
    DisableSimultaneousMultithreading: O,
    LocalStorage: O,
    CustomActions: O,
    Iam: O,
    Imds: O,
    Image: O,
    SharedStorageType: O,
  }),
  Scheduling: map({
    Scheduler: S,
    SlurmQueues: list(SLURM_QUEUE),
    AwsBatchQueues: list(BATCH_QUEUE),
    SlurmSettings: O,
    SchedulerSettings: O,
    SchedulerQueues: O,
  }),
  SharedStorage: list(
    map({
      MountDir: S,
      Name: S,
      StorageType: S,
      EbsSettings: EBS_SETTINGS,
      FsxLustreSettings: FSX_LUSTRE_SETTINGS,
      EfsSettings: EFS_SETTINGS,
      FsxOntapSettings: O,
      FsxOpenZfsSettings: O,
      FileCacheSettings: O,
    }),
  ),
  Tags: list(map({ Key: S, Value: S })),
  Imds: O,
  CustomS3Bucket: O,
  Iam: O,
  Monitoring: O,
  AdditionalPackages: O,
  DevSettings: O,
  DeploymentSettings: O,
  LoginNodes: O,
  AdditionalResources: O,
  DirectoryService: O,
});

/** The keys of a map shape, for did-you-mean. */
export function keysOf(shape: KeyShape | undefined): readonly string[] {
  return shape !== undefined && typeof shape === "object" && shape.kind === "map"
    ? Object.keys(shape.keys)
    : [];
}
