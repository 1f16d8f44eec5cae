import { type Document, isMap, isSeq, type LineCounter, type Node } from "yaml";
import type { ClusterSpec, ComputeResource, Queue, Scheduler, SharedStorage } from "../cluster-spec.ts";
import { closestKey, didYouMean } from "./did-you-mean.ts";
import { foreignDocumentHint } from "./foreign-documents.ts";
import { type IssueCollector, SourceMap } from "./issue-collector.ts";
import type { NormalizedDraft } from "./normalized-draft.ts";
import { type KeyShape, keysOf, PCLUSTER3_SHAPE, STORAGE_SETTINGS } from "./pcluster3-keys.ts";
import { unusableTagKey } from "./validate-spec.ts";
import { describe, joinPath, type MapCtx, scalarKey, YamlReader } from "./yaml-reader.ts";

/** ParallelCluster 3 defaults the spec fills in. */
const DEFAULT_OS = "alinux2";
const DEFAULT_MIN_COUNT = 0;
const DEFAULT_MAX_COUNT = 10;
const DEFAULT_MIN_VCPUS = 0;
const DEFAULT_DESIRED_VCPUS = 0;
const DEFAULT_MAX_VCPUS = 10;

const STORAGE_KINDS: Readonly<Record<string, SharedStorage["kind"]>> = {
  Ebs: "ebs",
  FsxLustre: "fsx-lustre",
  Efs: "efs",
};
const UNSUPPORTED_STORAGE = ["FsxOntap", "FsxOpenZfs", "FileCache"];

/**
 * Normalizes a parsed ParallelCluster 3 document (YAML, or the same structure written as JSON) into a draft
 * spec. Every problem is recorded in `issues`; undefined only when the document is not a cluster
 * configuration at all.
 */
export function normalizePcluster3(
  doc: Document,
  lineCounter: LineCounter | undefined,
  sourceFormat: ClusterSpec["sourceFormat"],
  issues: IssueCollector,
): NormalizedDraft | undefined {
  const reader = new YamlReader(doc, lineCounter, issues, new SourceMap());
  const root = reader.root();
  if (root === undefined || !isMap(root)) {
    issues.error(
      "configuration",
      `The configuration must be a mapping with the sections HeadNode and Scheduling; got ${describe(root)}.`,
      reader.lineOf(root) ?? 1,
    );
    return undefined;
  }
  const rootCtx: MapCtx = { node: root, path: "", line: reader.lineOf(root) ?? 1 };
  const topKeys = reader.keys(rootCtx);
  if (!topKeys.some((key) => closestKey(key, ["HeadNode", "Scheduling"]) !== undefined)) {
    issues.error("configuration", notAClusterMessage(topKeys), rootCtx.line);
    return undefined;
  }
  warnUnknownKeys(reader, root, PCLUSTER3_SHAPE, "");
  return new Pcluster3Normalizer(reader, rootCtx, sourceFormat).run();
}

function notAClusterMessage(topKeys: readonly string[]): string {
  const found = topKeys.length === 0 ? "nothing" : topKeys.slice(0, 8).join(", ");
  return (
    "This is not a cluster configuration: a ParallelCluster 3 configuration needs the top-level sections " +
    `HeadNode and Scheduling (and usually Region and Image); found ${found}.${foreignDocumentHint(topKeys)}`
  );
}

/** Warns about every key that is neither modeled nor a known ParallelCluster key, with a did-you-mean. */
function warnUnknownKeys(reader: YamlReader, node: Node | undefined, shape: KeyShape, path: string): void {
  if (node === undefined || shape === "opaque" || shape === "scalar") return;
  if (shape.kind === "list") {
    if (!isSeq(node)) return;
    node.items.forEach((item, index) => {
      warnUnknownKeys(reader, reader.deref(item), shape.item, `${path}[${index}]`);
    });
    return;
  }
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const key = scalarKey(pair.key);
    if (key === undefined) continue;
    // Own keys only: the key is the user's, and `toString` or `__proto__` must be unknown, not found.
    const child = Object.hasOwn(shape.keys, key) ? shape.keys[key] : undefined;
    const childPath = joinPath(path, key);
    if (child === undefined) {
      const where = path === "" ? "at the top level" : `in ${path}`;
      reader.issues.warn(
        childPath,
        `Unknown key '${key}' ${where} is ignored${didYouMean(key, keysOf(shape))}`,
        reader.lineOf(pair.key as Node),
      );
      continue;
    }
    warnUnknownKeys(reader, reader.deref(pair.value), child, childPath);
  }
}

