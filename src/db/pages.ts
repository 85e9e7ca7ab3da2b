import { and, desc, lt, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { decodeCursor, toPage } from "../schemas/common";
import type { Db } from "./client";

/**
 * One page of a table, newest first. Pages walk the rowid, which SQLite appends to every index entry,
 * so `WHERE workspace_id = ? AND rowid < ?` is a range scan of the workspace index.
 */
export async function pageByRowid<T extends SQLiteTable>(
  db: Db,
  table: T,
  filter: SQL | undefined,
  { cursor, limit }: { cursor?: string; limit: number },
) {
  const after = decodeCursor(cursor);
  const rowid = sql<number>`${table}.rowid`;
  const rows = await db
    .select({ row: table, rowid } as { row: T; rowid: typeof rowid })
    .from(table as SQLiteTable)
    .where(and(filter, after === null ? undefined : lt(rowid, after)))
    .orderBy(desc(rowid))
    .limit(limit + 1);
  return toPage(rows as { row: T["$inferSelect"]; rowid: number }[], limit);
}
