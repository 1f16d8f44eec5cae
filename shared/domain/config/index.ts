/**
 * Cluster configurations in: request body decoding, format detection, ParallelCluster 3 YAML /
 * ParallelCluster 2 INI / JSON parsing, normalization into a `ClusterSpec`, and validation.
 */
export { decodeConfiguration, MAX_CONFIG_BYTES } from "./decode-configuration.ts";
export { detectConfigFormat } from "./detect-format.ts";
export { parseClusterConfig } from "./parse-cluster-config.ts";
