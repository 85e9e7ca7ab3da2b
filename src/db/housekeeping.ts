import { appliedExpiryAt } from "./rollup-sql";

/** Rows of a workspace (null: of no workspace) that aged before `before` are deleted. */
export type Cutoff = { workspaceId: string | null; before: number };

/**
 * Raw tables purged by their own time, and the time that decides each row's age. Each statement
 * deletes one chunk across every workspace: json_each walks the cutoffs and each workspace's rows are
 * found through an index on (workspace_id, time), so no statement reads more than its chunk and one
 * index seek per workspace.
 */
const EXPIRING = {
  // When the conversion happened (as reported or stamped on arrival), the time its rollups count it at.
  conversions: "occurred_at",
  // When the visit happened.
  clicks: "occurred_at",
  // When the contact wrote (WhatsApp's timestamp), the time the inbound rollups count it at.
  inbound_messages: "occurred_at",
  // When the answer or outcome happened, the time its rollups count it at.
  contact_events: "occurred_at",
  // When the event became a dead letter, not when it happened: its workspace can read it back for the
  // whole period, however late it was given up.
  dead_letters: "created_at",
  // GA4 events never accepted (failed, or still retrying) go with the raw events they were built from.
  ga4_events: "created_at",
  // The delivery log of outbound webhooks, with what is still pending or failed.
  webhook_deliveries: "created_at",
} as const;

export type ExpiringTable = keyof typeof EXPIRING;
export const EXPIRING_TABLES = Object.keys(EXPIRING) as ExpiringTable[];

const cutoffsJson = (cutoffs: Cutoff[]) => JSON.stringify(cutoffs.map((c) => [c.workspaceId, c.before]));

// `IS` matches the workspace-less dead letters too, and is an equality the index can seek on.
export const expiredRowsSql = (table: ExpiringTable) =>
  `DELETE FROM ${table} WHERE rowid IN (
     SELECT t.rowid FROM json_each(?1) c CROSS JOIN ${table} t
     WHERE t.workspace_id IS c.value->>0 AND t.${EXPIRING[table]} < c.value->>1 LIMIT ?2)`;

/** Deletes up to `limit` rows of `table` that aged past their workspace's cutoff; says how many. */
export async function deleteExpiredRows(
  d1: D1Database,
  table: ExpiringTable,
  cutoffs: Cutoff[],
  limit: number,
): Promise<number> {
  const { meta } = await d1.prepare(expiredRowsSql(table)).bind(cutoffsJson(cutoffs), limit).run();
  return meta.changes;
}

/**
 * A chunk of messages that aged past their workspace's cutoff, chosen by their applied facts (see
 * appliedExpiryAt), and deleted with what is derived from them, in one transaction: their place among
 * their contact's messages, and the facts last added to the rollups. The rollups keep what was added.
 */
export const EXPIRED_MESSAGES_SQL = [
  "DELETE FROM purge_messages",
  `INSERT INTO purge_messages (workspace_id, message_id, contact_hash, report_at)
   SELECT a.workspace_id, a.message_id, a.contact_hash, a.report_at FROM json_each(?1) c
   CROSS JOIN message_rollup_applied a
   WHERE a.workspace_id = c.value->>0 AND ${appliedExpiryAt("a")} < c.value->>1 LIMIT ?2`,
  `DELETE FROM message_contacts WHERE (workspace_id, contact_hash, report_at, message_id) IN (
     SELECT workspace_id, contact_hash, report_at, message_id FROM purge_messages
     WHERE contact_hash IS NOT NULL AND report_at IS NOT NULL)`,
  `DELETE FROM messages WHERE (workspace_id, id) IN (SELECT workspace_id, message_id FROM purge_messages)`,
  `DELETE FROM message_rollup_applied WHERE (workspace_id, message_id) IN (
     SELECT workspace_id, message_id FROM purge_messages)`,
  "DELETE FROM purge_messages",
];

export type ExpiredMessages = { chosen: number; messages: number; messageContacts: number; messageFacts: number };

/** Deletes up to `limit` messages that aged past their workspace's cutoff, with their derived rows. */
export async function deleteExpiredMessages(
  d1: D1Database,
  cutoffs: Cutoff[],
  limit: number,
): Promise<ExpiredMessages> {
  const json = cutoffsJson(cutoffs);
  const results = await d1.batch(
    EXPIRED_MESSAGES_SQL.map((sql) => (sql.includes("?1") ? d1.prepare(sql).bind(json, limit) : d1.prepare(sql))),
  );
  return {
    chosen: results[1].meta.changes,
    messages: results[3].meta.changes,
    messageContacts: results[2].meta.changes,
    messageFacts: results[4].meta.changes,
  };
}

/**
 * Deletes up to `limit` outbox entries recorded before `before` that every consumer has applied,
 * oldest first; says how many.
 */
export async function deleteOutboxBefore(d1: D1Database, before: number, limit: number): Promise<number> {
  const { meta } = await d1
    .prepare(
      `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox
       WHERE created_at < ?1 AND seq <= (SELECT MIN(seq) FROM pipeline_positions) ORDER BY seq LIMIT ?2)`,
    )
    .bind(before, limit)
    .run();
  return meta.changes;
}
