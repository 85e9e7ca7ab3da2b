/**
 * Deletes up to `limit` raw visit rows of the workspace that occurred before `before`, and says how
 * many it deleted. Chunked by the caller: one large DELETE could exceed D1's per-query time limit.
 */
export async function deleteClicksBefore(
  d1: D1Database,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<number> {
  const { meta } = await d1
    .prepare(
      `DELETE FROM clicks WHERE rowid IN (
         SELECT rowid FROM clicks WHERE workspace_id = ?1 AND occurred_at < ?2 LIMIT ?3)`,
    )
    .bind(workspaceId, before, limit)
    .run();
  return meta.changes;
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
