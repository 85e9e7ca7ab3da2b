import type { DatePeriod } from "../../lib/calendar";

export type StartKind = "message" | "click";
export type ReturnKind = "click" | "reply" | "conversion" | "any";

/** Cohorts first..last (local period numbers) of one workspace, followed for `periods` periods. */
export type CohortQuery = {
  workspaceId: string;
  period: DatePeriod;
  periods: number;
  start: StartKind;
  returnOn: ReturnKind;
  first: number;
  last: number;
};

/** Contacts of a cohort that came back in its `period`-th period; period 0 holds the cohort's size. */
export type CohortCount = { cohort: number; period: number; contacts: number };

const GRAINS: Record<DatePeriod, string> = { day: "d", week: "w", month: "m" };
export const RETURN_BITS: Record<ReturnKind, number> = { click: 1, reply: 2, conversion: 4, any: 7 };
export const FIRST_START_COLUMN: Record<StartKind, string> = { message: "first_message_at", click: "first_click_at" };

/** From the rollups of a workspace, or of its wall-clock copy (its rollup id): a few rows whatever the data. */
export async function readRolledUpCohorts(d1: D1Database, q: CohortQuery): Promise<CohortCount[]> {
  const { results } = await d1
    .prepare(
      `SELECT cohort, 0 AS period, size AS contacts FROM retention_cohorts
       WHERE workspace_id = ?1 AND grain = ?2 AND start_kind = ?3 AND cohort BETWEEN ?5 AND ?6 AND size > 0
       UNION ALL
       SELECT cohort, period, contacts FROM retention_counts
       WHERE workspace_id = ?1 AND grain = ?2 AND start_kind = ?3 AND return_kind = ?4
         AND cohort BETWEEN ?5 AND ?6 AND period < ?7 AND contacts > 0`,
    )
    .bind(q.workspaceId, GRAINS[q.period], q.start, q.returnOn, q.first, q.last, q.periods)
    .all<CohortCount>();
  return results;
}

/** The earliest and latest first start of the workspace's contacts, to keep reports to cohorts that can hold any. */
export async function readStartSpan(d1: D1Database, workspaceId: string, start: StartKind) {
  const column = FIRST_START_COLUMN[start];
  return d1
    .prepare(
      // Two subqueries: SQLite reads a MIN or a MAX straight off the index only when it is alone.
      `SELECT (SELECT MIN(${column}) FROM retention_contacts WHERE workspace_id = ?1 AND ${column} IS NOT NULL) AS first,
         (SELECT MAX(${column}) FROM retention_contacts WHERE workspace_id = ?1 AND ${column} IS NOT NULL) AS last`,
    )
    .bind(workspaceId)
    .first<{ first: number | null; last: number | null }>();
}
