import * as z from "./zod";
import { doc } from "../lib/openapi";
import { createRoute } from "../middleware/validation";
import { errorResponses, ErrorSchema, jsonResponse } from "./common";
import { IngestResult, WhatsAppWebhookBody } from "./messages";
import { BeaconBody, PixelQuery } from "./tracker";

// The routes outside /api/v1. They are plain Hono routes, because what they answer is not the API's: a
// redirect, a GIF whatever the input, Meta's handshake. The OpenAPI document describes them from these.

const errorOrPage = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema }, "text/html": { schema: z.string() } },
});

const redirect = createRoute({
  method: "get",
  path: "/{code}",
  tags: ["Redirect"],
  summary:
    "Follow a short link: 302 to its destination; a human click is recorded after the answer (HEAD records nothing)",
  request: { params: z.object({ code: doc(z.string(), { example: "spring-sale" }) }) },
  responses: {
    302: {
      description: "To the destination, with the link's UTM tags and the click id added",
      headers: { Location: { description: "The destination", schema: { type: "string", format: "uri" } } },
    },
    404: errorOrPage("No link with this code (HTML for browsers, JSON otherwise)"),
    410: errorOrPage("The link is disabled or expired (HTML for browsers, JSON otherwise)"),
  },
});

const snippet = createRoute({
  method: "get",
  path: "/t/s.js",
  tags: ["Site tracking"],
  summary: "The site snippet: keeps the click id, exposes chatfunnel.track(event, { value, currency, orderId })",
  responses: {
    200: { description: "The snippet", content: { "application/javascript": { schema: z.string() } } },
    304: { description: "The browser already has this version (If-None-Match)" },
  },
});

const publishableKey = z.object({ k: doc(z.string(), { description: "The workspace's publishable key" }) });

const beacon = createRoute({
  method: "post",
  path: "/t/collect",
  tags: ["Site tracking"],
  summary: "The snippet's beacon (text/plain from sendBeacon, or application/json); CORS for allowedOrigins",
  request: {
    query: publishableKey,
    body: {
      required: true,
      content: { "text/plain": { schema: BeaconBody }, "application/json": { schema: BeaconBody } },
    },
  },
  responses: {
    202: { description: "Recorded" },
    ...errorResponses(400, 401, 403, 413, 415, 429),
  },
});

const preflight = createRoute({
  method: "options",
  path: "/t/collect",
  tags: ["Site tracking"],
  summary: "CORS preflight of the beacon",
  request: { query: publishableKey },
  responses: { 204: { description: "The origin is allowed" }, ...errorResponses(401, 403) },
});

const pixel = createRoute({
  method: "get",
  path: "/t/p.gif",
  tags: ["Site tracking"],
  summary: "The pixel: a conversion where no script runs; recorded only when valid and within the visitor's rate limit",
  request: { query: PixelQuery },
  responses: {
    200: {
      description: "A transparent 1×1 GIF, always",
      content: { "image/gif": { schema: doc(z.string(), { format: "binary" }) } },
    },
  },
});

const workspaceId = z.object({ workspaceId: doc(z.string(), { example: "ws_3kTMd9Qx0b2LpW1z" }) });

const handshake = createRoute({
  method: "get",
  path: "/webhooks/whatsapp/{workspaceId}",
  tags: ["WhatsApp"],
  summary: "Meta's subscription handshake: echoes hub.challenge when hub.verify_token is the workspace's",
  request: {
    params: workspaceId,
    query: z.object({
      "hub.mode": z.literal("subscribe"),
      "hub.verify_token": z.string(),
      "hub.challenge": z.string(),
    }),
  },
  responses: {
    200: { description: "hub.challenge", content: { "text/plain": { schema: z.string() } } },
    ...errorResponses(403),
  },
});

const delivery = createRoute({
  method: "post",
  path: "/webhooks/whatsapp/{workspaceId}",
  tags: ["WhatsApp"],
  summary:
    "Meta's webhook deliveries (statuses, inbound messages and marketing opt-outs), signed with the app secret; up to 3 MB",
  request: {
    params: workspaceId,
    headers: z.object({
      "x-hub-signature-256": doc(z.string(), {
        description: "sha256=<hex HMAC-SHA256 of the raw body with the app secret>",
      }),
    }),
    body: { required: true, content: { "application/json": { schema: WhatsAppWebhookBody } } },
  },
  responses: {
    200: jsonResponse(IngestResult, "Stored (a delivery seen before changes nothing)"),
    ...errorResponses(400, 401, 404, 413),
  },
});

const dashboard = createRoute({
  method: "get",
  path: "/dashboard",
  tags: ["Dashboard"],
  summary:
    "The dashboard for campaign managers: sign in with an API key (kept in the tab's sessionStorage), see funnel, costs, retention, A/B, send times, links and audiences from the reports API",
  responses: { 200: { description: "The page", content: { "text/html": { schema: z.string() } } } },
});

const versionQuery = z.object({
  v: doc(z.optional(z.string()), {
    description: "The version the page names; that URL may be cached for a year",
  }),
});

/** One of the dashboard's versioned files. */
function dashboardAsset(path: string, summary: string, description: string, contentType: string) {
  return createRoute({
    method: "get",
    path,
    tags: ["Dashboard"],
    summary,
    request: { query: versionQuery },
    responses: {
      200: { description, content: { [contentType]: { schema: z.string() } } },
      304: { description: "The browser already has this version (If-None-Match)" },
    },
  });
}

const dashboardScript = dashboardAsset(
  "/dashboard/dashboard.js",
  "The dashboard's script",
  "The script",
  "application/javascript",
);
const dashboardStyles = dashboardAsset(
  "/dashboard/dashboard.css",
  "The dashboard's style sheet",
  "The style sheet",
  "text/css",
);

export const publicRoutes = [
  redirect,
  snippet,
  beacon,
  preflight,
  pixel,
  handshake,
  delivery,
  dashboard,
  dashboardScript,
  dashboardStyles,
];
