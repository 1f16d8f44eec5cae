import { RESOURCE_NAME } from "../cluster-spec.ts";

/**
 * Values copied from examples still carrying their blanks: `<Key-Name>`, `subnet-<SUBNET-ID>`,
 * `<AWS-REGION>`. They are never real AWS identifiers.
 */
const PLACEHOLDER = /<[^<>\n]*>/;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value);
}

/** The message a placeholder value gets, so INI and YAML say it the same way. */
export function placeholderMessage(value: string): string {
  return `'${value}' is a placeholder from an example, not a real value: it is ignored. Replace it with your own value.`;
}

/** Typographic quotes that blog engines put into pasted configs (`{“Name” : “STARCCM”}`). */
const SMART_DOUBLE = /[\u201C\u201D\u201E\u201F\u2033]/g;
const SMART_SINGLE = /[\u2018\u2019\u201A\u201B\u2032]/g;

export function straightenQuotes(text: string): { readonly text: string; readonly changed: boolean } {
  const straightened = text.replace(SMART_DOUBLE, '"').replace(SMART_SINGLE, "'");
  return { text: straightened, changed: straightened !== text };
}

/** A base-10 integer written as text (`100`, `-1`), or undefined for anything else (`ten`, `1.5`, `1e3`). */
export function parseIntegerText(text: string): number | undefined {
  if (!/^[+-]?\d{1,15}$/.test(text.trim())) return undefined;
  return Number.parseInt(text.trim(), 10);
}

/** `true`/`false` in any case, or undefined. */
export function parseBooleanText(text: string): boolean | undefined {
  const lowered = text.trim().toLowerCase();
  if (lowered === "true") return true;
  if (lowered === "false") return false;
  return undefined;
}

/**
 * A name that satisfies `RESOURCE_NAME`, made from something that may not (an instance type such as
 * `c5n.18xlarge`, a ParallelCluster 2 section name such as `custom_fs`).
 */
export function toResourceName(raw: string): string {
  let name = raw
    .toLowerCase()
    .replace(/[._\s]+/g, "-")
    .replace(/[^a-z0-9-]/g, "")
    .replace(/-+/g, "-");
  if (!/^[a-z]/.test(name)) name = `r-${name}`;
  name = name.slice(0, 25).replace(/-+$/, "");
  return RESOURCE_NAME.test(name) ? name : "resource";
}

/** Instance types as EC2 names them: family, dot, size (`c5n.18xlarge`, `u-6tb1.metal`, `t2.micro`). */
export const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
/** AWS Batch also takes a bare family (`c5`) and `optimal`. */
export const INSTANCE_FAMILY = /^[a-z][a-z0-9-]*$/;
/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-northwest-1`. */
export const REGION = /^[a-z]{2}(-[a-z]+){1,2}-\d{1,2}$/;

/** Operating systems ParallelCluster 3 knows (`Image.Os`). Anything else is warned about, not refused. */
export const KNOWN_OS: readonly string[] = [
  "alinux2",
  "alinux2023",
  "centos7",
  "ubuntu1804",
  "ubuntu2004",
  "ubuntu2204",
  "ubuntu2404",
  "rhel8",
  "rhel9",
  "rocky8",
  "rocky9",
];
