import { sumClicksByKey, type KeyCount } from "../db/reports/click-rollups";
import { bucketRanges } from "../lib/rollup-buckets";
import type { ReportFilter } from "./range";
import type { D1Handle } from "../db/client";

export const BREAKDOWN_DIMENSIONS = ["country", "device", "os", "browser", "referrer", "link", "variant"] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

export const BREAKDOWN_METRICS = ["clicks", "uniqueClicks", "conversions"] as const;
export type BreakdownMetric = (typeof BREAKDOWN_METRICS)[number];

/** The keys of one dimension by count, largest first, over the filter's range; keys with nothing are left out. */
export function queryBreakdown(
  d1: D1Handle,
  filter: ReportFilter,
  dimension: BreakdownDimension,
  metric: BreakdownMetric,
  limit: number,
): Promise<KeyCount[]> {
  return sumClicksByKey(d1, filter, bucketRanges([filter]), dimension, metric, limit);
}
