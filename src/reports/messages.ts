import { bucketRanges, rollupParams, rollupWhere } from "./bucket-ranges";
import { seriesRanges } from "./send-rollups";
import type { ReportFilter } from "./range";

/** Windows for "clicked / converted within `window` of being sent": the columns the rollups keep. */
export const WINDOWS = ["1h", "6h", "1d", "3d", "7d", "14d", "30d"] as const;
export type FunnelWindow = (typeof WINDOWS)[number];

export const GROUP_BY = ["variant", "campaign", "country", "device", "category"] as const;
export type FunnelGroupBy = (typeof GROUP_BY)[number];

const GROUP_COLUMN: Record<FunnelGroupBy, string> = {
  variant: "variant",
  campaign: "campaign_id",
  country: "country",
  device: "device",
  category: "category",
};

/** What the rollups know of the messages sent in a range (one group of them). */
export type MessageTotals = {
  key: string | null;
  sent: number;
  sentInferred: number;
  delivered: number;
  deliveredInferred: number;
  read: number;
  readInferred: number;
  failed: number;
  clicked: number;
  converted: number;
  replied: number;
  billable: number;
  revenueMicros: number;
};

const COLUMNS = [
  "key",
  "sent",
  "sent_inferred",
  "delivered",
  "delivered_inferred",
  "read",
  "read_inferred",
  "failed",
  "clicked_w",
  "converted_w",
  "replied",
  "billable",
  "revenue_micros",
];

/** Sums of the message rollups over the filter's range, per group (or one row for everything). */
export async function sumMessages(
  d1: D1Database,
  filter: ReportFilter,
  window: FunnelWindow,
  groupBy?: FunnelGroupBy,
): Promise<MessageTotals[]> {
  const key = groupBy ? `r.${GROUP_COLUMN[groupBy]}` : "''";
  // The edges of the range come from quarter-hour rows; only a group by a message's country, device
  // or category needs those that carry them.
  const needsDimensions = groupBy === "country" || groupBy === "device" || groupBy === "category";
  const sums = COLUMNS.slice(1)
    .map((c) => `COALESCE(SUM(r.${c.endsWith("_w") ? `${c.slice(0, -2)}_${window}` : c}), 0) AS ${c}`)
    .join(", ");
  const { results } = await d1
    .prepare(
      `SELECT ${key} AS key, ${sums} FROM json_each(?2) AS s CROSS JOIN message_rollups AS r
       WHERE ${rollupWhere("r")} GROUP BY 1 HAVING SUM(r.sent) > 0 OR key = '' ORDER BY 1`,
    )
    .bind(...rollupParams(filter, needsDimensions ? bucketRanges([filter]) : seriesRanges(bucketRanges([filter]))))
    .all<Record<string, number | string>>();
  return results.map((r) => ({
    key: r.key === "" ? null : String(r.key),
    sent: Number(r.sent),
    sentInferred: Number(r.sent_inferred),
    delivered: Number(r.delivered),
    deliveredInferred: Number(r.delivered_inferred),
    read: Number(r.read),
    readInferred: Number(r.read_inferred),
    failed: Number(r.failed),
    clicked: Number(r.clicked_w),
    converted: Number(r.converted_w),
    replied: Number(r.replied),
    billable: Number(r.billable),
    revenueMicros: Number(r.revenue_micros),
  }));
}

export const EMPTY_TOTALS: MessageTotals = {
  key: null,
  sent: 0,
  sentInferred: 0,
  delivered: 0,
  deliveredInferred: 0,
  read: 0,
  readInferred: 0,
  failed: 0,
  clicked: 0,
  converted: 0,
  replied: 0,
  billable: 0,
  revenueMicros: 0,
};

export type DelayHistogram = { click: [number, number][]; convert: [number, number][] };

/** How many messages took how long to click and to convert, as (log bucket, messages), ascending. */
export async function delayHistogram(d1: D1Database, filter: ReportFilter): Promise<DelayHistogram> {
  const { results } = await d1
    .prepare(
      `SELECT r.step AS step, r.delay_bucket AS delay_bucket, SUM(r.messages) AS messages
       FROM json_each(?2) AS s CROSS JOIN message_delays AS r
       WHERE ${rollupWhere("r")} GROUP BY 1, 2 HAVING SUM(r.messages) > 0 ORDER BY 1, 2`,
    )
    .bind(...rollupParams(filter, bucketRanges([filter])))
    .all<{ step: "click" | "convert"; delay_bucket: number; messages: number }>();
  const histogram: DelayHistogram = { click: [], convert: [] };
  for (const row of results) histogram[row.step].push([row.delay_bucket, row.messages]);
  return histogram;
}
