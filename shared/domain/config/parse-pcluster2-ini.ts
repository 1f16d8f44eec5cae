import type { ClusterSpec, ComputeResource, Queue, Scheduler, SharedStorage } from "../cluster-spec.ts";
import { didYouMean } from "./did-you-mean.ts";
import { type IssueCollector, SourceMap, type SourceRef } from "./issue-collector.ts";
import type { NormalizedDraft } from "./normalized-draft.ts";
import { homeSectionOf, PCLUSTER2_KEYS, STORAGE_KEY_MAP, UNNAMED_SECTIONS } from "./pcluster2-keys.ts";
import { unusableTagKey } from "./validate-spec.ts";
import {
  isPlaceholder,
  parseBooleanText,
  parseIntegerText,
  placeholderMessage,
  straightenQuotes,
  toResourceName,
} from "./value-coercion.ts";

/** ParallelCluster 2 defaults (2.11 reference). */
const DEFAULT_INSTANCE_TYPE = "t2.micro";
const DEFAULT_BATCH_INSTANCE_TYPE = "optimal";
const DEFAULT_OS = "alinux2";
const DEFAULT_MAX_QUEUE_SIZE = 10;
const DEFAULT_MIN_VCPUS = 0;
const DEFAULT_DESIRED_VCPUS = 4;
const DEFAULT_MAX_VCPUS = 20;
const DEFAULT_MIN_COUNT = 0;
const DEFAULT_MAX_COUNT = 10;
const SINGLE_QUEUE_NAME = "compute";

interface IniEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
  /** Where the user wrote it, e.g. `[vpc public].update_check`, even when it was moved to `[global]`. */
  readonly path: string;
}

interface IniSection {
  readonly type: string;
  readonly name: string | undefined;
  readonly label: string;
  readonly line: number;
  readonly entries: Map<string, IniEntry>;
}

interface IniDocument {
  readonly sections: Map<string, IniSection>;
  /** Cluster settings written before any section header. */
  readonly floatingClusterEntries: IniEntry[];
}

const HEADER = /^\s*\[([^\]]*)\]\s*$/;
const ASSIGNMENT = /^\s*([^=]+?)\s*=\s*(.*?)\s*$/;
const COLON_ASSIGNMENT = /^\s*([A-Za-z_][\w]*)\s*:\s*(.*)$/;
const KEY = /^[a-z][a-z0-9_]*$/;

/**
 * Parses a ParallelCluster 2 INI configuration and normalizes the cluster it selects (`[global]
 * cluster_template`, else `[cluster default]`, else the only `[cluster]`). Blog-post damage is repaired
 * with a warning: settings before any header or under the wrong header are moved to `[global]`, `[aws]` or
 * `[aliases]` when that is where they belong, and typographic quotes in `tags` are straightened.
 */
export function normalizePcluster2Ini(text: string, issues: IssueCollector): NormalizedDraft | undefined {
  const doc = tokenize(text, issues);
  if (doc === undefined) return undefined;
  return new Pcluster2Normalizer(doc, issues).run();
}

function labelOf(type: string, name: string | undefined): string {
  return name === undefined ? `[${type}]` : `[${type} ${name}]`;
}

