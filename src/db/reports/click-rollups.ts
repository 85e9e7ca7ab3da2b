import type { BucketRange, BucketSum } from "../../lib/rollup-buckets";
import { filterWhere, rollupParams, rollupWhere, type RollupFilter } from "./rollup-filter";
import type { D1Handle } from "../client";

const COLUMNS = {
  clicks: "clicks",
  uniqueClicks: "unique_clicks",
  conversions: "conversions",
  revenue: "revenue_micros",
} as const;

/** What click rollups count: human clicks, unique human clicks, attributed conversions and their revenue. */
export type ClickMetric = keyof typeof COLUMNS;

export type KeyCount = { key: string | null; count: number };

/**
 * The keys of one dimension (country, device, os, browser, referrer, link or variant) by the metric
 * summed over the buckets, largest first; keys with nothing are left out.
 */
export async function sumClicksByKey(
  d1: D1Handle,
  filter: RollupFilter,
  ranges: BucketRange[],
  dimension: string,
  metric: ClickMetric,
  limit: number,
): Promise<KeyCount[]> {
  // Every row carries its variant, so the variant breakdown groups the totals ('' rows) by it.
  const [rowDimension, keyColumn] = dimension === "variant" ? ["", "variant"] : [dimension, "key"];
  const { results } = await d1
    .prepare(
      `SELECT r.${keyColumn} AS key, SUM(r.${COLUMNS[metric]}) AS count
       FROM json_each(?2) AS s CROSS JOIN click_rollups AS r
       WHERE ${rollupWhere("r")} AND r.dimension = ?5
       GROUP BY r.${keyColumn} HAVING count > 0 ORDER BY count DESC, key LIMIT ?6`,
    )
    .bind(...rollupParams(filter, ranges), rowDimension, limit)
    .all<{ key: string; count: number }>();
  return results.map((row) => ({ key: row.key === "" ? null : row.key, count: row.count }));
}

/** The metric summed per bucket of the ranges (totals, dimension ''), leaving out empty buckets. */
export async function sumClickBuckets(
  d1: D1Handle,
  filter: RollupFilter,
  metric: ClickMetric,
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

/** The first quarter hour in [fromQuarter, toQuarter) that holds clicks (or conversions), or null when none does. */
export async function firstClickQuarter(
  d1: D1Handle,
  filter: RollupFilter,
  events: "clicks" | "conversions",
  fromQuarter: number,
  toQuarter: number,
): Promise<number | null> {
  const row = await d1
    .prepare(
      `SELECT r.bucket AS bucket FROM click_rollups AS r
       WHERE ${filterWhere("r")} AND r.grain = 'q' AND r.dimension = '' AND r.bucket >= ?5 AND r.bucket < ?6
         AND r.${COLUMNS[events]} > 0
       ORDER BY r.bucket LIMIT 1`,
    )
    .bind(...rollupParams(filter, null), fromQuarter, toQuarter)
    .first<{ bucket: number }>();
  return row?.bucket ?? null;
}
