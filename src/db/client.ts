import { drizzle } from "drizzle-orm/d1";

/**
 * What the D1 binding and a session opened on it (`withSession`) both offer: statements and batches.
 * Code that reads or writes through either takes this, so a request can run it all in one session.
 */
export type D1Handle = Pick<D1Database, "prepare" | "batch">;

export function createDb(d1: D1Handle) {
  return drizzle(asDrizzleClient(d1));
}

/**
 * drizzle's D1 driver only prepares and batches, but its type asks for a whole binding. A session has
 * no `exec`, `dump` or `withSession`, so they refuse here rather than run outside the session.
 */
function asDrizzleClient(d1: D1Handle): D1Database {
  const refuse = (name: string) => new Error(`${name} is not available through a D1 session`);
  return {
    prepare: (query) => d1.prepare(query),
    batch: <T>(statements: D1PreparedStatement[]) => d1.batch<T>(statements),
    exec: () => Promise.reject(refuse("exec")),
    dump: () => Promise.reject(refuse("dump")),
    withSession: () => {
      throw refuse("withSession");
    },
  };
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
