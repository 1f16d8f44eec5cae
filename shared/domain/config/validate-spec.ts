import { type ClusterSpec, RESOURCE_NAME } from "../cluster-spec.ts";
import type { IssueCollector, SourceMap } from "./issue-collector.ts";
import { INSTANCE_FAMILY, INSTANCE_TYPE, KNOWN_OS, REGION } from "./value-coercion.ts";

export const MAX_QUEUES = 50;
export const MAX_TAGS = 50;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

/**
 * Why a tag key cannot be used, before it is stored: `__proto__` would be dropped without a word by every
 * object the spec goes through (zod records included), so each format's reader refuses it by name.
 */
export function unusableTagKey(key: string): string | undefined {
  return key === "__proto__" ? "Tag key '__proto__' cannot be used: rename the tag." : undefined;
}

const SUBNET_ID = /^subnet-[0-9a-f]+$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]+$/;
const VPC_ID = /^vpc-[0-9a-f]+$/;
const NAME_RULE =
  "must start with a lower-case letter and contain only lower-case letters, digits and hyphens (at most 25 characters)";

/**
 * The checks every format shares, run on the normalized spec. Problems are reported at the place the value
 * came from in the user's document (via `sourceMap`), so a PC3 user reads `Scheduling.SlurmQueues[0].Name`
 * and a PC2 user `[queue q1]`, for the same rule.
 */
export function validateSpec(spec: ClusterSpec, sourceMap: SourceMap, issues: IssueCollector): void {
  const at = (specPath: string) => sourceMap.locate(specPath);
  const error = (specPath: string, message: string): void => issues.errorAt(at(specPath), message);
  const warn = (specPath: string, message: string): void => issues.warnAt(at(specPath), message);

  if (spec.region !== undefined && !REGION.test(spec.region)) {
    error("region", `'${spec.region}' is not an AWS Region name such as us-east-1.`);
  }
  if (!KNOWN_OS.includes(spec.os)) {
    warn("os", `'${spec.os}' is not an operating system ParallelCluster 3 knows (${KNOWN_OS.join(", ")}).`);
  }
  if (spec.scheduler === "awsbatch" && spec.os !== "alinux2") {
    error("os", `AWS Batch clusters run Amazon Linux 2 only; use os alinux2 instead of '${spec.os}'.`);
  }
  checkInstanceType(spec.headNode.instanceType, "headNode.instanceType", false, error);
  checkId(
    spec.headNode.subnetId,
    SUBNET_ID,
    "headNode.subnetId",
    "a subnet ID such as subnet-0123abcd",
    error,
  );
  spec.headNode.securityGroupIds?.forEach((sg, k) => {
    checkId(
      sg,
      SECURITY_GROUP_ID,
      `headNode.securityGroupIds[${k}]`,
      "a security group ID such as sg-0123abcd",
      error,
    );
  });
  checkId(spec.networking.vpcId, VPC_ID, "networking.vpcId", "a VPC ID such as vpc-0123abcd", error);

  validateQueues(spec, error, warn);
  validateStorage(spec, error);
  validateTags(spec, error);
}

type Report = (specPath: string, message: string) => void;

