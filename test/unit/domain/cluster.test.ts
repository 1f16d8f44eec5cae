import { describe, expect, it } from "vitest";
import {
  assertTransition,
  CLUSTER_STATUSES,
  type ClusterStatus,
  canTransition,
  holdsName,
  isForward,
  isInProgress,
  nextStatuses,
} from "#shared/domain/cluster.ts";
import { InvalidTransitionError } from "#shared/domain/errors.ts";

/**
 * The expected state machine, written from the ParallelCluster / CloudFormation lifecycle rather than
 * copied from the module, so a change to the module's table has to be argued for here too.
 */
function operation(status: ClusterStatus): "CREATE" | "UPDATE" | "DELETE" {
  return status.split("_")[0] as "CREATE" | "UPDATE" | "DELETE";
}

function expectedLegal(from: ClusterStatus, to: ClusterStatus): boolean {
  if (from === to) return false;
  // A running operation ends in its own COMPLETE or FAILED.
  if (from.endsWith("_IN_PROGRESS")) {
    const op = operation(from);
    if (to === `${op}_COMPLETE` || to === `${op}_FAILED`) return true;
  }
  // A delete may be requested for any live cluster not already deleting (also mid-create or mid-update),
  // and retried after it failed.
  if (to === "DELETE_IN_PROGRESS") return operation(from) !== "DELETE" || from === "DELETE_FAILED";
  // An update starts from a stable, usable stack; a failed create (ROLLBACK_COMPLETE) can only be deleted.
  if (to === "UPDATE_IN_PROGRESS")
    return from === "CREATE_COMPLETE" || from === "UPDATE_COMPLETE" || from === "UPDATE_FAILED";
  // A failed delete can still end: the stack may be gone after all (a retry, or removed by hand).
  return from === "DELETE_FAILED" && to === "DELETE_COMPLETE";
}

/** How far along the lifecycle a status is; an observed status may only move to a later phase. */
const PHASE: Readonly<Record<ClusterStatus, number>> = {
  CREATE_IN_PROGRESS: 0,
  CREATE_COMPLETE: 1,
  CREATE_FAILED: 1,
  UPDATE_IN_PROGRESS: 2,
  UPDATE_COMPLETE: 2,
  UPDATE_FAILED: 2,
  DELETE_IN_PROGRESS: 3,
  DELETE_FAILED: 3,
  DELETE_COMPLETE: 4,
};

const PAIRS = CLUSTER_STATUSES.flatMap((from) =>
  CLUSTER_STATUSES.map((to) => ({ from, to, legal: expectedLegal(from, to) })),
);

describe("the cluster state machine", () => {
  it("covers all 81 pairs of the 9 statuses", () => {
    expect(CLUSTER_STATUSES).toHaveLength(9);
    expect(PAIRS).toHaveLength(81);
  });

  it.each(PAIRS)("$from -> $to is legal: $legal", ({ from, to, legal }) => {
    expect(canTransition(from, to)).toBe(legal);
    expect(nextStatuses(from).includes(to)).toBe(legal);
    if (legal) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      const thrown = (() => {
        try {
          assertTransition(from, to);
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      expect(thrown).toBeInstanceOf(InvalidTransitionError);
      expect(thrown).toMatchObject({ from, to, code: "invalid-transition" });
      expect((thrown as Error).message).toContain(`${from} to ${to}`);
    }
  });

  it("lets nothing leave DELETE_COMPLETE", () => {
    expect(nextStatuses("DELETE_COMPLETE")).toEqual([]);
  });
});

describe("isForward", () => {
  it.each(
    PAIRS.map(({ from, to, legal }) => ({
      from,
      to,
      forward: from !== to && from !== "DELETE_COMPLETE" && (legal || PHASE[to] > PHASE[from]),
    })),
  )("$from -> $to is forward: $forward", ({ from, to, forward }) => {
    expect(isForward(from, to)).toBe(forward);
  });

  it("never moves to an earlier phase of the lifecycle", () => {
    const backwards = PAIRS.filter(({ from, to }) => PHASE[to] < PHASE[from]);

    expect(backwards.length).toBeGreaterThan(0);
    for (const { from, to } of backwards) expect(isForward(from, to), `${from} -> ${to}`).toBe(false);
  });

  it("does not take a cluster being deleted back to CREATE_COMPLETE", () => {
    expect(isForward("DELETE_IN_PROGRESS", "CREATE_COMPLETE")).toBe(false);
  });

  it("jumps from CREATE_IN_PROGRESS to DELETE_COMPLETE when the steps between were missed", () => {
    expect(isForward("CREATE_IN_PROGRESS", "DELETE_COMPLETE")).toBe(true);
  });

  it("moves DELETE_COMPLETE to nothing at all", () => {
    for (const to of CLUSTER_STATUSES) expect(isForward("DELETE_COMPLETE", to), to).toBe(false);
  });

  it("does not swap one outcome of an operation for the other", () => {
    expect(isForward("CREATE_COMPLETE", "CREATE_FAILED")).toBe(false);
    expect(isForward("CREATE_FAILED", "CREATE_COMPLETE")).toBe(false);
    expect(isForward("UPDATE_COMPLETE", "UPDATE_FAILED")).toBe(false);
    expect(isForward("UPDATE_FAILED", "UPDATE_COMPLETE")).toBe(false);
  });
});

describe("status predicates", () => {
  it("reports exactly the three *_IN_PROGRESS statuses as in progress", () => {
    expect(CLUSTER_STATUSES.filter(isInProgress)).toEqual([
      "CREATE_IN_PROGRESS",
      "UPDATE_IN_PROGRESS",
      "DELETE_IN_PROGRESS",
    ]);
  });

  it("lets every status but DELETE_COMPLETE hold the cluster's name", () => {
    expect(CLUSTER_STATUSES.filter((status) => !holdsName(status))).toEqual(["DELETE_COMPLETE"]);
  });
});
