import { createCloudFormationClient, createS3Client } from "../adapters/aws/aws-clients.ts";
import { CloudFormationStackProvisioner } from "../adapters/aws/cloudformation-stack-provisioner.ts";
import type { StackProvisioner } from "../ports/stack-provisioner.ts";
import { settings } from "./settings.ts";

let cached: StackProvisioner | undefined;

/**
 * Hands in the provisioner to use instead of CloudFormation: the local server does, with its simulated
 * stacks, before it loads the handlers. Keeps local-only code out of the Lambda bundles.
 */
export function useProvisioner(provisioner: StackProvisioner): void {
  cached = provisioner;
}

/** The `StackProvisioner`: CloudFormation, unless the local server handed in its own. */
export function provisioner(): StackProvisioner {
  if (cached) return cached;
  const config = settings();
  if (config.CLUSTER_BACKEND === "local") {
    throw new Error("CLUSTER_BACKEND=local runs inside the local server only (npm start), which provides it");
  }
  cached = new CloudFormationStackProvisioner({
    cloudFormation: createCloudFormationClient(),
    ...(config.TEMPLATE_BUCKET ? { s3: createS3Client(), templateBucket: config.TEMPLATE_BUCKET } : {}),
    ...(config.PCLUSTER_SERVICE_TOKEN ? { pclusterServiceToken: config.PCLUSTER_SERVICE_TOKEN } : {}),
    ...(config.BATCH_SERVICE_ROLE_ARN ? { batchServiceRoleArn: config.BATCH_SERVICE_ROLE_ARN } : {}),
  });
  return cached;
}
