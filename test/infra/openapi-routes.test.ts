import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  deployedRoutes,
  handlerNames,
  parseOpenApiRoutes,
  toGatewayModelSchema,
} from "../../infra/openapi-routes.ts";

const SPEC_PATH = fileURLToPath(new URL("../../openapi.yaml", import.meta.url));

const SPEC = `
openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /things/{id}:
    parameters:
      - $ref: "#/components/parameters/Id"
      - { name: verbose, in: query, required: false, schema: { type: boolean } }
    get:
      operationId: getThing
      x-handler: get-thing
      parameters:
        - { name: verbose, in: query, required: true, schema: { type: boolean } }
        - { name: session, in: cookie, schema: { type: string } }
    put:
      operationId: putThing
      x-handler: put-thing
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Thing" }
  /copy:
    post: &copy
      operationId: copyThing
      x-handler: put-thing
components:
  parameters:
    Id: { name: id, in: path, required: true, schema: { type: string } }
  schemas:
    Name: { type: string, pattern: "^[a-z]+$", minLength: 1 }
    Thing:
      type: object
      additionalProperties: false
      required: [name]
      properties:
        name: { $ref: "#/components/schemas/Name" }
        tags:
          type: object
          propertyNames: { pattern: "^\\\\p{L}+$" }
          additionalProperties: { type: string, maxLength: 3, format: hostname }
`;

describe("parseOpenApiRoutes", () => {
  it("lists every operation with its method, handler and merged parameters", () => {
    const routes = parseOpenApiRoutes(SPEC);

    expect(routes.map((r) => `${r.method} ${r.path} ${r.handler}`)).toEqual([
      "GET /things/{id} get-thing",
      "PUT /things/{id} put-thing",
      "POST /copy put-thing",
    ]);
    // The operation's `verbose` overrides the path item's; cookies are not API Gateway request parameters.
    expect(routes[0]?.parameters).toEqual([
      { name: "id", in: "path", required: true },
      { name: "verbose", in: "query", required: true },
    ]);
    expect(handlerNames(routes)).toEqual(["get-thing", "put-thing"]);
  });

  it("inlines the $refs of a JSON request body schema", () => {
    const put = parseOpenApiRoutes(SPEC).find((r) => r.operationId === "putThing");

    expect(put?.jsonBodyRequired).toBe(true);
    expect(put?.jsonBodySchema).toMatchObject({
      required: ["name"],
      properties: { name: { type: "string", pattern: "^[a-z]+$" } },
    });
  });

  it("marks x-local-only operations, which the deployed routes leave out", () => {
    const spec = `${SPEC}\n`.replace(
      "  /copy:\n",
      "  /local/poke:\n    post: { operationId: poke, x-handler: poke, x-local-only: true }\n  /copy:\n",
    );
    const routes = parseOpenApiRoutes(spec);

    expect(routes.filter((r) => r.localOnly).map((r) => r.operationId)).toEqual(["poke"]);
    expect(deployedRoutes(routes).map((r) => r.operationId)).toEqual(["getThing", "putThing", "copyThing"]);
  });

  it("refuses an operation without x-handler, naming it", () => {
    const spec = "openapi: 3.1.0\npaths:\n  /x:\n    get:\n      operationId: getX\n";

    expect(() => parseOpenApiRoutes(spec)).toThrow(/GET \/x needs an x-handler/);
  });
});

describe("toGatewayModelSchema", () => {
  it("keeps the structural keywords and drops the ones API Gateway's draft 4 cannot apply faithfully", () => {
    const put = parseOpenApiRoutes(SPEC).find((r) => r.operationId === "putThing");
    if (put?.jsonBodySchema === undefined) throw new Error("fixture has a body schema");

    expect(toGatewayModelSchema(put.jsonBodySchema)).toEqual({
      type: "object",
      additionalProperties: false,
      required: ["name"],
      properties: {
        name: { type: "string", minLength: 1 },
        tags: { type: "object", additionalProperties: { type: "string", maxLength: 3 } },
      },
    });
  });

  it("accepts every documented example of every JSON request body in openapi.yaml", () => {
    const text = readFileSync(SPEC_PATH, "utf8");
    const doc = parse(text) as {
      paths: Record<string, Record<string, { operationId?: string; requestBody?: unknown }>>;
    };
    const ajv = new Ajv({ strict: false });
    let checked = 0;
    for (const route of parseOpenApiRoutes(text)) {
      if (route.jsonBodySchema === undefined) continue;
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      const body = operation?.requestBody as
        | { content?: { "application/json"?: { examples?: Record<string, { value?: unknown }> } } }
        | undefined;
      const validate = ajv.compile(toGatewayModelSchema(route.jsonBodySchema));
      for (const [name, example] of Object.entries(body?.content?.["application/json"]?.examples ?? {})) {
        checked++;
        expect(
          validate(example.value),
          `${route.operationId} example ${name}: ${ajv.errorsText(validate.errors)}`,
        ).toBe(true);
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
