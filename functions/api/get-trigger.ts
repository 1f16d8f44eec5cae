import { triggerStores } from "#shared/composition/trigger-stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { triggerResource } from "#shared/http/representations.ts";
import { parsePathParams } from "#shared/http/request-parsing.ts";
import { TriggerNameParamsSchema } from "#shared/http/request-schemas.ts";
import { makeGetTrigger } from "#shared/use-cases/manage-triggers.ts";

const getTriggerUseCase = makeGetTrigger(triggerStores());

/** GET /v1/triggers/{name}: the rule with its templates and its recent failures. */
export async function getTrigger(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, TriggerNameParamsSchema);
  return { statusCode: 200, json: triggerResource(await getTriggerUseCase(name)) };
}

export const handler = httpHandler(getTrigger);
