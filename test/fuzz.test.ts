import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { callJson, callWorker, type Json } from "./helpers";
import { buildWorld, type World } from "./isolation";
import { APP_SECRET, sign } from "./whatsapp-helpers";

// Every operation of the OpenAPI document, called with inputs generated from its own parameters and body
// schema (and wilder ones): never a 5xx, and every 4xx in the error envelope with a documented code.

const RUNS_PER_OPERATION = 12;
const SHOP = "https://shop.example.com";

const { body: doc } = await callJson("/api/v1/openapi.json");
const ERROR_CODES: string[] = doc.components.schemas.Error.properties.error.properties.code.enum;
const operations = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, method, path, op })),
);

type Context = { world: World; publishableKey: string };

/** Real values for parameters of these names, so that requests also reach past the lookup of what they name. */
const knownValues = (ctx: Context): Record<string, string[]> => ({
  workspaceId: [ctx.world.workspaceId],
  code: [ctx.world.linkCode],
  id: [ctx.world.campaignId, ctx.world.messageId, ctx.world.apiKeyId],
  campaignId: [ctx.world.campaignId],
  k: [ctx.publishableKey],
  cid: [ctx.world.clickId],
  "hub.verify_token": ["test-verify-token"],
});

// Values that break naive code: empty, control characters, SQL, private hosts, numbers no field wants.
const tricky = (ctx: Context) =>
  fc.constantFrom<unknown>(
    "",
    " ",
    "\u0000",
    "\u001b[31m",
    "'; DROP TABLE links; --",
    "https://shop.example.com/offer",
    "http://127.0.0.1/",
    "https://аpple.com/",
    "+4915199887766",
    "0151 99887766",
    "user.abc",
    "EUR",
    "XYZ",
    "2026-01-01T00:00:00Z",
    "1999-01-01",
    "1e999",
    "NaN",
    "-1",
    "🙂".repeat(50),
    "x".repeat(5000),
    ctx.world.campaignId,
    ctx.world.linkCode,
    ctx.world.messageId,
    ctx.world.clickId,
    -1,
    0,
    1e308,
    -0.5,
    Number.MAX_SAFE_INTEGER,
    null,
    true,
    [],
    {},
  );

const resolve = (schema: Json): Json =>
  schema?.$ref ? resolve(doc.components.schemas[schema.$ref.split("/").pop()]) : (schema ?? {});

/** Values for a schema: mostly of its shape (enums, types, properties), sometimes anything at all. */
function valuesOf(schema: Json, ctx: Context, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const wild = fc.oneof(tricky(ctx), fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 40 }));
  if (depth > 4) return wild;
  const variants = s.anyOf ?? s.oneOf;
  let shaped: fc.Arbitrary<unknown>;
  if (variants) shaped = fc.oneof(...variants.map((v: Json) => valuesOf(v, ctx, depth + 1)));
  else if (s.enum) shaped = fc.constantFrom(...s.enum);
  else if (s.type === "string" || (Array.isArray(s.type) && s.type.includes("string"))) {
    shaped = fc.oneof(fc.string({ maxLength: 80, unit: "grapheme" }), ...(s.example ? [fc.constant(s.example)] : []));
  } else if (s.type === "number" || s.type === "integer") {
    shaped = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1, 5, 100, 1001));
  } else if (s.type === "boolean") shaped = fc.boolean();
  else if (s.type === "array") shaped = fc.array(valuesOf(s.items, ctx, depth + 1), { maxLength: 4 });
  else if (s.type === "object" || s.properties) {
    const props = Object.entries((s.properties ?? {}) as Record<string, Json>);
    shaped = fc.record(Object.fromEntries(props.map(([k, v]) => [k, valuesOf(v, ctx, depth + 1)])), {
      requiredKeys: [],
    });
  } else shaped = wild;
  return fc.oneof({ arbitrary: shaped, weight: 4 }, { arbitrary: wild, weight: 1 });
}