function tokenize(text: string, issues: IssueCollector): IniDocument | undefined {
  const sections = new Map<string, IniSection>();
  const preamble: IniEntry[] = [];
  let current: IniSection | undefined;
  /** Inside a section of an unknown type: its keys are not ours to judge. */
  let ignoring = false;
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
    const header = HEADER.exec(raw);
    if (header) {
      const words = (header[1] ?? "").trim().split(/\s+/);
      const type = (words[0] ?? "").toLowerCase();
      const name = words.length > 1 ? words.slice(1).join(" ") : undefined;
      ignoring = false;
      // Own keys only: `in` would take [constructor x] for a known section type.
      if (!Object.hasOwn(PCLUSTER2_KEYS, type)) {
        issues.warn(
          `[${header[1]?.trim() ?? ""}]`,
          `Unknown section type '${words[0] ?? ""}' is ignored with its settings${didYouMean(type, Object.keys(PCLUSTER2_KEYS))}`,
          line,
        );
        ignoring = true;
        current = undefined;
        return;
      }
      if (name === undefined && !UNNAMED_SECTIONS.has(type)) {
        issues.error(`[${type}]`, `A [${type}] section needs a name, e.g. [${type} default].`, line);
        ignoring = true;
        current = undefined;
        return;
      }
      const unnamedName = UNNAMED_SECTIONS.has(type) ? undefined : name;
      if (name !== undefined && UNNAMED_SECTIONS.has(type)) {
        issues.warn(labelOf(type, name), `[${type}] takes no name; '${name}' is ignored.`, line);
      }
      const label = labelOf(type, unnamedName);
      if (sections.has(label)) {
        issues.error(
          label,
          `Section ${label} appears twice (first on line ${sections.get(label)?.line}).`,
          line,
        );
        ignoring = true;
        current = undefined;
        return;
      }
      current = { type, name: unnamedName, label, line, entries: new Map() };
      sections.set(label, current);
      return;
    }
    const assignment = ASSIGNMENT.exec(raw);
    if (!assignment) {
      const colon = COLON_ASSIGNMENT.exec(raw);
      const where = current?.label ?? "configuration";
      if (colon) {
        issues.error(
          `${where}.${(colon[1] ?? "").toLowerCase()}`,
          `ParallelCluster 2 settings are written 'key = value'; write '${colon[1]} = ${(colon[2] ?? "").trim()}'.`,
          line,
        );
      } else {
        issues.error(
          where,
          `Line ${line} is neither a [section] header, a 'key = value' setting nor a comment: '${clip(trimmed)}'.`,
          line,
        );
      }
      return;
    }
    if (ignoring) return;
    const key = (assignment[1] ?? "").toLowerCase();
    const value = assignment[2] ?? "";
    const path = `${current?.label ?? "configuration"}.${key}`;
    if (!KEY.test(key)) {
      issues.error(path, `'${assignment[1]}' is not a setting name.`, line);
      return;
    }
    const entry: IniEntry = { key, value, line, path };
    if (current === undefined) {
      preamble.push(entry);
      return;
    }
    const earlier = current.entries.get(key);
    if (earlier) {
      issues.error(path, `${key} is set twice in ${current.label} (first on line ${earlier.line}).`, line);
      return;
    }
    current.entries.set(key, entry);
  });
  const doc: IniDocument = { sections, floatingClusterEntries: [] };
  relocate(doc, preamble, issues);
  return doc;
}

/** Where global/aws/aliases keys that lost their header go. */
const DISPLACED_HOME: ReadonlyMap<string, string> = new Map(
  ["global", "aws", "aliases"].flatMap((type) =>
    (PCLUSTER2_KEYS[type] ?? []).map((key) => [key, type] as const),
  ),
);

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Moves settings that are under no header or under the wrong one to where ParallelCluster 2 would have
 * read them, with a warning; warns about every other unknown key.
 */
function relocate(doc: IniDocument, preamble: readonly IniEntry[], issues: IssueCollector): void {
  const home = (type: string): IniSection => {
    const label = labelOf(type, undefined);
    let section = doc.sections.get(label);
    if (section === undefined) {
      section = { type, name: undefined, label, line: 1, entries: new Map() };
      doc.sections.set(label, section);
    }
    return section;
  };
  const move = (entry: IniEntry, type: string, why: string): void => {
    const target = home(type);
    if (target.entries.has(entry.key)) {
      issues.warn(
        entry.path,
        `${entry.key} ${why}, but ${target.label} sets it already: this one is ignored.`,
        entry.line,
      );
      return;
    }
    const moved = { ...entry, path: `${target.label}.${entry.key}` };
    target.entries.set(entry.key, moved);
    issues.warn(
      moved.path,
      `${entry.key} ${why}: taken as ${target.label} ${entry.key} (the ${target.label} header seems to be missing).`,
      entry.line,
    );
  };

  for (const entry of preamble) {
    const displaced = DISPLACED_HOME.get(entry.key);
    if (displaced !== undefined) move(entry, displaced, "appears before any section header");
    else if (PCLUSTER2_KEYS.cluster?.includes(entry.key)) doc.floatingClusterEntries.push(entry);
    else {
      issues.warn(
        entry.path,
        `Unknown setting '${entry.key}' before any section header is ignored${didYouMean(entry.key, [...DISPLACED_HOME.keys(), ...(PCLUSTER2_KEYS.cluster ?? [])])}`,
        entry.line,
      );
    }
  }

  for (const section of [...doc.sections.values()]) {
    const known = PCLUSTER2_KEYS[section.type] ?? [];
    for (const entry of [...section.entries.values()]) {
      if (known.includes(entry.key)) continue;
      section.entries.delete(entry.key);
      const displaced = DISPLACED_HOME.get(entry.key);
      if (displaced !== undefined && displaced !== section.type) {
        move(entry, displaced, `is a setting of [${displaced}] but is written in ${section.label}`);
        continue;
      }
      const belongs = homeSectionOf(entry.key);
      const hint =
        belongs !== undefined && belongs !== section.type
          ? ` (it is a [${belongs}] setting).`
          : didYouMean(entry.key, known);
      issues.warn(
        entry.path,
        `Unknown setting '${entry.key}' in ${section.label} is ignored${hint}`,
        entry.line,
      );
    }
  }
}

