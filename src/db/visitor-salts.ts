/**
 * Stores `sealed` as the day's salt unless the day has one already, and answers the day's salt as
 * stored: when two isolates create the same day's salt at once, both read back the one that won.
 */
export async function claimVisitorSalt(d1: D1Database, day: string, sealed: string, now: number): Promise<string> {
  const [, stored] = await d1.batch([
    d1
      .prepare("INSERT OR IGNORE INTO visitor_salts (day, sealed, created_at) VALUES (?1, ?2, ?3)")
      .bind(day, sealed, now),
    d1.prepare("SELECT sealed FROM visitor_salts WHERE day = ?1").bind(day),
  ]);
  const row = stored.results[0] as { sealed: string } | undefined;
  if (!row) throw new Error(`The visitor salt of ${day} could not be read back`);
  return row.sealed;
}

/** Deletes the salts created before `before` (the table holds a few days); says how many. */
export async function deleteVisitorSaltsBefore(d1: D1Database, before: number): Promise<number> {
  const { meta } = await d1.prepare("DELETE FROM visitor_salts WHERE created_at < ?1").bind(before).run();
  return meta.changes;
}