const asText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** A request for one operation: its parameters and body from their schemas, with a right or wrong key. */
function requestsFor(op: (typeof operations)[number], ctx: Context) {
  const params = (op.op.parameters ?? []) as Json[];
  const paramValues = Object.fromEntries(
    params.map((p) => {
      const known = knownValues(ctx)[p.name];
      const generated = valuesOf(p.schema, ctx).map(asText);
      const value = known ? fc.oneof(fc.constantFrom(...known), generated) : generated;
      return [`${p.in}:${p.name}`, fc.option(value, { freq: 4 })];
    }),
  );
  const content = op.op.requestBody?.content ?? {};
  const bodySchema = content["application/json"]?.schema ?? content["text/plain"]?.schema;
  const body = bodySchema
    ? fc.oneof(
        { arbitrary: valuesOf(bodySchema, ctx).map((v) => JSON.stringify(v)), weight: 6 },
        { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
      )
    : fc.constant(undefined);
  return fc.record({
    params: fc.record(paramValues, { requiredKeys: [] }),
    body,
    contentType: fc.constantFrom("application/json", "application/json", "application/json", "text/plain", "image/png"),
    key: fc.constantFrom("owner", "owner", "owner", "none", "wrong", "admin"),
    signed: fc.boolean(),
  });
}

async function send(op: (typeof operations)[number], ctx: Context, input: Json) {
  let path = op.path;
  const query = new URLSearchParams();
  const headers: Record<string, string> = { "content-type": input.contentType, origin: SHOP };
  for (const [where, value] of Object.entries(input.params as Record<string, string | null>)) {
    const [place, name] = where.split(":");
    if (place === "path") path = path.replace(`{${name}}`, encodeURIComponent(value ?? ctx.world.linkCode));
    else if (value === null) continue;
    else if (place === "query") query.set(name, value);
    else if (place === "header") headers[name] = value.replace(/[\r\n\u0000]/g, "");
  }
  path = path.replace(/\{(\w+)\}/g, () => ctx.world.linkCode);
  if (path.startsWith("/t/collect") && !query.has("k")) query.set("k", ctx.publishableKey);
  const keys = { owner: ctx.world.adminKey, none: undefined, wrong: "cf_sk_wrong", admin: env.ADMIN_TOKEN };
  const key = keys[input.key as keyof typeof keys];
  if (op.path.startsWith("/webhooks") && op.method === "post" && input.signed && input.body !== undefined) {
    headers["x-hub-signature-256"] = await sign(APP_SECRET, input.body);
  }
  const search = query.size > 0 ? `?${query}` : "";
  return callWorker(`${path}${search}`, { method: op.method.toUpperCase(), key, body: input.body, headers });
}

describe("every operation in the OpenAPI document, fuzzed", () => {
  let ctx: Context;
  beforeAll(async () => {
    const world = await buildWorld();
    const patched = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: world.adminKey,
      body: { settings: { allowedOrigins: [SHOP] } },
    });
    ctx = { world, publishableKey: patched.body.publishableKey };
  });

  it("covers the whole document", () => {
    expect(operations.length).toBeGreaterThanOrEqual(38);
  });

  it.each(operations.map((op) => [op.name, op] as const))(
    "%s: no 5xx, and every 4xx in the envelope",
    async (_, op) => {
      await fc.assert(
        fc.asyncProperty(requestsFor(op, ctx), async (input) => {
          const res = await send(op, ctx, input);
          const text = await res.text();
          expect(res.status, text.slice(0, 300)).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get("content-type")).toMatch(/^application\/json/);
            const { error } = JSON.parse(text);
            expect(ERROR_CODES).toContain(error.code);
            expect(error).toEqual(
              expect.objectContaining({ message: expect.any(String), requestId: expect.any(String) }),
            );
            if (res.status === 429) expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
          }
        }),
        { numRuns: RUNS_PER_OPERATION },
      );
    },
  );
});
