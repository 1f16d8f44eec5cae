import { triggerStores } from "#shared/composition/trigger-stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { parsePathParams } from "#shared/http/request-parsing.ts";
import { TriggerNameParamsSchema } from "#shared/http/request-schemas.ts";
import { makeDeleteTrigger } from "#shared/use-cases/manage-triggers.ts";

const deleteTriggerUseCase = makeDeleteTrigger(triggerStores());

/** DELETE /v1/triggers/{name}: 204; later events no longer match the rule, its cluster and jobs stay. */
export async function deleteTrigger(request: HttpRequest): Promise<HttpResult> {
  const { name } = parsePathParams(request, TriggerNameParamsSchema);
  await deleteTriggerUseCase(name);
  return { statusCode: 204 };
}

export const handler = httpHandler(deleteTrigger);
