import { MARKETING_CATEGORIES } from "../lib/consent";
import { MESSAGE_FACTS } from "../rollups/declarations";
import { addToRollupsSql, messageFactsColumns, messageFactsSelect } from "./rollup-sql";
import type { D1Handle } from "./client";

/**
 * The rollups' consumer of the outbox. Writers record raw events and, in the same statement, the
 * changes they caused in the outbox (thin triggers, migrations/0014 and 0015); everything derived
 * from them is applied here, a slice of the outbox at a time, in one D1 batch (one transaction):
 *
 * 1. the slice: outbox entries after the consumer's position;
 * 2. what each message has gathered: its first human click (and the device), its conversions and
 *    revenue, computed again from the raw clicks and conversions for every message they reach;
 * 3. replies: for every contact whose messages moved in time (message_contacts keeps each contact's
 *    messages in order, as applied), each reply is placed on the message it answers, and each
 *    inbound message on the message that answered it; messages whose facts are then as last applied
 *    leave the slice;
 * 4. the rollups: for messages, the difference between the facts last applied (kept per message in
 *    message_rollup_applied) and the facts now; for inbound messages, the same with the stored row;
 *    clicks, conversions and contact events are added once, from their own entries;
 * 5. retention: first messages and clicks, and returns, through the retention views (migrations/0008),
 *    and where contacts started in each campaign and variant (migrations/0031);
 *    and the quarter hours in which contacts were sent marketing messages (migrations/0019);
 * 6. the position moves past the slice.
 *
 * The position moves in the same transaction as the work, so each entry is applied once, or not at
 * all when the batch fails. What messages gathered and where replies belong are computed again from
 * the stored rows, and message and inbound rollups move by the difference from what was applied, so
 * rows written after the slice (whose entries come in a later one) end up counted once too. The work
 * tables are empty outside the transaction.
 */

export const ROLLUP_CONSUMER = "rollups";

/**
 * Why a message is worked on in this slice (bits of pipeline_messages.why): only what its reasons can
 * have changed is computed again, so that a status that only moves a step writes the message once.
 */
const WHY = { changed: 1, clicked: 2, converted: 4, answered: 8, contactMoved: 16 } as const;
const addMessages = (why: number, select: string) =>
  `INSERT INTO pipeline_messages (message_rowid, why) ${select.replace("SELECT m.rowid", `SELECT m.rowid, ${why}`)}
   ON CONFLICT (message_rowid) DO UPDATE SET why = why | excluded.why`;
const hasWhy = (...reasons: number[]) =>
  `rowid IN (SELECT message_rowid FROM pipeline_messages WHERE why & ${reasons.reduce((a, b) => a | b, 0)})`;
const inSlice = "rowid IN (SELECT message_rowid FROM pipeline_messages)";

// Messages reached by the slice: changed ones, those a new click or conversion belongs to (it carries
// the message's id, or came through the recipient's own link), and those a new reply names.
const reachedMessages = [
  addMessages(
    WHY.changed,
    `SELECT m.rowid FROM pipeline_entries e
     CROSS JOIN messages m ON m.workspace_id = e.workspace_id AND m.id = e.subject_id WHERE e.type = 'message.changed'`,
  ),
  ...[
    { table: "clicks", type: "link.clicked", why: WHY.clicked },
    { table: "conversions", type: "conversion.created", why: WHY.converted },
  ].flatMap(({ table, type, why }) => {
    return [
      addMessages(
        why,
        `SELECT m.rowid FROM pipeline_entries e CROSS JOIN ${table} r ON r.id = e.subject_id
         CROSS JOIN messages m ON m.workspace_id = r.workspace_id AND m.id = r.message_id WHERE e.type = '${type}'`,
      ),
      addMessages(
        why,
        `SELECT m.rowid FROM pipeline_entries e CROSS JOIN ${table} r ON r.id = e.subject_id CROSS JOIN links l ON l.id = r.link_id
         CROSS JOIN messages m ON m.workspace_id = r.workspace_id AND m.link_code = l.code AND m.contact_hash = l.contact_hash
         WHERE e.type = '${type}'`,
      ),
    ];
  }),
  addMessages(
    WHY.answered,
    `SELECT m.rowid FROM pipeline_entries e CROSS JOIN inbound_messages i ON i.workspace_id = e.workspace_id AND i.id = e.subject_id
     CROSS JOIN messages m ON m.workspace_id = i.workspace_id AND m.id = i.context_id WHERE e.type = 'inbound.received'`,
  ),
];

