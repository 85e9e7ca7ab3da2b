import type { WorkspacePlacementRow } from "./schema";

/**
 * Where each workspace's rows are (workspace_placements, in the directory database `DB`), and moving one
 * workspace's rows from one D1 database to another: copied table by table in primary-key order, a chunk per
 * batch (one transaction), counted on both sides, then deleted from the source. See src/placement/ for the
 * steps in order.
 */

/** The binding that is also the directory: placements, workspaces and API keys live there. */
export const DIRECTORY_BINDING = "DB";

export type Placement = Pick<WorkspacePlacementRow, "binding" | "movingTo" | "movedFrom">;

type PlacementRow = { binding: string; moving_to: string | null; moved_from: string | null };

/** The workspace's placement; a workspace with no row lives in the directory database. */
export async function readPlacement(directory: D1Database, workspaceId: string): Promise<Placement> {
  const row = await directory
    .prepare("SELECT binding, moving_to, moved_from FROM workspace_placements WHERE workspace_id = ?1")
    .bind(workspaceId)
    .first<PlacementRow>();
  if (!row) return { binding: DIRECTORY_BINDING, movingTo: null, movedFrom: null };
  return { binding: row.binding, movingTo: row.moving_to, movedFrom: row.moved_from };
}

/** Marks a move to `to` as started, unless another move of the workspace is under way (answers whether it is marked). */
export async function markMoving(
  directory: D1Database,
  workspaceId: string,
  from: string,
  to: string,
  now = Date.now(),
): Promise<boolean> {
  const { meta } = await directory
    .prepare(
      `INSERT INTO workspace_placements (workspace_id, binding, moving_to, moved_from, updated_at)
       VALUES (?1, ?2, ?3, NULL, ?4)
       ON CONFLICT (workspace_id) DO UPDATE SET moving_to = excluded.moving_to, updated_at = excluded.updated_at
       WHERE binding = excluded.binding AND moved_from IS NULL AND (moving_to IS NULL OR moving_to = excluded.moving_to)`,
    )
    .bind(workspaceId, from, to, now)
    .run();
  return meta.changes > 0;
}

/**
 * Points the workspace at `to`, remembering `from` until its rows there are deleted. Only from the move it
 * marked, so that a move abandoned for another one cannot switch.
 */
export async function switchPlacement(
  directory: D1Database,
  workspaceId: string,
  from: string,
  to: string,
  now = Date.now(),
): Promise<boolean> {
  const { meta } = await directory
    .prepare(
      `UPDATE workspace_placements SET binding = ?3, moving_to = NULL, moved_from = ?2, updated_at = ?4
       WHERE workspace_id = ?1 AND binding = ?2 AND moving_to = ?3`,
    )
    .bind(workspaceId, from, to, now)
    .run();
  return meta.changes > 0;
}

/** The rows left behind are deleted: the move is over. */
export async function clearMovedFrom(directory: D1Database, workspaceId: string, now = Date.now()): Promise<void> {
  await directory
    .prepare("UPDATE workspace_placements SET moved_from = NULL, updated_at = ?2 WHERE workspace_id = ?1")
    .bind(workspaceId, now)
    .run();
}

/** A table that holds workspaces' rows, as the copy reads and writes it. */
export type WorkspaceTable = {
  name: string;
  /** The stored columns (generated ones are computed again by the target). */
  columns: string[];
  /** The primary key's columns, in key order: the order rows are copied and deleted in. */
  key: string[];
  /**
   * The key is a bare INTEGER PRIMARY KEY, numbered by the database itself (consents' `seq`): the same
   * number may belong to another workspace's row in the target, so the copy lets the target number the
   * row (in the source's order, which is all the number means) and relies on a unique index to skip rows
   * copied already (consents_record). A table without one would get a row twice from a second run, and
   * the count check would stop the move.
   */
  numbered: boolean;
};

// Rows that stay in the directory whatever the placement: a request finds its workspace through them (an
// API key by its hash, a workspace by its publishable key) before it can know the workspace's database.
// The workspace's own row is also copied, without being moved, because the foreign keys of its campaigns,
// links and API keys name it (see copyWorkspaceRow).
const DIRECTORY_TABLES = new Set(["workspaces", "api_keys", "workspace_placements"]);

// The outbox is not copied: a move first has every consumer apply the workspace's entries in the source
// (src/placement/move.ts), so what they derived (rollups, GA4 events, webhook deliveries) is copied as
// rows, and an entry copied into the target would be applied there a second time. Its `seq` is the
// source's own numbering, too, which the target's consumers' positions do not follow.
export const OUTBOX_TABLE = "outbox";

