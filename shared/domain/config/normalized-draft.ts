import type { ClusterSpec } from "../cluster-spec.ts";
import type { SourceMap } from "./issue-collector.ts";

/**
 * What a format parser hands to the common validation: the spec as far as it could be built (fields it could
 * not read hold empty stand-ins, and an error was recorded for each) and where each field came from.
 */
export interface NormalizedDraft {
  readonly spec: ClusterSpec;
  readonly sourceMap: SourceMap;
}
