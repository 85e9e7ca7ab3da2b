import type { Utm } from "./schema";
import { parseSettings } from "./workspaces";

/**
 * Everything the redirect needs about a link, in one row: it is what the link cache holds. It carries
 * the two workspace settings a redirect uses, so that a redirect answered from the colo's cache never
 * waits on D1; a fresher copy in this isolate's settings cache wins over them.
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
  clickIdParam: string;
  clickDedupSeconds: number;
};

type TargetRow = Omit<RedirectTarget, "utm" | "clickIdParam" | "clickDedupSeconds"> & {
  utm: string | null;
  settings: string;
};

const TARGET_SQL = `SELECT l.id AS linkId, l.workspace_id AS workspaceId, l.code, l.url, l.utm,
  l.campaign_id AS campaignId, l.variant, l.message_id AS messageId, l.contact_hash AS contactHash,
  l.expires_at AS expiresAt, l.disabled_at AS disabledAt, w.settings
FROM links l JOIN workspaces w ON w.id = l.workspace_id
WHERE l.code = ?1`;

export async function loadRedirectTarget(d1: D1Database, code: string): Promise<RedirectTarget | null> {
  const row = await d1.prepare(TARGET_SQL).bind(code).first<TargetRow>();
  if (!row) return null;
  const { settings, utm, ...link } = row;
  const { clickIdParam, clickDedupSeconds } = parseSettings(settings);
  return { ...link, utm: utm ? (JSON.parse(utm) as Utm) : null, clickIdParam, clickDedupSeconds };
}
