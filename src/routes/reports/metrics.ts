import { caughtUp } from "../../middleware/caught-up";
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { eventMetrics, responseTimes } from "../../reports/contact-events";
import { dropOff, funnelSteps } from "../../reports/funnel";
import { reportCosts } from "../../reports/cost";
import { EMPTY_TOTALS, failureOutcomes, repliedWithin, sumMessages } from "../../reports/messages";
import { optOutRate } from "../../reports/opt-out-rate";
import { reportFilter } from "../../reports/range";
import { retentionRate } from "../../reports/retention";
import { ratio } from "../../reports/stats";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import {
  MetricsReport,
  ReportQuery,
  reportResponse,
  ResponseWindowParam,
  responseWindowHours,
  WindowParam,
} from "../../schemas/reports";
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
      "Rates are shares of the messages sent in the range. `cost` prices the messages Meta charged (pricing `type` " +
      "`regular`) with the workspace's `rateCard`, and is null without one. " +
      "Inbound messages, contacts and their consent belong to no campaign, so `avgResponseTimeSeconds`, " +
      "`retentionRate` and `optOutRate` are workspace-wide; CSAT and chatbot outcomes follow `campaignId` when " +
      "the events name one.",
    request: { query: ReportQuery.extend({ window: WindowParam, responseWindow: ResponseWindowParam }) },
    responses: { 200: reportResponse(MetricsReport, "The metrics"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const [[t = EMPTY_TOTALS], replied, events, responses, retention, optOuts, costs] = await Promise.all([
      sumMessages(c.var.d1, filter, query.window),
      repliedWithin(c.var.d1, filter, responseWindowHours(query.responseWindow)),
      eventMetrics(c.var.d1, filter),
      responseTimes(c.var.d1, filter),
      retentionRate(c.var.d1, filter),
      optOutRate(c.var.d1, filter),
      reportCosts(c.var.d1, filter, c.var.auth.workspace.settings.rateCard),
    ]);
    const body = {
      window: query.window,
      messages: {
        sent: t.sent,
        delivered: t.delivered,
        read: t.read,
        clicked: t.clicked,
        converted: t.converted,
        replied,
        ...failureOutcomes(t),
        charged: t.charged,
      },
      deliveryRate: ratio(t.delivered, t.sent),
      openRate: ratio(t.read, t.delivered),
      clickThroughRate: ratio(t.clicked, t.delivered),
      conversionRate: ratio(t.converted, t.delivered),
      responseRate: ratio(replied, t.delivered),
      responseWindow: query.responseWindow,
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
      limitedRate: ratio(t.limited, t.sent),
      experimentRate: ratio(t.experiment, t.sent),
      cost: costs("", t),
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