function validateQueues(spec: ClusterSpec, error: Report, warn: Report): void {
  if (spec.queues.length === 0) {
    error("queues", "The cluster needs at least one queue.");
    return;
  }
  if (spec.queues.length > MAX_QUEUES) {
    error("queues", `A cluster has at most ${MAX_QUEUES} queues; this one has ${spec.queues.length}.`);
  }
  if (
    spec.scheduler === "awsbatch" &&
    (spec.queues.length > 1 || spec.queues.some((q) => q.computeResources.length > 1))
  ) {
    error("queues", "An AWS Batch cluster has exactly one queue with one compute resource.");
  }
  const queueNames = new Map<string, number>();
  spec.queues.forEach((queue, i) => {
    const base = `queues[${i}]`;
    checkName(queue.name, `${base}.name`, "Queue", error);
    const first = queueNames.get(queue.name);
    if (first !== undefined && queue.name !== "")
      error(`${base}.name`, `Queue name '${queue.name}' is used twice (also queue ${first + 1}).`);
    else queueNames.set(queue.name, i);
    queue.subnetIds.forEach((id, k) => {
      checkId(id, SUBNET_ID, `${base}.subnetIds[${k}]`, "a subnet ID such as subnet-0123abcd", error);
    });
    queue.securityGroupIds?.forEach((sg, k) => {
      checkId(
        sg,
        SECURITY_GROUP_ID,
        `${base}.securityGroupIds[${k}]`,
        "a security group ID such as sg-0123abcd",
        error,
      );
    });
    if (queue.spotBidPercentage !== undefined) {
      if (
        !Number.isInteger(queue.spotBidPercentage) ||
        queue.spotBidPercentage < 1 ||
        queue.spotBidPercentage > 100
      ) {
        error(
          `${base}.spotBidPercentage`,
          `The Spot bid percentage must be between 1 and 100; got ${queue.spotBidPercentage}.`,
        );
      } else if (spec.scheduler !== "awsbatch" || queue.capacityType !== "SPOT") {
        warn(
          `${base}.spotBidPercentage`,
          "The Spot bid percentage only applies to SPOT capacity on AWS Batch; it is ignored.",
        );
      }
    }
    if (queue.computeResources.length === 0) {
      error(`${base}.computeResources`, `Queue '${queue.name}' needs at least one compute resource.`);
    }
    const crNames = new Set<string>();
    queue.computeResources.forEach((cr, j) => {
      const crBase = `${base}.computeResources[${j}]`;
      checkName(cr.name, `${crBase}.name`, "Compute resource", error);
      if (crNames.has(cr.name) && cr.name !== "") {
        error(`${crBase}.name`, `Compute resource name '${cr.name}' is used twice in queue '${queue.name}'.`);
      }
      crNames.add(cr.name);
      if (cr.instanceTypes.length === 0)
        error(`${crBase}.instanceTypes`, "At least one instance type is required.");
      cr.instanceTypes.forEach((type, k) => {
        checkInstanceType(type, `${crBase}.instanceTypes[${k}]`, spec.scheduler === "awsbatch", error);
      });
      if (spec.scheduler === "slurm") validateNodeCounts(cr, crBase, error);
      else validateVcpus(cr, crBase, error);
    });
  });
}

function validateNodeCounts(
  cr: ClusterSpec["queues"][number]["computeResources"][number],
  base: string,
  error: Report,
): void {
  if (cr.minCount === undefined)
    error(`${base}.minCount`, "A slurm compute resource needs minCount (the nodes always running, often 0).");
  if (cr.maxCount === undefined)
    error(`${base}.maxCount`, "A slurm compute resource needs maxCount (the most nodes it scales to).");
  if (cr.minCount !== undefined && cr.minCount < 0)
    error(`${base}.minCount`, `The minimum node count cannot be negative; got ${cr.minCount}.`);
  if (cr.maxCount !== undefined && cr.maxCount < 1)
    error(`${base}.maxCount`, `The maximum node count must be at least 1; got ${cr.maxCount}.`);
  if (
    cr.minCount !== undefined &&
    cr.maxCount !== undefined &&
    cr.maxCount >= 1 &&
    cr.minCount > cr.maxCount
  ) {
    error(
      `${base}.minCount`,
      `The minimum node count (${cr.minCount}) is greater than the maximum (${cr.maxCount}).`,
    );
  }
}

