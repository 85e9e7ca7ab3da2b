import { caughtUp } from "../../middleware/caught-up";
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { BREAKDOWN_DIMENSIONS, BREAKDOWN_METRICS, queryBreakdown } from "../../reports/click-rollups";
import { reportFilter } from "../../reports/range";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import { ReportQuery, reportAsOf, reportResponse } from "../../schemas/reports";
import { respondReport } from "./respond";

export const breakdownRoutes = createRouter();

const BreakdownQuery = ReportQuery.extend({
  dimension: z.enum(BREAKDOWN_DIMENSIONS).openapi({
    description: "`device` is the device type, `referrer` the referring host, `link` the link code",
  }),
  metric: z.enum(BREAKDOWN_METRICS).default("clicks").openapi({
    description: "Human clicks, unique human clicks, or conversions (by the attributed click's country, device, …)",
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const BreakdownReport = z
  .object({
    asOf: reportAsOf,
    dimension: z.enum(BREAKDOWN_DIMENSIONS),
    metric: z.enum(BREAKDOWN_METRICS),
    rows: z.array(
      z.object({
        key: z.string().nullable().openapi({ description: "null when unknown (or, for conversions, unattributed)" }),
        count: z.number().int(),
      }),
    ),
  })
  .openapi("BreakdownReport");

breakdownRoutes.openapi(
  createRoute({
    method: "get",
    path: "/reports/breakdown",
    summary: "Clicks, unique clicks or conversions by country, device, OS, browser, referrer, link or variant",
    description:
      "Events in [from, to) by their own time. Rows are sorted by count (largest first), then key; keys with a count of 0 are left out. Previews and bots never count.",
    middleware: [requireApiKey("reports:read"), caughtUp],
    security: bearerSecurity,
    tags: ["Reports"],
    request: { query: BreakdownQuery },
    responses: {
      200: reportResponse(BreakdownReport, "The breakdown (CSV: key,count)"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const rows = await queryBreakdown(c.var.d1, filter, query.dimension, query.metric, query.limit);
    const body = { dimension: query.dimension, metric: query.metric, rows };
    return respondReport(
      c,
      query.format,
      body,
      (b) => ({ header: ["key", "count"], rows: b.rows.map((r) => [r.key, r.count]) }),
      "breakdown",
    );
  },
);
