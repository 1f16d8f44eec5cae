import type { SourceFormat } from "../cluster-spec.ts";

/** Section types of a ParallelCluster 2 config file. */
export const PCLUSTER2_SECTION_TYPES: readonly string[] = [
  "global",
  "aws",
  "aliases",
  "cluster",
  "vpc",
  "queue",
  "compute_resource",
  "fsx",
  "ebs",
  "efs",
  "dcv",
  "scaling",
  "cw_log",
  "raid",
  "dashboard",
];

const INI_SECTION = new RegExp(
  `^\\s*\\[\\s*(${PCLUSTER2_SECTION_TYPES.join("|")})(\\s+[^\\]]*)?\\]\\s*$`,
  "i",
);
/** Keys only a ParallelCluster 2 file has; one of them on a `key = value` line settles the question. */
const INI_TELLTALE_KEY =
  /^\s*(cluster_template|scheduler|master_instance_type|compute_instance_type|aws_region_name|base_os|key_name|vpc_settings|queue_settings|initial_queue_size|max_queue_size|master_subnet_id|compute_subnet_id|vpc_id|fsx_settings|ebs_settings|efs_settings|dcv_settings|shared_dir|update_check|sanity_check)\s*=/i;
const INI_ASSIGNMENT = /^\s*[A-Za-z_][\w.-]*\s*=/;
const YAML_MAPPING_LINE = /^\s*(-\s+)?["']?[\w.-]+["']?\s*:(\s|$)/;
/** A top-level ParallelCluster 3 section at column 0: nothing else looks like that. */
const PCLUSTER3_TOP_LEVEL = /^(HeadNode|Scheduling|Image|SharedStorage|Region)\s*:/m;

/**
 * Which kind of document the text is: JSON when it starts with `{`; ParallelCluster 3 YAML when a top-level
 * PC3 section starts a line; ParallelCluster 2 INI when a `[section]` header of a PC2 section type or a
 * PC2-only key appears, or when `key = value` lines outnumber `key: value` lines. Anything else is taken as
 * YAML, whose parser then says what is wrong with it.
 */
export function detectConfigFormat(text: string): SourceFormat {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (body.trimStart().startsWith("{")) return "json";
  if (PCLUSTER3_TOP_LEVEL.test(body)) return "pcluster3-yaml";
  let iniLines = 0;
  let yamlLines = 0;
  for (const line of body.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
    if (INI_SECTION.test(line) || INI_TELLTALE_KEY.test(line)) return "pcluster2-ini";
    if (INI_ASSIGNMENT.test(line)) iniLines++;
    else if (YAML_MAPPING_LINE.test(line)) yamlLines++;
  }
  return iniLines > yamlLines ? "pcluster2-ini" : "pcluster3-yaml";
}
