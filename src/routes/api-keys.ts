import * as z from "../schemas/zod";
import { and, eq, isNull } from "drizzle-orm";
import { apiKeyHint, serializeApiKey } from "../db/api-keys";
import { pageByRowid } from "../db/pages";
import { apiKeys } from "../db/schema";
import { ApiError } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { newApiKey, newId } from "../lib/ids";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { ApiKeyList, CreateApiKeyBody, CreatedApiKey } from "../schemas/api-keys";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse, ListQuery } from "../schemas/common";

export const apiKeyRoutes = createRouter();

const admin = { security: bearerSecurity, middleware: [requireApiKey("admin")], tags: ["API keys"] };

apiKeyRoutes.openapi(
  createRoute({
    ...admin,
    method: "post",
    path: "/api-keys",
    summary: "Create an API key with scopes; the key is shown once",
    request: jsonBody(CreateApiKeyBody),
    responses: { 201: jsonResponse(CreatedApiKey, "The new key"), ...errorResponses(400, 401, 403, 415) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const key = newApiKey();
    const row = {
      id: newId("key"),
      workspaceId: c.var.auth.workspace.id,
      name: body.name,
      scopes: body.scopes,
      keyHash: await sha256Hex(key),
      hint: apiKeyHint(key),
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await c.var.db.insert(apiKeys).values(row);
    return c.json({ ...serializeApiKey(row), key }, 201);
  },
);

apiKeyRoutes.openapi(
  createRoute({
    ...admin,
    method: "get",
    path: "/api-keys",
    summary: "List the workspace's active API keys (never the keys themselves)",
    request: { query: ListQuery },
    responses: { 200: jsonResponse(ApiKeyList, "Active keys, newest first"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const page = await pageByRowid(
      c.var.db,
      apiKeys,
      and(eq(apiKeys.workspaceId, c.var.auth.workspace.id), isNull(apiKeys.revokedAt)),
      { cursor, limit },
    );
    return c.json({ apiKeys: page.items.map((r) => serializeApiKey(r.row)), nextCursor: page.nextCursor }, 200);
  },
);

apiKeyRoutes.openapi(
  createRoute({
    ...admin,
    method: "delete",
    path: "/api-keys/{id}",
    summary: "Revoke an API key",
    request: { params: z.object({ id: z.string().check(z.maxLength(64)) }) },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const revoked = await c.var.db
      .update(apiKeys)
      .set({ revokedAt: Date.now() })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, c.var.auth.workspace.id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (revoked.length === 0) throw new ApiError("not_found", `No active API key ${id} in this workspace.`);
    return c.body(null, 204);
  },
);