/** Typed, placeholder-aware reads of one section's settings. */
class SectionReader {
  constructor(
    readonly section: IniSection,
    private readonly issues: IssueCollector,
  ) {}

  get label(): string {
    return this.section.label;
  }

  has(key: string): boolean {
    return this.section.entries.has(key);
  }

  ref(key: string): SourceRef {
    const entry = this.section.entries.get(key);
    return entry === undefined
      ? { path: `${this.label}.${key}`, line: this.section.line }
      : { path: entry.path, line: entry.line };
  }

  /** The value, or undefined when absent, empty, `NONE` (ParallelCluster 2's "unset") or a placeholder. */
  text(key: string): string | undefined {
    const value = this.section.entries.get(key)?.value;
    if (value === undefined || value === "" || value === "NONE" || isPlaceholder(value)) return undefined;
    return value;
  }

  list(key: string): string[] | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    return value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  }

  integer(key: string): number | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    const parsed = parseIntegerText(value);
    if (parsed === undefined) {
      const { path, line } = this.ref(key);
      this.issues.error(path, `${key} must be a whole number; got '${value}'.`, line);
    }
    return parsed;
  }

  boolean(key: string): boolean | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    const parsed = parseBooleanText(value);
    if (parsed === undefined) {
      const { path, line } = this.ref(key);
      this.issues.error(path, `${key} must be true or false; got '${value}'.`, line);
    }
    return parsed;
  }

  /** Capacity as ParallelCluster 3 names it, from `cluster_type` / `compute_type` (ondemand|spot). */
  capacity(key: string): Queue["capacityType"] {
    const value = this.text(key);
    if (value === undefined) return "ONDEMAND";
    const lowered = value.toLowerCase();
    if (lowered === "ondemand") return "ONDEMAND";
    if (lowered === "spot") return "SPOT";
    const { path, line } = this.ref(key);
    this.issues.error(path, `${key} must be ondemand or spot; got '${value}'.`, line);
    return "ONDEMAND";
  }

  /** `enable_efa`: `compute` at cluster level, true/false at queue level; both are taken everywhere. */
  efa(key: string): boolean | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    if (value.toLowerCase() === "compute") return true;
    const parsed = parseBooleanText(value);
    if (parsed === undefined) {
      const { path, line } = this.ref(key);
      this.issues.error(path, `${key} must be compute (or true/false); got '${value}'.`, line);
    }
    return parsed;
  }

  /** `placement_group`: DYNAMIC creates one; a name means an existing group, which the spec cannot carry. */
  placementGroup(key: string): boolean | undefined {
    const value = this.text(key);
    if (value === undefined) return undefined;
    if (value.toUpperCase() !== "DYNAMIC") {
      const { path, line } = this.ref(key);
      this.issues.warn(
        path,
        `placement_group '${value}' names an existing placement group; this API creates its own cluster placement group instead.`,
        line,
      );
    }
    return true;
  }
}

class Pcluster2Normalizer {
  readonly #sourceMap = new SourceMap();
  readonly #used = new Set<IniSection>();

  constructor(
    private readonly doc: IniDocument,
    private readonly issues: IssueCollector,
  ) {}

