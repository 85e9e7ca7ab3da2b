import { bucketRanges } from "./bucket-ranges";
import type { ReportFilter } from "./range";
import { ratio } from "./stats";

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

const spansJson = (filter: ReportFilter) => JSON.stringify(bucketRanges([filter]));

// CROSS JOIN keeps the spans as the outer loop, so each span is one range scan of the primary key.
const fromSpans = (table: string) => `FROM json_each(?2) s CROSS JOIN ${table} r
  ON r.workspace_id = ?1 AND r.grain = s.value->>0 AND r.bucket >= s.value->>1 AND r.bucket < s.value->>2`;

const EVENTS_SQL = `SELECT r.type, SUM(r.events) AS events, SUM(r.value_micros) AS valueMicros
${fromSpans("contact_event_rollups")}
WHERE r.type IN ('csat', 'bot_resolved', 'escalated', 'agent_resolved')
  AND (?3 = '[]' OR r.campaign_id IN (SELECT value FROM json_each(?3)))
GROUP BY r.type`;

type EventTotals = { type: string; events: number; valueMicros: number };

/**
 * CSAT and chatbot outcomes of the events that occurred in [from, to). Events carry a campaign but no
 * variant, so a variant filter does not apply; an event without a campaign matches no campaign filter.
 */
export async function eventMetrics(d1: D1Database, filter: ReportFilter): Promise<EventMetrics> {
  const { results } = await d1
    .prepare(EVENTS_SQL)
    .bind(filter.workspaceId, spansJson(filter), JSON.stringify(filter.campaignIds))
    .all<EventTotals>();
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

const RESPONSES_SQL = `SELECT COALESCE(SUM(r.inbound), 0) AS inbound, COALESCE(SUM(r.responded), 0) AS responded,
  COALESCE(SUM(r.response_ms), 0) AS responseMs
${fromSpans("inbound_rollups")}`;

/**
 * How long the business took to answer contacts' messages that arrived in [from, to): from an inbound
 * message to the business's next message to that contact (which may fall after `to`). Inbound messages
 * belong to no campaign or variant, so this is workspace-wide and those filters do not apply.
 */
export async function responseTimes(d1: D1Database, filter: ReportFilter): Promise<ResponseTimes> {
  const row = await d1
    .prepare(RESPONSES_SQL)
    .bind(filter.workspaceId, spansJson(filter))
    .first<{ inbound: number; responded: number; responseMs: number }>();
  const inbound = row?.inbound ?? 0;
  const responded = row?.responded ?? 0;
  return {
    avgResponseTimeSeconds: responded === 0 ? null : (row?.responseMs ?? 0) / 1000 / responded,
    inbound,
    responded,
  };
}
