import { QUARTER_MS, rollupSpans, type ReportFilter } from "./range";

type Sql = { sql: string; binds: (string | number)[] };
type QuarterSpan = [number, number];

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
        binds: [workspaceId, x, y, d0 * 96, d1 * 96],
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
 * Contacts active in [from, to) who were also active in the range of equal length before it, as a
 * share of those active in that previous range (null when nobody was). Active: a human click, a reply
 * or a conversion. A contact's first active quarter hour in a range is the one whose previous active
 * quarter hour lies before the range, so both counts are counts of rows, mostly read as whole days.
 * Workspace-wide: replies belong to no campaign, so a campaign filter could not be applied exactly.
 */
export async function retentionRate(d1: D1Database, filter: ReportFilter): Promise<number | null> {
  const from = filter.from / QUARTER_MS;
  const to = filter.to / QUARTER_MS;
  const previousFrom = Math.max(0, from - (to - from));
  const { workspaceId } = filter;
  const retained = pairs(workspaceId, [from, to], [previousFrom, from]);
  const previousRows = rows(workspaceId, [previousFrom, from]);
  const previousRepeats = pairs(workspaceId, [previousFrom, from], [previousFrom, from]);
  const sql = `SELECT ${retained.sql} AS retained, (${previousRows.sql}) - (${previousRepeats.sql}) AS previous`;
  const binds = [...retained.binds, ...previousRows.binds, ...previousRepeats.binds];
  const row = await d1
    .prepare(sql)
    .bind(...binds)
    .first<{ retained: number; previous: number }>();
  if (!row || row.previous === 0) return null;
  return row.retained / row.previous;
}