  run(): NormalizedDraft | undefined {
    const cluster = this.selectCluster();
    if (cluster === undefined) return undefined;
    const c = this.reader(cluster);
    const aws = this.optionalReader("aws");
    const sm = this.#sourceMap;
    this.optionalReader("global");
    this.optionalReader("aliases");
    this.warnCredentials();

    const region = aws?.text("aws_region_name");
    if (aws) sm.set("region", aws.ref("aws_region_name"));
    const scheduler = this.scheduler(c);
    const os = c.text("base_os") ?? DEFAULT_OS;
    sm.set("os", c.ref("base_os"));

    const vpc = this.resolveOne(c, "vpc_settings", "vpc");
    const masterSubnet = vpc?.text("master_subnet_id");
    const computeSubnet = vpc?.text("compute_subnet_id") ?? masterSubnet;
    const securityGroup = vpc?.text("vpc_security_group_id");
    const dcv = this.resolveOne(c, "dcv_settings", "dcv");
    const masterType = c.text("master_instance_type");
    if (masterType === undefined) {
      this.issues.warnAt(
        c.ref("master_instance_type"),
        `master_instance_type is not set: the head node gets the ParallelCluster 2 default, ${DEFAULT_INSTANCE_TYPE}.`,
      );
    }
    const headNode: ClusterSpec["headNode"] = {
      instanceType: masterType ?? DEFAULT_INSTANCE_TYPE,
      subnetId: masterSubnet,
      keyName: c.text("key_name"),
      securityGroupIds: securityGroup === undefined ? undefined : [securityGroup],
      dcv: dcv === undefined ? undefined : this.dcvEnabled(dcv),
    };
    sm.set("headNode.instanceType", c.ref("master_instance_type"));
    if (vpc) {
      sm.set("headNode.subnetId", vpc.ref("master_subnet_id"));
      sm.set("headNode.securityGroupIds", vpc.ref("vpc_security_group_id"));
      sm.set("headNode.securityGroupIds[0]", vpc.ref("vpc_security_group_id"));
      sm.set("networking.vpcId", vpc.ref("vpc_id"));
    }

    const network = {
      subnetIds: computeSubnet === undefined ? [] : [computeSubnet],
      securityGroupIds: securityGroup === undefined ? undefined : [securityGroup],
    };
    const queues = c.has("queue_settings")
      ? this.multiQueue(c, scheduler, network)
      : [this.singleQueue(c, scheduler, network)];
    if (vpc) {
      const subnetRef = vpc.ref(vpc.has("compute_subnet_id") ? "compute_subnet_id" : "master_subnet_id");
      for (let i = 0; i < queues.length; i++) {
        sm.set(`queues[${i}].subnetIds`, subnetRef);
        sm.set(`queues[${i}].subnetIds[0]`, subnetRef);
        sm.set(`queues[${i}].securityGroupIds[0]`, vpc.ref("vpc_security_group_id"));
      }
    }

    for (const key of ["scaling_settings", "cw_log_settings", "dashboard_settings"] as const) {
      this.resolveOne(c, key, key.replace("_settings", ""));
    }
    const sharedStorage = this.sharedStorage(c);
    const tags = this.tags(c);
    this.warnPlaceholders();

    const spec: ClusterSpec = {
      sourceFormat: "pcluster2-ini",
      scheduler,
      region,
      os,
      headNode,
      queues,
      networking: {
        vpcId: vpc?.text("vpc_id"),
        placementGroup: queues.some((q) => q.placementGroup === true) ? true : undefined,
      },
      sharedStorage,
      tags,
    };
    return { spec, sourceMap: sm };
  }

  private reader(section: IniSection): SectionReader {
    this.#used.add(section);
    return new SectionReader(section, this.issues);
  }

  private optionalReader(type: string): SectionReader | undefined {
    const section = this.doc.sections.get(labelOf(type, undefined));
    return section === undefined ? undefined : this.reader(section);
  }

  private selectCluster(): IniSection | undefined {
    const { sections, floatingClusterEntries: floating } = this.doc;
    const clusters = [...sections.values()].filter((s) => s.type === "cluster");
    const global = this.optionalReader("global");
    const template = global?.text("cluster_template");
    let chosen: IniSection | undefined;
    if (template !== undefined) {
      chosen = sections.get(labelOf("cluster", template));
      if (chosen === undefined && clusters.length > 0) {
        const names = clusters.map((s) => s.label).join(", ");
        this.issues.errorAt(
          global?.ref("cluster_template") ?? { path: "[global].cluster_template" },
          `cluster_template refers to [cluster ${template}], which is not in the configuration (it has: ${names})${didYouMean(
            template,
            clusters.map((s) => s.name ?? ""),
          )}`,
        );
        return undefined;
      }
    } else {
      chosen = sections.get("[cluster default]") ?? (clusters.length === 1 ? clusters[0] : undefined);
      if (chosen === undefined && clusters.length > 1) {
        this.issues.error(
          "[global].cluster_template",
          `The configuration has ${clusters.length} [cluster] sections and no [global] cluster_template to pick one; set cluster_template = NAME.`,
          clusters[0]?.line,
        );
        return undefined;
      }
    }
    if (chosen === undefined) {
      const first = floating[0];
      if (first === undefined) {
        this.issues.error(
          "configuration",
          "A ParallelCluster 2 configuration needs a [cluster NAME] section (with scheduler, master_instance_type, compute_instance_type, ...).",
          1,
        );
        return undefined;
      }
      chosen = {
        type: "cluster",
        name: template ?? "default",
        label: labelOf("cluster", template ?? "default"),
        line: first.line,
        entries: new Map(),
      };
      sections.set(chosen.label, chosen);
      this.issues.warn(
        chosen.label,
        `There is no [cluster] section: the cluster settings before any section header are taken as ${chosen.label} (its header seems to be missing).`,
        first.line,
      );
      for (const entry of floating)
        chosen.entries.set(entry.key, { ...entry, path: `${chosen.label}.${entry.key}` });
      return chosen;
    }
    for (const entry of floating) {
      if (chosen.entries.has(entry.key)) {
        this.issues.warn(
          entry.path,
          `${entry.key} before any section header is ignored: ${chosen.label} sets it too.`,
          entry.line,
        );
        continue;
      }
      const moved = { ...entry, path: `${chosen.label}.${entry.key}` };
      chosen.entries.set(entry.key, moved);
      this.issues.warn(
        moved.path,
        `${entry.key} appears before any section header: taken as a setting of ${chosen.label}.`,
        entry.line,
      );
    }
    return chosen;
  }

