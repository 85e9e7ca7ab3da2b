import { QUARTER_MS, QUARTERS_PER_DAY } from "../../lib/calendar";
import { rollupSpans } from "../../lib/rollup-buckets";

export type Sql = { sql: string; binds: (string | number)[] };
/** UTC quarter hours [from, to). */
export type QuarterSpan = [from: number, to: number];

/**
 * A table of the UTC quarter hours in which contacts did something, each row with the contact's
 * previous such quarter (-1: none), and its counts of rows per UTC day, overall and by the day of the
 * previous quarter. A contact's first quarter in a span is the row whose previous quarter lies before
 * the span, so contacts are counted as rows, mostly read as whole days.
 */
export type QuarterChain = {
  /** The rows (workspace_id, quarter, prev_quarter), and its indexes by time and by previous quarter. */
  quarters: string;
  byTime: string;
  byPrev: string;
  /** Rows per (day, prev_day), and per day, in the column `count`. */
  dayPairs: string;
  days: string;
  count: string;
};

/** Contacts' human clicks, replies and conversions (migrations/0008). */
export const RETENTION_CHAIN: QuarterChain = {
  quarters: "retention_quarters",
  byTime: "retention_quarters_time",
  byPrev: "retention_quarters_prev",
  dayPairs: "retention_return_days",
  days: "retention_active_days",
  count: "returns",
};

/** Contacts' marketing messages, by the time reports place them (migrations/0019). */
export const MARKETING_CHAIN: QuarterChain = {
  quarters: "marketing_quarters",
  byTime: "marketing_quarters_time",
  byPrev: "marketing_quarters_prev",
  dayPairs: "marketing_day_pairs",
  days: "marketing_days",
  count: "quarters",
};

export const sumSql = (parts: Sql[]): Sql => ({
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
 * SQL counting the rows of the chain with `quarter` in q and `prev_quarter` in p: whole days of both
 * from its day pairs, the rest from the rows at the edges (at most a day's worth each).
 */
export function chainPairs(chain: QuarterChain, workspaceId: string, q: QuarterSpan, p: QuarterSpan): Sql {
  if (p[1] <= p[0]) return sumSql([]);
  const qs = split(q);
  const ps = split(p);
  const parts: Sql[] = [];
  for (const [x, y] of qs.edges) {
    parts.push({
      sql: `(SELECT COUNT(*) FROM ${chain.quarters} INDEXED BY ${chain.byTime}
        WHERE workspace_id = ? AND quarter >= ? AND quarter < ? AND prev_quarter >= ? AND prev_quarter < ?)`,
      binds: [workspaceId, x, y, p[0], p[1]],
    });
  }
  if (qs.days) {
    const [d0, d1] = qs.days;
    if (ps.days) {
      parts.push({
        sql: `(SELECT COALESCE(SUM(${chain.count}), 0) FROM ${chain.dayPairs}
          WHERE workspace_id = ? AND day >= ? AND day < ? AND prev_day >= ? AND prev_day < ?)`,
        binds: [workspaceId, d0, d1, ...ps.days],
      });
    }
    for (const [x, y] of ps.edges) {
      parts.push({
        sql: `(SELECT COUNT(*) FROM ${chain.quarters} INDEXED BY ${chain.byPrev}
          WHERE workspace_id = ? AND prev_quarter >= ? AND prev_quarter < ? AND quarter >= ? AND quarter < ?)`,
        binds: [workspaceId, x, y, d0 * QUARTERS_PER_DAY, d1 * QUARTERS_PER_DAY],
      });
    }
  }
  return sumSql(parts);
}

/** SQL counting the rows of the chain with `quarter` in q. */
export function chainRows(chain: QuarterChain, workspaceId: string, q: QuarterSpan): Sql {
  const qs = split(q);
  const parts: Sql[] = qs.edges.map(([x, y]) => ({
    sql: `(SELECT COUNT(*) FROM ${chain.quarters} INDEXED BY ${chain.byTime}
      WHERE workspace_id = ? AND quarter >= ? AND quarter < ?)`,
    binds: [workspaceId, x, y],
  }));
  if (qs.days) {
    parts.push({
      sql: `(SELECT COALESCE(SUM(${chain.count}), 0) FROM ${chain.days} WHERE workspace_id = ? AND day >= ? AND day < ?)`,
      binds: [workspaceId, ...qs.days],
    });
  }
  return sumSql(parts);
}

/** SQL counting the contacts with a row in q: the rows in q, less those whose previous quarter is in q too. */
export function chainContacts(chain: QuarterChain, workspaceId: string, q: QuarterSpan): Sql {
  const rows = chainRows(chain, workspaceId, q);
  const repeats = chainPairs(chain, workspaceId, q, q);
  return { sql: `(${rows.sql}) - (${repeats.sql})`, binds: [...rows.binds, ...repeats.binds] };
}
