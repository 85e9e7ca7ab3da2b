import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * What the D1 binding and a session opened on it (`withSession`) both offer: statements and batches.
 * Code that reads or writes through either takes this, so a request can run it all in one session.
 */
export type D1Handle = Pick<D1Database, "prepare" | "batch">;

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof createDb>;

/**
 * A drizzle query as a D1 statement, to batch it with hand-written SQL (drizzle's own batch cannot
 * take raw statements with parameters).
 */
export function toStatement(d1: D1Handle, query: { toSQL(): { sql: string; params: unknown[] } }) {
  const { sql, params } = query.toSQL();
  return d1.prepare(sql).bind(...params);
}
