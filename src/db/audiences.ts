import { audienceStageCode, type AudienceStage } from "./audience-stages";
import type { D1Handle } from "./client";

/** Where a page of an audience starts: after this message, in the order messages reached the stage. */
export type AudiencePosition = { reachedAt: number; rowid: number };

export type AudienceRow = AudiencePosition & {
  messageId: string;
  externalId: string | null;
  linkCode: string | null;
  variant: string | null;
};

// A message's externalId is its own, else its link's (as in the exports). One range of messages_audience, walked in (audience_at, rowid) order from the position after ?4,
// ?5 (the index entries end in the rowid). Contacts whose latest consent record (by time, then by
// insertion) is an opt-out are skipped as the page is read: consent changes apart from the messages,
// so it cannot be part of the index.
const AUDIENCE_PAGE_SQL = `SELECT m.rowid AS rowid, m.audience_at AS reachedAt, m.id AS messageId,
  COALESCE(m.external_id,
    (SELECT l.external_id FROM links l WHERE l.code = m.link_code AND l.workspace_id = m.workspace_id)) AS externalId,
  m.link_code AS linkCode, m.variant
FROM messages m INDEXED BY messages_audience
WHERE m.workspace_id = ?1 AND m.campaign_id = ?2 AND m.audience_stage = ?3
  AND (m.audience_at, m.rowid) > (?4, ?5)
  AND COALESCE((SELECT NOT c.opted_in FROM consents c
    WHERE c.workspace_id = m.workspace_id AND c.contact_hash = m.contact_hash
    ORDER BY c.occurred_at DESC, c.seq DESC LIMIT 1), 0) = 0
ORDER BY m.audience_at, m.rowid
LIMIT ?6`;

/** Up to `limit` messages of a campaign's audience at `stage`, after `after` (null: from the start). */
export async function findAudienceMessages(
  d1: D1Handle,
  query: {
    workspaceId: string;
    campaignId: string;
    stage: AudienceStage;
    after: AudiencePosition | null;
    limit: number;
  },
): Promise<AudienceRow[]> {
  const { results } = await d1
    .prepare(AUDIENCE_PAGE_SQL)
    .bind(
      query.workspaceId,
      query.campaignId,
      audienceStageCode(query.stage),
      query.after?.reachedAt ?? -1,
      query.after?.rowid ?? 0,
      query.limit,
    )
    .all<AudienceRow>();
  return results;
}
