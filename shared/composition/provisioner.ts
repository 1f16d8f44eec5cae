import { createCloudFormationClient, createS3Client } from "../adapters/aws/aws-clients.ts";
import { CloudFormationStackProvisioner } from "../adapters/aws/cloudformation-stack-provisioner.ts";
import { LocalEventBus } from "../adapters/local/local-event-bus.ts";
import { LocalStackProvisioner } from "../adapters/local/local-stack-provisioner.ts";
import { systemClock } from "../adapters/system.ts";
import type { StackProvisioner } from "../ports/stack-provisioner.ts";
import { settings } from "./settings.ts";

/** Local mode's simulated AWS services, which the local server drives. */
export interface LocalBackend {
  readonly bus: LocalEventBus;
  readonly provisioner: LocalStackProvisioner;
}

let cachedProvisioner: StackProvisioner | undefined;
let cachedLocal: LocalBackend | undefined;

/** The local backend (its event bus and simulated stacks), built once per process. */
export function localBackend(): LocalBackend {
  if (!cachedLocal) {
    const config = settings();
    const bus = new LocalEventBus();
    cachedLocal = {
      bus,
      provisioner: new LocalStackProvisioner({
        dataDir: config.DATA_DIR,
        delayMs: config.LOCAL_STACK_DELAY_MS,
        bus,
        clock: systemClock,
      }),
    };
  }
  return cachedLocal;
}

/** The `StackProvisioner` of `CLUSTER_BACKEND`: CloudFormation, or the local simulation. */
export function provisioner(): StackProvisioner {
  if (cachedProvisioner) return cachedProvisioner;
  const config = settings();
  cachedProvisioner =
    config.CLUSTER_BACKEND === "local"
      ? localBackend().provisioner
      : new CloudFormationStackProvisioner({
          cloudFormation: createCloudFormationClient(),
          ...(config.TEMPLATE_BUCKET ? { s3: createS3Client(), templateBucket: config.TEMPLATE_BUCKET } : {}),
          ...(config.PCLUSTER_SERVICE_TOKEN ? { pclusterServiceToken: config.PCLUSTER_SERVICE_TOKEN } : {}),
          ...(config.BATCH_SERVICE_ROLE_ARN ? { batchServiceRoleArn: config.BATCH_SERVICE_ROLE_ARN } : {}),
        });
  return cachedProvisioner;
}
