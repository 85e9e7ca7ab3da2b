import { localPeriodSql, QUARTER_MS, type OffsetSegment } from "../../lib/calendar";
import {
  FIRST_START_COLUMN,
  FIRST_START_INDEX,
  RETURN_BITS,
  SCOPE_FIRST_START_INDEX,
  type CohortCount,
  type CohortQuery,
} from "./retention-cohorts";
import type { D1Handle } from "../client";

const UTC: OffsetSegment[] = [{ from: 0, offset: 0 }];

/** Spans of UTC quarter hours [from, to) where a zone's period boundary and UTC's disagree. */
export type Sliver = [from: number, to: number];

export type ZoneCorrectionQuery = CohortQuery & {
  /** The zone's offsets over every time the query reads. */
  segments: OffsetSegment[];
  /** Slivers at the cohorts' boundaries, and at the boundaries of the periods after them. */
  cohortSlivers: Sliver[];
  returnSlivers: Sliver[];
  /** First starts are read in [firstFromMs, firstToMs), returns up to the quarter hour `untilQuarter`. */
  firstFromMs: number;
  firstToMs: number;
  untilQuarter: number;
};

/** A contact's counts in one system of periods: to take out of the UTC rollups ('utc') or to put in ('zone'). */
export type ZoneCorrection = CohortCount & { system: "utc" | "zone" };

/**
 * The contacts whose first start or one of whose returns lies in a sliver, counted per cohort and
 * period both in UTC's periods and in the zone's.
 */
export async function readZoneCorrections(d1: D1Handle, q: ZoneCorrectionQuery): Promise<ZoneCorrection[]> {
  const first = FIRST_START_COLUMN[q.start];
  const firstQuarter = `(c.${first} / ${QUARTER_MS})`;
  const utcCohort = localPeriodSql(firstQuarter, q.period, UTC);
  const zoneCohort = localPeriodSql(firstQuarter, q.period, q.segments);
  // Each irregular contact (numbered, as integers sort faster than hashes) once with no return, so
  // that it counts in its cohort's size, then once per return; DISTINCT keeps one row per period.
  const periodsIn = (system: string, segs: OffsetSegment[]) =>
    `SELECT DISTINCT '${system}' AS system, id, ${system}_cohort AS cohort,
        CASE WHEN quarter IS NULL THEN 0 ELSE ${localPeriodSql("quarter", q.period, segs)} - ${system}_cohort END AS period
      FROM activity`;
  // The first starts of the workspace's contacts, or of a campaign's (?9, its rollup id); the
  // returns are the workspace's either way.
  const starts = q.scope
    ? {
        byFirst: `retention_scope_contacts c INDEXED BY ${SCOPE_FIRST_START_INDEX[q.start]} ON c.rollup_id = ?9`,
        byContact: `retention_scope_contacts c ON c.workspace_id = ?1 AND c.contact_hash = i.contact_hash AND c.rollup_id = ?9`,
      }
    : {
        byFirst: `retention_contacts c INDEXED BY ${FIRST_START_INDEX[q.start]} ON c.workspace_id = ?1`,
        byContact: `retention_contacts c ON c.workspace_id = ?1 AND c.contact_hash = i.contact_hash`,
      };
  const sql = `WITH irregular AS (
      SELECT c.contact_hash FROM json_each(?2) s
      CROSS JOIN ${starts.byFirst}
        AND c.${first} >= (s.value ->> 0) * ${QUARTER_MS} AND c.${first} < (s.value ->> 1) * ${QUARTER_MS}
      UNION
      SELECT a.contact_hash FROM json_each(?3) s
      CROSS JOIN retention_quarters a INDEXED BY retention_quarters_time ON a.workspace_id = ?1
        AND a.quarter >= s.value ->> 0 AND a.quarter < s.value ->> 1
      WHERE a.mask & ?7 != 0
    ),
    starts AS MATERIALIZED (
      SELECT ROW_NUMBER() OVER () AS id, c.contact_hash, ${firstQuarter} AS first_quarter,
        ${utcCohort} AS utc_cohort, ${zoneCohort} AS zone_cohort
      FROM irregular i
      CROSS JOIN ${starts.byContact}
      WHERE c.${first} >= ?4 AND c.${first} < ?5
    ),
    activity AS MATERIALIZED (
      SELECT id, utc_cohort, zone_cohort, NULL AS quarter FROM starts
      UNION ALL
      SELECT s.id, s.utc_cohort, s.zone_cohort, a.quarter FROM starts s
      CROSS JOIN retention_quarters a ON a.workspace_id = ?1 AND a.contact_hash = s.contact_hash
        AND a.quarter >= s.first_quarter AND a.quarter < ?6
      WHERE a.mask & ?7 != 0
    )
    SELECT system, cohort, period, COUNT(*) AS contacts FROM (
      ${periodsIn("utc", UTC)}
      UNION ALL
      ${periodsIn("zone", q.segments)}
    )
    WHERE period BETWEEN 0 AND ?8
    GROUP BY system, cohort, period`;
  const { results } = await d1
    .prepare(sql)
    .bind(
      q.workspaceId,
      JSON.stringify(q.cohortSlivers),
      JSON.stringify(q.returnSlivers),
      q.firstFromMs,
      q.firstToMs,
      q.untilQuarter,
      RETURN_BITS[q.returnOn],
      q.periods - 1,
      ...(q.scope ? [q.scope] : []),
    )
    .all<ZoneCorrection>();
  return results;
}
