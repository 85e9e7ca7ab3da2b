import * as z from "../schemas/zod";
import type { Db } from "../db/client";
import { deleteEndpoint, findEndpoint, listDeliveries, listEndpoints, replayDeliveries } from "../db/webhooks";
import type { WebhookDeliveryRow, WebhookEndpointRow } from "../db/schema";
import { ApiError } from "../errors";
import { createRoute, createRouter } from "../middleware/validation";
import { ReplayResult, replayRequestBody } from "../schemas/replay";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse, ListQuery, toIso } from "../schemas/common";
import {
  CreatedWebhookEndpoint,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookEndpointBody,
  WebhookEndpointList,
} from "../schemas/webhook-endpoints";
import { createEndpoint } from "../webhooks/endpoints";
import { wakeSender } from "../events/deliveries";

// Outbound webhooks (SPEC §13): endpoints, their delivery log, and replay. All need an admin key.
export const webhookEndpointRoutes = createRouter();

const admin = { security: bearerSecurity, middleware: [requireApiKey("admin")], tags: ["Webhooks"] };
const IdParam = z.object({ id: z.string().check(z.maxLength(64)) });

const serializeEndpoint = (row: WebhookEndpointRow) => ({
  id: row.id,
  url: row.url,
  events: row.events,
  disabled: row.disabledAt !== null,
  disabledReason: row.disabledReason,
  createdAt: toIso(row.createdAt)!,
});

function readBody(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

const serializeDelivery = (row: WebhookDeliveryRow) => ({
  id: row.id,
  type: row.type,
  status: row.status,
  attempts: row.attempts,
  responseStatus: row.responseStatus,
  error: row.error,
  nextAttemptAt: row.status === "pending" ? toIso(row.nextAt) : null,
  createdAt: toIso(row.createdAt)!,
  deliveredAt: toIso(row.deliveredAt),
  body: readBody(row.payload),
});

async function endpointOr404(db: Db, workspaceId: string, id: string) {
  const endpoint = await findEndpoint(db, workspaceId, id);
  if (!endpoint) throw new ApiError("not_found", `No webhook endpoint ${id} in this workspace.`);
  return endpoint;
}

webhookEndpointRoutes.openapi(
  createRoute({
    ...admin,
    method: "post",
    path: "/webhooks",
    summary: "Subscribe an endpoint to events, signed as the Standard Webhooks specification says",
    description:
      "The target must be https and public (no loopback, private, link-local or metadata address), except when `ENVIRONMENT` is `development`. The signing secret is shown only in this answer.",
    request: jsonBody(WebhookEndpointBody),
    responses: {
      201: jsonResponse(CreatedWebhookEndpoint, "The endpoint, with its secret"),
      ...errorResponses(400, 401, 403, 409, 415),
    },
  }),
  async (c) => {
    const created = await createEndpoint(c.env, c.var.db, c.var.auth.workspace.id, c.req.valid("json"));
    if ("code" in created) {
      if (created.code === "too_many") throw new ApiError("conflict", created.message);
      throw new ApiError("invalid_request", "No endpoint was created; see issues.", [
        { path: ["url"], message: created.message },
      ]);
    }
    return c.json({ ...serializeEndpoint(created.endpoint), secret: created.secret }, 201);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    ...admin,
    method: "get",
    path: "/webhooks",
    summary: "List webhook endpoints (never their secrets)",
    request: { query: ListQuery },
    responses: { 200: jsonResponse(WebhookEndpointList, "Endpoints, newest first"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const page = await listEndpoints(c.var.db, c.var.auth.workspace.id, c.req.valid("query"));
    return c.json({ webhooks: page.items.map((r) => serializeEndpoint(r.row)), nextCursor: page.nextCursor }, 200);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    ...admin,
    method: "get",
    path: "/webhooks/{id}",
    summary: "One webhook endpoint",
    request: { params: IdParam },
    responses: { 200: jsonResponse(WebhookEndpoint, "The endpoint"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(serializeEndpoint(await endpointOr404(c.var.db, c.var.auth.workspace.id, c.req.valid("param").id)), 200),
);

webhookEndpointRoutes.openapi(
  createRoute({
    ...admin,
    method: "delete",
    path: "/webhooks/{id}",
    summary: "Delete a webhook endpoint, with its pending deliveries and its log",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteEndpoint(c.env.DB, c.var.auth.workspace.id, id))) {
      throw new ApiError("not_found", `No webhook endpoint ${id} in this workspace.`);
    }
    return c.body(null, 204);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    ...admin,
    method: "get",
    path: "/webhooks/{id}/deliveries",
    summary: "The endpoint's delivery log, newest first: each event with its attempts and last answer",
    request: { params: IdParam, query: ListQuery },
    responses: { 200: jsonResponse(WebhookDeliveryList, "Deliveries"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    const endpoint = await endpointOr404(c.var.db, c.var.auth.workspace.id, c.req.valid("param").id);
    const page = await listDeliveries(c.var.db, endpoint.id, c.req.valid("query"));
    return c.json({ deliveries: page.items.map((r) => serializeDelivery(r.row)), nextCursor: page.nextCursor }, 200);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    ...admin,
    method: "post",
    path: "/webhooks/{id}/replay",
    summary: "Send the endpoint's failed deliveries again (all, or those named), and enable it if it was disabled",
    request: {
      params: IdParam,
      body: replayRequestBody,
    },
    responses: {
      200: jsonResponse(ReplayResult, "How many were put back"),
      ...errorResponses(400, 401, 403, 404, 415),
    },
  }),
  async (c) => {
    const endpoint = await endpointOr404(c.var.db, c.var.auth.workspace.id, c.req.valid("param").id);
    const replayed = await replayDeliveries(c.env.DB, endpoint.id, c.req.valid("json").ids, Date.now());
    if (replayed > 0) await wakeSender(c.env, "webhooks");
    return c.json({ replayed }, 200);
  },
);
