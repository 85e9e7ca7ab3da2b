import {
  sumMessageDelays,
  sumMessageRollups,
  sumRepliedWithin,
  WINDOWS,
  type MessageGroup,
  type MessageTotals,
  type RollupWindow,
} from "../db/reports/message-rollups";
import { bucketRanges } from "../lib/rollup-buckets";
import type { ReportFilter } from "./range";
import type { D1Handle } from "../db/client";

export { WINDOWS, type MessageTotals };
export type FunnelWindow = RollupWindow;

export const GROUP_BY = [
  "variant",
  "campaign",
  "country",
  "device",
  "category",
] as const satisfies readonly MessageGroup[];
export type FunnelGroupBy = (typeof GROUP_BY)[number];

/** Sums of the message rollups over the filter's range, per group (or one row for everything). */
export function sumMessages(
  d1: D1Handle,
  filter: ReportFilter,
  window: FunnelWindow,
  groupBy?: FunnelGroupBy,
): Promise<MessageTotals[]> {
  return sumMessageRollups(d1, filter, bucketRanges([filter]), window, groupBy);
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
  limited: 0,
  experiment: 0,
  clicked: 0,
  converted: 0,
  replied: 0,
  charged: 0,
  revenueMicros: 0,
};

export type DelayHistogram = { click: [number, number][]; convert: [number, number][] };

/** How many messages took how long to click and to convert, as (log bucket, messages), ascending. */
export async function delayHistogram(d1: D1Handle, filter: ReportFilter): Promise<DelayHistogram> {
  const histogram: DelayHistogram = { click: [], convert: [] };
  for (const row of await sumMessageDelays(d1, filter, bucketRanges([filter]))) {
    histogram[row.step].push([row.delay_bucket, row.messages]);
  }
  return histogram;
}

/** Messages whose first reply came within `hours` whole hours of the send. */
export function repliedWithin(d1: D1Handle, filter: ReportFilter, hours: number): Promise<number> {
  return sumRepliedWithin(d1, filter, bucketRanges([filter]), hours);
}

/** Failures apart: `limited` (131049) and `experiment` (130472), and `failed` for every other error. */
export function failureOutcomes(t: MessageTotals) {
  return { failed: t.failed - t.limited - t.experiment, limited: t.limited, experiment: t.experiment };
}
