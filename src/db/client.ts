import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
}

export type Db = ReturnType<typeof createDb>;

/**
 * A drizzle query as a D1 statement, to batch it with hand-written SQL (drizzle's own batch cannot
 * take raw statements with parameters).
 */
export function toStatement(d1: D1Database, query: { toSQL(): { sql: string; params: unknown[] } }) {
  const { sql, params } = query.toSQL();
  return d1.prepare(sql).bind(...params);
}