  /** Follows a `*_settings` reference; a missing section is an error on the referencing key. */
  private resolve(owner: SectionReader, key: string, type: string): SectionReader[] {
    const names = owner.list(key) ?? [];
    const found: SectionReader[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const section = this.doc.sections.get(labelOf(type, name));
      if (section === undefined) missing.push(name);
      else found.push(this.reader(section));
    }
    if (missing.length > 0) {
      const existing = [...this.doc.sections.values()]
        .filter((s) => s.type === type)
        .map((s) => s.name ?? "");
      const which = missing.map((name) => `[${type} ${name}]`).join(", ");
      const available =
        existing.length === 0
          ? `there is no [${type}] section`
          : `it has ${existing.map((n) => `[${type} ${n}]`).join(", ")}`;
      this.issues.errorAt(
        owner.ref(key),
        `${key} refers to ${which}, which is not in the configuration (${available})${missing.length === 1 ? didYouMean(missing[0] ?? "", existing) : "."}`,
      );
    }
    return found;
  }

  private resolveOne(owner: SectionReader, key: string, type: string): SectionReader | undefined {
    const found = this.resolve(owner, key, type);
    if (found.length > 1)
      this.issues.errorAt(owner.ref(key), `${key} takes one section name; got ${found.length}.`);
    return found[0];
  }

  private scheduler(c: SectionReader): Scheduler {
    const value = c.text("scheduler");
    const ref = c.ref("scheduler");
    if (value === undefined) {
      this.issues.warnAt(
        ref,
        "scheduler is not set: using slurm (the ParallelCluster 2.11 default; versions before 2.11 defaulted to sge, which ParallelCluster 3 no longer has).",
      );
      return "slurm";
    }
    const lowered = value.toLowerCase();
    if (lowered === "slurm" || lowered === "awsbatch") return lowered;
    if (lowered === "sge" || lowered === "torque") {
      this.issues.errorAt(
        ref,
        `scheduler = ${value} is not supported any more: SGE and Torque were removed in ParallelCluster 3 (2.11 was the last version with them). Use scheduler = slurm (job scripts then use #SBATCH directives and sbatch instead of qsub) or awsbatch.`,
      );
      return "slurm";
    }
    this.issues.errorAt(ref, `scheduler must be slurm or awsbatch; got '${value}'.`);
    return "slurm";
  }

  private dcvEnabled(dcv: SectionReader): boolean | undefined {
    const value = dcv.text("enable");
    if (value === undefined) return undefined;
    if (value.toLowerCase() === "master") return true;
    const parsed = parseBooleanText(value);
    if (parsed === undefined)
      this.issues.errorAt(dcv.ref("enable"), `enable must be master; got '${value}'.`);
    return parsed;
  }

