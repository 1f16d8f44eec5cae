import { Logger } from "@aws-lambda-powertools/logger";

/** One structured logger per process (Powertools: JSON lines, request id and cold start as keys). */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "hpc-cluster-api" });
