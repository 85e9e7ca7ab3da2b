import * as z from "../schemas/zod";
import { eq } from "drizzle-orm";
import { findCampaign, serializeCampaign } from "../db/campaigns";
import { pageByRowid } from "../db/pages";
import { campaigns } from "../db/schema";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { Campaign, CampaignList, CreateCampaignBody } from "../schemas/campaigns";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse, ListQuery } from "../schemas/common";

export const campaignRoutes = createRouter();

const common = { security: bearerSecurity, tags: ["Campaigns"] };

campaignRoutes.openapi(
  createRoute({
    ...common,
    method: "post",
    path: "/campaigns",
    summary: "Create a campaign, optionally with A/B variants",
    middleware: [requireApiKey("links:write")],
    request: jsonBody(CreateCampaignBody),
    responses: { 201: jsonResponse(Campaign, "The campaign"), ...errorResponses(400, 401, 403, 415) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const row = {
      id: newId("cmp"),
      workspaceId: c.var.auth.workspace.id,
      name: body.name,
      variants: body.variants ?? [],
      template: body.template ?? null,
      createdAt: Date.now(),
    };
    await c.var.db.insert(campaigns).values(row);
    return c.json(serializeCampaign(row), 201);
  },
);

campaignRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/campaigns",
    summary: "List campaigns, newest first",
    middleware: [requireApiKey("links:write", "reports:read")],
    request: { query: ListQuery },
    responses: { 200: jsonResponse(CampaignList, "A page of campaigns"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const page = await pageByRowid(c.var.db, campaigns, eq(campaigns.workspaceId, c.var.auth.workspace.id), {
      cursor,
      limit,
    });
    return c.json({ campaigns: page.items.map((r) => serializeCampaign(r.row)), nextCursor: page.nextCursor }, 200);
  },
);

campaignRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/campaigns/{id}",
    summary: "One campaign",
    middleware: [requireApiKey("links:write", "reports:read")],
    request: { params: z.object({ id: z.string().check(z.maxLength(64)) }) },
    responses: { 200: jsonResponse(Campaign, "The campaign"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const row = await findCampaign(c.var.db, c.var.auth.workspace.id, id);
    if (!row) throw new ApiError("not_found", `No campaign ${id} in this workspace.`);
    return c.json(serializeCampaign(row), 200);
  },
);
