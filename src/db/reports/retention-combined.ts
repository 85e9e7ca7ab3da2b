import { localPeriodSql, QUARTER_MS, type OffsetSegment } from "../../lib/calendar";
import {
  FIRST_START_COLUMN,
  RETURN_BITS,
  SCOPE_FIRST_START_INDEX,
  type CohortCount,
  type CohortQuery,
} from "./retention-cohorts";
import type { D1Handle } from "../client";

export type CombinedCohortQuery = CohortQuery & {
  /** The rollup ids of the campaigns' (or variants') scopes whose contacts are followed together. */
  scopes: string[];
  /** The zone's offsets over every time the query reads. */
  segments: OffsetSegment[];
  /** Returns are read up to this quarter hour. */
  untilQuarter: number;
};

/**
 * Cohorts of the contacts of several campaigns (or of one variant across campaigns) together: a
 * contact's first start is its earliest in any of them, so no scope's rollups can answer this. Counted
 * from each contact's first starts and the workspace's quarter hours of returns, in any zone; the
 * work grows with the contacts of those campaigns, not with the workspace.
 */
export async function readCombinedCohorts(d1: D1Handle, q: CombinedCohortQuery): Promise<CohortCount[]> {
  const first = FIRST_START_COLUMN[q.start];
  const sql = `WITH starts AS MATERIALIZED (
      SELECT c.contact_hash, MIN(c.${first}) / ${QUARTER_MS} AS first_quarter FROM json_each(?2) s
      CROSS JOIN retention_scope_contacts c INDEXED BY ${SCOPE_FIRST_START_INDEX[q.start]}
        ON c.rollup_id = s.value AND c.${first} IS NOT NULL
      GROUP BY c.contact_hash
    ),
    cohorts AS MATERIALIZED (
      SELECT contact_hash, first_quarter, ${localPeriodSql("first_quarter", q.period, q.segments)} AS cohort FROM starts
    ),
    kept AS MATERIALIZED (SELECT * FROM cohorts WHERE cohort BETWEEN ?3 AND ?4)
    SELECT cohort, 0 AS period, COUNT(*) AS contacts FROM kept GROUP BY cohort
    UNION ALL
    SELECT cohort, period, COUNT(*) AS contacts FROM (
      SELECT DISTINCT k.contact_hash, k.cohort, ${localPeriodSql("r.quarter", q.period, q.segments)} - k.cohort AS period
      FROM kept k
      CROSS JOIN retention_quarters r ON r.workspace_id = ?1 AND r.contact_hash = k.contact_hash
        AND r.quarter >= k.first_quarter AND r.quarter < ?5
      WHERE r.mask & ?6 != 0
    )
    WHERE period BETWEEN 1 AND ?7
    GROUP BY cohort, period`;
  const { results } = await d1
    .prepare(sql)
    .bind(
      q.workspaceId,
      JSON.stringify(q.scopes),
      q.first,
      q.last,
      q.untilQuarter,
      RETURN_BITS[q.returnOn],
      q.periods - 1,
    )
    .all<CohortCount>();
  return results;
}
