import { ClusterStatusSchema } from "../domain/cluster.ts";
import { CLUSTER_NAME } from "../domain/cluster-spec.ts";
import * as z from "../domain/zod.ts";

/**
 * One zod schema per operation's input, at the edge. `test/unit/contract/schema-drift.test.ts` checks each
 * against `openapi.yaml`, so the contract and the code cannot drift apart.
 */

const clusterName = z
  .string()
  .check(
    z.regex(
      CLUSTER_NAME,
      "must start with a letter and hold only letters, digits and hyphens, at most 60 characters",
    ),
  );

/** Tags the user attaches to the cluster (and its stack). */
export const TagsSchema = z
  .record(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(128),
        z.regex(/^[\p{L}\p{N}\s_.:/=+\-@]+$/u, "tag keys use letters, digits, spaces and _.:/=+-@"),
      ),
    z.string().check(z.maxLength(256)),
  )
  .check(z.refine((tags) => Object.keys(tags).length <= 50, "at most 50 tags"));

export const ClusterNameParamsSchema = z.object({ name: clusterName });

export const CreateClusterBodySchema = z.strictObject({
  name: clusterName,
  configuration: z.string().check(z.minLength(1, "the cluster configuration is required")),
  configurationEncoding: z._default(z.enum(["base64", "text"]), "text"),
  clientToken: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters: letters, digits, '-' and '_'")),
  ),
  dryRun: z._default(z.boolean(), false),
  rollbackOnFailure: z._default(z.boolean(), true),
  tags: z._default(TagsSchema, {}),
});
export type CreateClusterBody = z.infer<typeof CreateClusterBodySchema>;

const limit = z._default(
  z.coerce
    .number({ error: "limit must be a whole number from 1 to 100" })
    .check(
      z.int("limit must be a whole number from 1 to 100"),
      z.minimum(1, "limit must be at least 1"),
      z.maximum(100, "limit must be at most 100"),
    ),
  50,
);
const nextToken = z.optional(z.string().check(z.minLength(1), z.maxLength(2048)));

export const ListClustersQuerySchema = z.strictObject({
  limit,
  nextToken,
  status: z.optional(ClusterStatusSchema),
});
export type ListClustersQuery = z.infer<typeof ListClustersQuerySchema>;

export const ListEventsQuerySchema = z.strictObject({
  limit,
  nextToken,
  source: z._default(z.enum(["status", "stack"]), "status"),
});

/** The pcluster v2 commands the command endpoint serves. */
export const PclusterCommandSchema = z.enum(["create", "status", "delete", "list", "version"]);

export const PclusterCommandQuerySchema = z.strictObject({
  command: PclusterCommandSchema,
  cluster_name: z.optional(clusterName),
});
export type PclusterCommandQuery = z.infer<typeof PclusterCommandQuerySchema>;