// The first human click that belongs to the message, from the raw clicks. A message that is new, or
// linked to another link or contact since it was last applied, takes it as it is, whatever brought it
// into the slice (a click of the new link may be applied before the change that linked it); any other
// keeps the earlier of its own and it, so that clicks deleted after their retention period still count.
const FIRST_CLICK = `SELECT occurred_at AS at, device FROM (
    SELECT occurred_at, COALESCE(device_type, '') AS device FROM clicks
    WHERE workspace_id = messages.workspace_id AND message_id = messages.id AND kind = 'click'
    UNION ALL
    SELECT c.occurred_at, COALESCE(c.device_type, '') FROM links l JOIN clicks c ON c.link_id = l.id
    WHERE l.code = messages.link_code AND l.workspace_id = messages.workspace_id
      AND l.contact_hash = messages.contact_hash AND c.kind = 'click')
  ORDER BY occurred_at, device LIMIT 1`;
const APPLIED_AS_NOW = `EXISTS (SELECT 1 FROM message_rollup_applied a
  WHERE a.workspace_id = messages.workspace_id AND a.message_id = messages.id
    AND a.link_code IS messages.link_code AND a.contact_hash IS messages.contact_hash)`;
const GATHER_SQL = [
  `UPDATE messages SET (clicked_at, device) = (${FIRST_CLICK})
   WHERE ${inSlice} AND NOT ${APPLIED_AS_NOW}`,
  `UPDATE messages SET (clicked_at, device) = (
     SELECT CASE WHEN r.at IS NULL OR r.at > messages.clicked_at THEN messages.clicked_at ELSE r.at END,
       CASE WHEN r.at IS NULL OR r.at > messages.clicked_at THEN messages.device
         WHEN r.at = messages.clicked_at THEN MIN(messages.device, r.device) ELSE r.device END
     FROM (SELECT 1) LEFT JOIN (${FIRST_CLICK}) r ON 1)
   WHERE ${hasWhy(WHY.clicked)} AND ${APPLIED_AS_NOW}`,
  // Conversions and their revenue, all of them, from the raw conversions. Revenue sums every currency
  // (as reports always have); its currency is kept when the conversions agree on one.
  `UPDATE messages SET (converted_at, revenue_micros, revenue_currency) = (
    SELECT MIN(occurred_at), COALESCE(SUM(CAST(ROUND(value * 1000000) AS INTEGER)), 0),
      IIF(COUNT(DISTINCT currency) = 1, MIN(currency), NULL) FROM (
      SELECT id, occurred_at, value, currency FROM conversions
      WHERE workspace_id = messages.workspace_id AND message_id = messages.id
      UNION
      SELECT v.id, v.occurred_at, v.value, v.currency FROM links l JOIN conversions v ON v.link_id = l.id
      WHERE l.code = messages.link_code AND l.workspace_id = messages.workspace_id
        AND l.contact_hash = messages.contact_hash))
   WHERE ${hasWhy(WHY.converted)} OR (${inSlice} AND NOT ${APPLIED_AS_NOW})`,
];

