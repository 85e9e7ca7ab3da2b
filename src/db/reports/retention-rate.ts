import { QUARTER_MS, QUARTERS_PER_DAY } from "../../lib/calendar";
import { rollupSpans } from "../../lib/rollup-buckets";

type Sql = { sql: string; binds: (string | number)[] };
/** UTC quarter hours [from, to). */
export type QuarterSpan = [from: number, to: number];

const sum = (parts: Sql[]): Sql => ({
  sql: parts.length === 0 ? "0" : parts.map((p) => p.sql).join(" + "),
  binds: parts.flatMap((p) => p.binds),
});

/** A quarter-hour span as whole UTC days and the quarter hours left at its edges. */
function split([a, b]: QuarterSpan) {
  if (b <= a) return { days: null, edges: [] as QuarterSpan[] };
  const spans = rollupSpans({ from: a * QUARTER_MS, to: b * QUARTER_MS });
  return { days: spans.days, edges: spans.quarters };
}

/**
 * SQL counting the rows of retention_quarters with `quarter` in q and `prev_quarter` in p: whole days
 * of both from retention_return_days, the rest from the rows at the edges (at most a day's worth each).
 */
function pairs(workspaceId: string, q: QuarterSpan, p: QuarterSpan): Sql {
  if (p[1] <= p[0]) return sum([]);
  const qs = split(q);
  const ps = split(p);
  const parts: Sql[] = [];
  for (const [x, y] of qs.edges) {
    parts.push({
      sql: `(SELECT COUNT(*) FROM retention_quarters INDEXED BY retention_quarters_time
        WHERE workspace_id = ? AND quarter >= ? AND quarter < ? AND prev_quarter >= ? AND prev_quarter < ?)`,
      binds: [workspaceId, x, y, p[0], p[1]],
    });
  }
  if (qs.days) {
    const [d0, d1] = qs.days;
    if (ps.days) {
      parts.push({
        sql: `(SELECT COALESCE(SUM(returns), 0) FROM retention_return_days
          WHERE workspace_id = ? AND day >= ? AND day < ? AND prev_day >= ? AND prev_day < ?)`,
        binds: [workspaceId, d0, d1, ...ps.days],
      });
    }
    for (const [x, y] of ps.edges) {
      parts.push({
        sql: `(SELECT COUNT(*) FROM retention_quarters INDEXED BY retention_quarters_prev
          WHERE workspace_id = ? AND prev_quarter >= ? AND prev_quarter < ? AND quarter >= ? AND quarter < ?)`,
        binds: [workspaceId, x, y, d0 * QUARTERS_PER_DAY, d1 * QUARTERS_PER_DAY],
      });
    }
  }
  return sum(parts);
}

/** SQL counting the rows of retention_quarters with `quarter` in q. */
function rows(workspaceId: string, q: QuarterSpan): Sql {
  const qs = split(q);
  const parts: Sql[] = qs.edges.map(([x, y]) => ({
    sql: `(SELECT COUNT(*) FROM retention_quarters INDEXED BY retention_quarters_time
      WHERE workspace_id = ? AND quarter >= ? AND quarter < ?)`,
    binds: [workspaceId, x, y],
  }));
  if (qs.days) {
    parts.push({
      sql: `(SELECT COALESCE(SUM(returns), 0) FROM retention_active_days WHERE workspace_id = ? AND day >= ? AND day < ?)`,
      binds: [workspaceId, ...qs.days],
    });
  }
  return sum(parts);
}

/**
 * Contacts active in `range` whose previous active quarter hour lies in `previous` (`retained`), and
 * contacts active in `previous` at all (`previous`). A contact's first active quarter hour in a span is
 * the one whose previous active quarter hour lies before it, so both are counts of rows, mostly read
 * as whole days. `previous` must end where `range` starts.
 */
export async function countReturningContacts(
  d1: D1Database,
  workspaceId: string,
  range: QuarterSpan,
  previous: QuarterSpan,
): Promise<{ retained: number; previous: number } | null> {
  const retained = pairs(workspaceId, range, previous);
  const previousRows = rows(workspaceId, previous);
  const previousRepeats = pairs(workspaceId, previous, previous);
  const sql = `SELECT ${retained.sql} AS retained, (${previousRows.sql}) - (${previousRepeats.sql}) AS previous`;
  const binds = [...retained.binds, ...previousRows.binds, ...previousRepeats.binds];
  return d1
    .prepare(sql)
    .bind(...binds)
    .first<{ retained: number; previous: number }>();
}
