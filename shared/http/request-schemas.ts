import * as z from "zod";
import { ClusterStatusSchema } from "../domain/cluster.ts";
import { CLUSTER_NAME } from "../domain/cluster-spec.ts";

/**
 * One zod schema per operation's input, at the edge. `test/unit/contract/schema-drift.test.ts` checks each
 * against `openapi.yaml`, so the contract and the code cannot drift apart.
 */

const clusterName = z
  .string()
  .regex(
    CLUSTER_NAME,
    "must start with a letter and hold only letters, digits and hyphens, at most 60 characters",
  );

/** Tags the user attaches to the cluster (and its stack). */
export const TagsSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\p{L}\p{N}\s_.:/=+\-@]+$/u, "tag keys use letters, digits, spaces and _.:/=+-@"),
    z.string().max(256),
  )
  .refine((tags) => Object.keys(tags).length <= 50, "at most 50 tags");

export const ClusterNameParamsSchema = z.object({ name: clusterName });

export const CreateClusterBodySchema = z.strictObject({
  name: clusterName,
  configuration: z.string().min(1, "the cluster configuration is required"),
  configurationEncoding: z.enum(["base64", "text"]).default("text"),
  clientToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters: letters, digits, '-' and '_'")
    .optional(),
  dryRun: z.boolean().default(false),
  rollbackOnFailure: z.boolean().default(true),
  tags: TagsSchema.default({}),
});
export type CreateClusterBody = z.infer<typeof CreateClusterBodySchema>;

const limit = z.coerce
  .number({ error: "limit must be a whole number from 1 to 100" })
  .int("limit must be a whole number from 1 to 100")
  .min(1, "limit must be at least 1")
  .max(100, "limit must be at most 100");

export const ListClustersQuerySchema = z.strictObject({
  limit: limit.default(50),
  nextToken: z.string().min(1).max(2048).optional(),
  status: ClusterStatusSchema.optional(),
});
export type ListClustersQuery = z.infer<typeof ListClustersQuerySchema>;

export const ListEventsQuerySchema = z.strictObject({
  limit: limit.default(50),
  nextToken: z.string().min(1).max(2048).optional(),
  source: z.enum(["status", "stack"]).default("status"),
});

/** The pcluster v2 commands the command endpoint serves. */
export const PclusterCommandSchema = z.enum(["create", "status", "delete", "list", "version"]);

export const PclusterCommandQuerySchema = z.strictObject({
  command: PclusterCommandSchema,
  cluster_name: clusterName.optional(),
});
export type PclusterCommandQuery = z.infer<typeof PclusterCommandQuerySchema>;