// Contacts whose messages appeared, moved in time or changed contact, and those that wrote to us.
const MOVED_CONTACTS_SQL = [
  `INSERT OR IGNORE INTO pipeline_contacts (workspace_id, contact_hash)
   SELECT m.workspace_id, m.contact_hash FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   LEFT JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   WHERE m.contact_hash IS NOT NULL
     AND (a.message_id IS NULL OR a.report_at IS NOT m.report_at OR a.contact_hash IS NOT m.contact_hash)`,
  `INSERT OR IGNORE INTO pipeline_contacts (workspace_id, contact_hash)
   SELECT a.workspace_id, a.contact_hash FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   CROSS JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   WHERE a.contact_hash IS NOT NULL AND (a.report_at IS NOT m.report_at OR a.contact_hash IS NOT m.contact_hash)`,
  `INSERT OR IGNORE INTO pipeline_contacts (workspace_id, contact_hash)
   SELECT i.workspace_id, i.contact_hash FROM pipeline_entries e
   CROSS JOIN inbound_messages i ON i.workspace_id = e.workspace_id AND i.id = e.subject_id
   WHERE e.type = 'inbound.received' AND i.contact_hash IS NOT NULL`,
];

// Where the messages reached stand for their contacts now (message_contacts holds what was applied).
const PLACE_MESSAGES_SQL = [
  `DELETE FROM message_contacts WHERE (workspace_id, contact_hash, report_at, message_id) IN (
     SELECT a.workspace_id, a.contact_hash, a.report_at, a.message_id
     FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
     CROSS JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
     WHERE a.contact_hash IS NOT NULL AND a.report_at IS NOT NULL
       AND (a.contact_hash IS NOT m.contact_hash OR a.report_at IS NOT m.report_at))`,
  `INSERT OR IGNORE INTO message_contacts (workspace_id, contact_hash, report_at, message_id)
   SELECT m.workspace_id, m.contact_hash, m.report_at, m.id
   FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   WHERE m.contact_hash IS NOT NULL AND m.report_at IS NOT NULL`,
];

// Every message of those contacts: where their replies belong may have changed.
const CONTACT_MESSAGES_SQL = addMessages(
  WHY.contactMoved,
  `SELECT m.rowid FROM pipeline_contacts c
   CROSS JOIN message_contacts n ON n.workspace_id = c.workspace_id AND n.contact_hash = c.contact_hash
   CROSS JOIN messages m ON m.workspace_id = n.workspace_id AND m.id = n.message_id WHERE true`,
);

// A reply belongs to the message its context names, else to the contact's latest message before it
// (ties go to the greater id); the message keeps the time of the first.
const PLACE_REPLIES_SQL = `UPDATE messages SET replied_at = (
  SELECT MIN(occurred_at) FROM (
    SELECT occurred_at FROM inbound_messages i
    WHERE i.workspace_id = messages.workspace_id AND i.context_id = messages.id
    UNION ALL
    SELECT occurred_at FROM inbound_messages i
    WHERE i.workspace_id = messages.workspace_id AND i.contact_hash = messages.contact_hash
      AND i.context_id IS NULL AND i.occurred_at >= messages.report_at
      AND i.occurred_at <= COALESCE((
        SELECT n.report_at FROM message_contacts n
        WHERE n.workspace_id = messages.workspace_id AND n.contact_hash = messages.contact_hash
          AND (n.report_at, n.message_id) > (messages.report_at, messages.id)
        ORDER BY n.report_at, n.message_id LIMIT 1), 9e15)
      AND messages.id = (
        SELECT n.message_id FROM message_contacts n
        WHERE n.workspace_id = i.workspace_id AND n.contact_hash = i.contact_hash AND n.report_at <= i.occurred_at
        ORDER BY n.report_at DESC, n.message_id DESC LIMIT 1)))
WHERE ${hasWhy(WHY.answered, WHY.contactMoved)}`;

