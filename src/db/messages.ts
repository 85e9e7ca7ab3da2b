import { PRICING_FIELDS, type Pricing } from "../lib/pricing";
import type { WhatsAppStatus } from "../whatsapp/webhook-body";
import { canonicalContactSql } from "./contact-aliases";
import type { D1Handle } from "./client";
import { INSERT_CONSENTS_SQL, type StoredConsent } from "./consents.ts";
import type { MessageRow } from "./schema";

export type StoredStatus = {
  workspaceId: string;
  messageId: string;
  status: WhatsAppStatus;
  at: number;
  contactHash: string | null;
  /** The hash of the contact's user id when the status also named its phone number (contactHash). */
  aliasHash: string | null;
  country: string | null;
  bizOpaque: string | null;
  errors: unknown[] | null;
  pricing: Pricing | null;
  isGroup: boolean;
};

/**
 * The type of Meta's system messages (a user's number or user id changed): news about the user, which
 * only pairs ids, never a reply.
 */
export const SYSTEM_MESSAGE = "system";

export type StoredInbound = {
  workspaceId: string;
  id: string;
  type: string;
  at: number;
  contactHash: string | null;
  /** The hash of the contact's user id when the message also named its phone number (contactHash). */
  aliasHash: string | null;
  contextId: string | null;
};

export type WhatsAppEvents = { statuses: StoredStatus[]; inbound: StoredInbound[]; consents: StoredConsent[] };

export function mergeEvents(batches: WhatsAppEvents[]): WhatsAppEvents {
  return {
    statuses: batches.flatMap((b) => b.statuses),
    inbound: batches.flatMap((b) => b.inbound),
    consents: batches.flatMap((b) => b.consents),
  };
}

// SQLite's two-argument MIN is NULL when either side is; this keeps the earliest non-null time.
const earliest = (column: string) =>
  `${column} = COALESCE(MIN(messages.${column}, excluded.${column}), messages.${column}, excluded.${column})`;

const canonical = canonicalContactSql;

// Where a status stands among a message's statuses for pricing: its time, then its step (a `read` of the
// same second as the `sent` is the later news). Keys are whole numbers far below 2^53.
const pricingOrder = (status: string, at: string) =>
  `(${at}) * 4 + CASE ${status} WHEN 'sent' THEN 0 WHEN 'delivered' THEN 1 WHEN 'read' THEN 2 ELSE 3 END`;

// Whether the incoming status's value of a pricing field replaces the stored one: it carries the field,
// and is later news (equal news: the greater value, so that the order of arrival never matters).
function pricingWins(field: string): string {
  const path = `'$.${field}'`;
  const incoming = `json_extract(excluded.pricing_at, ${path})`;
  const stored = `json_extract(messages.pricing_at, ${path})`;
  return `(json_type(excluded.pricing, ${path}) IS NOT NULL AND (${stored} IS NULL OR ${incoming} > ${stored}
    OR (${incoming} = ${stored} AND excluded.pricing -> ${path} > messages.pricing -> ${path})))`;
}

// json_patch drops the keys patched with null, so a field neither side has stays absent.
const mergedPricing = (column: "pricing" | "pricing_at") =>
  `NULLIF(json_patch(COALESCE(messages.${column}, '{}'), json_object(${PRICING_FIELDS.map(
    (f) =>
      `'${f}', json(CASE WHEN ${pricingWins(f)} THEN excluded.${column} -> '$.${f}' ELSE messages.${column} -> '$.${f}' END)`,
  ).join(", ")})), '{}')`;

