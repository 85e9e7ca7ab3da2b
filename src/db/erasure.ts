import { DELETE_CONTACT_ALIASES_SQL } from "./contact-aliases";

/**
 * Erasure of one contact of one workspace (SPEC §11): every row that holds the contact's hash, or is
 * about one of its messages, clicks or conversions, is deleted; its per-recipient links are unlinked
 * (they keep redirecting, no longer tied to anyone); the contact is taken out of the retention
 * rollups, in UTC and in every wall-clock copy. Totals that hold no contact (message, click,
 * conversion, inbound and event rollups, link counters) stay.
 *
 * Rows are deleted in chunks of at most `chunk` per statement, each chunk in one batch (one
 * transaction) with everything that refers to it, so an erasure stopped half-way leaves nothing
 * dangling and can simply be run again. ?1 is the workspace, ?2 the contact hash, ?3 the chunk size.
 */

export type ErasedCounts = {
  messages: number;
  inboundMessages: number;
  clicks: number;
  conversions: number;
  contactEvents: number;
  links: number;
  outboxEntries: number;
  deadLetters: number;
  consents: number;
  /** Events on their way to GA4 that were not sent yet, or failed. */
  ga4Events: number;
  /** Outbound webhook deliveries about the contact, pending, failed or logged. */
  webhookDeliveries: number;
  /** The contact's own retention rows (its starts, in UTC, in each wall-clock copy, and in each campaign and variant). */
  retentionContacts: number;
};

export const emptyErasedCounts = (): ErasedCounts => ({
  messages: 0,
  inboundMessages: 0,
  clicks: 0,
  conversions: 0,
  contactEvents: 0,
  links: 0,
  outboxEntries: 0,
  deadLetters: 0,
  consents: 0,
  ga4Events: 0,
  webhookDeliveries: 0,
  retentionContacts: 0,
});

// The contact's messages in this chunk: message_contacts keeps each contact's messages (as the
// rollup consumer applied them, which erasure lets catch up first), in a stable order.
const MESSAGE_CHUNK = `SELECT message_id FROM message_contacts WHERE workspace_id = ?1 AND contact_hash = ?2
  ORDER BY report_at, message_id LIMIT ?3`;
const CLICK_CHUNK = `SELECT id FROM clicks WHERE contact_hash = ?2 AND workspace_id = ?1 LIMIT ?3`;
const CONVERSION_CHUNK = `SELECT id FROM conversions WHERE workspace_id = ?1 AND contact_hash = ?2 LIMIT ?3`;
const INBOUND_CHUNK = `SELECT id FROM inbound_messages WHERE workspace_id = ?1 AND contact_hash = ?2 LIMIT ?3`;
const EVENT_CHUNK = `SELECT id FROM contact_events WHERE workspace_id = ?1 AND contact_hash = ?2 LIMIT ?3`;
const CONSENT_CHUNK = `SELECT seq FROM consents WHERE workspace_id = ?1 AND contact_hash = ?2 LIMIT ?3`;

const deleteOutboxAbout = (ids: string) => `DELETE FROM outbox WHERE workspace_id = ?1 AND subject_id IN (${ids})`;
// Events not sent to GA4 yet (or failed) and webhook deliveries, built from the rows of a chunk.
const deleteGa4About = (ids: string) => ({
  kind: "ga4Events" as const,
  sql: `DELETE FROM ga4_events WHERE workspace_id = ?1 AND subject_id IN (${ids})`,
});
const deleteDeliveriesAbout = (ids: string) => ({
  kind: "webhookDeliveries" as const,
  sql: `DELETE FROM webhook_deliveries WHERE workspace_id = ?1 AND subject_id IN (${ids})`,
});
const deleteForwardedAbout = (ids: string) => [deleteGa4About(ids), deleteDeliveriesAbout(ids)];

/** Statements run in one batch; `kind` names the count a statement's changes add to, if any. */
type Step = { kind?: keyof ErasedCounts; sql: string }[];

/**
 * One chunk of each kind: the statements, in order, and which count each adds to. Rows that refer to
 * a chunk are deleted before the chunk itself, which is what the later statements select by.
 */