// Inbound messages of those contacts, and new ones: each is answered by the contact's first message
// after it. `counted` says whether the row is in the rollups already.
const INBOUND_SQL = {
  select: [
    `INSERT OR IGNORE INTO pipeline_inbound (inbound_rowid)
     SELECT i.rowid FROM pipeline_contacts c
     CROSS JOIN inbound_messages i ON i.workspace_id = c.workspace_id AND i.contact_hash = c.contact_hash`,
    `INSERT OR IGNORE INTO pipeline_inbound (inbound_rowid)
     SELECT i.rowid FROM pipeline_entries e
     CROSS JOIN inbound_messages i ON i.workspace_id = e.workspace_id AND i.id = e.subject_id
     WHERE e.type = 'inbound.received'`,
  ],
  answer: `UPDATE inbound_messages SET responded_at = (
    SELECT MIN(m.report_at) FROM message_contacts m
    WHERE m.workspace_id = inbound_messages.workspace_id AND m.contact_hash = inbound_messages.contact_hash
      AND m.report_at > inbound_messages.occurred_at)
  WHERE rowid IN (SELECT inbound_rowid FROM pipeline_inbound)`,
  counted: `UPDATE inbound_messages SET counted = 1 WHERE rowid IN (SELECT inbound_rowid FROM pipeline_inbound) AND counted = 0`,
};

// Messages that leave the slice once replies are placed:
// - those whose facts are as last applied: every later statement works from the difference between the
//   applied facts and the facts now, so nothing would change for them. Most messages of a moved contact
//   are such: their replies stayed where they were;
// - those brought in only by their contact whose facts changed in more than their replies: that change
//   is still in the outbox, and this slice did not place them by it (their place among the contact's
//   messages, what they gather). Applied now, they would be recorded as placed where they are not; the
//   slice that applies the change applies them.
const sameFacts = (except: string | null = null) =>
  `a.message_id IS NOT NULL AND ${MESSAGE_FACTS.filter((f) => f.name !== except)
    .map((f) => `a.${f.name} IS ${f.expr}`)
    .join(" AND ")}`;
const SETTLED_MESSAGES_SQL = `DELETE FROM pipeline_messages WHERE message_rowid IN (
  SELECT p.message_rowid FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
  LEFT JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
  WHERE (${sameFacts()}) OR (p.why = ${WHY.contactMoved} AND NOT (${sameFacts("replied_at")})))`;

const inboundRows = (w: number, where: string) =>
  `(SELECT ${w} AS w, i.* FROM pipeline_inbound p CROSS JOIN inbound_messages i ON i.rowid = p.inbound_rowid WHERE ${where}) AS f`;

const MESSAGES_BEFORE = `(SELECT -1 AS w, a.workspace_id, ${messageFactsColumns("a")}
  FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
  CROSS JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id) AS f`;
const MESSAGES_NOW = `(SELECT 1 AS w, m.workspace_id, ${messageFactsSelect}
  FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid) AS f`;

const newRows = (table: string, type: string) =>
  `(SELECT 1 AS w, r.* FROM pipeline_entries e CROSS JOIN ${table} r ON r.id = e.subject_id WHERE e.type = '${type}') AS f`;