// A status creates the message row if it is the first news of that wamid, otherwise it can only move
// a step's time earlier or fill what is missing: repeated or reordered deliveries give the same row.
// Pricing is merged field by field, each from the latest status that carried it (Meta sends it on
// `sent` and on one of `delivered` / `read`).
// `biz_opaque_callback_data` equal to one of the workspace's link codes joins the message to that link.
export const UPSERT_STATUSES_SQL = `INSERT INTO messages
  (workspace_id, id, contact_hash, country, biz_opaque, link_code, campaign_id, variant,
   sent_at, delivered_at, read_at, failed_at, errors, pricing, pricing_at, is_group, created_at)
SELECT s.value->>'workspaceId', s.value->>'messageId',
  ${canonical("s.value->>'workspaceId'", "s.value->>'contactHash'")}, s.value->>'country',
  s.value->>'bizOpaque',
  l.code, l.campaign_id, l.variant,
  CASE s.value->>'status' WHEN 'sent' THEN s.value->>'at' END,
  CASE s.value->>'status' WHEN 'delivered' THEN s.value->>'at' END,
  CASE s.value->>'status' WHEN 'read' THEN s.value->>'at' END,
  CASE s.value->>'status' WHEN 'failed' THEN s.value->>'at' END,
  json_extract(s.value, '$.errors'), json_extract(s.value, '$.pricing'),
  (SELECT NULLIF(json_group_object(p.key, ${pricingOrder("s.value->>'status'", "s.value->>'at'")}), '{}')
   FROM json_each(s.value, '$.pricing') p),
  COALESCE(s.value->>'isGroup', 0), ?2
FROM json_each(?1) s
LEFT JOIN links l ON l.code = s.value->>'bizOpaque' AND l.workspace_id = s.value->>'workspaceId'
WHERE true
ON CONFLICT (workspace_id, id) DO UPDATE SET
  contact_hash = COALESCE(${canonical("messages.workspace_id", "messages.contact_hash")}, excluded.contact_hash),
  country = COALESCE(messages.country, excluded.country),
  biz_opaque = COALESCE(messages.biz_opaque, excluded.biz_opaque),
  link_code = COALESCE(messages.link_code, excluded.link_code),
  campaign_id = COALESCE(messages.campaign_id, excluded.campaign_id),
  variant = COALESCE(messages.variant, excluded.variant),
  ${earliest("sent_at")}, ${earliest("delivered_at")}, ${earliest("read_at")}, ${earliest("failed_at")},
  errors = COALESCE(messages.errors, excluded.errors),
  pricing = ${mergedPricing("pricing")},
  pricing_at = ${mergedPricing("pricing_at")},
  is_group = MAX(messages.is_group, excluded.is_group)`;

const INSERT_INBOUND_SQL = `INSERT OR IGNORE INTO inbound_messages
  (workspace_id, id, contact_hash, context_id, type, occurred_at, received_at)
SELECT value->>'workspaceId', value->>'id', ${canonical("value->>'workspaceId'", "value->>'contactHash'")},
  value->>'contextId', value->>'type', value->>'at', ?2
FROM json_each(?1)`;

// A status or message that names a contact by both its phone number and its user id pairs them; the
// first pair of a user id holds (a user id is one WhatsApp user's, for this business). The pair points
// at the number's contact as it stands: a number that joined another contact is an alias itself.
const INSERT_ALIASES_SQL = `INSERT OR IGNORE INTO contact_aliases (workspace_id, alias_hash, contact_hash, created_at)
SELECT value->>'workspaceId', value->>'aliasHash', ${canonical("value->>'workspaceId'", "value->>'contactHash'")}, ?2
FROM json_each(?1) WHERE value->>'aliasHash' IS NOT NULL AND value->>'contactHash' IS NOT NULL
  AND value->>'aliasHash' <> ${canonical("value->>'workspaceId'", "value->>'contactHash'")}`;

// A system message says that the user's old id and new id are one user, and Meta's word on that holds
// over any earlier pair: the contact of the new id (itself, or the contact it was paired with) joins
// the contact of the old one. The old side stays canonical: it holds the stored history (messages,
// replies, clicks, consent records, rollups), while the new id is usually unseen, so the rows already
// stored stay valid, and only what was written under the new id before the news has to move.
const JOIN_CHANGED_SQL = `INSERT OR IGNORE INTO contact_aliases (workspace_id, alias_hash, contact_hash, created_at)
SELECT j.value->>'workspaceId', ${canonical("j.value->>'workspaceId'", "j.value->>'aliasHash'")},
  ${canonical("j.value->>'workspaceId'", "j.value->>'contactHash'")}, ?2
FROM json_each(?1) j
WHERE j.value->>'aliasHash' IS NOT NULL AND j.value->>'contactHash' IS NOT NULL
  AND ${canonical("j.value->>'workspaceId'", "j.value->>'aliasHash'")} <> ${canonical("j.value->>'workspaceId'", "j.value->>'contactHash'")}`;

// The hashes that may have just become aliases: the one paired, and, for a system message, the contact
// it pointed at, which the join makes an alias too.
const joinedHashes = (workspace: string, event: string) =>
  `(${event}->>'aliasHash', CASE WHEN ${event}->>'type' = '${SYSTEM_MESSAGE}' THEN (SELECT t.contact_hash FROM contact_aliases t
    WHERE t.workspace_id = ${workspace} AND t.alias_hash = ${event}->>'aliasHash') END)`;

