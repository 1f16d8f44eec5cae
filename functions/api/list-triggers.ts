import { triggerStores } from "#shared/composition/trigger-stores.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { triggerSummaryResource } from "#shared/http/representations.ts";
import { parseQuery } from "#shared/http/request-parsing.ts";
import { ListTriggersQuerySchema } from "#shared/http/request-schemas.ts";
import { makeListTriggers } from "#shared/use-cases/manage-triggers.ts";

const listTriggersUseCase = makeListTriggers(triggerStores());

/** GET /v1/triggers: rules by name, one page at a time. */
export async function listTriggers(request: HttpRequest): Promise<HttpResult> {
  const query = parseQuery(request, ListTriggersQuerySchema);
  const page = await listTriggersUseCase(query);
  return {
    statusCode: 200,
    json: {
      items: page.items.map(triggerSummaryResource),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    },
  };
}

export const handler = httpHandler(listTriggers);