class Pcluster3Normalizer {
  readonly #issues: IssueCollector;

  constructor(
    private readonly r: YamlReader,
    private readonly rootCtx: MapCtx,
    private readonly sourceFormat: ClusterSpec["sourceFormat"],
  ) {
    this.#issues = r.issues;
  }

  run(): NormalizedDraft {
    const r = this.r;
    const root = this.rootCtx;
    const region = r.string(root, "Region", "region");
    const image = r.map(root, "Image");
    const os = r.string(image, "Os", "os") ?? DEFAULT_OS;

    const headNodeCtx = r.map(root, "HeadNode", { required: "every cluster has a head node" });
    const headNodeNet = headNodeCtx && r.map(headNodeCtx, "Networking");
    const headNode: ClusterSpec["headNode"] = {
      instanceType:
        r.string(headNodeCtx, "InstanceType", "headNode.instanceType", {
          required: "the EC2 instance type of the head node, e.g. c5.xlarge",
        }) ?? "",
      subnetId: r.string(headNodeNet, "SubnetId", "headNode.subnetId"),
      securityGroupIds: r.stringList(headNodeNet, "SecurityGroups", "headNode.securityGroupIds"),
      keyName: r.string(headNodeCtx && r.map(headNodeCtx, "Ssh"), "KeyName", "headNode.keyName"),
      dcv: r.boolean(headNodeCtx && r.map(headNodeCtx, "Dcv"), "Enabled", "headNode.dcv"),
    };
    if (headNodeCtx === undefined) r.sourceMap.set("headNode", { path: "HeadNode", line: root.line });

    const { scheduler, queues } = this.scheduling();
    const sharedStorage = this.sharedStorage();
    const tags = this.tags();
    const placementGroup = queues.some((q) => q.placementGroup === true) ? true : undefined;

    const spec: ClusterSpec = {
      sourceFormat: this.sourceFormat,
      scheduler,
      region,
      os,
      headNode,
      queues,
      networking: { placementGroup },
      sharedStorage,
      tags,
    };
    return { spec, sourceMap: r.sourceMap };
  }

