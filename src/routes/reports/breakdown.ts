import { caughtUp } from "../../middleware/caught-up";
import { createRoute, createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { BREAKDOWN_DIMENSIONS, BREAKDOWN_METRICS, queryBreakdown } from "../../reports/click-rollups";
import { reportFilter } from "../../reports/range";
import { doc } from "../../lib/openapi";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import { ReportQuery, reportAsOf, reportResponse } from "../../schemas/reports";
import * as z from "../../schemas/zod";
import { respondReport } from "./respond";

export const breakdownRoutes = createRouter();

const BreakdownQuery = z.extend(ReportQuery, {
  dimension: doc(z.enum(BREAKDOWN_DIMENSIONS), {
    description: "`device` is the device type, `referrer` the referring host, `link` the link code",
  }),
  metric: doc(z._default(z.enum(BREAKDOWN_METRICS), "clicks"), {
    description: "Human clicks, unique human clicks, or conversions (by the attributed click's country, device, …)",
  }),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
});

const BreakdownReport = doc(
  z.object({
    asOf: reportAsOf,
    dimension: z.enum(BREAKDOWN_DIMENSIONS),
    metric: z.enum(BREAKDOWN_METRICS),
    rows: z.array(
      z.object({
        key: doc(z.nullable(z.string()), { description: "null when unknown (or, for conversions, unattributed)" }),
        count: z.int(),
      }),
    ),
  }),
  { id: "BreakdownReport" },
);

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