// Retention (migrations/0008): a contact starts with its first message or first click; clicks,
// replies and conversions are returns (bits 1, 2 and 4).
const RETENTION_SQL = [
  `INSERT INTO retention_starts (workspace_id, contact_hash, kind, at, exact)
   SELECT m.workspace_id, m.contact_hash, 'message', m.report_at, 0
   FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   LEFT JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   WHERE m.contact_hash IS NOT NULL AND m.report_at IS NOT NULL
     AND (a.message_id IS NULL OR a.report_at IS NOT m.report_at OR a.contact_hash IS NOT m.contact_hash)`,
  // A message that was a contact's first and now belongs to another contact: that contact starts again.
  `INSERT INTO retention_starts (workspace_id, contact_hash, kind, at, exact)
   SELECT a.workspace_id, a.contact_hash, 'message',
     (SELECT MIN(n.report_at) FROM message_contacts n WHERE n.workspace_id = a.workspace_id AND n.contact_hash = a.contact_hash), 1
   FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   CROSS JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   CROSS JOIN retention_contacts r ON r.workspace_id = a.workspace_id AND r.contact_hash = a.contact_hash
   WHERE a.contact_hash IS NOT NULL AND a.contact_hash IS NOT m.contact_hash AND a.report_at <= r.first_message_at
   GROUP BY a.workspace_id, a.contact_hash`,
  `INSERT INTO retention_starts (workspace_id, contact_hash, kind, at, exact)
   SELECT c.workspace_id, c.contact_hash, 'click', c.occurred_at, 0
   FROM pipeline_entries e CROSS JOIN clicks c ON c.id = e.subject_id
   WHERE e.type = 'link.clicked' AND c.kind = 'click' AND c.contact_hash IS NOT NULL ORDER BY e.seq`,
  `INSERT INTO retention_returns (workspace_id, contact_hash, at, bit)
   SELECT c.workspace_id, c.contact_hash, c.occurred_at, 1
   FROM pipeline_entries e CROSS JOIN clicks c ON c.id = e.subject_id
   WHERE e.type = 'link.clicked' AND c.kind = 'click' AND c.contact_hash IS NOT NULL ORDER BY e.seq`,
  `INSERT INTO retention_returns (workspace_id, contact_hash, at, bit)
   SELECT i.workspace_id, i.contact_hash, i.occurred_at, 2
   FROM pipeline_entries e CROSS JOIN inbound_messages i ON i.workspace_id = e.workspace_id AND i.id = e.subject_id
   WHERE e.type = 'inbound.received' AND i.contact_hash IS NOT NULL ORDER BY e.seq`,
  `INSERT INTO retention_returns (workspace_id, contact_hash, at, bit)
   SELECT v.workspace_id, v.contact_hash, v.occurred_at, 4
   FROM pipeline_entries e CROSS JOIN conversions v ON v.id = e.subject_id
   WHERE e.type = 'conversion.created' AND v.contact_hash IS NOT NULL ORDER BY e.seq`,
];

// Retention of campaigns and their variants (migrations/0031): a contact starts in a campaign with its
// first message or human click of that campaign (and of that variant). The slice's starts, each once
// for its campaign and once for its variant; a scope is registered the first time it is seen.
const SCOPED_STARTS = `WITH starts AS (
    SELECT m.workspace_id, m.contact_hash, m.campaign_id, m.variant, 'message' AS kind, m.report_at AS at
    FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
    LEFT JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
    WHERE m.campaign_id IS NOT NULL AND m.contact_hash IS NOT NULL AND m.report_at IS NOT NULL
      AND (a.message_id IS NULL OR a.report_at IS NOT m.report_at OR a.contact_hash IS NOT m.contact_hash
        OR a.campaign_id IS NOT m.campaign_id OR a.variant IS NOT m.variant)
    UNION ALL
    SELECT c.workspace_id, c.contact_hash, c.campaign_id, c.variant, 'click', c.occurred_at
    FROM pipeline_entries e CROSS JOIN clicks c ON c.id = e.subject_id
    WHERE e.type = 'link.clicked' AND c.kind = 'click' AND c.contact_hash IS NOT NULL AND c.campaign_id IS NOT NULL),
  scoped AS (
    SELECT workspace_id, contact_hash, campaign_id, '' AS variant, kind, at FROM starts
    UNION ALL
    SELECT workspace_id, contact_hash, campaign_id, variant, kind, at FROM starts WHERE variant != '')`;
