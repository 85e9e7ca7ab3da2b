import type { D1Handle } from "../db/client";
import {
  delayHistogram,
  EMPTY_TOTALS,
  failureOutcomes,
  sumMessages,
  type FunnelGroupBy,
  type FunnelWindow,
  type MessageTotals,
} from "./messages";
import type { ReportFilter } from "./range";
import { ratio } from "./stats";

export type FunnelStepName = "sent" | "delivered" | "read" | "clicked" | "converted";

export type FunnelStep = {
  name: FunnelStepName;
  count: number;
  inferred?: number;
  rateFromPrevious: number | null;
  rateFromFirst: number | null;
};

/** The five steps of sent messages; `inferred` counts messages whose step was implied by a later one. */
export function funnelSteps(t: MessageTotals): FunnelStep[] {
  const counts: [FunnelStepName, number, number | undefined][] = [
    ["sent", t.sent, t.sentInferred],
    ["delivered", t.delivered, t.deliveredInferred],
    ["read", t.read, t.readInferred],
    ["clicked", t.clicked, undefined],
    ["converted", t.converted, undefined],
  ];
  return counts.map(([name, count, inferred], i) => ({
    name,
    count,
    ...(inferred === undefined ? {} : { inferred }),
    rateFromPrevious: i === 0 ? ratio(count, count) : ratio(count, counts[i - 1][1]),
    rateFromFirst: ratio(count, t.sent),
  }));
}

/** Share of the previous step lost at each step after the first. */
export function dropOff(steps: FunnelStep[]) {
  return steps.slice(1).map((step, i) => ({
    step: step.name,
    count: steps[i].count - step.count,
    rate: ratio(steps[i].count - step.count, steps[i].count),
  }));
}

/**
 * The lower median of the delays of the first `count` messages, in seconds, from a log histogram
 * whose bucket b holds (1.1^(b-1), 1.1^b] seconds: within 5 % of the exact value. The messages
 * that clicked within the window are exactly the `count` quickest, so the histogram of all delays
 * serves every window.
 */
export function medianSeconds(histogram: [number, number][], count: number): number | null {
  if (count === 0) return null;
  const k = Math.ceil(count / 2);
  let seen = 0;
  for (const [bucket, messages] of histogram) {
    seen += messages;
    if (seen >= k) return bucket === 0 ? 0 : Math.round(1.1 ** (bucket - 0.5));
  }
  return null;
}

/** The funnel report (GET /reports/funnel) from the rollups of whichever database `d1` reads. */
export async function funnelReport(d1: D1Handle, filter: ReportFilter, window: FunnelWindow, groupBy?: FunnelGroupBy) {
  const [[total = EMPTY_TOTALS], groups, delays] = await Promise.all([
    sumMessages(d1, filter, window),
    groupBy ? sumMessages(d1, filter, window, groupBy) : null,
    delayHistogram(d1, filter),
  ]);
  return {
    window,
    steps: funnelSteps(total),
    revenue: total.revenueMicros / 1e6,
    medianTimeToClickSeconds: medianSeconds(delays.click, total.clicked),
    medianTimeToConvertSeconds: medianSeconds(delays.convert, total.converted),
    outcomes: failureOutcomes(total),
    ...(groups
      ? { groups: groups.map((g) => ({ key: g.key, steps: funnelSteps(g), outcomes: failureOutcomes(g) })) }
      : {}),
  };
}
