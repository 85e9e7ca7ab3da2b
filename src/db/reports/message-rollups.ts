import type { BucketRange } from "../../lib/rollup-buckets";
import { rollupParams, rollupWhere, type RollupFilter } from "./rollup-filter";

import { WINDOWS, type RollupWindow } from "../../rollups/declarations";
import type { D1Handle } from "../client";

// Windows for "clicked / converted within `window` of being sent": the columns the rollups keep.
export { WINDOWS, type RollupWindow };

/** What message rollups can be grouped by, and the column that holds it. */
const GROUP_COLUMN = {
  variant: "variant",
  campaign: "campaign_id",
  country: "country",
  device: "device",
  category: "category",
} as const;
export type MessageGroup = keyof typeof GROUP_COLUMN;

/** What the rollups know of the messages sent in a range (one group of them). */
export type MessageTotals = {
  key: string | null;
  sent: number;
  sentInferred: number;
  delivered: number;
  deliveredInferred: number;
  read: number;
  readInferred: number;
  /** Failed, of any error; limited and experiment are among them. */
  failed: number;
  limited: number;
  experiment: number;
  clicked: number;
  converted: number;
  replied: number;
  charged: number;
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
  "limited",
  "experiment",
  "clicked_w",
  "converted_w",
  "replied",
  "charged",
  "revenue_micros",
];

/**
 * Quarter hours of messages are read from the 't' grain, which keys them by campaign and variant
 * only: its rows do not multiply with countries, devices and categories (see migrations/0010).
 */
export function seriesRanges(ranges: BucketRange[]): unknown[] {
  return ranges.map(([grain, from, to]) => [grain === "q" ? "t" : grain, from, to]);
}

/** Sums of the message rollups over the buckets, per group (or one row for everything). */
export async function sumMessageRollups(
  d1: D1Handle,
  filter: RollupFilter,
  ranges: BucketRange[],
  window: RollupWindow,
  groupBy?: MessageGroup,
): Promise<MessageTotals[]> {
  const key = groupBy ? `r.${GROUP_COLUMN[groupBy]}` : "''";
  // The edges of the range come from quarter-hour rows; only a group by a message's country, device
  // or category needs those that carry them.
  const needsDimensions = groupBy === "country" || groupBy === "device" || groupBy === "category";
  // Group messages have no one recipient: only a funnel by category shows them (SPEC §7).
  const groups = groupBy === "category" ? "" : "AND r.is_group = 0";
  const sums = COLUMNS.slice(1)
    .map((c) => `COALESCE(SUM(r.${c.endsWith("_w") ? `${c.slice(0, -2)}_${window}` : c}), 0) AS ${c}`)
    .join(", ");
  const { results } = await d1
    .prepare(
      `SELECT ${key} AS key, ${sums} FROM json_each(?2) AS s CROSS JOIN message_rollups AS r
       WHERE ${rollupWhere("r")} ${groups} GROUP BY 1 HAVING SUM(r.sent) > 0 OR key = '' ORDER BY 1`,
    )
    .bind(...rollupParams(filter, needsDimensions ? ranges : seriesRanges(ranges)))
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
    limited: Number(r.limited),
    experiment: Number(r.experiment),
    clicked: Number(r.clicked_w),
    converted: Number(r.converted_w),
    replied: Number(r.replied),
    charged: Number(r.charged),
    revenueMicros: Number(r.revenue_micros),
  }));
}

export type DelayRow = { step: "click" | "convert"; delay_bucket: number; messages: number };

/** How many messages took how long to click and to convert, per step and log bucket, ascending. */
export async function sumMessageDelays(d1: D1Handle, filter: RollupFilter, ranges: BucketRange[]): Promise<DelayRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT r.step AS step, r.delay_bucket AS delay_bucket, SUM(r.messages) AS messages
       FROM json_each(?2) AS s CROSS JOIN message_delays AS r
       WHERE ${rollupWhere("r")} GROUP BY 1, 2 HAVING SUM(r.messages) > 0 ORDER BY 1, 2`,
    )
    .bind(...rollupParams(filter, ranges))
    .all<DelayRow>();
  return results;
}

/** How many messages had their first reply within `hours` whole hours of being sent (message_reply_delays). */
export async function sumRepliedWithin(
  d1: D1Handle,
  filter: RollupFilter,
  ranges: BucketRange[],
  hours: number,
): Promise<number> {
  const row = await d1
    .prepare(
      `SELECT COALESCE(SUM(r.messages), 0) AS messages FROM json_each(?2) AS s CROSS JOIN message_reply_delays AS r
       WHERE ${rollupWhere("r")} AND r.reply_hours <= ?5`,
    )
    .bind(...rollupParams(filter, ranges), hours)
    .first<{ messages: number }>();
  return Number(row?.messages ?? 0);
}