type Column = { name: string; type: string; pk: number };

/**
 * Every table with a `workspace_id`, read from the database's own schema so that a table added by a later
 * migration moves without being listed here, in the order they are copied in:
 *
 * - after the tables their foreign keys name (links after campaigns), so the target accepts each row;
 * - after the tables whose triggers write them (links after clicks and conversions, whose inserts add to a
 *   link's counters): the copy then sets those rows to the source's values, counters included, whatever
 *   the triggers did before.
 *
 * Tables whose `workspace_id` holds a rollup id instead (retention rollups keyed `<workspace>|zone|…` or
 * `<workspace>|campaign|…`) are covered by workspaceWhere. The outbox is listed (last) for deletion only.
 */
export async function workspaceTables(d1: D1Database): Promise<WorkspaceTable[]> {
  const { results: objects } = await d1
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_master
       WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`,
    )
    .all<{ type: string; name: string; tbl_name: string; sql: string | null }>();
  const tables = new Map<string, WorkspaceTable>();
  const after = new Map<string, Set<string>>();
  for (const object of objects) {
    if (object.type !== "table" || DIRECTORY_TABLES.has(object.name)) continue;
    const { results: columns } = await d1
      .prepare("SELECT name, type, pk FROM pragma_table_info(?1)")
      .bind(object.name)
      .all<Column>();
    if (!columns.some((c) => c.name === "workspace_id")) continue;
    const key = columns
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    if (key.length === 0) throw new Error(`${object.name} has no primary key to copy it in order by`);
    const rowid = !/WITHOUT\s+ROWID/i.test(object.sql ?? "");
    const numbered =
      rowid && key.length === 1 && columns.find((c) => c.name === key[0])!.type.toUpperCase() === "INTEGER";
    tables.set(object.name, { name: object.name, columns: columns.map((c) => c.name), key, numbered });
    after.set(object.name, new Set());
  }
  const { results: foreignKeys } = await d1
    .prepare(
      `SELECT m.name AS child, f."table" AS parent FROM sqlite_master m, pragma_foreign_key_list(m.name) f
       WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_cf_%'`,
    )
    .all<{ child: string; parent: string }>();
  for (const { child, parent } of foreignKeys) if (child !== parent) after.get(child)?.add(parent);
  for (const trigger of objects) {
    if (trigger.type !== "trigger" || !tables.has(trigger.tbl_name)) continue;
    for (const [, written] of (trigger.sql ?? "").matchAll(/(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE)\s+[`"]?(\w+)/gi)) {
      if (written !== trigger.tbl_name) after.get(written)?.add(trigger.tbl_name);
    }
  }
  after.get(OUTBOX_TABLE)?.clear();
  // Kahn's order, ties by name so that every run copies in the same order.
  const ordered: WorkspaceTable[] = [];
  const left = new Set([...tables.keys()].sort());
  while (left.size > 0) {
    const next = [...left].find((name) => name !== OUTBOX_TABLE && [...after.get(name)!].every((t) => !left.has(t)));
    const name = next ?? (left.has(OUTBOX_TABLE) && left.size === 1 ? OUTBOX_TABLE : undefined);
    if (name === undefined) throw new Error(`No copy order for ${[...left].join(", ")}: their dependencies loop`);
    ordered.push(tables.get(name)!);
    left.delete(name);
  }
  return ordered;
}

/**
 * The workspace's rows of a table: its own id, or a rollup id made of it (`<workspace>|…`). Workspace ids
 * have no `|`, and '}' follows '|' in the byte order, so the range holds exactly the ids starting with
 * `<workspace>|`, and the key's index serves it.
 */
const workspaceWhere = "(workspace_id = ?1 OR (workspace_id > ?1 || '|' AND workspace_id < ?1 || '}'))";

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(", ");

/** Copies the workspace's own row, so that the target's foreign keys find it; the directory's copy is never overwritten. */
export async function copyWorkspaceRow(source: D1Database, target: D1Database, workspaceId: string): Promise<boolean> {
  const row = await source.prepare("SELECT * FROM workspaces WHERE id = ?1").bind(workspaceId).first();
  if (!row) return false;
  const columns = Object.keys(row);
  await target
    .prepare(
      `INSERT INTO workspaces (${quoted(columns)}) VALUES (${columns.map((_, i) => `?${i + 1}`).join(", ")})
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(...columns.map((c) => row[c]))
    .run();
  return true;
}

/** Where one table's copy has got to: the key of the last row copied, or null before the first. */
export type CopyCursor = unknown[] | null;

/**
 * Copies the next `limit` rows of the workspace in `table` after `cursor`, in key order, in one batch of
 * the target. Rows already there are set to the source's values (an interrupted copy is simply run again);
 * a row of another workspace with the same key is left alone, so the counts then differ and the move stops.
 *
 * Inserting into the target fires its triggers: its outbox gets an entry for each new message, click,
 * conversion, inbound message and contact event, and links' counters grow with each new click and
 * conversion. The rows those derive (rollups, counters) are copied as they are, so nothing may derive them
 * again: the same batch deletes the outbox entries the copy caused (the workspace writes nothing to the
 * target before the placement switches, so every entry of it there is the copy's own), and the tables
 * triggers write are copied after the tables whose triggers write them (workspaceTables), to their source
 * values.
 */
export async function copyChunk(
  source: D1Database,
  target: D1Database,
  table: WorkspaceTable,
  workspaceId: string,
  cursor: CopyCursor,
  limit: number,
): Promise<{ copied: number; cursor: CopyCursor }> {
  const key = quoted(table.key);
  const after = cursor ? ` AND (${key}) > (${cursor.map((_, i) => `?${i + 3}`).join(", ")})` : "";
  const { results } = await source
    .prepare(
      `SELECT ${quoted(table.columns)} FROM "${table.name}" WHERE ${workspaceWhere}${after} ORDER BY ${key} LIMIT ?2`,
    )
    .bind(workspaceId, limit, ...(cursor ?? []))
    .all<Record<string, unknown>>();
  if (results.length === 0) return { copied: 0, cursor };
  const columns = table.numbered ? table.columns.filter((c) => c !== table.key[0]) : table.columns;
  const values = columns.map((_, i) => `?${i + 1}`).join(", ");
  const rest = columns.filter((c) => !table.key.includes(c));
  const insert = table.numbered
    ? `INSERT OR IGNORE INTO "${table.name}" (${quoted(columns)}) VALUES (${values})`
    : `INSERT INTO "${table.name}" (${quoted(columns)}) VALUES (${values}) ON CONFLICT (${key}) ` +
      (rest.length === 0
        ? "DO NOTHING"
        : `DO UPDATE SET ${rest.map((c) => `"${c}" = excluded."${c}"`).join(", ")}
           WHERE workspace_id = excluded.workspace_id`);
  const statement = target.prepare(insert);
  await target.batch([
    ...results.map((row) => statement.bind(...columns.map((c) => row[c]))),
    target.prepare(`DELETE FROM ${OUTBOX_TABLE} WHERE workspace_id = ?1`).bind(workspaceId),
  ]);
  const last = results.at(-1)!;
  return { copied: results.length, cursor: table.key.map((c) => last[c]) };
}

/** How many rows of the workspace the table holds. */
export async function countRows(d1: D1Database, table: WorkspaceTable, workspaceId: string): Promise<number> {
  const row = await d1
    .prepare(`SELECT COUNT(*) AS n FROM "${table.name}" WHERE ${workspaceWhere}`)
    .bind(workspaceId)
    .first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/** Deletes up to `limit` of the workspace's rows from the table; answers how many it deleted. */
export async function deleteChunk(
  d1: D1Database,
  table: WorkspaceTable,
  workspaceId: string,
  limit: number,
): Promise<number> {
  const key = quoted(table.key);
  const { meta } = await d1
    .prepare(
      `DELETE FROM "${table.name}" WHERE (${key}) IN (
         SELECT ${key} FROM "${table.name}" WHERE ${workspaceWhere} ORDER BY ${key} LIMIT ?2)`,
    )
    .bind(workspaceId, limit)
    .run();
  return meta.changes;
}

/** Deletes the workspace's own row, from a database that is not the directory. */
export async function deleteWorkspaceRow(d1: D1Database, workspaceId: string): Promise<void> {
  await d1.prepare("DELETE FROM workspaces WHERE id = ?1").bind(workspaceId).run();
}

/** Every outbox consumer has applied the workspace's entries in this database (none is pending for it). */
export async function outboxSettled(d1: D1Database, workspaceId: string): Promise<boolean> {
  const row = await d1
    .prepare(
      `SELECT COALESCE((SELECT MAX(seq) FROM ${OUTBOX_TABLE} WHERE workspace_id = ?1), 0)
         <= COALESCE((SELECT MIN(seq) FROM pipeline_positions), 0) AS settled`,
    )
    .bind(workspaceId)
    .first<{ settled: number }>();
  return row?.settled === 1;
}
