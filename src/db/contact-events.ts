export type NewContactEvent = {
  id: string;
  type: string;
  contactHash: string;
  campaignId: string | null;
  value: number | null;
  occurredAt: number;
};

const INSERT_SQL = `INSERT INTO contact_events (id, workspace_id, type, contact_hash, campaign_id, value, occurred_at, received_at)
SELECT value->>'id', ?2, value->>'type', value->>'contactHash', value->>'campaignId', value->>'value',
  value->>'occurredAt', ?3
FROM json_each(?1)`;

/** Inserts up to a thousand events in one statement (D1 binds at most 100 parameters per statement). */
export async function insertContactEvents(
  d1: D1Database,
  workspaceId: string,
  events: NewContactEvent[],
): Promise<void> {
  await d1.prepare(INSERT_SQL).bind(JSON.stringify(events), workspaceId, Date.now()).run();
}
