import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ParsedConfig } from "#shared/domain/cluster-spec.ts";
import { parseClusterConfig } from "#shared/domain/config/index.ts";
import type { DomainError } from "#shared/domain/errors.ts";

const FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/configs/", import.meta.url));

/** The text of a sample configuration in test/fixtures/configs. */
export function fixture(name: string): string {
  return readFileSync(`${FIXTURES_DIR}${name}`, "utf8");
}

/** Names of the sample configurations whose name starts with `prefix`. */
export function fixtureNames(prefix: string): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.startsWith(prefix))
    .sort();
}

/** The 1-based line of the first line of `text` that contains `needle`; fails loudly when there is none. */
export function lineOf(text: string, needle: string): number {
  const index = text.split("\n").findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`fixture has no line containing '${needle}'`);
  return index + 1;
}

/** Runs `fn`, expecting it to throw; returns what it threw so the test can look at it. */
export function thrownBy(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error("expected an error, but nothing was thrown");
}

/** Parses a fixture that must be valid. */
export function parseFixture(name: string): ParsedConfig {
  return parseClusterConfig(fixture(name));
}

/** The minimal documented slurm configuration with `count` queues, for limits and timing. */
export function slurmConfigWithQueues(count: number): string {
  const queues = Array.from(
    { length: count },
    (_, i) => `  - Name: queue${i}
    ComputeResources:
    - Name: cr${i}
      InstanceType: c5.xlarge
      MinCount: 0
      MaxCount: 10
    Networking:
      SubnetIds:
      - subnet-12345678
`,
  ).join("");
  return `Region: us-east-1
Image:
  Os: alinux2
HeadNode:
  InstanceType: t2.micro
  Networking:
    SubnetId: subnet-12345678
Scheduling:
  Scheduler: slurm
  SlurmQueues:
${queues}`;
}