const SCOPE_RETENTION_SQL = [
  `${SCOPED_STARTS}
   INSERT OR IGNORE INTO retention_scopes (workspace_id, campaign_id, variant, rollup_id)
   SELECT workspace_id, campaign_id, variant, workspace_id || '|campaign|' || lower(hex(randomblob(8)))
   FROM (SELECT DISTINCT workspace_id, campaign_id, variant FROM scoped)`,
  `${SCOPED_STARTS}
   INSERT INTO retention_scope_start_events (workspace_id, rollup_id, contact_hash, kind, at, exact)
   SELECT x.workspace_id, s.rollup_id, x.contact_hash, x.kind, x.at, 0 FROM scoped x
   CROSS JOIN retention_scopes s ON s.workspace_id = x.workspace_id AND s.campaign_id = x.campaign_id AND s.variant = x.variant`,
  // A message that was a contact's first in a scope and has left it (another contact, campaign or
  // variant) or moved later: the contact starts again there, at its first message of the scope now.
  `INSERT INTO retention_scope_start_events (workspace_id, rollup_id, contact_hash, kind, at, exact)
   SELECT a.workspace_id, s.rollup_id, a.contact_hash, 'message', (
       SELECT MIN(n.report_at) FROM message_contacts n
       CROSS JOIN messages o ON o.workspace_id = n.workspace_id AND o.id = n.message_id
       WHERE n.workspace_id = a.workspace_id AND n.contact_hash = a.contact_hash
         AND o.campaign_id = s.campaign_id AND (s.variant = '' OR o.variant = s.variant)), 1
   FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   CROSS JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   CROSS JOIN retention_scopes s ON s.workspace_id = a.workspace_id AND s.campaign_id = a.campaign_id
     AND s.variant IN ('', a.variant)
   CROSS JOIN retention_scope_contacts r ON r.workspace_id = a.workspace_id AND r.contact_hash = a.contact_hash
     AND r.rollup_id = s.rollup_id
   WHERE a.contact_hash IS NOT NULL AND a.report_at <= r.first_message_at
     AND NOT (m.contact_hash IS a.contact_hash AND m.campaign_id IS s.campaign_id
       AND (s.variant = '' OR m.variant IS s.variant) AND m.report_at <= a.report_at)
   GROUP BY a.workspace_id, a.contact_hash, s.rollup_id`,
];

// Contacts sent marketing messages, per quarter hour (marketing_quarters, through the triggers of the
// marketing_send_events view): a message whose contact, quarter or category changed is taken back
// where it was applied and added where it is now.
const quarterOf = (at: string) => `CAST(${at} / 900000 AS INTEGER)`;
const isMarketing = (category: string) =>
  `lower(${category}) IN (${MARKETING_CATEGORIES.map((c) => `'${c}'`).join(", ")})`;
const currentCategory = MESSAGE_FACTS.find((f) => f.name === "category")!.expr;
const sameSend = `a.contact_hash IS m.contact_hash AND ${quarterOf("a.report_at")} IS ${quarterOf("m.report_at")}
  AND ${isMarketing("a.category")} IS ${isMarketing(currentCategory)}`;
const MARKETING_SQL = [
  `INSERT INTO marketing_send_events (workspace_id, contact_hash, quarter, delta)
   SELECT a.workspace_id, a.contact_hash, ${quarterOf("a.report_at")}, -1
   FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   CROSS JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   WHERE a.contact_hash IS NOT NULL AND a.report_at IS NOT NULL AND ${isMarketing("a.category")} AND NOT (${sameSend})`,
  `INSERT INTO marketing_send_events (workspace_id, contact_hash, quarter, delta)
   SELECT m.workspace_id, m.contact_hash, ${quarterOf("m.report_at")}, 1
   FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid
   LEFT JOIN message_rollup_applied a ON a.workspace_id = m.workspace_id AND a.message_id = m.id
   WHERE m.contact_hash IS NOT NULL AND m.report_at IS NOT NULL AND ${isMarketing(currentCategory)}
     AND (a.message_id IS NULL OR a.report_at IS NULL OR NOT (${sameSend}))`,
];

const WORK_TABLES = ["pipeline_entries", "pipeline_messages", "pipeline_contacts", "pipeline_inbound"];