// Messages written under a user id before it was paired move to the phone number's contact: a status
// of the message moves it (the upsert reads the pair), and so does the pair's arrival for the messages
// the rollups placed among the user id's (message_contacts: messages have no index by contact). The
// rollups follow, as they do any change of a message's contact. An alias may point at an alias until
// REPOINT_ALIASES_SQL runs, hence the second step.
const MOVE_ALIASED_MESSAGES_SQL = `UPDATE messages SET contact_hash = ${canonical("a.workspace_id", "a.contact_hash")}
FROM contact_aliases a
WHERE a.workspace_id = messages.workspace_id AND a.alias_hash = messages.contact_hash
  AND (messages.workspace_id, messages.id) IN (
    SELECT n.workspace_id, n.message_id FROM json_each(?1) j
    CROSS JOIN message_contacts n ON n.workspace_id = j.value->>'workspaceId' AND n.contact_hash IN ${joinedHashes("j.value->>'workspaceId'", "j.value")})`;

// Consent records written under a hash before it became an alias move to its contact, so that an
// opt-out given under either id holds for both. A record the contact already has stays where it was.
const MOVE_ALIASED_CONSENTS_SQL = `UPDATE OR IGNORE consents SET contact_hash = ${canonical("a.workspace_id", "a.contact_hash")}
FROM contact_aliases a, json_each(?1) j
WHERE a.workspace_id = consents.workspace_id AND a.alias_hash = consents.contact_hash
  AND consents.workspace_id = j.value->>'workspaceId'
  AND consents.contact_hash IN ${joinedHashes("j.value->>'workspaceId'", "j.value")}`;

// Every pair points at a contact that is no alias, so that one look-up (canonicalContactSql) finds a
// contact: the pairs that pointed at a hash that has just become an alias point where it does now.
const REPOINT_ALIASES_SQL = `UPDATE contact_aliases SET contact_hash = b.contact_hash
FROM contact_aliases b, json_each(?1) j
WHERE b.workspace_id = contact_aliases.workspace_id AND b.alias_hash = contact_aliases.contact_hash
  AND contact_aliases.workspace_id = j.value->>'workspaceId'
  AND contact_aliases.contact_hash IN ${joinedHashes("j.value->>'workspaceId'", "j.value")}`;

const CHUNK = 500;

function chunkedStatements(d1: D1Database, sql: string, rows: unknown[], now: number): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const json = JSON.stringify(rows.slice(i, i + CHUNK));
    // D1 refuses more parameters than a statement names.
    statements.push(sql.includes("?2") ? d1.prepare(sql).bind(json, now) : d1.prepare(sql).bind(json));
  }
  return statements;
}

/**
 * Stores statuses, inbound messages and consent records in one atomic batch; safe to repeat with the
 * same events. System messages (a user's id changed) only join contacts: they are no reply, and are
 * not stored as inbound messages.
 */
export async function writeWhatsAppEvents(d1: D1Database, events: WhatsAppEvents): Promise<void> {
  const now = Date.now();
  const changes = events.inbound.filter((e) => e.type === SYSTEM_MESSAGE && e.aliasHash !== null);
  const inbound = events.inbound.filter((e) => e.type !== SYSTEM_MESSAGE);
  const paired = [...events.statuses, ...inbound].filter((e) => e.aliasHash !== null);
  const aliased = [...changes, ...paired];
  const statements = [
    // One statement per change: each join reads the pairs as the joins before it left them.
    ...changes.flatMap((change) => chunkedStatements(d1, JOIN_CHANGED_SQL, [change], now)),
    ...chunkedStatements(d1, INSERT_ALIASES_SQL, paired, now),
    ...chunkedStatements(d1, MOVE_ALIASED_MESSAGES_SQL, aliased, now),
    ...chunkedStatements(d1, MOVE_ALIASED_CONSENTS_SQL, aliased, now),
    ...chunkedStatements(d1, REPOINT_ALIASES_SQL, aliased, now),
    ...chunkedStatements(d1, UPSERT_STATUSES_SQL, events.statuses, now),
    ...chunkedStatements(d1, INSERT_INBOUND_SQL, inbound, now),
    ...chunkedStatements(d1, INSERT_CONSENTS_SQL, events.consents, now),
  ];
  if (statements.length > 0) await d1.batch(statements);
}

/** The campaign and variant of each of `codes` that is a link of the workspace. */
export async function findMessageLinks(d1: D1Database, workspaceId: string, codes: string[]) {
  if (codes.length === 0) return new Map<string, { campaignId: string | null; variant: string | null }>();
  const { results } = await d1
    .prepare(
      `SELECT code, campaign_id AS campaignId, variant FROM links
       WHERE workspace_id = ?1 AND code IN (SELECT value FROM json_each(?2))`,
    )
    .bind(workspaceId, JSON.stringify(codes))
    .all<{ code: string; campaignId: string | null; variant: string | null }>();
  return new Map(results.map(({ code, ...link }) => [code, link]));
}

