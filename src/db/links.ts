import { and, eq } from "drizzle-orm";
import { newId, newLinkCode } from "../lib/ids";
import { toIso } from "../schemas/common";
import type { Db } from "./client";
import { canonicalContactSql } from "./contact-aliases";
import { pageByRowid } from "./pages";
import { links, type LinkRow } from "./schema";

export type NewLink = Omit<LinkRow, "clicks" | "uniqueClicks" | "previews" | "bots" | "conversions" | "revenue">;

export type LinkFields = Pick<NewLink, "url"> &
  Partial<
    Pick<NewLink, "code" | "campaignId" | "variant" | "contactHash" | "messageId" | "externalId" | "utm" | "expiresAt">
  >;

export function newLinkRow(workspaceId: string, fields: LinkFields, now: number): NewLink {
  return {
    id: newId("lnk"),
    workspaceId,
    code: fields.code ?? newLinkCode(),
    url: fields.url,
    campaignId: fields.campaignId ?? null,
    variant: fields.variant ?? null,
    contactHash: fields.contactHash ?? null,
    messageId: fields.messageId ?? null,
    externalId: fields.externalId ?? null,
    utm: fields.utm ?? null,
    expiresAt: fields.expiresAt ?? null,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

export function serializeLink(row: NewLink & Partial<LinkRow>, origin: string) {
  return {
    id: row.id,
    code: row.code,
    shortUrl: `${origin}/${row.code}`,
    url: row.url,
    campaignId: row.campaignId,
    variant: row.variant,
    messageId: row.messageId,
    externalId: row.externalId,
    utm: row.utm,
    disabled: row.disabledAt !== null,
    createdAt: toIso(row.createdAt)!,
    updatedAt: toIso(row.updatedAt)!,
    expiresAt: toIso(row.expiresAt),
    clicks: row.clicks ?? 0,
    uniqueClicks: row.uniqueClicks ?? 0,
    previews: row.previews ?? 0,
    bots: row.bots ?? 0,
    conversions: row.conversions ?? 0,
    revenue: row.revenue ?? 0,
  };
}

export function isUniqueViolation(err: unknown, column: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.message.includes(`UNIQUE constraint failed: ${column}`)) return true;
  }
  return false;
}

export async function findLinkByCode(db: Db, workspaceId: string, code: string): Promise<LinkRow | null> {
  const [row] = await db
    .select()
    .from(links)
    .where(and(eq(links.code, code), eq(links.workspaceId, workspaceId)))
    .limit(1);
  return row ?? null;
}

/** Applies `changes` to the workspace's link with this code; null when there is none. */
export async function updateLinkByCode(
  db: Db,
  workspaceId: string,
  code: string,
  changes: Partial<NewLink>,
): Promise<LinkRow | null> {
  const [row] = await db
    .update(links)
    .set({ ...changes, updatedAt: Date.now() })
    .where(and(eq(links.code, code), eq(links.workspaceId, workspaceId)))
    .returning();
  return row ?? null;
}

export function listLinks(db: Db, query: { workspaceId: string; campaignId?: string; cursor?: string; limit: number }) {
  const filter = and(
    eq(links.workspaceId, query.workspaceId),
    query.campaignId ? eq(links.campaignId, query.campaignId) : undefined,
  );
  return pageByRowid(db, links, filter, query);
}

const BULK_CHUNK = 500;

// A link for a user id or number known to be another's (contact_aliases) is that contact's link, as
// its messages are: clicks and conversions through it then join them.
const BULK_INSERT_SQL = `INSERT INTO links
  (id, workspace_id, code, url, campaign_id, variant, contact_hash, message_id, external_id, utm,
   expires_at, disabled_at, created_at, updated_at)
SELECT value->>'id', value->>'workspaceId', value->>'code', value->>'url', value->>'campaignId',
  value->>'variant', ${canonicalContactSql("value->>'workspaceId'", "value->>'contactHash'")}, value->>'messageId', value->>'externalId',
  json_extract(value, '$.utm'), value->>'expiresAt', NULL, value->>'createdAt', value->>'updatedAt'
FROM json_each(?1)`;

const CODE_ATTEMPTS = 3;

/**
 * Inserts links in one atomic D1 batch; each statement carries a chunk of rows as one JSON parameter,
 * since D1 binds at most 100 parameters per statement. When a generated code meets an existing one the
 * batch rolls back, and new codes are drawn; a code the caller chose is reported as taken instead.
 */
export async function insertLinks(
  d1: D1Database,
  rows: NewLink[],
  codesChosen: boolean,
): Promise<"inserted" | "code_taken"> {
  for (let attempt = 1; ; attempt++) {
    const statements: D1PreparedStatement[] = [];
    for (let i = 0; i < rows.length; i += BULK_CHUNK) {
      statements.push(d1.prepare(BULK_INSERT_SQL).bind(JSON.stringify(rows.slice(i, i + BULK_CHUNK))));
    }
    try {
      await d1.batch(statements);
      return "inserted";
    } catch (err) {
      if (!isUniqueViolation(err, "links.code")) throw err;
      if (codesChosen) return "code_taken";
      if (attempt >= CODE_ATTEMPTS) throw err;
      for (const row of rows) row.code = newLinkCode();
    }
  }
}
