import { RemovalPolicy } from "aws-cdk-lib";
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type IResource,
  type JsonSchema,
  JsonSchemaType,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  type MethodDeploymentOptions,
  Model,
  RequestValidator,
  ResponseType,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { suppress } from "../nag-suppressions.ts";
import { type JsonObject, type OpenApiRoute, toGatewayModelSchema } from "../openapi-routes.ts";

/** The stage name: the blog's URL shape `https://<api>/Prod/pcluster` depends on it. */
export const STAGE_NAME = "Prod";

/** Requests per second (steady, burst) for the whole stage and for each method that changes state. */
export const THROTTLING = {
  stage: { rateLimit: 50, burstLimit: 100 },
  mutating: { rateLimit: 5, burstLimit: 10 },
} as const;

export interface OpenApiRestApiProps {
  readonly routes: readonly OpenApiRoute[];
  /** The function serving each `x-handler`. */
  readonly handlers: ReadonlyMap<string, IFunction>;
}

/**
 * One JSON line per request. `$context.error.messageString` is already a quoted JSON string, so it goes
 * in unquoted; everything else is quoted.
 */
const ACCESS_LOG_FORMAT = `{${[
  ["requestId", "$context.requestId"],
  ["extendedRequestId", "$context.extendedRequestId"],
  ["requestTime", "$context.requestTime"],
  ["httpMethod", "$context.httpMethod"],
  ["resourcePath", "$context.resourcePath"],
  ["path", "$context.path"],
  ["status", "$context.status"],
  ["protocol", "$context.protocol"],
  ["responseLength", "$context.responseLength"],
  ["responseLatency", "$context.responseLatency"],
  ["integrationLatency", "$context.integrationLatency"],
  ["integrationStatus", "$context.integrationStatus"],
  ["sourceIp", "$context.identity.sourceIp"],
  ["userArn", "$context.identity.userArn"],
  ["userAgent", "$context.identity.userAgent"],
  ["xrayTraceId", "$context.xrayTraceId"],
]
  .map(([key, value]) => `"${key}":"${value}"`)
  .join(",")},"error":$context.error.messageString}`;

/**
 * The problem+json API Gateway answers with when it refuses a request envelope itself (the spec's 400
 * rule: `request-invalid`), so a client sees one error shape whoever refused the request.
 */
const REQUEST_INVALID_TEMPLATE = `{"type":"urn:hpc-cluster-api:problem:request-invalid","title":"Invalid request","status":400,"detail":$context.error.messageString,"requestId":"$context.requestId"}`;

const SCHEMA_TYPES: ReadonlyMap<string, JsonSchemaType> = new Map(
  Object.values(JsonSchemaType).map((type) => [type as string, type]),
);

/** Maps the plain draft-4 object of `toGatewayModelSchema` onto CDK's typed `JsonSchema`. */
function toJsonSchema(schema: JsonObject): JsonSchema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "type") {
      const types = (Array.isArray(value) ? value : [value]).map((t) => {
        const mapped = SCHEMA_TYPES.get(String(t));
        if (mapped === undefined) throw new Error(`openapi.yaml: unknown schema type ${String(t)}`);
        return mapped;
      });
      out.type = types.length === 1 ? types[0] : types;
    } else if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as JsonObject).map(([name, sub]) => [name, toJsonSchema(sub as JsonObject)]),
      );
    } else if (
      (key === "items" || key === "additionalProperties") &&
      typeof value === "object" &&
      value !== null
    ) {
      out[key] = toJsonSchema(value as JsonObject);
    } else {
      out[key] = value;
    }
  }
  return out as JsonSchema;
}

/** `/v1/clusters/{name}` and `POST` -> `CreateClusterRequest`-like model names: letters and digits only. */
function modelName(route: OpenApiRoute): string {
  const name = route.operationId.replace(/[^A-Za-z0-9]/g, "");
  return `${name.charAt(0).toUpperCase()}${name.slice(1)}Body`;
}

/**
 * The REST API, built from the spec's routes and nothing else: IAM (SigV4) on every method, no CORS
 * preflight methods, parameters and JSON envelopes checked by API Gateway, throttling on the stage and
 * tighter on methods that change state, JSON access logs and X-Ray on the `Prod` stage.
 */
