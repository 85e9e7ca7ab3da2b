import { Hono, type Env, type Handler, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { validator } from "hono/validator";
import * as z from "zod/mini";
import { ApiError, type ErrorIssue } from "../errors";
import { openApiDocument, type DocumentInfo, type RouteDoc } from "../lib/openapi";
import type { AppEnv } from "../types";

type AnySchema = z.ZodMiniType;

export function toIssues(error: z.core.$ZodError): ErrorIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.filter((p): p is string | number => typeof p !== "symbol"),
    message: issue.message,
    code: issue.code,
  }));
}

/** A route of the API: the document's description of it, and what runs before its handler. */
export type RouteConfig = RouteDoc & {
  middleware?: MiddlewareHandler<AppEnv> | readonly MiddlewareHandler<AppEnv>[];
};

/** Declares a route; the identity, for the types of what its handler reads. */
export const createRoute = <R extends RouteConfig>(route: R): R => route;

type Output<S> = S extends AnySchema ? z.output<S> : never;
type JsonBody<R> = R extends { request: { body: { content: { "application/json": { schema: infer S } } } } }
  ? Output<S>
  : never;
type Target<R, K extends string> = R extends { request: { [key in K]: infer S } } ? Output<S> : never;

/** What `c.req.valid(…)` returns in the handler of route R. */
export type ValidInput<R> = {
  in: {};
  out: { json: JsonBody<R>; query: Target<R, "query">; param: Target<R, "params">; header: Target<R, "headers"> };
};

function fail(error: z.core.$ZodError): never {
  throw new ApiError("invalid_request", "The request is invalid; see issues.", toIssues(error));
}

/** A validator of one part of the request; a failure is the 400 envelope, listing each field. */
function validate(target: "json" | "query" | "param" | "header", schema: AnySchema) {
  // Header names arrive in lower case; the schema may spell them otherwise.
  const shape = (schema._zod.def as { shape?: Record<string, unknown> }).shape;
  const headerNames =
    target === "header" && shape ? new Map(Object.keys(shape).map((name) => [name.toLowerCase(), name])) : null;
  return validator(target, async (value: unknown) => {
    const input = headerNames
      ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [headerNames.get(k) ?? k, v]))
      : value;
    const result = await schema.safeParseAsync(input);
    if (!result.success) fail(result.error);
    return result.data;
  });
}

// As hono/validator reads a JSON body.
const JSON_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/;
const isJson = (contentType: string) => JSON_TYPE.test(contentType);

function declares(mediaType: string, contentType: string) {
  if (isJson(mediaType)) return isJson(contentType);
  return contentType.split(";")[0].trim().toLowerCase() === mediaType.toLowerCase();
}

async function hasBody(request: Request) {
  if (request.body === null) return false;
  return (await request.clone().arrayBuffer()).byteLength > 0;
}

/** Refuses a body whose media type the route does not declare (415), before it is read. */
function mediaTypeGate(declared: string[]): MiddlewareHandler {
  return async (c, next) => {
    const contentType = c.req.header("content-type");
    const refused = contentType
      ? !declared.some((mediaType) => declares(mediaType, contentType))
      : await hasBody(c.req.raw);
    if (refused) throw new HTTPException(415, { message: "Unsupported Media Type" });
    await next();
  };
}

function validators(route: RouteConfig): MiddlewareHandler[] {
  const { request } = route;
  if (!request) return [];
  const list: MiddlewareHandler[] = [];
  if (request.query) list.push(validate("query", request.query));
  if (request.params) list.push(validate("param", request.params));
  if (request.headers) list.push(validate("header", request.headers));
  const content = request.body?.content;
  const json = content?.["application/json"]?.schema;
  if (content && json && "_zod" in json) {
    list.push(mediaTypeGate(Object.keys(content)));
    const check = validate("json", json as AnySchema);
    if (request.body?.required) list.push(check);
    else {
      list.push(async (c, next) => {
        const type = c.req.header("content-type");
        if (type && isJson(type)) return check(c, next);
        c.req.addValidatedData("json", {});
        await next();
      });
    }
  }
  return list;
}

/**
 * A Hono router whose routes are declared with the schemas that validate them; those declarations, and the
 * ones of routes mounted under it, make its OpenAPI document.
 */
export class ApiRouter<E extends Env = AppEnv> extends Hono<E> {
  readonly documented: RouteDoc[] = [];

  openapi<R extends RouteConfig>(route: R, handler: Handler<E, string, ValidInput<R>>) {
    const { middleware, ...described } = route;
    this.documented.push(described);
    const before = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
    const path = route.path.replaceAll(/\/{(.+?)}/g, "/:$1");
    this.on([route.method.toUpperCase()], [path], ...(before as MiddlewareHandler[]), ...validators(route), handler);
    return this;
  }

  /** A route answered elsewhere (a plain Hono handler), described in the document. */
  describe(route: RouteDoc) {
    this.documented.push(route);
  }

  override route(path: string, app: Hono<any, any, any>) {
    super.route(path, app);
    if (app instanceof ApiRouter) {
      const prefix = path.replaceAll(/:([^/]+)/g, "{$1}").replace(/\/$/, "");
      for (const route of app.documented as RouteDoc[]) {
        this.documented.push({ ...route, path: `${prefix}${route.path}` || "/" });
      }
    }
    return this;
  }

  /** Serves the document at `path`, generated once per isolate. */
  doc(path: string, info: DocumentInfo) {
    let document: unknown;
    this.get(path, (c) => c.json((document ??= openApiDocument(this.documented, info))));
  }
}

/** A router whose request validation failures become the 400 envelope, listing each field. */
export function createRouter() {
  return new ApiRouter<AppEnv>();
}