  private singleQueue(
    c: SectionReader,
    scheduler: Scheduler,
    network: Pick<Queue, "subnetIds" | "securityGroupIds">,
  ): Queue {
    const sm = this.#sourceMap;
    const base = "queues[0]";
    const cr = `${base}.computeResources[0]`;
    sm.set(base, { path: c.label, line: c.section.line });
    sm.set(`${base}.capacityType`, c.ref("cluster_type"));
    sm.set(`${base}.placementGroup`, c.ref("placement_group"));
    sm.set(`${cr}.instanceTypes`, c.ref("compute_instance_type"));
    sm.set(`${cr}.name`, c.ref("compute_instance_type"));
    const capacityType = c.capacity("cluster_type");
    const placementGroup = c.placementGroup("placement_group");
    const disableHyperthreading = c.boolean("disable_hyperthreading");
    const efa = c.efa("enable_efa");
    const typesText = c.text("compute_instance_type");
    const types = c.list("compute_instance_type") ?? [];
    if (scheduler === "awsbatch") {
      this.ignoredFor(
        c,
        ["initial_queue_size", "max_queue_size", "maintain_initial_size", "spot_price"],
        "with scheduler = awsbatch",
      );
      if (efa !== undefined)
        this.issues.warnAt(c.ref("enable_efa"), "enable_efa is ignored with scheduler = awsbatch.");
      const instanceTypes = types.length > 0 ? types : [DEFAULT_BATCH_INSTANCE_TYPE];
      for (let k = 0; k < types.length; k++)
        sm.set(`${cr}.instanceTypes[${k}]`, c.ref("compute_instance_type"));
      sm.set(`${cr}.minVcpus`, c.ref("min_vcpus"));
      sm.set(`${cr}.desiredVcpus`, c.ref("desired_vcpus"));
      sm.set(`${cr}.maxVcpus`, c.ref("max_vcpus"));
      sm.set(`${base}.spotBidPercentage`, c.ref("spot_bid_percentage"));
      const bid = c.integer("spot_bid_percentage");
      if (bid !== undefined && capacityType !== "SPOT") {
        this.issues.warnAt(
          c.ref("spot_bid_percentage"),
          "spot_bid_percentage is ignored: cluster_type is not spot.",
        );
      }
      return {
        name: SINGLE_QUEUE_NAME,
        capacityType,
        spotBidPercentage: capacityType === "SPOT" ? bid : undefined,
        ...network,
        placementGroup,
        computeResources: [
          {
            name: instanceTypes.length === 1 ? toResourceName(instanceTypes[0] ?? "") : "compute",
            instanceTypes,
            minVcpus: c.integer("min_vcpus") ?? DEFAULT_MIN_VCPUS,
            desiredVcpus: c.integer("desired_vcpus") ?? DEFAULT_DESIRED_VCPUS,
            maxVcpus: c.integer("max_vcpus") ?? DEFAULT_MAX_VCPUS,
            disableHyperthreading,
          },
        ],
      };
    }
    this.ignoredFor(
      c,
      ["min_vcpus", "desired_vcpus", "max_vcpus", "spot_bid_percentage"],
      "with scheduler = slurm (they are AWS Batch settings)",
    );
    this.ignoredFor(
      c,
      ["spot_price"],
      "(this API does not set a Spot maximum price; instances are bought at the current Spot price)",
    );
    if (types.length > 1) {
      this.issues.errorAt(
        c.ref("compute_instance_type"),
        `compute_instance_type takes one instance type with slurm; got '${typesText}'. For several, use queue_settings with [queue] and [compute_resource] sections.`,
      );
    }
    const instanceType = types[0];
    if (instanceType === undefined) {
      this.issues.warnAt(
        c.ref("compute_instance_type"),
        `compute_instance_type is not set: compute nodes get the ParallelCluster 2 default, ${DEFAULT_INSTANCE_TYPE}.`,
      );
    }
    const initial = c.integer("initial_queue_size") ?? 0;
    const maintain = c.boolean("maintain_initial_size") ?? false;
    sm.set(`${cr}.minCount`, c.ref(maintain ? "initial_queue_size" : "maintain_initial_size"));
    sm.set(`${cr}.maxCount`, c.ref("max_queue_size"));
    const type = instanceType ?? DEFAULT_INSTANCE_TYPE;
    return {
      name: SINGLE_QUEUE_NAME,
      capacityType,
      ...network,
      placementGroup,
      computeResources: [
        {
          name: toResourceName(type),
          instanceTypes: [type],
          minCount: maintain ? initial : 0,
          maxCount: c.integer("max_queue_size") ?? DEFAULT_MAX_QUEUE_SIZE,
          disableHyperthreading,
          efa,
        },
      ],
    };
  }

  private ignoredFor(c: SectionReader, keys: readonly string[], why: string): void {
    for (const key of keys) {
      if (c.text(key) !== undefined) this.issues.warnAt(c.ref(key), `${key} is ignored ${why}.`);
    }
  }

