import {
  bucketRanges,
  filterWhere,
  rollupParams,
  rollupWhere,
  type BucketRange,
  type BucketSum,
} from "./bucket-ranges";
import { QUARTER_MS, type ReportFilter } from "./range";

export const BREAKDOWN_DIMENSIONS = ["country", "device", "os", "browser", "referrer", "link", "variant"] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

export const BREAKDOWN_METRICS = ["clicks", "uniqueClicks", "conversions"] as const;
export type BreakdownMetric = (typeof BREAKDOWN_METRICS)[number];

export type ClickSeriesMetric = "clicks" | "conversions" | "revenue";

const COLUMNS = {
  clicks: "clicks",
  uniqueClicks: "unique_clicks",
  conversions: "conversions",
  revenue: "revenue_micros",
} as const satisfies Record<BreakdownMetric | ClickSeriesMetric, string>;

export type BreakdownRow = { key: string | null; count: number };

/** The keys of one dimension by count, largest first, over the filter's range; keys with nothing are left out. */
export async function queryBreakdown(
  d1: D1Database,
  filter: ReportFilter,
  dimension: BreakdownDimension,
  metric: BreakdownMetric,
  limit: number,
): Promise<BreakdownRow[]> {
  // Every row carries its variant, so the variant breakdown groups the totals ('' rows) by it.
  const [rowDimension, keyColumn] = dimension === "variant" ? ["", "variant"] : [dimension, "key"];
  const { results } = await d1
    .prepare(
      `SELECT r.${keyColumn} AS key, SUM(r.${COLUMNS[metric]}) AS count
       FROM json_each(?2) AS s CROSS JOIN click_rollups AS r
       WHERE ${rollupWhere("r")} AND r.dimension = ?5
       GROUP BY r.${keyColumn} HAVING count > 0 ORDER BY count DESC, key LIMIT ?6`,
    )
    .bind(...rollupParams(filter, bucketRanges([filter])), rowDimension, limit)
    .all<{ key: string; count: number }>();
  return results.map((row) => ({ key: row.key === "" ? null : row.key, count: row.count }));
}

/** The metric summed per bucket of the ranges (totals, dimension ''), leaving out empty buckets. */
export async function sumClickBuckets(
  d1: D1Database,
  filter: ReportFilter,
  metric: ClickSeriesMetric,
  ranges: BucketRange[],
): Promise<BucketSum[]> {
  const { results } = await d1
    .prepare(
      `SELECT r.grain AS grain, r.bucket AS bucket, SUM(r.${COLUMNS[metric]}) AS value
       FROM json_each(?2) AS s CROSS JOIN click_rollups AS r
       WHERE ${rollupWhere("r")} AND r.dimension = ''
       GROUP BY r.grain, r.bucket HAVING value <> 0`,
    )
    .bind(...rollupParams(filter, ranges))
    .all<BucketSum>();
  return results;
}

/**
 * The start of the first quarter hour in the range holding the metric's events (clicks, or
 * conversions for conversions and revenue), or null when there are none.
 */
export async function firstClickEventAt(
  d1: D1Database,
  filter: ReportFilter,
  metric: ClickSeriesMetric,
): Promise<number | null> {
  const column = metric === "clicks" ? "clicks" : "conversions";
  const row = await d1
    .prepare(
      `SELECT r.bucket AS bucket FROM click_rollups AS r
       WHERE ${filterWhere("r")} AND r.grain = 'q' AND r.dimension = '' AND r.bucket >= ?5 AND r.bucket < ?6
         AND r.${column} > 0
       ORDER BY r.bucket LIMIT 1`,
    )
    .bind(...rollupParams(filter, null), filter.from / QUARTER_MS, filter.to / QUARTER_MS)
    .first<{ bucket: number }>();
  return row ? row.bucket * QUARTER_MS : null;
}
