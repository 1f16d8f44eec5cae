import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { systemClock } from "../adapters/system.ts";
import type { AppConfig } from "../config.ts";
import type { Job } from "../domain/job.ts";
import type { InputUriFor } from "../domain/trigger-matching.ts";
import { makeCreateCluster } from "../use-cases/create-cluster.ts";
import { makeDeleteCluster } from "../use-cases/delete-cluster.ts";
import { makeFinishTriggeredJob, makeSweepIdleTriggerClusters } from "../use-cases/finish-triggered-job.ts";
import type { IngestDeps } from "../use-cases/ingest-object-events.ts";
import { makeSettleWaitingJobs } from "../use-cases/waiting-jobs.ts";
import { clusterDeps } from "./cluster-deps.ts";
import { jobDeps } from "./job-deps.ts";
import { settings } from "./settings.ts";
import { triggerStores } from "./trigger-stores.ts";

/**
 * Where a job finds its input: the object in S3, or in local mode the file the inbox watcher saw under
 * `DATA_DIR/inbox/<bucket>/<key>` (a `file://` URI, percent-encoded as URIs are).
 */
export function inputUriFor(config: Pick<AppConfig, "CLUSTER_BACKEND" | "DATA_DIR">): InputUriFor {
  if (config.CLUSTER_BACKEND === "local") {
    const inbox = join(config.DATA_DIR, "inbox");
    return (bucket, key, isPrefix) => {
      const href = pathToFileURL(join(inbox, bucket, key)).href;
      return isPrefix && !href.endsWith("/") ? `${href}/` : href;
    };
  }
  return (bucket, key) => `s3://${bucket}/${key}`;
}

/** What happens when a job a rule made has ended, and when a cluster its jobs wait for has settled. */
export interface TriggerWorkflow {
  /** whenDone: delete the cluster once nothing uses it. */
  readonly jobFinished: (job: Job) => Promise<void>;
  /** Submits (or fails) the jobs waiting for this cluster. */
  readonly settleWaitingJobs: ReturnType<typeof makeSettleWaitingJobs>;
  /** The reconciler's whenDone: deletes rule-made clusters idle for a while, whose deletion was missed. */
  readonly sweepIdleClusters: () => Promise<string[]>;
}

/** How long a rule's cluster with `whenDone: delete` must have had no job before the reconciler deletes it. */
const IDLE_CLUSTER_SECONDS = 600;

let workflow: TriggerWorkflow | undefined;

/** The workflow hooks, built once per process. */
export function triggerWorkflow(): TriggerWorkflow {
  if (workflow) return workflow;
  const clusters = clusterDeps();
  const jobs = jobDeps();
  const deleteCluster = makeDeleteCluster(clusters);
  const finish = makeFinishTriggeredJob(jobs, deleteCluster);
  const jobFinished = async (job: Job) => {
    await finish(job);
  };
  workflow = {
    jobFinished,
    settleWaitingJobs: makeSettleWaitingJobs(jobs, jobFinished),
    sweepIdleClusters: makeSweepIdleTriggerClusters(
      { ...jobs, triggers: triggerStores().triggers },
      deleteCluster,
      IDLE_CLUSTER_SECONDS,
    ),
  };
  return workflow;
}

/** Everything the S3 input use case takes. */
export function ingestDeps(): IngestDeps {
  const clusters = clusterDeps();
  const jobs = jobDeps();
  const { triggers, inputLedger } = triggerStores();
  const createCluster = makeCreateCluster(clusters);
  return {
    store: clusters.store,
    clock: systemClock,
    jobs: jobs.jobs,
    schedulers: jobs.schedulers,
    triggers,
    ledger: inputLedger,
    uriFor: inputUriFor(settings()),
    createCluster: (command) =>
      createCluster({
        ...command,
        configurationEncoding: "text",
        dryRun: false,
        rollbackOnFailure: true,
      }),
    onJobFailed: triggerWorkflow().jobFinished,
  };
}
