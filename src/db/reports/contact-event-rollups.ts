import type { BucketRange } from "../../lib/rollup-buckets";
import type { D1Handle } from "../client";

// CROSS JOIN keeps the buckets as the outer loop, so each range is one scan of the primary key.
const fromRanges = (table: string) => `FROM json_each(?2) s CROSS JOIN ${table} r
  ON r.workspace_id = ?1 AND r.grain = s.value->>0 AND r.bucket >= s.value->>1 AND r.bucket < s.value->>2`;

const EVENTS_SQL = `SELECT r.type, SUM(r.events) AS events, SUM(r.value_micros) AS valueMicros
${fromRanges("contact_event_rollups")}
WHERE r.type IN ('csat', 'bot_resolved', 'escalated', 'agent_resolved')
  AND (?3 = '[]' OR r.campaign_id IN (SELECT value FROM json_each(?3)))
GROUP BY r.type`;

export type EventTotals = { type: string; events: number; valueMicros: number };

/**
 * CSAT answers and chatbot outcomes summed per type over the buckets. Events carry a campaign but no
 * variant; an event without a campaign matches no campaign filter (an empty list means all).
 */
export async function sumContactEvents(
  d1: D1Handle,
  workspaceId: string,
  campaignIds: readonly string[],
  ranges: BucketRange[],
): Promise<EventTotals[]> {
  const { results } = await d1
    .prepare(EVENTS_SQL)
    .bind(workspaceId, JSON.stringify(ranges), JSON.stringify(campaignIds))
    .all<EventTotals>();
  return results;
}

const RESPONSES_SQL = `SELECT COALESCE(SUM(r.inbound), 0) AS inbound, COALESCE(SUM(r.responded), 0) AS responded,
  COALESCE(SUM(r.response_ms), 0) AS responseMs
${fromRanges("inbound_rollups")}`;

export type ResponseTotals = { inbound: number; responded: number; responseMs: number };

/** Contacts' inbound messages in the buckets, how many the business answered, and its summed response time. */
export async function sumResponses(
  d1: D1Handle,
  workspaceId: string,
  ranges: BucketRange[],
): Promise<ResponseTotals | null> {
  return d1.prepare(RESPONSES_SQL).bind(workspaceId, JSON.stringify(ranges)).first<ResponseTotals>();
}
