import * as z from "zod/mini";

// The OpenAPI 3.1 document is generated from the zod schemas that validate each route (JSON Schema 2020-12
// through zod's own toJSONSchema), so that what is documented is what is checked.

/** What a schema adds to the document: `id` makes it a named component, the rest is JSON Schema. */
export type SchemaDoc = {
  id?: string;
  description?: string;
  example?: unknown;
  format?: string;
  type?: string | string[];
  [keyword: string]: unknown;
};

type AnySchema = z.ZodMiniType;
type JsonSchema = Record<string, unknown>;

const COMPONENTS = "#/components/schemas/";
// Unnamed schemas pass through the conversion under these ids, then are written where they are used.
const INLINE = "inline.";

/** Named components, by schema. */
const components = new Map<AnySchema, string>();
const componentIds = new Set<string>();

/**
 * A copy of `schema` described in the document (a description, an example, a format its transform hides); with
 * `id`, a component that other schemas refer to by name. The schema itself is left as it was.
 */
export function doc<T extends AnySchema>(schema: T, meta: SchemaDoc): T {
  const copy = schema.clone();
  z.globalRegistry.add(copy, meta);
  if (meta.id !== undefined) {
    if (componentIds.has(meta.id)) throw new Error(`Two schemas are named ${meta.id}`);
    componentIds.add(meta.id);
    components.set(copy, meta.id);
  }
  return copy;
}

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete" | "head" | "options";

type MediaContent = Record<string, { schema: AnySchema | JsonSchema }>;

export type ResponseDoc = {
  description: string;
  headers?: Record<string, { description?: string; schema: JsonSchema }>;
  content?: MediaContent;
};

/** One operation: how it is reached, what it reads (validated by the router) and what it answers. */
export type RouteDoc = {
  method: HttpMethod;
  path: string;
  tags?: readonly string[];
  summary?: string;
  description?: string;
  security?: readonly Record<string, readonly string[]>[];
  request?: {
    params?: AnySchema;
    query?: AnySchema;
    headers?: AnySchema;
    body?: { required?: boolean; description?: string; content: MediaContent };
  };
  responses: Record<number | string, ResponseDoc>;
};

export type DocumentInfo = {
  openapi: "3.1.0";
  info: { title: string; version: string; description?: string };
  securitySchemes?: Record<string, JsonSchema>;
};

/** The description of a schema, or of the one an optional or default wraps. */
function describedAs(schema: AnySchema): string | undefined {
  for (let s: AnySchema | undefined = schema; s; s = (s._zod.def as { innerType?: AnySchema }).innerType) {
    const description = z.globalRegistry.get(s)?.description;
    if (description !== undefined) return description;
  }
  return undefined;
}

const isSchema = (value: unknown): value is AnySchema => typeof value === "object" && value !== null && "_zod" in value;

/**
 * The document as people and tools read it: `a | null` of one simple type as `type: [a, "null"]`, as OpenAPI
 * 3.1 tools expect, and without the keywords that only repeat a format.
 */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema" || key === "$id") continue;
    out[key] = tidy(value);
  }
  // zod writes out what `format` and `type` already say: the date-time regex, the safe integer range.
  if (out.format === "date-time") delete out.pattern;
  if (out.type === "integer") {
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
    if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  }
  const anyOf = out.anyOf as JsonSchema[] | undefined;
  if (anyOf?.length === 2) {
    const nullIndex = anyOf.findIndex((s) => s.type === "null" && Object.keys(s).length === 1);
    const other = anyOf[1 - nullIndex];
    if (nullIndex !== -1 && typeof other.type === "string" && other.$ref === undefined) {
      const { anyOf: _, ...rest } = out;
      return { ...other, ...rest, type: [other.type, "null"] };
    }
  }
  return out;
}

/** Generates the document for `routes`; every zod schema in them is converted once, with named components. */
export function openApiDocument(routes: readonly RouteDoc[], config: DocumentInfo) {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of components) registry.add(schema, { id });
  const inline = new Map<AnySchema, string>();
  const refer = (schema: AnySchema | JsonSchema): JsonSchema => {
    if (!isSchema(schema)) return schema;
    let id = components.get(schema) ?? inline.get(schema);
    if (id === undefined) {
      id = `${INLINE}${inline.size}`;
      inline.set(schema, id);
      registry.add(schema, { id });
    }
    return { $ref: `${COMPONENTS}${id}` };
  };

  const objectShape = (schema: AnySchema | undefined) =>
    schema ? ((schema._zod.def as { shape?: Record<string, AnySchema> }).shape ?? {}) : {};
  const parameters = (route: RouteDoc) =>
    (
      [
        ["path", route.request?.params],
        ["query", route.request?.query],
        ["header", route.request?.headers],
      ] as const
    ).flatMap(([place, schema]) =>
      Object.entries(objectShape(schema)).map(([name, property]) => {
        const description = describedAs(property);
        return {
          name,
          in: place,
          required: place === "path" || property._zod.optin === undefined,
          ...(description ? { description } : {}),
          schema: refer(property),
        };
      }),
    );
  const content = (media: MediaContent | undefined) =>
    media && Object.fromEntries(Object.entries(media).map(([type, { schema }]) => [type, { schema: refer(schema) }]));

  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const params = parameters(route);
    const body = route.request?.body;
    const operation: JsonSchema = {
      ...(route.tags ? { tags: route.tags } : {}),
      ...(route.summary ? { summary: route.summary } : {}),
      ...(route.description ? { description: route.description } : {}),
      ...(route.security ? { security: route.security } : {}),
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(body
        ? {
            requestBody: {
              ...(body.description ? { description: body.description } : {}),
              required: body.required ?? false,
              content: content(body.content),
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.headers ? { headers: response.headers } : {}),
            ...(response.content ? { content: content(response.content) } : {}),
          },
        ]),
      ),
    };
    (paths[route.path] ??= {})[route.method] = operation;
  }

  const { schemas } = z.toJSONSchema(registry, {
    io: "input",
    unrepresentable: "any",
    uri: (id) => `${COMPONENTS}${id}`,
  });
  const converted = tidy(schemas) as Record<string, JsonSchema>;
  // Unnamed schemas are written where they are used, as a hand-written document would have them.
  const expand = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(expand);
    if (typeof node !== "object" || node === null) return node;
    const ref = (node as JsonSchema).$ref;
    if (typeof ref === "string" && ref.startsWith(`${COMPONENTS}${INLINE}`)) {
      return expand(converted[ref.slice(COMPONENTS.length)]);
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, expand(value)]));
  };
  const named = Object.fromEntries(
    Object.entries(converted)
      .filter(([id]) => !id.startsWith(INLINE))
      .map(([id, schema]) => [id, expand(schema)]),
  );
  return {
    openapi: config.openapi,
    info: config.info,
    paths: expand(paths),
    components: { schemas: named, ...(config.securitySchemes ? { securitySchemes: config.securitySchemes } : {}) },
  };
}
