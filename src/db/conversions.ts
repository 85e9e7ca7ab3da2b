import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
import { conversions, type ConversionRow, type ConversionSource } from "./schema";

export type Attribution = {
  clickId: string;
  linkId: string;
  linkCode: string;
  campaignId: string | null;
  variant: string | null;
  messageId: string | null;
  contactHash: string | null;
};

const CLICK_COLUMNS = `c.id AS clickId, c.link_id AS linkId, l.code AS linkCode, c.campaign_id AS campaignId,
  c.variant, c.message_id AS messageId, c.contact_hash AS contactHash`;

/** The human click with this id, if it happened within [from, to]. */
export function findClick(d1: D1Database, workspaceId: string, clickId: string, from: number, to: number) {
  return d1
    .prepare(
      `SELECT ${CLICK_COLUMNS} FROM clicks c JOIN links l ON l.id = c.link_id
       WHERE c.id = ?1 AND c.workspace_id = ?2 AND c.kind = 'click' AND c.occurred_at BETWEEN ?3 AND ?4`,
    )
    .bind(clickId, workspaceId, from, to)
    .first<Attribution>();
}

/** The contact's last human click within [from, to]. */
export function findLastClickOfContact(
  d1: D1Database,
  workspaceId: string,
  contactHash: string,
  from: number,
  to: number,
) {
  return d1
    .prepare(
      `SELECT ${CLICK_COLUMNS} FROM clicks c JOIN links l ON l.id = c.link_id
       WHERE c.contact_hash = ?1 AND c.workspace_id = ?2 AND c.kind = 'click' AND c.occurred_at BETWEEN ?3 AND ?4
       ORDER BY c.occurred_at DESC LIMIT 1`,
    )
    .bind(contactHash, workspaceId, from, to)
    .first<Attribution>();
}

export type NewConversion = {
  id: string;
  workspaceId: string;
  event: string;
  orderId: string | null;
  value: number | null;
  valueMinor: number | null;
  currency: string | null;
  source: ConversionSource;
  attribution: Attribution | null;
  contactHash: string | null;
  gaClientId: string | null;
  gaSessionId: string | null;
  adUserData: "granted" | "denied" | null;
  adPersonalization: "granted" | "denied" | null;
  occurredAt: number;
};

/**
 * Inserts unless the workspace already has this (event, orderId): the unique index decides, so two
 * identical requests at the same moment still give one conversion. Returns the stored row either way.
 */
export async function insertConversion(db: Db, c: NewConversion): Promise<{ row: ConversionRow; duplicate: boolean }> {
  const { attribution: a, ...fields } = c;
  const [inserted] = await db
    .insert(conversions)
    .values({
      ...fields,
      clickId: a?.clickId ?? null,
      linkId: a?.linkId ?? null,
      linkCode: a?.linkCode ?? null,
      campaignId: a?.campaignId ?? null,
      variant: a?.variant ?? null,
      messageId: a?.messageId ?? null,
      contactHash: c.contactHash ?? a?.contactHash ?? null,
      receivedAt: Date.now(),
    })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { row: inserted, duplicate: false };
  const [existing] = await db
    .select()
    .from(conversions)
    .where(
      and(
        eq(conversions.workspaceId, c.workspaceId),
        eq(conversions.event, c.event),
        eq(conversions.orderId, c.orderId!),
      ),
    )
    .limit(1);
  return { row: existing, duplicate: true };
}
