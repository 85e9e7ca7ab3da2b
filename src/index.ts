import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { createDb } from "./db/client";
import { wakeConsumer } from "./events/pipeline";
import { ApiError, handleError, handleNotFound } from "./errors";
import { limitFailedAuthentication } from "./middleware/rate-limit";
import { createRouter } from "./middleware/validation";
import { handleQueue } from "./queue";
import { publicRoutes } from "./schemas/public-routes";
import type { QueueMessage } from "./schemas/queue";
import { apiKeyRoutes } from "./routes/api-keys";
import { audienceRoutes } from "./routes/audiences";
import { campaignRoutes } from "./routes/campaigns";
import { consentRoutes } from "./routes/consent";
import { conversionRoutes } from "./routes/conversions";
import { dashboardRoutes } from "./routes/dashboard";
import { deadLetterRoutes } from "./routes/dead-letters";
import { erasureRoutes } from "./routes/erasure";
import { ga4Routes } from "./routes/ga4";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints";
import { exportRoutes } from "./routes/exports";
import { linkRoutes } from "./routes/links";
import { messageRoutes } from "./routes/messages";
import { redirectRoutes } from "./routes/redirect";
import { breakdownRoutes } from "./routes/reports/breakdown";
import { funnelRoutes } from "./routes/reports/funnel";
import { metricsRoutes } from "./routes/reports/metrics";
import { retentionRoutes } from "./routes/reports/retention";
import { timeseriesRoutes } from "./routes/reports/timeseries";
import { trackerRoutes } from "./routes/tracker";
import { webhookRoutes } from "./routes/webhooks";
import { workspaceRoutes } from "./routes/workspaces";
import { handleScheduled } from "./scheduled";

// A bulk request of 10,000 recipients fits comfortably; anything larger is refused before parsing.
const MAX_API_BODY_BYTES = 10 * 1024 * 1024;

const api = createRouter();
api.use(async function attachDb(c, next) {
  c.set("receivedAt", Date.now());
  c.set("d1", c.env.DB);
  c.set("db", createDb(c.env.DB));
  await next();
});
api.use(
  bodyLimit({
    maxSize: MAX_API_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `Request bodies are limited to ${MAX_API_BODY_BYTES} bytes.`);
    },
  }),
);
// A write through the API (conversions, events, message registrations) has outbox entries to apply.
api.use(async function wakeAfterWrite(c, next) {
  await next();
  if (c.req.method !== "GET" && c.res.status < 400) c.executionCtx.waitUntil(wakeConsumer(c.env));
});
api.route("/", workspaceRoutes);
api.route("/", apiKeyRoutes);
api.route("/", campaignRoutes);
api.route("/", linkRoutes);
api.route("/", messageRoutes);
api.route("/", consentRoutes);
api.route("/", conversionRoutes);
api.route("/", funnelRoutes);
api.route("/", metricsRoutes);
api.route("/", retentionRoutes);
api.route("/", timeseriesRoutes);
api.route("/", breakdownRoutes);
api.route("/", exportRoutes);
api.route("/", audienceRoutes);
api.route("/", deadLetterRoutes);
api.route("/", erasureRoutes);
api.route("/", ga4Routes);
api.route("/", webhookEndpointRoutes);
const app = createRouter();
app.use(requestId());
app.use(limitFailedAuthentication());
app.route("/api/v1", api);
app.route("/webhooks", webhookRoutes);
app.route("/t", trackerRoutes);
// Before the redirect: `dashboard` is a reserved code, never a link. With a trailing slash it is the same page.
app.route("/dashboard", dashboardRoutes);
app.get("/dashboard/", (c) => c.redirect("/dashboard", 308));
app.route("/", redirectRoutes);
app.onError(handleError);
app.notFound(handleNotFound);

// The document describes every route: the API's from the schemas that validate them, the others from theirs.
for (const route of publicRoutes) app.describe(route);
app.doc("/api/v1/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "chatfunnel",
    version: "1.0.0",
    description: "Link tracking and attribution for WhatsApp Business campaigns.",
  },
  securitySchemes: {
    apiKey: { type: "http", scheme: "bearer", description: "An API key" },
    adminToken: { type: "http", scheme: "bearer", description: "The ADMIN_TOKEN secret" },
  },
});

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env, QueueMessage>;
