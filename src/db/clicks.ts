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

// Uniqueness is decided inside the insert: a human click is unique unless the same visitor clicked
// the same link within the dedup window before it. OR IGNORE makes a replayed click id a no-op, and
// the counter trigger fires only for rows really inserted. The click's contact is the link's as it
// stands now: the contact the link's id has joined since, if any (contact_aliases).
const INSERT_CLICK_SQL = `INSERT OR IGNORE INTO clicks
  (id, workspace_id, link_id, campaign_id, variant, message_id, contact_hash, kind, is_unique,
   visitor_hash, occurred_at, country, device_type, os, browser, referrer_host, user_agent)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ${canonicalContactSql("?2", "?7")}, ?8,
  ?8 = 'click' AND NOT EXISTS (
    SELECT 1 FROM clicks WHERE link_id = ?3 AND visitor_hash = ?9 AND kind = 'click'
      AND occurred_at > ?10 - ?16 * 1000 AND occurred_at <= ?10),
  ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?17`;

/** The statement that stores one click (its outbox entry and the link counter follow by trigger). */
export function bindClick(d1: D1Database, c: ClickRecord): D1PreparedStatement {
  return d1
    .prepare(INSERT_CLICK_SQL)
    .bind(
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
    );
}

/** Writes clicks in one atomic batch, in order, so that earlier clicks count for later ones' uniqueness. */
export async function insertClicks(d1: D1Database, clicks: ClickRecord[]): Promise<void> {
  if (clicks.length === 0) return;
  const ordered = [...clicks].sort((a, b) => a.occurredAt - b.occurredAt);
  await d1.batch(ordered.map((click) => bindClick(d1, click)));
}
