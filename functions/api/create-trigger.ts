import { triggerDeps } from "#shared/composition/trigger-deps.ts";
import { type HttpRequest, type HttpResult, httpHandler } from "#shared/http/http-handler.ts";
import { triggerResource } from "#shared/http/representations.ts";
import { parseJsonBody } from "#shared/http/request-parsing.ts";
import { CreateTriggerBodySchema } from "#shared/http/request-schemas.ts";
import { MAX_TRIGGER_BODY_BYTES, toCreateTriggerCommand } from "#shared/http/trigger-request.ts";
import { makeCreateTrigger } from "#shared/use-cases/manage-triggers.ts";

const createTriggerUseCase = makeCreateTrigger(triggerDeps());

/** POST /v1/triggers: 201 with the rule (and its warnings), once everything an event needs checks out. */
export async function createTrigger(request: HttpRequest): Promise<HttpResult> {
  const body = parseJsonBody(request, CreateTriggerBodySchema, { maxBytes: MAX_TRIGGER_BODY_BYTES });
  const { rule, warnings } = await createTriggerUseCase(toCreateTriggerCommand(body, request.principal));
  const resource = triggerResource(rule, warnings);
  return { statusCode: 201, json: resource, headers: { Location: resource.links.self } };
}

export const handler = httpHandler(createTrigger);
