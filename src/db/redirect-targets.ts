import type { Utm } from "./schema";

/**
 * Everything the redirect needs about a link, in one row: it is what the link cache holds. The
 * workspace's settings (click id parameter, dedup window) are read through the settings cache, so
 * that a change to them has one place to be forgotten.
 */
export type RedirectTarget = {
  linkId: string;
  workspaceId: string;
  code: string;
  url: string;
  utm: Utm | null;
  campaignId: string | null;
  variant: string | null;
  messageId: string | null;
  contactHash: string | null;
  expiresAt: number | null;
  disabledAt: number | null;
};

type TargetRow = Omit<RedirectTarget, "utm"> & { utm: string | null };

const TARGET_SQL = `SELECT id AS linkId, workspace_id AS workspaceId, code, url, utm, campaign_id AS campaignId,
  variant, message_id AS messageId, contact_hash AS contactHash, expires_at AS expiresAt, disabled_at AS disabledAt
FROM links WHERE code = ?1`;

export async function loadRedirectTarget(d1: D1Database, code: string): Promise<RedirectTarget | null> {
  const row = await d1.prepare(TARGET_SQL).bind(code).first<TargetRow>();
  if (!row) return null;
  return { ...row, utm: row.utm ? (JSON.parse(row.utm) as Utm) : null };
}
