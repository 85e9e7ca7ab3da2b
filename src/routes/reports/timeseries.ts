import { caughtUp } from "../../middleware/caught-up";
import { createRoute, createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { QUARTER_MS, toZonedIso } from "../../lib/calendar";
import { doc } from "../../lib/openapi";
import { bucketRanges, type BucketRange } from "../../lib/rollup-buckets";
import { reportFilter } from "../../reports/range";
import {
  firstEventAt,
  heatmapCells,
  seriesPeriods,
  seriesRates,
  sumIntoPeriods,
  sumSeriesBuckets,
  type Interval,
  type SeriesMetric,
} from "../../reports/series";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import { ReportQuery, reportAsOf, reportResponse } from "../../schemas/reports";
import * as z from "../../schemas/zod";
import { respondReport } from "./respond";

export const timeseriesRoutes = createRouter();

const SERIES_METRICS = [
  "sent",
  "delivered",
  "read",
  "clicks",
  "conversions",
  "revenue",
  "cost",
] as const satisfies readonly SeriesMetric[];
const HEATMAP_METRICS = ["read", "clicks"] as const satisfies readonly SeriesMetric[];
const MICROS = 1_000_000;

const common = { middleware: [requireApiKey("reports:read"), caughtUp], security: bearerSecurity, tags: ["Reports"] };

const TimeseriesReport = doc(
  z.object({
    asOf: reportAsOf,
    metric: z.enum(SERIES_METRICS),
    interval: z.enum(["hour", "day", "week"]),
    timezone: z.string(),
    points: z.array(
      z.object({
        start: doc(z.string(), { description: "The local start of the period, with the zone's offset" }),
        value: z.number(),
      }),
    ),
  }),
  { id: "TimeseriesReport" },
);

timeseriesRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/reports/timeseries",
    summary: "One metric per local hour, day or week",
    description: [
      "Every period overlapping [from, to) has a point (0 when empty), cut in `timezone`; weeks start on Monday.",
      "The first and last period may be partial when from or to is not on a period boundary; `start` is still the start of the whole period.",
      "sent counts the messages sent in the period, delivered and read how many of those reached that step; clicks (human only), conversions and revenue (a decimal) count events at their own time.",
      "cost (a decimal in the rate card's currency; 400 without a rate card) is what the messages sent in the period cost.",
      "Without `from`, the series starts at the first period with events of the metric's kind (messages, clicks, or conversions for conversions and revenue), and has no points when there are none.",
      "At most 5,000 points.",
    ].join(" "),
    request: {
      query: z.extend(ReportQuery, {
        metric: z._default(z.enum(SERIES_METRICS), "clicks"),
        interval: z._default(z.enum(["hour", "day", "week"]), "day"),
      }),
    },
    responses: {
      200: reportResponse(TimeseriesReport, "The series (CSV: start,value)"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const interval: Interval = query.interval;
    const rates = seriesRates(query.metric, c.var.auth.workspace.settings.rateCard);
    let range = filter;
    if (query.from === undefined) {
      const first = await firstEventAt(c.var.d1, filter, query.metric);
      range = { ...filter, from: first ?? filter.to };
    }
    const periods = range.from < range.to ? seriesPeriods(range, interval) : [];
    const sums =
      periods.length > 0 ? await sumSeriesBuckets(c.var.d1, filter, query.metric, bucketRanges(periods), rates) : [];
    const values = sumIntoPeriods(periods, sums);
    const points = periods.map((p, i) => ({
      start: toZonedIso(p.start, filter.timeZone),
      value: query.metric === "revenue" || query.metric === "cost" ? values[i] / MICROS : values[i],
    }));
    // The zone as asked: Intl resolves some names to older aliases (Asia/Kolkata to Asia/Calcutta).
    const body = { metric: query.metric, interval, timezone: query.timezone, points };
    return respondReport(
      c,
      query.format,
      body,
      (b) => ({ header: ["start", "value"], rows: b.points.map((p) => [p.start, p.value]) }),
      "timeseries",
    );
  },
);

const HeatmapReport = doc(
  z.object({
    asOf: reportAsOf,
    metric: z.enum(HEATMAP_METRICS),
    timezone: z.string(),
    cells: z.array(
      z.object({
        weekday: doc(z.int(), { description: "0 = Monday … 6 = Sunday, local" }),
        hour: doc(z.int(), { description: "0–23, local" }),
        value: z.int(),
      }),
    ),
  }),
  { id: "HeatmapReport" },
);

timeseriesRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/reports/heatmap",
    summary: "Reads or clicks by local weekday and hour, for choosing send times",
    description:
      "All 168 cells, Monday 0:00 first. read: of the messages sent at that local weekday and hour, how many were read. clicks: human clicks at that local weekday and hour.",
    request: { query: z.extend(ReportQuery, { metric: z._default(z.enum(HEATMAP_METRICS), "clicks") }) },
    responses: {
      200: reportResponse(HeatmapReport, "The heatmap (CSV: weekday,hour,value)"),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    // Local hours need quarter-hour rows whatever the range.
    const ranges: BucketRange[] = [["q", filter.from / QUARTER_MS, filter.to / QUARTER_MS]];
    const sums = await sumSeriesBuckets(c.var.d1, filter, query.metric, ranges);
    const body = { metric: query.metric, timezone: query.timezone, cells: heatmapCells(sums, filter.timeZone) };
    return respondReport(
      c,
      query.format,
      body,
      (b) => ({ header: ["weekday", "hour", "value"], rows: b.cells.map((x) => [x.weekday, x.hour, x.value]) }),
      "heatmap",
    );
  },
);
