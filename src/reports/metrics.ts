import type { D1Handle } from "../db/client";
import type { RateCard } from "../db/schema";
import { eventMetrics, responseTimes } from "./contact-events";
import { reportCosts } from "./cost";
import { dropOff, funnelSteps } from "./funnel";
import { EMPTY_TOTALS, failureOutcomes, repliedWithin, sumMessages, type FunnelWindow } from "./messages";
import { optOutRate } from "./opt-out-rate";
import type { ReportFilter } from "./range";
import { retentionRate } from "./retention";
import { ratio } from "./stats";

export type MetricsOptions = {
  window: FunnelWindow;
  /** How `responseRate` names its window (`72h`), and that window in hours. */
  responseWindow: string;
  responseWindowHours: number;
  /** Prices the messages Meta charged; `cost` is null without one. */
  rateCard: RateCard | null | undefined;
};

/** The metrics report (GET /reports/metrics) from the rollups of whichever database `d1` reads. */
export async function metricsReport(d1: D1Handle, filter: ReportFilter, options: MetricsOptions) {
  const [[t = EMPTY_TOTALS], replied, events, responses, retention, optOuts, costs] = await Promise.all([
    sumMessages(d1, filter, options.window),
    repliedWithin(d1, filter, options.responseWindowHours),
    eventMetrics(d1, filter),
    responseTimes(d1, filter),
    retentionRate(d1, filter),
    optOutRate(d1, filter),
    reportCosts(d1, filter, options.rateCard),
  ]);
  return {
    window: options.window,
    messages: {
      sent: t.sent,
      delivered: t.delivered,
      read: t.read,
      clicked: t.clicked,
      converted: t.converted,
      replied,
      ...failureOutcomes(t),
      charged: t.charged,
    },
    deliveryRate: ratio(t.delivered, t.sent),
    openRate: ratio(t.read, t.delivered),
    clickThroughRate: ratio(t.clicked, t.delivered),
    conversionRate: ratio(t.converted, t.delivered),
    responseRate: ratio(replied, t.delivered),
    responseWindow: options.responseWindow,
    avgResponseTimeSeconds: responses.avgResponseTimeSeconds,
    revenue: t.revenueMicros / 1e6,
    csat: events.csat,
    dropOff: dropOff(funnelSteps(t)),
    chatbot: {
      selfResolutionRate: events.chatbot.selfResolutionRate,
      escalationRate: events.chatbot.escalationRate,
    },
    retentionRate: retention,
    optOutRate: optOuts,
    limitedRate: ratio(t.limited, t.sent),
    experimentRate: ratio(t.experiment, t.sent),
    cost: costs("", t),
  };
}