const STEPS: Record<"messages" | "clicks" | "conversions" | "inbound" | "events" | "consents", Step> = {
  messages: [
    ...deleteForwardedAbout(`SELECT id FROM clicks WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK})
      UNION ALL SELECT id FROM conversions WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK})`),
    deleteDeliveriesAbout(MESSAGE_CHUNK),
    { kind: "outboxEntries", sql: deleteOutboxAbout(MESSAGE_CHUNK) },
    {
      kind: "outboxEntries",
      sql: `DELETE FROM outbox WHERE workspace_id = ?1 AND subject_id IN (
        SELECT id FROM clicks WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK}))`,
    },
    {
      kind: "outboxEntries",
      sql: `DELETE FROM outbox WHERE workspace_id = ?1 AND subject_id IN (
        SELECT id FROM conversions WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK}))`,
    },
    { kind: "clicks", sql: `DELETE FROM clicks WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK})` },
    {
      kind: "conversions",
      sql: `DELETE FROM conversions WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK})`,
    },
    { sql: `DELETE FROM message_rollup_applied WHERE workspace_id = ?1 AND message_id IN (${MESSAGE_CHUNK})` },
    { kind: "messages", sql: `DELETE FROM messages WHERE workspace_id = ?1 AND id IN (${MESSAGE_CHUNK})` },
    {
      sql: `DELETE FROM message_contacts WHERE workspace_id = ?1 AND contact_hash = ?2
        AND message_id IN (${MESSAGE_CHUNK})`,
    },
  ],
  clicks: [
    ...deleteForwardedAbout(`SELECT id FROM conversions WHERE click_id IN (${CLICK_CHUNK}) AND workspace_id = ?1
      UNION ALL ${CLICK_CHUNK}`),
    {
      kind: "outboxEntries",
      sql: `DELETE FROM outbox WHERE workspace_id = ?1 AND subject_id IN (
        SELECT id FROM conversions WHERE click_id IN (${CLICK_CHUNK}) AND workspace_id = ?1)`,
    },
    {
      kind: "conversions",
      sql: `DELETE FROM conversions WHERE click_id IN (${CLICK_CHUNK}) AND workspace_id = ?1`,
    },
    { kind: "outboxEntries", sql: deleteOutboxAbout(CLICK_CHUNK) },
    { kind: "clicks", sql: `DELETE FROM clicks WHERE id IN (${CLICK_CHUNK})` },
  ],
  conversions: [
    ...deleteForwardedAbout(CONVERSION_CHUNK),
    { kind: "outboxEntries", sql: deleteOutboxAbout(CONVERSION_CHUNK) },
    { kind: "conversions", sql: `DELETE FROM conversions WHERE id IN (${CONVERSION_CHUNK})` },
  ],
  inbound: [
    { kind: "outboxEntries", sql: deleteOutboxAbout(INBOUND_CHUNK) },
    {
      kind: "inboundMessages",
      sql: `DELETE FROM inbound_messages WHERE workspace_id = ?1 AND id IN (${INBOUND_CHUNK})`,
    },
  ],
  events: [
    { kind: "outboxEntries", sql: deleteOutboxAbout(EVENT_CHUNK) },
    { kind: "contactEvents", sql: `DELETE FROM contact_events WHERE id IN (${EVENT_CHUNK})` },
  ],
  consents: [{ kind: "consents", sql: `DELETE FROM consents WHERE seq IN (${CONSENT_CHUNK})` }],
};

// The contact's own links keep working for whoever has them; they no longer say whose they were.
// Clicks on them and conversions through them are the contact's (clicks carry the link's contact
// hash; conversions may name only the link).
const LINK_STEPS: Step = [
  ...deleteForwardedAbout(`SELECT c.id FROM links l JOIN conversions c ON c.link_id = l.id
    WHERE l.workspace_id = ?1 AND l.contact_hash = ?2`),
  {
    kind: "outboxEntries",
    sql: `DELETE FROM outbox WHERE workspace_id = ?1 AND subject_id IN (
      SELECT c.id FROM links l JOIN conversions c ON c.link_id = l.id
      WHERE l.workspace_id = ?1 AND l.contact_hash = ?2)`,
  },
  {
    kind: "conversions",
    sql: `DELETE FROM conversions WHERE link_id IN (SELECT id FROM links WHERE workspace_id = ?1 AND contact_hash = ?2)`,
  },
  {
    kind: "links",
    sql: `UPDATE links SET contact_hash = NULL, message_id = NULL, external_id = NULL, updated_at = ?3
      WHERE workspace_id = ?1 AND contact_hash = ?2 RETURNING code`,
  },
];

