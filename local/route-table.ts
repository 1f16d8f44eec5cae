import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** One route of the API, as `openapi.yaml` declares it. */
export interface Route {
  readonly method: string;
  /** The path template, e.g. `/v1/clusters/{name}` (API Gateway's `resource`). */
  readonly template: string;
  readonly operationId: string;
  /** Entry file under `functions/api/`, without extension. */
  readonly handler: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
}

/** The outcome of matching a request: a route, a path served with other methods, or nothing. */
export type RouteMatch =
  | { readonly kind: "route"; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: "method-not-allowed"; readonly allowed: readonly string[] }
  | { readonly kind: "not-found" };

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

function compile(template: string): { pattern: RegExp; paramNames: string[] } {
  const paramNames: string[] = [];
  const source = template
    .split("/")
    .map((segment) => {
      const param = /^\{([^}]+)\}$/.exec(segment);
      if (param?.[1]) {
        paramNames.push(param[1]);
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { pattern: new RegExp(`^${source}/?$`), paramNames };
}

/** Reads the route table from the contract: the one list of routes, shared with the CDK app. */
export function loadRoutes(specPath: string | URL): Route[] {
  const spec = parse(readFileSync(specPath, "utf8")) as {
    paths: Record<string, Record<string, { operationId?: string; "x-handler"?: string }>>;
  };
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const handler = operation["x-handler"];
      if (!handler || !operation.operationId) {
        throw new Error(`openapi.yaml: ${method.toUpperCase()} ${template} lacks operationId or x-handler`);
      }
      routes.push({
        method: method.toUpperCase(),
        template,
        operationId: operation.operationId,
        handler,
        ...compile(template),
      });
    }
  }
  return routes;
}

/** Finds the route for a method and a (decoded) path. */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    route.paramNames.forEach((name, index) => {
      params[name] = match[index + 1] ?? "";
    });
    return { kind: "route", route, params };
  }
  return allowed.length > 0 ? { kind: "method-not-allowed", allowed } : { kind: "not-found" };
}
