import type { WhatsAppStatus } from "../whatsapp/webhook-body";
import { INSERT_CONSENTS_SQL, type StoredConsent } from "./consents.ts";
import type { MessageRow } from "./schema";

export type StoredStatus = {
  workspaceId: string;
  messageId: string;
  status: WhatsAppStatus;
  at: number;
  contactHash: string | null;
  country: string | null;
  bizOpaque: string | null;
  errors: unknown[] | null;
  pricing: Record<string, unknown> | null;
  /** Absent from statuses queued before it was kept. */
  recipientType?: string | null;
};

export type StoredInbound = {
  workspaceId: string;
  id: string;
  type: string;
  at: number;
  contactHash: string | null;
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

// A status creates the message row if it is the first news of that wamid, otherwise it can only move
// a step's time earlier or fill what is missing: repeated or reordered deliveries give the same row.
// `biz_opaque_callback_data` equal to one of the workspace's link codes joins the message to that link.
export const UPSERT_STATUSES_SQL = `INSERT INTO messages
  (workspace_id, id, contact_hash, country, biz_opaque, link_code, campaign_id, variant,
   sent_at, delivered_at, read_at, failed_at, errors, pricing, recipient_type, created_at)
SELECT s.value->>'workspaceId', s.value->>'messageId', s.value->>'contactHash', s.value->>'country',
  s.value->>'bizOpaque',
  l.code, l.campaign_id, l.variant,
  CASE s.value->>'status' WHEN 'sent' THEN s.value->>'at' END,
  CASE s.value->>'status' WHEN 'delivered' THEN s.value->>'at' END,
  CASE s.value->>'status' WHEN 'read' THEN s.value->>'at' END,
  CASE s.value->>'status' WHEN 'failed' THEN s.value->>'at' END,
  json_extract(s.value, '$.errors'), json_extract(s.value, '$.pricing'), s.value->>'recipientType', ?2
FROM json_each(?1) s
LEFT JOIN links l ON l.code = s.value->>'bizOpaque' AND l.workspace_id = s.value->>'workspaceId'
WHERE true
ON CONFLICT (workspace_id, id) DO UPDATE SET
  contact_hash = COALESCE(messages.contact_hash, excluded.contact_hash),
  country = COALESCE(messages.country, excluded.country),
  biz_opaque = COALESCE(messages.biz_opaque, excluded.biz_opaque),
  link_code = COALESCE(messages.link_code, excluded.link_code),
  campaign_id = COALESCE(messages.campaign_id, excluded.campaign_id),
  variant = COALESCE(messages.variant, excluded.variant),
  ${earliest("sent_at")}, ${earliest("delivered_at")}, ${earliest("read_at")}, ${earliest("failed_at")},
  errors = COALESCE(messages.errors, excluded.errors),
  pricing = COALESCE(messages.pricing, excluded.pricing),
  recipient_type = COALESCE(messages.recipient_type, excluded.recipient_type)`;

const INSERT_INBOUND_SQL = `INSERT OR IGNORE INTO inbound_messages
  (workspace_id, id, contact_hash, context_id, type, occurred_at, received_at)
SELECT value->>'workspaceId', value->>'id', value->>'contactHash', value->>'contextId', value->>'type',
  value->>'at', ?2
FROM json_each(?1)`;

const CHUNK = 500;

function chunkedStatements(d1: D1Database, sql: string, rows: unknown[], now: number): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    statements.push(d1.prepare(sql).bind(JSON.stringify(rows.slice(i, i + CHUNK)), now));
  }
  return statements;
}

/** Stores statuses, inbound messages and consent records in one atomic batch; safe to repeat with the same events. */
export async function writeWhatsAppEvents(d1: D1Database, events: WhatsAppEvents): Promise<void> {
  const now = Date.now();
  const statements = [
    ...chunkedStatements(d1, UPSERT_STATUSES_SQL, events.statuses, now),
    ...chunkedStatements(d1, INSERT_INBOUND_SQL, events.inbound, now),
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
SELECT ?2, value->>'id', value->>'contactHash', value->>'country', value->>'campaignId', value->>'variant',
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

export async function findMessage(d1: D1Database, workspaceId: string, id: string) {
  const row = await d1.prepare(MESSAGE_SQL).bind(workspaceId, id).first<MessageStateRow>();
  if (!row) return null;
  return { ...row, errors: readJson(row.errors, isArray), pricing: readJson(row.pricing, isRecord) };
}
