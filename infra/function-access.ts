import type { ObjectAccess, StackAction, TableAccess } from "./constructs/house-function.ts";

/**
 * What each function may touch, by handler name (the entry file's base name). The stateless stack turns
 * each profile into `use...()` calls, which set the environment variable and the grant together. A
 * handler without a profile fails synthesis: a new route or event function is a decision about access.
 */
export interface FunctionAccess {
  readonly table?: TableAccess;
  /** CloudFormation actions on our stacks. `create` or `delete` also brings the stack-resources policies. */
  readonly stacks?: readonly StackAction[];
  readonly templateBucket?: ObjectAccess;
}

const PROVISIONING: FunctionAccess = {
  table: "readWrite",
  stacks: ["create", "delete", "describe"],
  // Templates over 51,200 bytes go to the bucket first; CreateStack reads them back with our credentials.
  templateBucket: "readWrite",
};

export const FUNCTION_ACCESS: Readonly<Record<string, FunctionAccess>> = {
  "create-cluster": { table: "readWrite", stacks: ["create", "describe"], templateBucket: "readWrite" },
  "get-cluster": { table: "read" },
  "list-clusters": { table: "read" },
  "list-cluster-events": { table: "read", stacks: ["describeEvents"] },
  "delete-cluster": { table: "readWrite", stacks: ["delete", "describe"] },
  // The blog's command endpoint runs create, status, list and delete: the union of those four.
  "pcluster-command": PROVISIONING,
  health: { table: "none" },
  "get-openapi": {},
  "stack-status": { table: "readWrite", stacks: ["describe", "describeEvents"] },
  // Finishes what a lost event or a failed call left half done: may create or delete a stack again.
  reconcile: PROVISIONING,
};

/** The profile of `handler`; throws when there is none. */
export function accessOf(handler: string): FunctionAccess {
  const access = FUNCTION_ACCESS[handler];
  if (access === undefined) {
    throw new Error(
      `No access profile for function '${handler}': add it to infra/function-access.ts (what it reads, writes and calls).`,
    );
  }
  return access;
}