export class OpenApiRestApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: OpenApiRestApiProps) {
    super(scope, id);
    this.accessLogs = new LogGroup(this, "AccessLogs", {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const methodOptions: Record<string, MethodDeploymentOptions> = {};
    for (const route of props.routes) {
      if (route.method === "GET" || route.method === "HEAD") continue;
      methodOptions[`${route.path}/${route.method}`] = {
        throttlingRateLimit: THROTTLING.mutating.rateLimit,
        throttlingBurstLimit: THROTTLING.mutating.burstLimit,
      };
    }

    this.api = new RestApi(this, "Api", {
      description: "HPC Cluster API (hpc-cluster-api): the whole life of HPC clusters",
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // The account-wide API Gateway logging role is a regional singleton this app does not take over.
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: STAGE_NAME,
        tracingEnabled: true,
        metricsEnabled: true,
        throttlingRateLimit: THROTTLING.stage.rateLimit,
        throttlingBurstLimit: THROTTLING.stage.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        methodOptions,
      },
    });

    for (const type of [ResponseType.BAD_REQUEST_BODY, ResponseType.BAD_REQUEST_PARAMETERS]) {
      this.api.addGatewayResponse(`${type.responseType}Response`, {
        type,
        statusCode: "400",
        responseHeaders: { "Content-Type": "'application/problem+json'" },
        templates: { "application/json": REQUEST_INVALID_TEMPLATE },
      });
    }

    const validator = new RequestValidator(this, "Validator", {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const integrations = new Map<string, LambdaIntegration>();
    for (const route of props.routes) {
      const fn = props.handlers.get(route.handler);
      if (fn === undefined)
        throw new Error(`No function for x-handler '${route.handler}' (${route.method} ${route.path})`);
      let integration = integrations.get(route.handler);
      if (integration === undefined) {
        integration = new LambdaIntegration(fn, { allowTestInvoke: false });
        integrations.set(route.handler, integration);
      }
      const requestParameters = Object.fromEntries(
        route.parameters.map((p) => [
          `method.request.${p.in === "query" ? "querystring" : p.in}.${p.name}`,
          p.required || p.in === "path",
        ]),
      );
      const requestModels =
        route.jsonBodySchema === undefined
          ? undefined
          : {
              "application/json": new Model(this, `${modelName(route)}Model`, {
                restApi: this.api,
                contentType: "application/json",
                modelName: modelName(route),
                description: `Envelope of the ${route.operationId} request body (from openapi.yaml)`,
                schema: {
                  schema: JsonSchemaVersion.DRAFT4,
                  title: modelName(route),
                  ...toJsonSchema(toGatewayModelSchema(route.jsonBodySchema)),
                },
              }),
            };
      this.resourceFor(route.path).addMethod(route.method, integration, {
        operationName: route.operationId,
        requestValidator: validator,
        ...(Object.keys(requestParameters).length > 0 ? { requestParameters } : {}),
        ...(requestModels === undefined ? {} : { requestModels }),
      });
    }

    suppress(this.api, [
      {
        id: "AwsSolutions-APIG3",
        reason:
          "Every method requires IAM (SigV4) authorization, so only principals of this account with execute-api:Invoke reach an integration, and the stage is throttled; a WAF web ACL would add a fixed monthly charge to an API whose cost at rest is meant to be storage only.",
      },
      {
        id: "AwsSolutions-APIG6",
        reason:
          "Execution logging needs the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), a regional singleton this app must not take over; the stage writes a JSON access log line for every request (status, latencies, integration status, error message) and the functions log with Powertools.",
      },
      {
        id: "AwsSolutions-COG4",
        reason:
          "The API's callers are AWS principals (operators, CI, the pcluster-style CLI flow) authorized by IAM SigV4 on every method; a Cognito user pool would add a second identity system for no user it serves.",
      },
    ]);
  }

  /** The resource for `path`, creating the missing parts (`/Prod/pcluster` is a real path here). */
  private resourceFor(path: string): IResource {
    let resource: IResource = this.api.root;
    for (const part of path.split("/").filter((p) => p.length > 0)) {
      resource = resource.getResource(part) ?? resource.addResource(part);
    }
    return resource;
  }
}
