import { caughtUp } from "../../middleware/caught-up";
import { createRoute, createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { reportFilter } from "../../reports/range";
import { MAX_PERIODS, retentionReport, type RetentionReport } from "../../reports/retention";
import { doc } from "../../lib/openapi";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import { ReportQuery, reportAsOf, reportResponse } from "../../schemas/reports";
import * as z from "../../schemas/zod";
import { respondReport } from "./respond";

export const retentionRoutes = createRouter();

const RetentionQuery = z.extend(ReportQuery, {
  period: doc(z._default(z.enum(["day", "week", "month"]), "week"), {
    description: "Cut in `timezone`; weeks start on Monday",
  }),
  periods: doc(z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_PERIODS)), 8), {
    description: "How many periods each cohort is followed for, its own included",
  }),
  start: doc(z._default(z.enum(["message", "click"]), "message"), {
    description: "The event that puts a contact in a cohort: its first message, or its first human click",
  }),
  returnOn: doc(z._default(z.enum(["click", "reply", "conversion", "any"]), "any"), {
    description: "What counts as coming back: a human click, a reply, a conversion, or any of them",
  }),
});

const RetentionReportSchema = doc(
  z.object({
    asOf: reportAsOf,
    cohorts: z.array(
      z.object({
        start: doc(z.string(), { description: "When the cohort's period starts, with the zone's offset" }),
        size: z.int(),
        values: z.array(
          z.object({
            period: z.int(),
            count: z.int(),
            rate: z.number(),
            inProgress: doc(z.boolean(), { description: "The period has not ended yet" }),
          }),
        ),
      }),
    ),
    average: z.array(
      z.object({
        period: z.int(),
        rate: z.nullable(z.number()),
      }),
    ),
  }),
  { id: "RetentionReport" },
);

retentionRoutes.openapi(
  createRoute({
    security: bearerSecurity,
    tags: ["Reports"],
    middleware: [requireApiKey("reports:read"), caughtUp],
    method: "get",
    path: "/reports/retention",
    summary: "Cohorts of contacts by their first message or click, and the share that came back in each later period",
    description:
      "Cohorts whose period starts within [from, to) (at most 1,000; without `from`, every cohort up to now). " +
      "`values[k]` counts the contacts who came back in exactly the k-th period after their cohort's; " +
      "periods that have not started are left out, and `average` (weighted by cohort size) leaves out " +
      "periods still in progress. With `campaignId` (or `variant`), the cohorts are the contacts of those campaigns " +
      "(or that variant), by their first message or click in them; their returns are any later activity. " +
      "CSV: one row per cohort with the counts of each period.",
    request: { query: RetentionQuery },
    responses: { 200: reportResponse(RetentionReportSchema, "The cohorts"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const { period, periods, start, returnOn } = query;
    const body = await retentionReport(c.var.d1, filter, { period, periods, start, returnOn });
    return respondReport(c, query.format, body, (b) => retentionTable(b, periods), "retention");
  },
);

/** One row per cohort: its start, its size and the count of each period (empty before it starts). */
function retentionTable(body: RetentionReport, periods: number) {
  return {
    header: ["start", "size", ...Array.from({ length: periods }, (_, k) => `period_${k}`)],
    rows: body.cohorts.map((cohort) => [
      cohort.start,
      cohort.size,
      ...Array.from({ length: periods }, (_, k) => cohort.values[k]?.count ?? null),
    ]),
  };
}
