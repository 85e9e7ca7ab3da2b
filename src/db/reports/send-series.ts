import type { BucketRange, BucketSum } from "../../lib/rollup-buckets";
import { seriesRanges } from "./message-rollups";
import { filterWhere, rollupParams, rollupWhere, type RollupFilter } from "./rollup-filter";
import type { D1Handle } from "../client";

/** Messages sent (placed by report_at), and how many of those reached delivered or read; group messages left out. */
export type SendMetric = "sent" | "delivered" | "read";

const SEND_COLUMNS = { sent: "sent", delivered: "delivered", read: "read" } as const satisfies Record<
  SendMetric,
  string
>;

/** The metric summed per bucket of the ranges, leaving out empty buckets. */
export async function sumSendBuckets(
  d1: D1Handle,
  filter: RollupFilter,
  metric: SendMetric,
  ranges: BucketRange[],
): Promise<BucketSum[]> {
  const { results } = await d1
    .prepare(
      `SELECT IIF(r.grain = 't', 'q', r.grain) AS grain, r.bucket AS bucket, SUM(r.${SEND_COLUMNS[metric]}) AS value
       FROM json_each(?2) AS s CROSS JOIN message_rollups AS r
       WHERE ${rollupWhere("r")} AND r.is_group = 0
       GROUP BY r.grain, r.bucket HAVING value <> 0`,
    )
    .bind(...rollupParams(filter, seriesRanges(ranges)))
    .all<BucketSum>();
  return results;
}

/** The first quarter hour in [fromQuarter, toQuarter) in which messages were sent, or null when none were. */
export async function firstSendQuarter(
  d1: D1Handle,
  filter: RollupFilter,
  fromQuarter: number,
  toQuarter: number,
): Promise<number | null> {
  const row = await d1
    .prepare(
      `SELECT r.bucket AS bucket FROM message_rollups AS r
       WHERE ${filterWhere("r")} AND r.grain = 't' AND r.bucket >= ?5 AND r.bucket < ?6 AND r.sent > 0
         AND r.is_group = 0
       ORDER BY r.bucket LIMIT 1`,
    )
    .bind(...rollupParams(filter, null), fromQuarter, toQuarter)
    .first<{ bucket: number }>();
  return row?.bucket ?? null;
}
