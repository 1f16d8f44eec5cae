import { loadConfig } from "#shared/config.ts";
import { type HttpResult, httpHandler } from "#shared/http/http-handler.ts";

const config = loadConfig();

/** GET /health: the API is up; says which version and backend answer. */
export async function health(): Promise<HttpResult> {
  return {
    statusCode: 200,
    json: { status: "ok", version: config.API_VERSION, backend: config.CLUSTER_BACKEND },
  };
}

export const handler = httpHandler(health);
