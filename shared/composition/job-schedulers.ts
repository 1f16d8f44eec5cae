import { createBatchClient, createLogsClient, createSsmClient } from "../adapters/aws/aws-clients.ts";
import { BatchJobScheduler } from "../adapters/aws/batch-job-scheduler.ts";
import { SlurmSsmScheduler } from "../adapters/aws/slurm-ssm-scheduler.ts";
import type { JobSchedulers } from "../use-cases/deps.ts";
import { jobStore } from "./job-store.ts";
import { settings } from "./settings.ts";
import { stores } from "./stores.ts";

let cached: JobSchedulers | undefined;

/** Hands in other schedulers (the local server's job runner) before the handlers load. */
export function useJobSchedulers(schedulers: JobSchedulers): void {
  cached = schedulers;
}

/** AWS Batch for `awsbatch` clusters, Slurm over SSM for `slurm` clusters; clients built once, here. */
export function jobSchedulers(): JobSchedulers {
  if (cached) return cached;
  if (settings().CLUSTER_BACKEND === "local") {
    throw new Error("CLUSTER_BACKEND=local runs inside the local server only (npm start), which provides it");
  }
  const resolveExternalId = async (clusterName: string, jobId: string) =>
    (await jobStore().get(clusterName, jobId))?.externalId;
  const batch = new BatchJobScheduler({
    batch: createBatchClient(),
    logs: createLogsClient(),
    resolveExternalId,
  });
  const slurm = new SlurmSsmScheduler({
    ssm: createSsmClient(),
    getCluster: (name) => stores().store.get(name),
    resolveExternalId,
  });
  cached = {
    kindFor: (cluster) => (cluster.scheduler === "awsbatch" ? "awsbatch" : "slurm"),
    forCluster: (cluster) => (cluster.scheduler === "awsbatch" ? batch : slurm),
  };
  return cached;
}