// The rollups of retention in UTC (under the workspace's id) and in each wall-clock copy (under its
// rollup id), bucketed as migrations/0008 numbers them: UTC or local days, Monday weeks, months.
const ROLLUP_IDS = `r(id) AS (SELECT ?1 UNION ALL SELECT rollup_id FROM retention_zones WHERE workspace_id = ?1)`;
const bucket = (ms: string) => `CASE g.grain WHEN 'd' THEN ${ms} / 86400000 WHEN 'w' THEN (${ms} / 86400000 + 3) / 7
  ELSE (CAST(strftime('%Y', ${ms} / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
    + CAST(strftime('%m', ${ms} / 1000, 'unixepoch') AS INTEGER) - 1 END`;
// The contact's cohorts: one per grain and start kind it has a start of.
const START_AT = `CASE k.kind WHEN 'message' THEN c.first_message_at ELSE c.first_click_at END`;
const COHORTS = `SELECT c.workspace_id, g.grain, k.kind, ${bucket(START_AT)} AS cohort
  FROM r JOIN retention_contacts c ON c.workspace_id = r.id AND c.contact_hash = ?2
  CROSS JOIN retention_grains g
  CROSS JOIN (SELECT 'message' AS kind UNION ALL SELECT 'click') k
  WHERE ${START_AT} IS NOT NULL`;
// The contact's cohorts in the campaigns and variants it started in, under their rollup ids.
const SCOPE_COHORTS = `SELECT c.rollup_id AS workspace_id, g.grain, k.kind, ${bucket(START_AT)} AS cohort
  FROM retention_scope_contacts c
  CROSS JOIN retention_grains g
  CROSS JOIN (SELECT 'message' AS kind UNION ALL SELECT 'click') k
  WHERE c.workspace_id = ?1 AND c.contact_hash = ?2 AND ${START_AT} IS NOT NULL`;
const IN_ROLLUPS = `workspace_id IN (SELECT ?1 UNION ALL SELECT rollup_id FROM retention_zones WHERE workspace_id = ?1)`;

/**
 * Takes the contact out of a chain of quarter hours per contact (each row linked to the contact's
 * previous one, migrations/0008 and 0019): the per-day counts hold one per row, by the day of the row
 * and of its previous one, so the contact's rows are subtracted from them and then deleted.
 */
function leaveChain(tables: { quarters: string; pairs: string; days: string }, count: string, where: string): Step {
  const rows = `FROM ${tables.quarters} WHERE contact_hash = ?2 AND ${where}`;
  return [
    {
      sql: `INSERT INTO ${tables.pairs} (workspace_id, day, prev_day, ${count})
        SELECT workspace_id, quarter / 96, CASE WHEN prev_quarter < 0 THEN -1 ELSE prev_quarter / 96 END, -COUNT(*)
        ${rows} GROUP BY 1, 2, 3
        ON CONFLICT DO UPDATE SET ${count} = ${count} + excluded.${count}`,
    },
    {
      sql: `INSERT INTO ${tables.days} (workspace_id, day, ${count})
        SELECT workspace_id, quarter / 96, -COUNT(*) ${rows} GROUP BY 1, 2
        ON CONFLICT DO UPDATE SET ${count} = ${count} + excluded.${count}`,
    },
    { sql: `DELETE ${rows}` },
  ];
}

// The retention rollups' count columns, whose cells may be left at zero.
const COUNT_COLUMNS = {
  retention_cohorts: "size",
  retention_counts: "contacts",
  retention_return_days: "returns",
  retention_active_days: "returns",
};

/**
 * Takes the contact out of every retention rollup: what it added to cohort sizes, to the returns of
 * each later period (once per period and return kind, as its quarters say), and to the daily
 * activity that retentionRate reads; then its own rows. Mirrors what migrations/0008 adds.
 */
