import { nanoid } from "nanoid";
import { offsetSegments, QUARTER_MS } from "../lib/calendar";
import { canonicalTimeZone } from "../lib/time-zone";
import type { D1Handle } from "./client";

/**
 * Wall-clock copies of a workspace's retention rollups in its reporting time zone (see
 * migrations/0012_retention_zones.sql): tracking a zone, filling a new copy from the UTC one in
 * the background, dropping an old copy, and finding the copy a report can read.
 */

// Offsets are written for these UTC years; the first row reaches back to the earliest time, the last
// one forward for ever.
const FIRST_YEAR = 1970;
const LAST_YEAR = 2100;
const EARLIEST_MS = -8.64e15;
/** Contacts filled, or rows deleted, per batch: each batch stays well under D1's 30 s per query. */
export const FILL_CHUNK = 2_000;

/**
 * Statements that make `zone` the one wall-clock copy of the workspace (UTC: none): copies of other
 * zones stop taking events and are dropped in the background, a new copy starts empty and is filled
 * by fillRetentionZones (a new workspace's, which has no data yet, is complete at once). Batch them
 * with the settings change.
 */
export async function trackRetentionZone(d1: D1Database, workspaceId: string, timeZone: string, newWorkspace = false) {
  // Copies are kept under the runtime's canonical name, which is how reports name the zone too.
  const zone = canonicalTimeZone(timeZone) ?? "UTC";
  const statements = [
    d1
      .prepare("UPDATE retention_zones SET dropping = 1 WHERE workspace_id = ?1 AND zone != ?2 AND dropping = 0")
      .bind(workspaceId, zone),
  ];
  if (zone === "UTC") return statements;
  const known = await d1.prepare("SELECT 1 FROM zone_offsets WHERE zone = ?1 LIMIT 1").bind(zone).first();
  if (!known) {
    const segments = offsetSegments(Date.UTC(FIRST_YEAR, 0, 1), Date.UTC(LAST_YEAR + 1, 0, 1), zone);
    const rows = segments.map((s, i) => [i === 0 ? EARLIEST_MS : s.from * QUARTER_MS, s.offset * QUARTER_MS]);
    statements.push(
      d1
        .prepare(
          `INSERT OR IGNORE INTO zone_offsets (zone, from_ms, offset_ms)
           SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?2)`,
        )
        .bind(zone, JSON.stringify(rows)),
    );
  }
  statements.push(
    d1
      .prepare(
        `INSERT INTO retention_zones (rollup_id, workspace_id, zone, filled_to)
         SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (
           SELECT 1 FROM retention_zones WHERE workspace_id = ?2 AND zone = ?3 AND dropping = 0)`,
      )
      .bind(`${workspaceId}|${zone}|${nanoid(8)}`, workspaceId, zone, newWorkspace ? null : ""),
  );
  return statements;
}

/** The copy of the workspace's retention kept in `zone`, once it is complete. */
export async function findZoneRollup(d1: D1Handle, workspaceId: string, zone: string): Promise<string | null> {
  const row = await d1
    .prepare(
      `SELECT rollup_id FROM retention_zones
       WHERE workspace_id = ?1 AND zone = ?2 AND dropping = 0 AND filled_to IS NULL`,
    )
    .bind(workspaceId, zone)
    .first<{ rollup_id: string }>();
  return row?.rollup_id ?? null;
}

type ZoneCopy = { rollup_id: string; workspace_id: string; zone: string; filled_to: string | null; dropping: number };

/**
 * Fills new copies and drops old ones, a chunk at a time (at least one), until each is done or
 * `budgetMs` has passed. Returns whether work is left. Safe to run twice at once: a chunk is one
 * transaction that replays its contacts' whole state, and replaying it again changes nothing.
 */
export async function fillRetentionZones(
  d1: D1Database,
  options: { workspaceId?: string; budgetMs: number; chunk?: number },
): Promise<boolean> {
  const deadline = Date.now() + options.budgetMs;
  const chunk = options.chunk ?? FILL_CHUNK;
  let chunks = 0;
  for (;;) {
    const { results } = await d1
      .prepare(
        `SELECT * FROM retention_zones WHERE (filled_to IS NOT NULL OR dropping = 1)
           AND (?1 IS NULL OR workspace_id = ?1) LIMIT 1`,
      )
      .bind(options.workspaceId ?? null)
      .all<ZoneCopy>();
    const copy = results[0];
    if (!copy) return false;
    if (chunks > 0 && Date.now() >= deadline) return true;
    if (copy.dropping) await dropChunk(d1, copy, chunk);
    else await fillChunk(d1, copy, chunk);
    chunks++;
  }
}