  private scheduling(): { scheduler: Scheduler; queues: Queue[] } {
    const r = this.r;
    const ctx = r.map(this.rootCtx, "Scheduling", {
      required: "it names the scheduler (slurm or awsbatch) and its queues",
    });
    if (ctx === undefined) {
      r.sourceMap.set("queues", { path: "Scheduling", line: this.rootCtx.line });
      return { scheduler: "slurm", queues: [] };
    }
    const named = this.scheduler(ctx);
    const hasBatchQueues = r.entry(ctx, "AwsBatchQueues") !== undefined;
    const scheduler: Scheduler =
      named ?? (hasBatchQueues && r.entry(ctx, "SlurmQueues") === undefined ? "awsbatch" : "slurm");
    const queueKey = scheduler === "slurm" ? "SlurmQueues" : "AwsBatchQueues";
    const otherKey = scheduler === "slurm" ? "AwsBatchQueues" : "SlurmQueues";
    const other = r.entry(ctx, otherKey);
    if (other !== undefined && named !== undefined) {
      this.#issues.error(
        other.path,
        `${otherKey} is only used with Scheduler: ${scheduler === "slurm" ? "awsbatch" : "slurm"}; this cluster's scheduler is ${scheduler}. Put the queues under ${queueKey}.`,
        other.line,
      );
    }
    const list = r.mapList(ctx, queueKey, {
      required: `a ${scheduler} cluster needs at least one queue`,
    });
    r.sourceMap.set("queues", {
      path: list?.entry.path ?? joinPath(ctx.path, queueKey),
      line: list?.entry.line ?? ctx.line,
    });
    if (list === undefined) return { scheduler, queues: [] };
    if (list.items.length === 0) {
      this.#issues.error(list.entry.path, `${queueKey} must list at least one queue.`, list.entry.line);
    }
    const queues = list.items.map((item, i) =>
      scheduler === "slurm" ? this.slurmQueue(item, i) : this.batchQueue(item, i),
    );
    return { scheduler, queues };
  }

  private scheduler(ctx: MapCtx): Scheduler | undefined {
    const r = this.r;
    const raw = r.string(ctx, "Scheduler", "scheduler", { required: "slurm or awsbatch" });
    if (raw === undefined) return undefined;
    const lowered = raw.toLowerCase();
    const found = r.entry(ctx, "Scheduler");
    const path = found?.path ?? "Scheduling.Scheduler";
    if (lowered === "slurm" || lowered === "awsbatch") {
      if (raw !== lowered)
        this.#issues.warn(path, `Scheduler is written '${raw}'; taken as '${lowered}'.`, found?.line);
      return lowered;
    }
    if (lowered === "sge" || lowered === "torque") {
      this.#issues.error(
        path,
        `Scheduler ${raw} was removed in ParallelCluster 3 (SGE and Torque were last supported in ParallelCluster 2.11). Use Scheduler: slurm (job scripts use #SBATCH directives and sbatch instead of qsub) or awsbatch.`,
        found?.line,
      );
      return undefined;
    }
    this.#issues.error(path, `Scheduler must be slurm or awsbatch; got '${raw}'.`, found?.line);
    return undefined;
  }

  private capacityType(ctx: MapCtx, specPath: string): Queue["capacityType"] {
    const r = this.r;
    const raw = r.string(ctx, "CapacityType", specPath);
    if (raw === undefined) return "ONDEMAND";
    const upper = raw.toUpperCase();
    const found = r.entry(ctx, "CapacityType");
    if (upper === "ONDEMAND" || upper === "SPOT") {
      if (raw !== upper && found)
        this.#issues.warn(found.path, `CapacityType is written '${raw}'; taken as '${upper}'.`, found.line);
      return upper;
    }
    this.#issues.error(
      found?.path ?? joinPath(ctx.path, "CapacityType"),
      `CapacityType must be ONDEMAND or SPOT; got '${raw}'.`,
      found?.line,
    );
    return "ONDEMAND";
  }

  private queueNetworking(
    ctx: MapCtx,
    specBase: string,
  ): Pick<Queue, "subnetIds" | "securityGroupIds"> & { pg?: boolean } {
    const r = this.r;
    const net = r.map(ctx, "Networking");
    r.sourceMap.set(`${specBase}.subnetIds`, {
      path: joinPath(ctx.path, "Networking.SubnetIds"),
      line: ctx.line,
    });
    return {
      subnetIds: r.stringList(net, "SubnetIds", `${specBase}.subnetIds`) ?? [],
      securityGroupIds: r.stringList(net, "SecurityGroups", `${specBase}.securityGroupIds`),
      pg: net && r.boolean(r.map(net, "PlacementGroup"), "Enabled", `${specBase}.placementGroup`),
    };
  }

  private slurmQueue(ctx: MapCtx | undefined, i: number): Queue {
    const r = this.r;
    const base = `queues[${i}]`;
    if (ctx === undefined) return emptyQueue();
    r.sourceMap.set(base, { path: ctx.path, line: ctx.line });
    const name = r.string(ctx, "Name", `${base}.name`, { required: "every queue has a name" }) ?? "";
    const capacityType = this.capacityType(ctx, `${base}.capacityType`);
    const { subnetIds, securityGroupIds, pg } = this.queueNetworking(ctx, base);
    const list = r.mapList(ctx, "ComputeResources", {
      required: "a queue needs at least one compute resource",
    });
    r.sourceMap.set(`${base}.computeResources`, {
      path: list?.entry.path ?? joinPath(ctx.path, "ComputeResources"),
      line: list?.entry.line ?? ctx.line,
    });
    const computeResources = (list?.items ?? []).map((cr, j) =>
      this.slurmComputeResource(cr, `${base}.computeResources[${j}]`),
    );
    return { name, capacityType, subnetIds, securityGroupIds, placementGroup: pg, computeResources };
  }

  private slurmComputeResource(ctx: MapCtx | undefined, base: string): ComputeResource {
    const r = this.r;
    if (ctx === undefined) return { name: "", instanceTypes: [] };
    r.sourceMap.set(base, { path: ctx.path, line: ctx.line });
    const name =
      r.string(ctx, "Name", `${base}.name`, { required: "every compute resource has a name" }) ?? "";
    const single = r.entry(ctx, "InstanceType");
    const flexible = r.entry(ctx, "Instances");
    const instanceTypes: string[] = [];
    r.sourceMap.set(`${base}.instanceTypes`, { path: joinPath(ctx.path, "InstanceType"), line: ctx.line });
    if (single !== undefined && flexible !== undefined) {
      this.#issues.error(
        flexible.path,
        "Use either InstanceType or Instances (a list of InstanceType), not both.",
        flexible.line,
      );
    } else if (flexible !== undefined) {
      const list = r.mapList(ctx, "Instances");
      r.sourceMap.set(`${base}.instanceTypes`, { path: flexible.path, line: flexible.line });
      list?.items.forEach((item, k) => {
        const type = r.string(item, "InstanceType", `${base}.instanceTypes[${k}]`, {
          required: "each item of Instances names an instance type",
        });
        if (type !== undefined) instanceTypes.push(type);
      });
      if (list !== undefined && list.items.length === 0) {
        this.#issues.error(flexible.path, "Instances must list at least one InstanceType.", flexible.line);
      }
    } else {
      const type = r.string(ctx, "InstanceType", `${base}.instanceTypes[0]`, {
        required:
          "the EC2 instance type of the compute nodes, e.g. c5n.18xlarge (or Instances, a list of InstanceType)",
      });
      if (type !== undefined) instanceTypes.push(type);
      r.sourceMap.set(`${base}.instanceTypes`, {
        path: joinPath(ctx.path, "InstanceType"),
        line: single?.line ?? ctx.line,
      });
    }
    return {
      name,
      instanceTypes,
      minCount: r.integer(ctx, "MinCount", `${base}.minCount`) ?? DEFAULT_MIN_COUNT,
      maxCount: r.integer(ctx, "MaxCount", `${base}.maxCount`) ?? DEFAULT_MAX_COUNT,
      disableHyperthreading: r.boolean(
        ctx,
        "DisableSimultaneousMultithreading",
        `${base}.disableHyperthreading`,
      ),
      efa: r.boolean(r.map(ctx, "Efa"), "Enabled", `${base}.efa`),
    };
  }

  private batchQueue(ctx: MapCtx | undefined, i: number): Queue {
    const r = this.r;
    const base = `queues[${i}]`;
    if (ctx === undefined) return emptyQueue();
    r.sourceMap.set(base, { path: ctx.path, line: ctx.line });
    const name = r.string(ctx, "Name", `${base}.name`, { required: "every queue has a name" }) ?? "";
    const capacityType = this.capacityType(ctx, `${base}.capacityType`);
    const { subnetIds, securityGroupIds } = this.queueNetworking(ctx, base);
    const list = r.mapList(ctx, "ComputeResources", {
      required: "a queue needs at least one compute resource",
    });
    r.sourceMap.set(`${base}.computeResources`, {
      path: list?.entry.path ?? joinPath(ctx.path, "ComputeResources"),
      line: list?.entry.line ?? ctx.line,
    });
    let spotBidPercentage: number | undefined;
    const computeResources = (list?.items ?? []).map((cr, j) => {
      const crBase = `${base}.computeResources[${j}]`;
      if (cr === undefined) return { name: "", instanceTypes: [] };
      r.sourceMap.set(crBase, { path: cr.path, line: cr.line });
      const bid = r.integer(cr, "SpotBidPercentage", j === 0 ? `${base}.spotBidPercentage` : undefined);
      if (bid !== undefined && spotBidPercentage === undefined) spotBidPercentage = bid;
      r.sourceMap.set(`${crBase}.instanceTypes`, { path: joinPath(cr.path, "InstanceTypes"), line: cr.line });
      const instanceTypes = r.stringList(cr, "InstanceTypes", `${crBase}.instanceTypes`);
      if (instanceTypes === undefined && r.entry(cr, "InstanceTypes") === undefined) {
        r.missing(
          cr,
          "InstanceTypes",
          "the instance types AWS Batch may launch, e.g. [c5.xlarge] or [optimal]",
        );
      }
      return {
        name: r.string(cr, "Name", `${crBase}.name`, { required: "every compute resource has a name" }) ?? "",
        instanceTypes: instanceTypes ?? [],
        minVcpus: r.integer(cr, "MinvCpus", `${crBase}.minVcpus`) ?? DEFAULT_MIN_VCPUS,
        desiredVcpus: r.integer(cr, "DesiredvCpus", `${crBase}.desiredVcpus`) ?? DEFAULT_DESIRED_VCPUS,
        maxVcpus: r.integer(cr, "MaxvCpus", `${crBase}.maxVcpus`) ?? DEFAULT_MAX_VCPUS,
      };
    });
    return { name, capacityType, spotBidPercentage, subnetIds, securityGroupIds, computeResources };
  }

  private sharedStorage(): SharedStorage[] {
    const r = this.r;
    const list = r.mapList(this.rootCtx, "SharedStorage");
    if (list === undefined) return [];
    const out: SharedStorage[] = [];
    list.items.forEach((ctx) => {
      if (ctx === undefined) return;
      const base = `sharedStorage[${out.length}]`;
      r.sourceMap.set(base, { path: ctx.path, line: ctx.line });
      const name =
        r.string(ctx, "Name", `${base}.name`, { required: "every shared storage has a name" }) ?? "";
      const mountDir =
        r.string(ctx, "MountDir", `${base}.mountDir`, {
          required: "the directory to mount it on, e.g. /fsx",
        }) ?? "";
      const typeEntry = r.entry(ctx, "StorageType");
      const storageType = r.string(ctx, "StorageType", undefined, { required: "Ebs, FsxLustre or Efs" });
      if (storageType === undefined) return;
      const kind = Object.hasOwn(STORAGE_KINDS, storageType) ? STORAGE_KINDS[storageType] : undefined;
      if (kind === undefined) {
        const why = UNSUPPORTED_STORAGE.includes(storageType)
          ? `${storageType} is a ParallelCluster storage type this API does not create`
          : `'${storageType}' is not a storage type${didYouMean(storageType, Object.keys(STORAGE_KINDS))}`;
        this.#issues.error(
          joinPath(ctx.path, "StorageType"),
          `${why}; use Ebs, FsxLustre or Efs.`,
          typeEntry?.line,
        );
        return;
      }
      out.push({
        kind,
        name,
        mountDir,
        settings: this.storageSettings(ctx, storageType, `${base}.settings`),
      });
    });
    return out;
  }

  private storageSettings(ctx: MapCtx, storageType: string, specBase: string): SharedStorage["settings"] {
    const r = this.r;
    const settings: SharedStorage["settings"] = {};
    const wanted = Object.hasOwn(STORAGE_SETTINGS, storageType) ? STORAGE_SETTINGS[storageType] : undefined;
    for (const [type, { key }] of Object.entries(STORAGE_SETTINGS)) {
      if (type === storageType) continue;
      const stray = r.entry(ctx, key);
      if (stray)
        this.#issues.warn(
          stray.path,
          `${key} is ignored: this storage's StorageType is ${storageType}.`,
          stray.line,
        );
    }
    if (wanted === undefined) return settings;
    const block = r.map(ctx, wanted.key);
    if (block === undefined) return settings;
    for (const key of r.keys(block)) {
      const shape = Object.hasOwn(wanted.shape.keys, key) ? wanted.shape.keys[key] : undefined;
      if (shape !== "scalar") continue;
      const found = r.entry(block, key);
      if (found?.node === undefined) continue;
      const value = found.node.toJSON() as unknown;
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        settings[key] = value;
        r.sourceMap.set(`${specBase}.${key}`, { path: found.path, line: found.line });
      } else {
        this.#issues.error(
          found.path,
          `${key} must be a single value; got ${describe(found.node)}.`,
          found.line,
        );
      }
    }
    return settings;
  }

  private tags(): Record<string, string> {
    const r = this.r;
    const list = r.mapList(this.rootCtx, "Tags");
    const tags: Record<string, string> = {};
    if (list === undefined) return tags;
    r.sourceMap.set("tags", { path: list.entry.path, line: list.entry.line });
    for (const ctx of list.items) {
      if (ctx === undefined) continue;
      const key = r.string(ctx, "Key", undefined, { required: "every tag has a Key" });
      const valueEntry = r.entry(ctx, "Value");
      if (key === undefined) continue;
      const unusable = unusableTagKey(key);
      if (unusable !== undefined) {
        this.#issues.error(joinPath(ctx.path, "Key"), unusable, ctx.line);
        continue;
      }
      const raw = valueEntry?.node?.toJSON() as unknown;
      if (valueEntry !== undefined && raw !== undefined && typeof raw === "object") {
        this.#issues.error(
          valueEntry.path,
          `Value must be a string; got ${describe(valueEntry.node)}.`,
          valueEntry.line,
        );
        continue;
      }
      if (Object.hasOwn(tags, key)) {
        this.#issues.error(joinPath(ctx.path, "Key"), `Tag key '${key}' appears more than once.`, ctx.line);
        continue;
      }
      tags[key] = raw === undefined || raw === null ? "" : String(raw);
      r.sourceMap.set(`tags.${key}`, { path: joinPath(ctx.path, "Key"), line: ctx.line });
    }
    return tags;
  }
}

function emptyQueue(): Queue {
  return { name: "", capacityType: "ONDEMAND", subnetIds: [], computeResources: [] };
}
