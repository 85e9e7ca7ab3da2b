import { canonicalContactSql } from "./contact-aliases";
import type { ClickKind } from "./schema";

/** One visit to a short link, as recorded after the redirect (and as carried by the retry queue). */
export type ClickRecord = {
  id: string;
  workspaceId: string;
  linkId: string;
  campaignId: string | null;
  variant: string | null;
  messageId: string | null;
  contactHash: string | null;
  kind: ClickKind;
  visitorHash: string | null;
  dedupSeconds: number;
  occurredAt: number;
  country: string | null;
  deviceType: string | null;
  os: string | null;
  browser: string | null;
  referrerHost: string | null;
  userAgent: string | null;
};

// One statement stores a whole batch of clicks, read from a JSON array in the order given (oldest
// first): a statement per click would cost a round trip through D1's API each. Uniqueness is decided
// inside the insert: a human click is unique unless the same visitor clicked the same link within the
// dedup window before it, in the table or earlier in the batch (SQLite reads the table as it was before
// the statement, since the statement's SELECT reads the table it inserts into). OR IGNORE makes a
// replayed click id a no-op, and the counter trigger fires only for rows really inserted. The click's
// contact is the link's as it stands now: the contact the link's id has joined since, if any
// (contact_aliases).
const INSERT_CLICKS_SQL = `WITH batch AS MATERIALIZED (
  SELECT key AS n, value ->> '$[0]' AS id, value ->> '$[1]' AS workspace_id, value ->> '$[2]' AS link_id,
    value ->> '$[3]' AS campaign_id, value ->> '$[4]' AS variant, value ->> '$[5]' AS message_id,
    value ->> '$[6]' AS contact_hash, value ->> '$[7]' AS kind, value ->> '$[8]' AS visitor_hash,
    value ->> '$[9]' AS occurred_at, value ->> '$[10]' AS country, value ->> '$[11]' AS device_type,
    value ->> '$[12]' AS os, value ->> '$[13]' AS browser, value ->> '$[14]' AS referrer_host,
    value ->> '$[15]' AS dedup_seconds, value ->> '$[16]' AS user_agent
  FROM json_each(?1))
INSERT OR IGNORE INTO clicks
  (id, workspace_id, link_id, campaign_id, variant, message_id, contact_hash, kind, is_unique,
   visitor_hash, occurred_at, country, device_type, os, browser, referrer_host, user_agent)
SELECT b.id, b.workspace_id, b.link_id, b.campaign_id, b.variant, b.message_id,
  ${canonicalContactSql("b.workspace_id", "b.contact_hash")}, b.kind,
  b.kind = 'click' AND NOT EXISTS (
    SELECT 1 FROM clicks c WHERE c.link_id = b.link_id AND c.visitor_hash = b.visitor_hash AND c.kind = 'click'
      AND c.occurred_at > b.occurred_at - b.dedup_seconds * 1000 AND c.occurred_at <= b.occurred_at)
  AND NOT EXISTS (
    SELECT 1 FROM batch e WHERE e.n < b.n AND e.link_id = b.link_id AND e.visitor_hash = b.visitor_hash
      AND e.kind = 'click' AND e.occurred_at > b.occurred_at - b.dedup_seconds * 1000
      AND e.occurred_at <= b.occurred_at),
  b.visitor_hash, b.occurred_at, b.country, b.device_type, b.os, b.browser, b.referrer_host, b.user_agent
FROM batch b ORDER BY b.n`;

/** A click as the statement's JSON reads it: one array per click, in the columns' order above. */
function clickRow(c: ClickRecord): unknown[] {
  return [
    c.id,
    c.workspaceId,
    c.linkId,
    c.campaignId,
    c.variant,
    c.messageId,
    c.contactHash,
    c.kind,
    c.visitorHash,
    c.occurredAt,
    c.country,
    c.deviceType,
    c.os,
    c.browser,
    c.referrerHost,
    c.dedupSeconds,
    c.userAgent,
  ];
}

/**
 * The statement that stores `clicks` in order (their outbox entries and the links' counters follow by
 * trigger), so that earlier clicks count for later ones' uniqueness.
 */
export function bindClicks(d1: D1Database, clicks: readonly ClickRecord[]): D1PreparedStatement {
  return d1.prepare(INSERT_CLICKS_SQL).bind(JSON.stringify(clicks.map(clickRow)));
}

/** The statement that stores one click. */
export function bindClick(d1: D1Database, click: ClickRecord): D1PreparedStatement {
  return bindClicks(d1, [click]);
}

/** Writes clicks in one atomic statement, oldest first, so that earlier clicks count for later ones' uniqueness. */
export async function insertClicks(d1: D1Database, clicks: ClickRecord[]): Promise<void> {
  if (clicks.length === 0) return;
  await bindClicks(
    d1,
    [...clicks].sort((a, b) => a.occurredAt - b.occurredAt),
  ).run();
}