/** The next `chunk` contacts in hash order, with their first starts and returns replayed on the wall clock. */
async function fillChunk(d1: D1Database, copy: ZoneCopy, chunk: number) {
  const after = copy.filled_to ?? "";
  // The chunk's last contact; none when fewer are left, and the chunk then takes every later one.
  const last = await d1
    .prepare(
      `SELECT contact_hash FROM retention_contacts WHERE workspace_id = ?1 AND contact_hash > ?2
       ORDER BY contact_hash LIMIT 1 OFFSET ?3`,
    )
    .bind(copy.workspace_id, after, chunk - 1)
    .first<{ contact_hash: string }>();
  const upTo = last?.contact_hash ?? null;
  const wallClock = (at: string) =>
    `${at} + (SELECT offset_ms FROM zone_offsets WHERE zone = ?2 AND from_ms <= ${at} ORDER BY from_ms DESC LIMIT 1)`;
  const inChunk = (t: string) =>
    `${t}.workspace_id = ?3 AND ${t}.contact_hash > ?4 AND (?5 IS NULL OR ${t}.contact_hash <= ?5)`;
  const bind = [copy.rollup_id, copy.zone, copy.workspace_id, after, upTo];
  await d1.batch([
    // Starts first: a start moves the returns already counted, and the contact has none yet. They are
    // exact, so that a chunk filled again (by a second filler) also takes a first start that moved later.
    d1
      .prepare(
        `INSERT INTO retention_start_events (workspace_id, contact_hash, kind, at, exact)
         SELECT ?1, contact_hash, kind, ${wallClock("at")}, 1 FROM (
           SELECT contact_hash, 'message' AS kind, first_message_at AS at FROM retention_contacts c WHERE ${inChunk("c")}
           UNION ALL
           SELECT contact_hash, 'click', first_click_at FROM retention_contacts c WHERE ${inChunk("c")}
         ) WHERE at IS NOT NULL`,
      )
      .bind(...bind),
    // Offsets are whole quarter hours, so a return's quarter hour moves exactly onto the wall clock.
    d1
      .prepare(
        `INSERT INTO retention_return_events (workspace_id, contact_hash, at, bit)
         SELECT ?1, contact_hash, ${wallClock("at")}, bit FROM (
           SELECT q.contact_hash, q.quarter * ${QUARTER_MS} AS at, b.bit FROM retention_quarters q
           JOIN (SELECT 1 AS bit UNION ALL SELECT 2 UNION ALL SELECT 4) b ON q.mask & b.bit != 0
           WHERE ${inChunk("q")}
         )`,
      )
      .bind(...bind),
    d1.prepare("UPDATE retention_zones SET filled_to = ?2 WHERE rollup_id = ?1").bind(copy.rollup_id, upTo),
  ]);
}

const CONTACT_TABLES = ["retention_quarters", "retention_contacts"];
const PERIOD_TABLES = ["retention_cohorts", "retention_counts", "retention_return_days", "retention_active_days"];

/** Deletes the next rows of a dropped copy; the copy itself goes with its last rows. */
async function dropChunk(d1: D1Database, copy: ZoneCopy, chunk: number) {
  const deletes = CONTACT_TABLES.map((table) =>
    d1
      .prepare(
        `DELETE FROM ${table} WHERE workspace_id = ?1 AND contact_hash <= COALESCE(
           (SELECT contact_hash FROM ${table} WHERE workspace_id = ?1 ORDER BY contact_hash LIMIT 1 OFFSET ?2),
           (SELECT MAX(contact_hash) FROM ${table} WHERE workspace_id = ?1))`,
      )
      .bind(copy.rollup_id, chunk - 1),
  );
  const [quarters, contacts] = await d1.batch(deletes);
  if (quarters.meta.changes > 0 || contacts.meta.changes > 0) return;
  // Period tables hold a few rows per period, whatever the number of contacts.
  await d1.batch([
    ...PERIOD_TABLES.map((table) => d1.prepare(`DELETE FROM ${table} WHERE workspace_id = ?1`).bind(copy.rollup_id)),
    d1.prepare("DELETE FROM retention_zones WHERE rollup_id = ?1").bind(copy.rollup_id),
  ]);
}
