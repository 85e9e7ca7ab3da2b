import { caughtUp } from "../../middleware/caught-up";
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { eventMetrics, responseTimes } from "../../reports/contact-events";
import { dropOff, funnelSteps } from "../../reports/funnel";
import { EMPTY_TOTALS, sumMessages } from "../../reports/messages";
import { optOutRate } from "../../reports/opt-out-rate";
import { reportFilter } from "../../reports/range";
import { retentionRate } from "../../reports/retention";
import { ratio } from "../../reports/stats";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import { MetricsReport, ReportQuery, reportResponse, WindowParam } from "../../schemas/reports";
import { respondReport } from "./respond";

export const metricsRoutes = createRouter();

metricsRoutes.openapi(
  createRoute({
    security: bearerSecurity,
    tags: ["Reports"],
    middleware: [requireApiKey("reports:read"), caughtUp],
    method: "get",
    path: "/reports/metrics",
    summary: "Delivery, open, click, conversion and response rates, revenue, CSAT, chatbot, retention and opt-outs",
    description:
      "Rates are shares of the messages sent in the range. `costPerConversion` needs `costPerMessage` " +
      "(what one billable message costs you): WhatsApp's pricing webhooks say which messages are billable, not their price. " +
      "Inbound messages, contacts and their consent belong to no campaign, so `avgResponseTimeSeconds`, " +
      "`retentionRate` and `optOutRate` are workspace-wide; CSAT and chatbot outcomes follow `campaignId` when " +
      "the events name one.",
    request: {
      query: ReportQuery.extend({
        window: WindowParam,
        costPerMessage: z.coerce.number().min(0).max(1_000_000).optional(),
      }),
    },
    responses: { 200: reportResponse(MetricsReport, "The metrics"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const [[t = EMPTY_TOTALS], events, responses, retention, optOuts] = await Promise.all([
      sumMessages(c.env.DB, filter, query.window),
      eventMetrics(c.env.DB, filter),
      responseTimes(c.env.DB, filter),
      retentionRate(c.env.DB, filter),
      optOutRate(c.env.DB, filter),
    ]);
    const body = {
      window: query.window,
      messages: {
        sent: t.sent,
        delivered: t.delivered,
        read: t.read,
        clicked: t.clicked,
        converted: t.converted,
        replied: t.replied,
        failed: t.failed,
        billable: t.billable,
      },
      deliveryRate: ratio(t.delivered, t.sent),
      openRate: ratio(t.read, t.delivered),
      clickThroughRate: ratio(t.clicked, t.delivered),
      conversionRate: ratio(t.converted, t.delivered),
      responseRate: ratio(t.replied, t.delivered),
      avgResponseTimeSeconds: responses.avgResponseTimeSeconds,
      revenue: t.revenueMicros / 1e6,
      csat: events.csat,
      dropOff: dropOff(funnelSteps(t)),
      chatbot: {
        selfResolutionRate: events.chatbot.selfResolutionRate,
        escalationRate: events.chatbot.escalationRate,
      },
      retentionRate: retention,
      optOutRate: optOuts,
      costPerConversion:
        query.costPerMessage === undefined ? null : ratio(t.billable * query.costPerMessage, t.converted),
    };
    return respondReport(c, query.format, body, metricsTable, "metrics");
  },
);

/** One row per number, named by its path: `messages.sent`, `dropOff.read.rate`, … */
function metricsTable(body: Omit<z.infer<typeof MetricsReport>, "asOf">) {
  const rows: [string, unknown][] = [];
  const walk = (prefix: string, value: unknown) => {
    if (Array.isArray(value)) {
      for (const item of value as { step: string }[]) walk(`${prefix}.${item.step}`, { ...item, step: undefined });
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) if (v !== undefined) walk(prefix ? `${prefix}.${k}` : k, v);
    } else rows.push([prefix, value]);
  };
  walk("", body);
  return { header: ["metric", "value"], rows };
}