  private multiQueue(
    c: SectionReader,
    scheduler: Scheduler,
    network: Pick<Queue, "subnetIds" | "securityGroupIds">,
  ): Queue[] {
    const sm = this.#sourceMap;
    sm.set("queues", c.ref("queue_settings"));
    if (scheduler !== "slurm") {
      this.issues.errorAt(
        c.ref("queue_settings"),
        "queue_settings is only supported with scheduler = slurm.",
      );
      return [];
    }
    this.ignoredFor(
      c,
      [
        "compute_instance_type",
        "initial_queue_size",
        "max_queue_size",
        "maintain_initial_size",
        "cluster_type",
        "spot_price",
        "placement_group",
        "disable_hyperthreading",
        "enable_efa",
        "min_vcpus",
        "desired_vcpus",
        "max_vcpus",
        "spot_bid_percentage",
      ],
      "with queue_settings (set it in the [queue] and [compute_resource] sections)",
    );
    const queues = this.resolve(c, "queue_settings", "queue");
    if ((c.list("queue_settings") ?? []).length === 0) {
      this.issues.errorAt(c.ref("queue_settings"), "queue_settings must name at least one [queue] section.");
    }
    return queues.map((q, i) => {
      const base = `queues[${i}]`;
      sm.set(base, { path: q.label, line: q.section.line });
      sm.set(`${base}.name`, { path: q.label, line: q.section.line });
      sm.set(`${base}.capacityType`, q.ref("compute_type"));
      sm.set(`${base}.computeResources`, q.ref("compute_resource_settings"));
      const disableHyperthreading = q.boolean("disable_hyperthreading");
      const efa = q.efa("enable_efa");
      if (!q.has("compute_resource_settings")) {
        this.issues.errorAt(
          q.ref("compute_resource_settings"),
          `compute_resource_settings is required: ${q.label} needs at least one [compute_resource] section.`,
        );
      }
      const computeResources = this.resolve(q, "compute_resource_settings", "compute_resource").map((cr, j) =>
        this.computeResource(cr, `${base}.computeResources[${j}]`, disableHyperthreading, efa),
      );
      return {
        name: q.section.name ?? "",
        capacityType: q.capacity("compute_type"),
        ...network,
        placementGroup: q.placementGroup("placement_group"),
        computeResources,
      };
    });
  }

  private computeResource(
    cr: SectionReader,
    base: string,
    disableHyperthreading: boolean | undefined,
    efa: boolean | undefined,
  ): ComputeResource {
    const sm = this.#sourceMap;
    sm.set(base, { path: cr.label, line: cr.section.line });
    sm.set(`${base}.name`, { path: cr.label, line: cr.section.line });
    sm.set(`${base}.instanceTypes`, cr.ref("instance_type"));
    sm.set(`${base}.instanceTypes[0]`, cr.ref("instance_type"));
    sm.set(`${base}.minCount`, cr.ref("min_count"));
    sm.set(`${base}.maxCount`, cr.ref("max_count"));
    const instanceType = cr.text("instance_type");
    if (instanceType === undefined) {
      this.issues.errorAt(
        cr.ref("instance_type"),
        `instance_type is required in ${cr.label}, e.g. instance_type = c5n.18xlarge.`,
      );
    }
    this.ignoredFor(cr, ["spot_price"], "(this API does not set a Spot maximum price)");
    const minCount = cr.integer("min_count") ?? DEFAULT_MIN_COUNT;
    const initial = cr.integer("initial_count");
    if (initial !== undefined && initial !== minCount) {
      this.issues.warnAt(
        cr.ref("initial_count"),
        `initial_count is ignored: the cluster starts with min_count (${minCount}) nodes.`,
      );
    }
    return {
      name: cr.section.name ?? "",
      instanceTypes: instanceType === undefined ? [] : [instanceType],
      minCount,
      maxCount: cr.integer("max_count") ?? DEFAULT_MAX_COUNT,
      disableHyperthreading,
      efa,
    };
  }

  private sharedStorage(c: SectionReader): SharedStorage[] {
    const out: SharedStorage[] = [];
    const usedNames = new Set<string>();
    const add = (
      kind: SharedStorage["kind"],
      section: SectionReader,
      mountDir: string | undefined,
      mountRef: SourceRef,
    ): void => {
      const type = section.section.type as "fsx" | "ebs" | "efs";
      const base = `sharedStorage[${out.length}]`;
      let name = toResourceName(section.section.name ?? type);
      if (usedNames.has(name)) name = toResourceName(`${name}-${type}`);
      usedNames.add(name);
      this.#sourceMap.set(base, { path: section.label, line: section.section.line });
      this.#sourceMap.set(`${base}.name`, { path: section.label, line: section.section.line });
      this.#sourceMap.set(`${base}.mountDir`, mountRef);
      out.push({
        kind,
        name,
        mountDir: mountDir ?? "",
        settings: this.storageSettings(section, type, `${base}.settings`),
      });
    };
    const fsx = this.resolveOne(c, "fsx_settings", "fsx");
    if (fsx) add("fsx-lustre", fsx, this.mountDir(fsx, undefined), fsx.ref("shared_dir"));
    const ebsList = this.resolve(c, "ebs_settings", "ebs");
    const clusterSharedDir = c.text("shared_dir");
    if (clusterSharedDir !== undefined && ebsList.length === 0) {
      this.issues.warnAt(
        c.ref("shared_dir"),
        "shared_dir without ebs_settings is ignored: ParallelCluster 3 creates no default shared EBS volume. Add an [ebs] section to get one.",
      );
    }
    for (const ebs of ebsList) {
      const fallback = ebsList.length === 1 ? (clusterSharedDir ?? "/shared") : undefined;
      const ref = ebs.has("shared_dir") || ebsList.length > 1 ? ebs.ref("shared_dir") : c.ref("shared_dir");
      add("ebs", ebs, this.mountDir(ebs, fallback), ref);
    }
    const efs = this.resolveOne(c, "efs_settings", "efs");
    if (efs) add("efs", efs, this.mountDir(efs, undefined), efs.ref("shared_dir"));
    const raid = this.resolveOne(c, "raid_settings", "raid");
    if (raid)
      this.issues.warnAt(
        c.ref("raid_settings"),
        "raid_settings is ignored: this API does not create RAID arrays of EBS volumes.",
      );
    return out;
  }