function validateVcpus(
  cr: ClusterSpec["queues"][number]["computeResources"][number],
  base: string,
  error: Report,
): void {
  if (cr.minVcpus === undefined)
    error(`${base}.minVcpus`, "An AWS Batch compute resource needs minVcpus (often 0).");
  if (cr.maxVcpus === undefined) error(`${base}.maxVcpus`, "An AWS Batch compute resource needs maxVcpus.");
  const { minVcpus: min, desiredVcpus: desired, maxVcpus: max } = cr;
  if (min !== undefined && min < 0)
    error(`${base}.minVcpus`, `The minimum vCPUs cannot be negative; got ${min}.`);
  if (max !== undefined && max < 1)
    error(`${base}.maxVcpus`, `The maximum vCPUs must be at least 1; got ${max}.`);
  if (desired !== undefined && desired < 0)
    error(`${base}.desiredVcpus`, `The desired vCPUs cannot be negative; got ${desired}.`);
  if (min !== undefined && max !== undefined && max >= 1 && min > max) {
    error(`${base}.minVcpus`, `The minimum vCPUs (${min}) are more than the maximum (${max}).`);
    return;
  }
  if (desired !== undefined && min !== undefined && desired < min) {
    error(`${base}.desiredVcpus`, `The desired vCPUs (${desired}) are fewer than the minimum (${min}).`);
  }
  if (desired !== undefined && max !== undefined && desired > max) {
    error(`${base}.desiredVcpus`, `The desired vCPUs (${desired}) are more than the maximum (${max}).`);
  }
}

function validateStorage(spec: ClusterSpec, error: Report): void {
  const names = new Set<string>();
  const mounts = new Set<string>();
  spec.sharedStorage.forEach((storage, i) => {
    const base = `sharedStorage[${i}]`;
    checkName(storage.name, `${base}.name`, "Shared storage", error);
    if (names.has(storage.name) && storage.name !== "")
      error(`${base}.name`, `Shared storage name '${storage.name}' is used twice.`);
    names.add(storage.name);
    if (storage.mountDir !== "" && !/^\/[^\s]*$/.test(storage.mountDir)) {
      error(
        `${base}.mountDir`,
        `The mount directory must be an absolute path such as /fsx; got '${storage.mountDir}'.`,
      );
    } else if (storage.mountDir === "/") {
      error(`${base}.mountDir`, "Shared storage cannot be mounted on /.");
    } else if (mounts.has(storage.mountDir)) {
      error(`${base}.mountDir`, `Two shared storages are mounted on ${storage.mountDir}.`);
    }
    mounts.add(storage.mountDir);
  });
}

function validateTags(spec: ClusterSpec, error: Report): void {
  const entries = Object.entries(spec.tags);
  if (entries.length > MAX_TAGS)
    error("tags", `At most ${MAX_TAGS} tags are allowed; got ${entries.length}.`);
  for (const [key, value] of entries) {
    const path = `tags.${key}`;
    if (key.length === 0) error(path, "A tag key cannot be empty.");
    else if (key.length > MAX_TAG_KEY_LENGTH)
      error(path, `Tag key '${key.slice(0, 20)}...' is longer than ${MAX_TAG_KEY_LENGTH} characters.`);
    else if (key.toLowerCase().startsWith("aws:"))
      error(path, `Tag key '${key}' uses the reserved prefix aws:.`);
    if (value.length > MAX_TAG_VALUE_LENGTH)
      error(path, `The value of tag '${key}' is longer than ${MAX_TAG_VALUE_LENGTH} characters.`);
  }
}

function checkName(name: string, specPath: string, what: string, error: Report): void {
  if (name === "" || RESOURCE_NAME.test(name)) return;
  error(specPath, `${what} name '${name}' ${NAME_RULE}.`);
}

function checkInstanceType(type: string, specPath: string, batch: boolean, error: Report): void {
  if (type === "" || INSTANCE_TYPE.test(type)) return;
  if (batch && (type === "optimal" || INSTANCE_FAMILY.test(type))) return;
  const lower = type.toLowerCase();
  const hint =
    lower !== type && (INSTANCE_TYPE.test(lower) || (batch && INSTANCE_FAMILY.test(lower)))
      ? ` Instance types are lower case: ${lower}.`
      : batch
        ? " Use a type such as c5.xlarge, a family such as c5, or optimal."
        : " Use a type such as c5n.18xlarge or t2.micro.";
  error(specPath, `'${type}' is not an EC2 instance type.${hint}`);
}

function checkId(
  id: string | undefined,
  pattern: RegExp,
  specPath: string,
  what: string,
  error: Report,
): void {
  if (id === undefined || pattern.test(id)) return;
  error(specPath, `'${id}' is not ${what}.`);
}
