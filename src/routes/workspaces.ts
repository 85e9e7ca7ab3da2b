import { trackRetentionZone } from "../db/retention-zones";
import { forgetWorkspaceSettings, readWorkspaceSettings } from "../db/workspace-settings";
import {
  defaultSettings,
  insertWorkspaceStatements,
  mergeSettings,
  serializeWorkspace,
  updateWorkspaceStatement,
} from "../db/workspaces";
import { ga4Target } from "../ga4/target";
import { sha256Hex } from "../lib/crypto";
import { newApiKey, newId, newPublishableKey } from "../lib/ids";
import { createRoute, createRouter } from "../middleware/validation";
import { requireAdminToken, requireApiKey } from "../middleware/auth";
import { enqueue } from "../events/enqueue";
import { apiKeyHint } from "../db/api-keys";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from "../schemas/common";
import { CreatedWorkspace, CreateWorkspaceBody, UpdateWorkspaceBody, Workspace } from "../schemas/workspaces";

export const workspaceRoutes = createRouter();

const canForward = async (env: Env, workspace: Parameters<typeof ga4Target>[1]) =>
  (await ga4Target(env, workspace)) !== null;

workspaceRoutes.openapi(
  createRoute({
    method: "post",
    path: "/workspaces",
    tags: ["Workspaces"],
    summary: "Create a workspace (ADMIN_TOKEN) with its first admin API key",
    security: [{ adminToken: [] }],
    middleware: [requireAdminToken()],
    request: jsonBody(CreateWorkspaceBody),
    responses: {
      201: jsonResponse(CreatedWorkspace, "The workspace and its admin key, shown once"),
      ...errorResponses(400, 401, 415),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const key = newApiKey();
    const { settings, secrets } = await mergeSettings(
      c.env.DATA_KEY,
      { settings: defaultSettings, secrets: null },
      body.settings ?? {},
    );
    const workspace = {
      id: newId("ws"),
      name: body.name,
      publishableKey: newPublishableKey(),
      settings,
      secrets,
      createdAt: now,
    };
    const firstKey = {
      id: newId("key"),
      workspaceId: workspace.id,
      name: "Default admin key",
      scopes: ["admin" as const],
      keyHash: await sha256Hex(key),
      hint: apiKeyHint(key),
      createdAt: now,
    };
    await c.env.DB.batch([
      ...insertWorkspaceStatements(c.env.DB, c.var.db, workspace, firstKey),
      ...(await trackRetentionZone(c.env.DB, workspace.id, settings.timezone, true)),
    ]);
    return c.json(
      { ...(await serializeWorkspace(c.env.DATA_KEY, workspace, await canForward(c.env, workspace))), apiKey: key },
      201,
    );
  },
);

workspaceRoutes.openapi(
  createRoute({
    method: "get",
    path: "/workspace",
    tags: ["Workspaces"],
    summary: "The workspace of the API key",
    security: bearerSecurity,
    middleware: [requireApiKey("admin")],
    responses: { 200: jsonResponse(Workspace, "The workspace"), ...errorResponses(401, 403) },
  }),
  async (c) =>
    c.json(
      await serializeWorkspace(c.env.DATA_KEY, c.var.auth.workspace, await canForward(c.env, c.var.auth.workspace)),
      200,
    ),
);

workspaceRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/workspace",
    tags: ["Workspaces"],
    summary: "Rename the workspace or change its settings (secrets are write-only)",
    security: bearerSecurity,
    middleware: [requireApiKey("admin")],
    request: jsonBody(UpdateWorkspaceBody),
    responses: { 200: jsonResponse(Workspace, "The updated workspace"), ...errorResponses(400, 401, 403, 415) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const current = c.var.auth.workspace;
    const merged = body.settings ? await mergeSettings(c.env.DATA_KEY, current, body.settings) : {};
    const updated = { ...current, ...merged, ...(body.name ? { name: body.name } : {}) };
    const zone = body.settings?.timezone;
    await c.env.DB.batch([
      updateWorkspaceStatement(c.env.DB, c.var.db, current.id, {
        name: updated.name,
        settings: updated.settings,
        secrets: updated.secrets,
      }),
      ...(zone ? await trackRetentionZone(c.env.DB, current.id, zone) : []),
    ]);
    // A lost message only delays the copy: the daily cron picks it up.
    if (zone) c.executionCtx.waitUntil(enqueue(c.env.EVENTS, [{ type: "retention-zones", workspaceId: current.id }]));
    forgetWorkspaceSettings(current.id);
    // Read back at once, so that this isolate's redirects use the new settings from now on.
    await readWorkspaceSettings(c.env.DB, current.id);
    return c.json(await serializeWorkspace(c.env.DATA_KEY, updated, await canForward(c.env, updated)), 200);
  },
);
