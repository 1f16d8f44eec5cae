import type { Cluster } from "../domain/cluster.ts";
import { ServiceUnavailableError } from "../domain/errors.ts";
import { isTerminalJob, type Job } from "../domain/job.ts";
import { CANCEL_REASON_PREFIX } from "./cancel-job.ts";
import type { JobDeps } from "./deps.ts";
import { mutateJob } from "./mutate-job.ts";

/** How the reason of a job the scheduler refused begins. */
export const REFUSED_REASON_PREFIX = "The scheduler refused the job";

/** Options of {@link dispatchJob}. */
export interface DispatchOptions {
  /** Runs when the scheduler refused the job (before the error is rethrown): e.g. release a client token. */
  readonly onRefused?: () => Promise<void>;
  /**
   * Which errors are a refusal that ends the job (FAILED, with the reason). Others leave the record as it
   * is, for the caller to retry. Default: every error (a caller answering a person lets them retry).
   */
  readonly isRefusal?: (error: unknown) => boolean;
}

/**
 * For callers that retry on their own (event paths): every error ends the job (FAILED, with the reason)
 * except one that proves nothing was submitted (throttling, a Slurm that refused for now), which is
 * retried. An error that may hide a submission (a time-out, a 5xx, a head node that has not answered) is
 * never retried, so that a job never runs twice.
 */
export function isFinalRefusal(error: unknown): boolean {
  return !(error instanceof ServiceUnavailableError && error.notApplied);
}

/**
 * Hands a recorded job to its cluster's scheduler and records the scheduler's id. A scheduler that
 * refuses the job leaves the record FAILED with its reason (kept for accounting) and the error is
 * rethrown. Once the scheduler has the job, a failure is no longer a refusal: `onRefused` is not called.
 */
export async function dispatchJob(
  deps: Pick<JobDeps, "jobs" | "schedulers" | "clock">,
  job: Job,
  cluster: Cluster,
  options: DispatchOptions = {},
): Promise<Job> {
  const scheduler = deps.schedulers.forCluster(cluster);
  let externalId: string;
  try {
    ({ externalId } = await scheduler.submit(job, cluster));
  } catch (error) {
    if (options.isRefusal && !options.isRefusal(error)) throw error;
    await mutateJob(deps.jobs, job.clusterName, job.jobId, (current) =>
      isTerminalJob(current.status)
        ? undefined
        : {
            status: "FAILED",
            statusReason: `${REFUSED_REASON_PREFIX}: ${(error as Error).message}`,
            stoppedAt: deps.clock.now().toISOString(),
            updatedAt: deps.clock.now().toISOString(),
          },
    ).catch(() => undefined);
    await options.onRefused?.();
    throw error;
  }
  let cancelledOnTheWay = false;
  // The scheduler may already have reported progress (the local runner is that quick): only add the id.
  const submitted = await mutateJob(
    deps.jobs,
    job.clusterName,
    job.jobId,
    (current) => {
      cancelledOnTheWay = current.status === "CANCELLED" && !current.externalId;
      return current.externalId ? undefined : { externalId, updatedAt: deps.clock.now().toISOString() };
    },
    job,
  );
  // A cancel that came while the job was on its way found nothing to stop: stop it now that it exists.
  if (cancelledOnTheWay) await scheduler.cancel(submitted, submitted.statusReason ?? CANCEL_REASON_PREFIX);
  return submitted;
}