/** The statements, in order, that apply the next `limit` outbox entries (the slice binds ?1 to it, the position to the time). */
export const APPLY_SQL: readonly string[] = [
  ...WORK_TABLES.map((t) => `DELETE FROM ${t}`),
  `INSERT INTO pipeline_entries (seq, workspace_id, type, subject_id)
   SELECT seq, workspace_id, type, subject_id FROM outbox
   WHERE seq > (SELECT seq FROM pipeline_positions WHERE consumer = '${ROLLUP_CONSUMER}') ORDER BY seq LIMIT ?1`,
  ...reachedMessages,
  ...GATHER_SQL,
  ...MOVED_CONTACTS_SQL,
  ...PLACE_MESSAGES_SQL,
  CONTACT_MESSAGES_SQL,
  PLACE_REPLIES_SQL,
  SETTLED_MESSAGES_SQL,
  ...INBOUND_SQL.select,
  ...addToRollupsSql("inbound", inboundRows(-1, "i.counted = 1")),
  INBOUND_SQL.answer,
  ...addToRollupsSql("inbound", inboundRows(1, "1")),
  INBOUND_SQL.counted,
  ...RETENTION_SQL,
  ...SCOPE_RETENTION_SQL,
  ...MARKETING_SQL,
  ...addToRollupsSql("messages", MESSAGES_BEFORE),
  ...addToRollupsSql("messages", MESSAGES_NOW),
  `INSERT OR REPLACE INTO message_rollup_applied (workspace_id, message_id, ${messageFactsColumns()})
   SELECT m.workspace_id, m.id, ${messageFactsSelect} FROM pipeline_messages p CROSS JOIN messages m ON m.rowid = p.message_rowid`,
  ...addToRollupsSql("clicks", newRows("clicks", "link.clicked")),
  ...addToRollupsSql("conversions", newRows("conversions", "conversion.created")),
  ...addToRollupsSql("contact_events", newRows("contact_events", "contact_event.recorded")),
  `UPDATE pipeline_positions SET seq = COALESCE((SELECT MAX(seq) FROM pipeline_entries), seq), applied_at = ?1
   WHERE consumer = '${ROLLUP_CONSUMER}'`,
  ...WORK_TABLES.map((t) => `DELETE FROM ${t}`),
];

/** How far behind the consumer is: entries not applied yet (counted up to PENDING_CAP), and when the oldest was recorded. */
export const PENDING_CAP = 100_000;
const PENDING_SQL = `SELECT
  (SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE seq > p.seq LIMIT ${PENDING_CAP})) AS pending,
  (SELECT created_at FROM outbox WHERE seq > p.seq ORDER BY seq LIMIT 1) AS oldest
  FROM pipeline_positions p WHERE p.consumer = '${ROLLUP_CONSUMER}'`;

export type Pending = { pending: number; oldest: number | null };

/** Applies the next `limit` outbox entries; answers what is still pending after them. */
export async function applyOutboxSlice(d1: D1Handle, limit: number, now = Date.now()): Promise<Pending> {
  const statements = APPLY_SQL.map((sql) => {
    const statement = d1.prepare(sql);
    if (sql.includes("LIMIT ?1")) return statement.bind(limit);
    return sql.includes("?1") ? statement.bind(now) : statement;
  });
  const results = await d1.batch([...statements, d1.prepare(PENDING_SQL)]);
  const row = (results.at(-1)?.results[0] ?? { pending: 0, oldest: null }) as Pending;
  return { pending: Number(row.pending), oldest: row.oldest === null ? null : Number(row.oldest) };
}

/** What the consumer has not applied yet. */
export async function pendingOutbox(d1: D1Handle): Promise<Pending> {
  const row = await d1.prepare(PENDING_SQL).first<Pending>();
  return { pending: Number(row?.pending ?? 0), oldest: row?.oldest ?? null };
}

/** The last outbox entry recorded, and the last the rollups' consumer has applied. */
export async function outboxProgress(d1: D1Database): Promise<{ recorded: number; applied: number }> {
  const row = await d1
    .prepare(
      `SELECT (SELECT COALESCE(MAX(seq), 0) FROM outbox) AS recorded, seq AS applied
       FROM pipeline_positions WHERE consumer = '${ROLLUP_CONSUMER}'`,
    )
    .first<{ recorded: number; applied: number }>();
  return { recorded: Number(row?.recorded ?? 0), applied: Number(row?.applied ?? 0) };
}
