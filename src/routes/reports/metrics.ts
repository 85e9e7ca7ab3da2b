import { caughtUp } from "../../middleware/caught-up";
import { createRoute, createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { metricsReport } from "../../reports/metrics";
import { reportFilter } from "../../reports/range";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import {
  MetricsReport,
  ReportQuery,
  reportResponse,
  ResponseWindowParam,
  responseWindowHours,
  WindowParam,
} from "../../schemas/reports";
import * as z from "../../schemas/zod";
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
    request: { query: z.extend(ReportQuery, { window: WindowParam, responseWindow: ResponseWindowParam }) },
    responses: { 200: reportResponse(MetricsReport, "The metrics"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const body = await metricsReport(c.var.d1, filter, {
      window: query.window,
      responseWindow: query.responseWindow,
      responseWindowHours: responseWindowHours(query.responseWindow),
      rateCard: c.var.auth.workspace.settings.rateCard,
    });
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
