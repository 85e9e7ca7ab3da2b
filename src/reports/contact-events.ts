import { sumContactEvents, sumResponses } from "../db/reports/contact-event-rollups";
import { bucketRanges } from "../lib/rollup-buckets";
import type { ReportFilter } from "./range";
import { ratio } from "./stats";
import type { D1Handle } from "../db/client";

export type EventMetrics = {
  csat: { average: number | null; responses: number };
  chatbot: {
    selfResolutionRate: number | null;
    escalationRate: number | null;
    botResolved: number;
    escalated: number;
    agentResolved: number;
  };
};

export type ResponseTimes = { avgResponseTimeSeconds: number | null; inbound: number; responded: number };

/**
 * CSAT and chatbot outcomes of the events that occurred in [from, to). Events carry a campaign but no
 * variant, so a variant filter does not apply; an event without a campaign matches no campaign filter.
 */
export async function eventMetrics(d1: D1Handle, filter: ReportFilter): Promise<EventMetrics> {
  const results = await sumContactEvents(d1, filter.workspaceId, filter.campaignIds, bucketRanges([filter]));
  const totals = new Map(results.map((row) => [row.type, row]));
  const count = (type: string) => totals.get(type)?.events ?? 0;
  const responses = count("csat");
  const botResolved = count("bot_resolved");
  const escalated = count("escalated");
  return {
    csat: {
      average: responses === 0 ? null : (totals.get("csat")?.valueMicros ?? 0) / 1e6 / responses,
      responses,
    },
    chatbot: {
      selfResolutionRate: ratio(botResolved, botResolved + escalated),
      escalationRate: ratio(escalated, botResolved + escalated),
      botResolved,
      escalated,
      agentResolved: count("agent_resolved"),
    },
  };
}

/**
 * How long the business took to answer contacts' messages that arrived in [from, to): from an inbound
 * message to the business's next message to that contact (which may fall after `to`). Inbound messages
 * belong to no campaign or variant, so this is workspace-wide and those filters do not apply.
 */
export async function responseTimes(d1: D1Handle, filter: ReportFilter): Promise<ResponseTimes> {
  const row = await sumResponses(d1, filter.workspaceId, bucketRanges([filter]));
  const inbound = row?.inbound ?? 0;
  const responded = row?.responded ?? 0;
  return {
    avgResponseTimeSeconds: responded === 0 ? null : (row?.responseMs ?? 0) / 1000 / responded,
    inbound,
    responded,
  };
}
