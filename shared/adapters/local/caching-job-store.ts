import type { Job } from "../../domain/job.ts";
import type { JobChanges, JobListRequest, JobStore, JobSummary } from "../../ports/job-store.ts";
import type { Page, PageRequest } from "../../ports/page.ts";

/**
 * A write-through cache of job records in front of another store, for the local server only, where the
 * process is the sole writer of its embedded database: every change passes through here, so a cached
 * record is never stale. Reads of one job (each scheduler event reads the record it updates) skip the
 * database; listings still read it. A write whose condition failed evicts the entry.
 */
export class CachingJobStore implements JobStore {
  readonly #records = new Map<string, Job>();

  constructor(
    private readonly inner: JobStore,
    private readonly maxEntries = 20_000,
  ) {}

  async create(job: Job): Promise<void> {
    await this.inner.create(job);
    // As stored: the database keeps no undefined fields.
    this.#remember(JSON.parse(JSON.stringify(job)) as Job);
  }

  async get(clusterName: string, jobId: string): Promise<Job | undefined> {
    const cached = this.#records.get(key(clusterName, jobId));
    // A copy, as the database would give: a caller mutating its result cannot change the cache.
    if (cached) return structuredClone(cached);
    const job = await this.inner.get(clusterName, jobId);
    if (job) this.#remember(job);
    return job;
  }

  async update(
    clusterName: string,
    jobId: string,
    expectedVersion: number,
    changes: JobChanges,
  ): Promise<Job> {
    try {
      const updated = await this.inner.update(clusterName, jobId, expectedVersion, changes);
      const current = this.#records.get(key(clusterName, jobId));
      // Keep the newest: two writes can return out of order.
      if (!current || current.version <= updated.version) this.#remember(updated);
      return updated;
    } catch (error) {
      this.#records.delete(key(clusterName, jobId));
      throw error;
    }
  }

  list(clusterName: string, request: JobListRequest): Promise<Page<JobSummary>> {
    return this.inner.list(clusterName, request);
  }

  listActive(request: PageRequest): Promise<Page<Pick<Job, "clusterName" | "jobId">>> {
    return this.inner.listActive(request);
  }

  #remember(job: Job): void {
    const k = key(job.clusterName, job.jobId);
    this.#records.delete(k);
    this.#records.set(k, job);
    if (this.#records.size > this.maxEntries) {
      const oldest = this.#records.keys().next().value;
      if (oldest !== undefined) this.#records.delete(oldest);
    }
  }
}

function key(clusterName: string, jobId: string): string {
  return `${clusterName}\u0000${jobId}`;
}