  /** `shared_dir`, made absolute as ParallelCluster 2 did (`vol1` mounts at `/vol1`). */
  private mountDir(section: SectionReader, fallback: string | undefined): string | undefined {
    const value = section.text("shared_dir") ?? fallback;
    if (value === undefined) {
      this.issues.errorAt(
        section.ref("shared_dir"),
        `shared_dir is required in ${section.label}: the directory to mount it on, e.g. /fsx.`,
      );
      return undefined;
    }
    if (value.startsWith("/")) return value;
    const absolute = `/${value}`;
    if (section.has("shared_dir"))
      this.issues.warnAt(section.ref("shared_dir"), `shared_dir '${value}' is taken as ${absolute}.`);
    return absolute;
  }

  private storageSettings(
    section: SectionReader,
    type: "fsx" | "ebs" | "efs",
    specBase: string,
  ): SharedStorage["settings"] {
    const settings: SharedStorage["settings"] = {};
    for (const [key, [pc3Key, kind]] of Object.entries(STORAGE_KEY_MAP[type])) {
      const value =
        kind === "integer"
          ? section.integer(key)
          : kind === "boolean"
            ? section.boolean(key)
            : section.text(key);
      if (value === undefined) continue;
      settings[pc3Key] = value;
      this.#sourceMap.set(`${specBase}.${pc3Key}`, section.ref(key));
    }
    return settings;
  }

  private tags(c: SectionReader): Record<string, string> {
    const raw = c.section.entries.get("tags")?.value;
    if (raw === undefined || raw === "" || raw === "NONE") return {};
    const ref = c.ref("tags");
    this.#sourceMap.set("tags", ref);
    const { text, changed } = straightenQuotes(raw);
    if (changed)
      this.issues.warnAt(ref, "tags uses typographic quotes (“ ” ‘ ’); they were taken as plain quotes.");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.issues.errorAt(
        ref,
        `tags must be a JSON object such as {"Name": "my-cluster"}; got '${clip(raw)}'.`,
      );
      return {};
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      this.issues.errorAt(
        ref,
        `tags must be a JSON object such as {"Name": "my-cluster"}; got '${clip(raw)}'.`,
      );
      return {};
    }
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      const unusable = unusableTagKey(key);
      if (unusable !== undefined) {
        this.issues.errorAt(ref, unusable);
        continue;
      }
      if (value !== null && typeof value === "object") {
        this.issues.errorAt(ref, `The value of tag '${key}' must be a string.`);
        continue;
      }
      tags[key] = String(value);
      this.#sourceMap.set(`tags.${key}`, ref);
    }
    return tags;
  }

  private warnCredentials(): void {
    const aws = this.doc.sections.get("[aws]");
    for (const key of ["aws_access_key_id", "aws_secret_access_key"]) {
      const entry = aws?.entries.get(key);
      if (entry) {
        this.issues.warn(
          entry.path,
          `${key} is ignored: never put AWS credentials in a cluster configuration (rotate this key if it was real).`,
          entry.line,
        );
      }
    }
  }

  /** One warning per placeholder in the sections this cluster actually uses. */
  private warnPlaceholders(): void {
    for (const section of this.#used) {
      for (const entry of section.entries.values()) {
        if (entry.key === "aws_secret_access_key" || !isPlaceholder(entry.value)) continue;
        const message =
          entry.key === "tags"
            ? `tags contains a placeholder from an example (${clip(entry.value)}): replace it with your own value.`
            : placeholderMessage(entry.value);
        this.issues.warn(entry.path, message, entry.line);
      }
    }
  }
}