/** The variants of each of `ids` that is a campaign of the workspace. */
export async function findCampaignVariants(d1: D1Database, workspaceId: string, ids: string[]) {
  if (ids.length === 0) return new Map<string, string[]>();
  const { results } = await d1
    .prepare("SELECT id, variants FROM campaigns WHERE workspace_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
    .bind(workspaceId, JSON.stringify(ids))
    .all<{ id: string; variants: string | null }>();
  return new Map(results.map((row) => [row.id, JSON.parse(row.variants ?? "[]") as string[]]));
}

export type MessageRegistration = {
  id: string;
  contactHash: string;
  country: string | null;
  campaignId: string | null;
  variant: string | null;
  linkCode: string | null;
  category: string | null;
  externalId: string | null;
  sentAt: number | null;
};

// The first registration of a wamid sets what the business says about it; registering it again
// changes nothing. Statuses that arrived before it keep their times.
const keepRegistered = (column: string) =>
  `${column} = CASE WHEN messages.registered_at IS NULL THEN COALESCE(excluded.${column}, messages.${column}) ELSE messages.${column} END`;

const REGISTER_SQL = `INSERT INTO messages
  (workspace_id, id, contact_hash, country, campaign_id, variant, link_code, category, external_id,
   registered_at, sent_at, created_at)
SELECT ?2, value->>'id', ${canonical("?2", "value->>'contactHash'")}, value->>'country', value->>'campaignId', value->>'variant',
  value->>'linkCode',
  value->>'category', value->>'externalId', ?3, COALESCE(value->>'sentAt', ?3), ?3
FROM json_each(?1)
WHERE true
ON CONFLICT (workspace_id, id) DO UPDATE SET
  ${keepRegistered("contact_hash")}, ${keepRegistered("country")}, ${keepRegistered("campaign_id")}, ${keepRegistered("variant")},
  ${keepRegistered("link_code")}, ${keepRegistered("category")}, ${keepRegistered("external_id")},
  sent_at = CASE WHEN messages.registered_at IS NULL THEN ${"COALESCE(MIN(messages.sent_at, excluded.sent_at), messages.sent_at, excluded.sent_at)"} ELSE messages.sent_at END,
  registered_at = COALESCE(messages.registered_at, excluded.registered_at)`;

export async function registerMessages(
  d1: D1Database,
  workspaceId: string,
  rows: MessageRegistration[],
): Promise<void> {
  const now = Date.now();
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    statements.push(d1.prepare(REGISTER_SQL).bind(JSON.stringify(rows.slice(i, i + CHUNK)), workspaceId, now));
  }
  await d1.batch(statements);
}

type MessageStateRow = Omit<MessageRow, "errors" | "pricing"> & {
  errors: string | null;
  pricing: string | null;
  clickedAt: number | null;
  convertedAt: number | null;
};

// The first human click and first conversion that belong to the message (carrying its id, or made
// through the recipient's own link) are kept on the row by triggers; see migrations/0006.
const MESSAGE_SQL = `SELECT m.workspace_id AS workspaceId, m.id, m.contact_hash AS contactHash,
  m.campaign_id AS campaignId, m.variant, m.link_code AS linkCode, m.category, m.external_id AS externalId,
  m.biz_opaque AS bizOpaque, m.registered_at AS registeredAt, m.sent_at AS sentAt,
  m.delivered_at AS deliveredAt, m.read_at AS readAt, m.failed_at AS failedAt, m.errors, m.pricing,
  m.created_at AS createdAt, m.clicked_at AS clickedAt, m.converted_at AS convertedAt
FROM messages m WHERE m.workspace_id = ?1 AND m.id = ?2`;

/** Stored JSON of the expected shape, or null: a value stored before it was checked never fails a read. */
function readJson<T>(text: string | null, isShape: (value: unknown) => value is T): T | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isShape(value) ? value : null;
  } catch {
    return null;
  }
}

const isArray = (value: unknown): value is unknown[] => Array.isArray(value);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export async function findMessage(d1: D1Handle, workspaceId: string, id: string) {
  const row = await d1.prepare(MESSAGE_SQL).bind(workspaceId, id).first<MessageStateRow>();
  if (!row) return null;
  return { ...row, errors: readJson(row.errors, isArray), pricing: readJson(row.pricing, isRecord) };
}
