import { type AppConfig, loadConfig } from "../config.ts";

let cached: AppConfig | undefined;

/** The process's settings, parsed once (at the first handler's init) and shared. */
export function settings(): AppConfig {
  cached ??= loadConfig();
  return cached;
}
