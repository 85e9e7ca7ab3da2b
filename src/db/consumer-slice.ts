/**
 * What the outbox's forwarding consumers (GA4, outbound webhooks) share: each reads the entries past its
 * own position (pipeline_positions) as a slice, records what the slice causes and moves past it in one
 * transaction. The slice's writes hold only while the consumer is still where the slice started, so a
 * second consumer that read the same slice writes nothing.
 */

/** Where a slice starts (`from`) and ends; `slice` is a `WITH slice AS (… LIMIT ?1)` clause. */
export const sliceBoundsSql = (slice: string, consumer: string) => `${slice} SELECT
  (SELECT seq FROM pipeline_positions WHERE consumer = '${consumer}') AS "from",
  (SELECT COALESCE(MAX(seq), 0) FROM outbox) AS "last",
  (SELECT COUNT(*) FROM slice) AS "count",
  (SELECT MAX(seq) FROM slice) AS "sliceEnd"`;

type Bounds = { from: number; last: number; count: number; sliceEnd: number | null };

/** The position the slice moves the consumer to: a full slice ends at its last entry; a shorter one has seen everything. */
export function sliceRange(row: unknown, limit: number): { from: number; to: number } {
  const b = row as Bounds;
  return { from: b.from, to: b.count >= limit && b.sliceEnd !== null ? b.sliceEnd : Math.max(b.last, b.from) };
}

/** A condition true while the consumer is at the position bound to `?param`. */
export const atPositionSql = (consumer: string, param: string) =>
  `(SELECT seq FROM pipeline_positions WHERE consumer = '${consumer}') = ${param}`;

/** Moves the consumer from the slice's start to its end, if it is still at the start. */
export function movePosition(
  d1: D1Database,
  consumer: string,
  slice: { from: number; to: number },
  now: number,
): D1PreparedStatement {
  return d1
    .prepare(`UPDATE pipeline_positions SET seq = ?1, applied_at = ?3 WHERE consumer = '${consumer}' AND seq = ?2`)
    .bind(slice.to, slice.from, now);
}
