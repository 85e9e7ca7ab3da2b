import type { DatePeriod } from "../../lib/calendar";
import type { D1Handle } from "../client";

export type StartKind = "message" | "click";
export type ReturnKind = "click" | "reply" | "conversion" | "any";

/**
 * Cohorts first..last (local period numbers) of one workspace, followed for `periods` periods: of all
 * its contacts, or (`scope`, a rollup id of retention_scopes) of the contacts of one campaign or variant.
 */
export type CohortQuery = {
  workspaceId: string;
  scope: string | null;
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
/** The indexes by first start of the workspace's contacts, and of the campaigns' (migrations/0008 and 0031). */
export const FIRST_START_INDEX: Record<StartKind, string> = {
  message: "retention_contacts_first_message",
  click: "retention_contacts_first_click",
};
export const SCOPE_FIRST_START_INDEX: Record<StartKind, string> = {
  message: "retention_scope_contacts_first_message",
  click: "retention_scope_contacts_first_click",
};

/** From the rollups of a workspace, or of its wall-clock copy (its rollup id): a few rows whatever the data. */
export async function readRolledUpCohorts(d1: D1Handle, q: CohortQuery): Promise<CohortCount[]> {
  const { results } = await d1
    .prepare(
      `SELECT cohort, 0 AS period, size AS contacts FROM retention_cohorts
       WHERE workspace_id = ?1 AND grain = ?2 AND start_kind = ?3 AND cohort BETWEEN ?5 AND ?6 AND size > 0
       UNION ALL
       SELECT cohort, period, contacts FROM retention_counts
       WHERE workspace_id = ?1 AND grain = ?2 AND start_kind = ?3 AND return_kind = ?4
         AND cohort BETWEEN ?5 AND ?6 AND period < ?7 AND contacts > 0`,
    )
    .bind(q.scope ?? q.workspaceId, GRAINS[q.period], q.start, q.returnOn, q.first, q.last, q.periods)
    .all<CohortCount>();
  return results;
}

/**
 * The earliest and latest first start of the workspace's contacts (or of those of the given scopes),
 * to keep reports to cohorts that can hold any.
 */
export async function readStartSpan(d1: D1Handle, workspaceId: string, start: StartKind, scopes: string[] | null) {
  const column = FIRST_START_COLUMN[start];
  // Two subqueries (per scope): SQLite reads a MIN or a MAX straight off the index only when it is alone.
  const statement =
    scopes === null
      ? d1
          .prepare(
            `SELECT (SELECT MIN(${column}) FROM retention_contacts WHERE workspace_id = ?1 AND ${column} IS NOT NULL) AS first,
               (SELECT MAX(${column}) FROM retention_contacts WHERE workspace_id = ?1 AND ${column} IS NOT NULL) AS last`,
          )
          .bind(workspaceId)
      : d1
          .prepare(
            `SELECT MIN(first) AS first, MAX(last) AS last FROM (
               SELECT (SELECT MIN(${column}) FROM retention_scope_contacts WHERE rollup_id = s.value AND ${column} IS NOT NULL) AS first,
                 (SELECT MAX(${column}) FROM retention_scope_contacts WHERE rollup_id = s.value AND ${column} IS NOT NULL) AS last
               FROM json_each(?1) s)`,
          )
          .bind(JSON.stringify(scopes));
  return statement.first<{ first: number | null; last: number | null }>();
}

/**
 * The rollup ids of the scopes a report of these campaigns and variant reads: with campaigns, each
 * campaign's (or its variant's); with a variant alone, that variant's in every campaign.
 */
export async function findRetentionScopes(
  d1: D1Handle,
  workspaceId: string,
  campaignIds: string[],
  variant: string | null,
): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `SELECT rollup_id FROM retention_scopes
       WHERE workspace_id = ?1 AND variant = ?2 AND (?3 = '[]' OR campaign_id IN (SELECT value FROM json_each(?3)))
       ORDER BY rollup_id`,
    )
    .bind(workspaceId, variant ?? "", JSON.stringify(campaignIds))
    .all<{ rollup_id: string }>();
  return results.map((r) => r.rollup_id);
}