const RETENTION_SQL: Step = [
  {
    sql: `WITH ${ROLLUP_IDS}
      INSERT INTO retention_cohorts (workspace_id, grain, start_kind, cohort, size)
      SELECT workspace_id, grain, kind, cohort, -1 FROM (${COHORTS}) WHERE true
      ON CONFLICT DO UPDATE SET size = size + excluded.size`,
  },
  {
    sql: `WITH ${ROLLUP_IDS}
      INSERT INTO retention_counts (workspace_id, grain, start_kind, return_kind, cohort, period, contacts)
      SELECT p.workspace_id, p.grain, s.kind, k.kind, s.cohort, p.bucket - s.cohort, -1
      FROM (
        SELECT q.workspace_id, g.grain, ${bucket("q.quarter * 900000")} AS bucket,
          MAX(q.mask & 1) | MAX(q.mask & 2) | MAX(q.mask & 4) AS mask
        FROM r JOIN retention_quarters q ON q.workspace_id = r.id AND q.contact_hash = ?2
        CROSS JOIN retention_grains g
        GROUP BY q.workspace_id, g.grain, bucket
      ) p
      JOIN (${COHORTS}) s ON s.workspace_id = p.workspace_id AND s.grain = p.grain
      JOIN retention_return_kinds k ON (k.bits & p.mask) != 0
      WHERE p.bucket - s.cohort BETWEEN 1 AND 59
      ON CONFLICT DO UPDATE SET contacts = contacts + excluded.contacts`,
  },
  // The same for its cohorts in campaigns and variants (migrations/0031), whose returns are the
  // workspace's: read before the workspace's quarters go below.
  {
    sql: `INSERT INTO retention_cohorts (workspace_id, grain, start_kind, cohort, size)
      SELECT workspace_id, grain, kind, cohort, -1 FROM (${SCOPE_COHORTS}) WHERE true
      ON CONFLICT DO UPDATE SET size = size + excluded.size`,
  },
  {
    sql: `INSERT INTO retention_counts (workspace_id, grain, start_kind, return_kind, cohort, period, contacts)
      SELECT s.workspace_id, p.grain, s.kind, k.kind, s.cohort, p.bucket - s.cohort, -1
      FROM (
        SELECT g.grain, ${bucket("q.quarter * 900000")} AS bucket,
          MAX(q.mask & 1) | MAX(q.mask & 2) | MAX(q.mask & 4) AS mask
        FROM retention_quarters q CROSS JOIN retention_grains g
        WHERE q.workspace_id = ?1 AND q.contact_hash = ?2
        GROUP BY g.grain, bucket
      ) p
      JOIN (${SCOPE_COHORTS}) s ON s.grain = p.grain
      JOIN retention_return_kinds k ON (k.bits & p.mask) != 0
      WHERE p.bucket - s.cohort BETWEEN 1 AND 59
      ON CONFLICT DO UPDATE SET contacts = contacts + excluded.contacts`,
  },
  ...["retention_cohorts", "retention_counts"].map((table) => ({
    sql: `DELETE FROM ${table} WHERE ${COUNT_COLUMNS[table as keyof typeof COUNT_COLUMNS]} = 0 AND workspace_id IN (
      SELECT rollup_id FROM retention_scope_contacts WHERE workspace_id = ?1 AND contact_hash = ?2)`,
  })),
  {
    kind: "retentionContacts",
    sql: `DELETE FROM retention_scope_contacts WHERE workspace_id = ?1 AND contact_hash = ?2`,
  },
  ...leaveChain(
    { quarters: "retention_quarters", pairs: "retention_return_days", days: "retention_active_days" },
    "returns",
    IN_ROLLUPS,
  ),
  // Cells left at zero (those the contact alone made, among others) go, as if never counted.
  ...Object.entries(COUNT_COLUMNS).map(([table, column]) => ({
    sql: `DELETE FROM ${table} WHERE ${IN_ROLLUPS} AND ${column} = 0
      AND EXISTS (SELECT 1 FROM retention_contacts WHERE contact_hash = ?2 AND ${IN_ROLLUPS})`,
  })),
  // The opt-out rate's count of contacts sent marketing (migrations/0019) keeps the same chain of
  // quarter hours per contact as retention, in UTC only.
  ...leaveChain(
    { quarters: "marketing_quarters", pairs: "marketing_day_pairs", days: "marketing_days" },
    "quarters",
    "workspace_id = ?1",
  ),
  { kind: "retentionContacts", sql: `DELETE FROM retention_contacts WHERE contact_hash = ?2 AND ${IN_ROLLUPS}` },
];

// Dead letters keep the event as it was queued, which names the contact by its hash.
const DEAD_LETTER_SQL = `DELETE FROM dead_letters WHERE id IN (
  SELECT id FROM dead_letters WHERE workspace_id = ?1 AND instr(payload, ?2) > 0 LIMIT ?3)`;

