import { ConcurrentModificationError, JobNotFoundError } from "../domain/errors.ts";
import type { Job } from "../domain/job.ts";
import type { JobChanges, JobStore } from "../ports/job-store.ts";

const MAX_ATTEMPTS = 6;

/**
 * Read-decide-write on a job with optimistic locking: `decide` sees the current record and returns the
 * change (or undefined for none); when another writer got there first it runs again on the new state.
 */
export async function mutateJob(
  jobs: JobStore,
  clusterName: string,
  jobId: string,
  decide: (current: Job) => JobChanges | undefined,
  /**
   * The record as the caller just read or wrote it: the first try starts from it, saving a read. Pass it
   * only when a change is expected: were `decide` to find nothing to change in it, it would be returned
   * as it is, unread.
   */
  known?: Job,
): Promise<Job> {
  for (let attempt = 1; ; attempt++) {
    const current = attempt === 1 && known ? known : await jobs.get(clusterName, jobId);
    if (!current) throw new JobNotFoundError(clusterName, jobId);
    const changes = decide(current);
    if (!changes) return current;
    try {
      return await jobs.update(clusterName, jobId, current.version, changes);
    } catch (error) {
      if (!(error instanceof ConcurrentModificationError) || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
