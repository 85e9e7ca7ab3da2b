import { rollupSource } from "./rollup-source";
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
  const key = groupBy ? GROUP_COLUMN[groupBy] : "''";
  const inner = COLUMNS.map((c) =>
    c === "key" ? `${key} AS key` : c.endsWith("_w") ? `${c.slice(0, -2)}_${window} AS ${c}` : c,
  ).join(", ");
  const source = rollupSource("message_rollups", inner, filter);
  const sums = COLUMNS.slice(1)
    .map((c) => `COALESCE(SUM(${c}), 0) AS ${c}`)
    .join(", ");
  const { results } = await d1
    .prepare(`SELECT key, ${sums} FROM ${source.sql} GROUP BY key HAVING SUM(sent) > 0 OR key = '' ORDER BY key`)
    .bind(...source.params)
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
  const source = rollupSource("message_delays", "step, delay_bucket, messages", filter);
  const { results } = await d1
    .prepare(
      `SELECT step, delay_bucket, SUM(messages) AS messages FROM ${source.sql}
       GROUP BY step, delay_bucket HAVING SUM(messages) > 0 ORDER BY step, delay_bucket`,
    )
    .bind(...source.params)
    .all<{ step: "click" | "convert"; delay_bucket: number; messages: number }>();
  const histogram: DelayHistogram = { click: [], convert: [] };
  for (const row of results) histogram[row.step].push([row.delay_bucket, row.messages]);
  return histogram;
}