const GA4_EVENTS_SQL = `DELETE FROM ga4_events WHERE workspace_id = ?1 AND contact_hash = ?2`;

// Remembered so that queued work about the contact recorded before now is dropped when delivered.
const REMEMBER_SQL = `INSERT INTO contact_erasures (workspace_id, contact_hash, erased_at) VALUES (?1, ?2, ?3)
  ON CONFLICT DO UPDATE SET erased_at = MAX(erased_at, excluded.erased_at)`;

/** Runs a step in one batch, adds its changes to `counts`, and answers its last statement's result. */
async function runStep(d1: D1Database, step: Step, binds: unknown[], counts: ErasedCounts): Promise<D1Result> {
  // Each statement takes as many of the parameters as it names (D1 refuses more).
  const used = (sql: string) => Math.max(0, ...[...sql.matchAll(/\?(\d)/g)].map((m) => Number(m[1])));
  const results = await d1.batch(step.map(({ sql }) => d1.prepare(sql).bind(...binds.slice(0, used(sql)))));
  step.forEach(({ kind }, i) => {
    if (kind) counts[kind] += results[i]?.meta.changes ?? 0;
  });
  return results.at(-1)!;
}

/**
 * Erases the contact from the workspace; safe to repeat. Answers how many rows of each kind went, and
 * the codes of the links it unlinked (whose cached redirect targets still name the contact).
 */
export async function eraseContactRows(
  d1: D1Database,
  workspaceId: string,
  contactHash: string,
  now: number,
  chunk = 1_000,
): Promise<{ counts: ErasedCounts; unlinkedCodes: string[] }> {
  const counts = emptyErasedCounts();
  await d1.prepare(REMEMBER_SQL).bind(workspaceId, contactHash, now).run();
  // Each step's last statement deletes the chunk itself: fewer than a whole chunk means done.
  for (const step of Object.values(STEPS)) {
    while ((await runStep(d1, step, [workspaceId, contactHash, chunk], counts)).meta.changes >= chunk);
  }
  const unlinked = await runStep(d1, LINK_STEPS, [workspaceId, contactHash, now], counts);
  await runStep(d1, RETENTION_SQL, [workspaceId, contactHash], counts);
  const deadLetters: Step = [{ kind: "deadLetters", sql: DEAD_LETTER_SQL }];
  // Whatever of the contact's is still on its way to GA4 or in a webhook's log, whichever row it was built from.
  await runStep(
    d1,
    [
      { kind: "ga4Events", sql: GA4_EVENTS_SQL },
      {
        kind: "webhookDeliveries",
        sql: `DELETE FROM webhook_deliveries WHERE workspace_id = ?1 AND contact_hash = ?2`,
      },
    ],
    [workspaceId, contactHash],
    counts,
  );
  while ((await runStep(d1, deadLetters, [workspaceId, contactHash, chunk], counts)).meta.changes >= chunk);
  await d1.prepare(DELETE_CONTACT_ALIASES_SQL).bind(workspaceId, contactHash).run();
  return { counts, unlinkedCodes: (unlinked.results as { code: string }[]).map((r) => r.code) };
}

/** Erasures remembered for longer than the queue can hold a message are forgotten. */
export async function forgetErasuresBefore(d1: D1Database, before: number): Promise<number> {
  const result = await d1.prepare("DELETE FROM contact_erasures WHERE erased_at < ?1").bind(before).run();
  return result.meta.changes;
}

/**
 * Of the given events' contacts, those erased at or after the event's time, as `workspace\ncontact`
 * keys with the erasure time: queued events about them are dropped.
 */
export async function findErasures(
  d1: D1Database,
  contacts: { workspaceId: string; contactHash: string }[],
): Promise<Map<string, number>> {
  if (contacts.length === 0) return new Map();
  const { results } = await d1
    .prepare(
      `SELECT e.workspace_id AS workspaceId, e.contact_hash AS contactHash, e.erased_at AS erasedAt
       FROM json_each(?1) j CROSS JOIN contact_erasures e
       ON e.workspace_id = j.value->>'workspaceId' AND e.contact_hash = j.value->>'contactHash'`,
    )
    .bind(JSON.stringify(contacts))
    .all<{ workspaceId: string; contactHash: string; erasedAt: number }>();
  return new Map(results.map((r) => [`${r.workspaceId}\n${r.contactHash}`, r.erasedAt]));
}
