import { filterWhere, rollupParams, rollupWhere, type BucketRange, type BucketSum } from "./bucket-ranges";
import { QUARTER_MS, type ReportFilter } from "./range";

/** Messages sent (placed by report_at), and how many of those reached delivered or read. */
export type SendMetric = "sent" | "delivered" | "read";

const COLUMNS = { sent: "sent", delivered: "delivered", read: "read" } as const satisfies Record<SendMetric, string>;

/**
 * Quarter hours of messages are read from the 't' grain, which keys them by campaign and variant
 * only: its rows do not multiply with countries, devices and categories (see migrations/0010).
 */
export function seriesRanges(ranges: BucketRange[]): unknown[] {
  return ranges.map(([grain, from, to]) => [grain === "q" ? "t" : grain, from, to]);
}

/** The metric summed per bucket of the ranges, leaving out empty buckets. */
export async function sumSendBuckets(
  d1: D1Database,
  filter: ReportFilter,
  metric: SendMetric,
  ranges: BucketRange[],
): Promise<BucketSum[]> {
  const { results } = await d1
    .prepare(
      `SELECT IIF(r.grain = 't', 'q', r.grain) AS grain, r.bucket AS bucket, SUM(r.${COLUMNS[metric]}) AS value
       FROM json_each(?2) AS s CROSS JOIN message_rollups AS r
       WHERE ${rollupWhere("r")}
       GROUP BY r.grain, r.bucket HAVING value <> 0`,
    )
    .bind(...rollupParams(filter, seriesRanges(ranges)))
    .all<BucketSum>();
  return results;
}

/** The start of the first quarter hour in the range in which messages were sent, or null when none were. */
export async function firstSendAt(d1: D1Database, filter: ReportFilter): Promise<number | null> {
  const row = await d1
    .prepare(
      `SELECT r.bucket AS bucket FROM message_rollups AS r
       WHERE ${filterWhere("r")} AND r.grain = 't' AND r.bucket >= ?5 AND r.bucket < ?6 AND r.sent > 0
       ORDER BY r.bucket LIMIT 1`,
    )
    .bind(...rollupParams(filter, null), filter.from / QUARTER_MS, filter.to / QUARTER_MS)
    .first<{ bucket: number }>();
  return row ? row.bucket * QUARTER_MS : null;
}
