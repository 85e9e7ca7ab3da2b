import {
  readRolledUpCohorts,
  RETURN_BITS,
  FIRST_START_COLUMN,
  type CohortCount,
  type CohortQuery,
} from "./retention-cohorts";
import { localPeriodSql, offsetSegments, periodStartAt, type OffsetSegment } from "./retention-periods";

const QUARTER_MS = 900_000;
const QUARTERS_PER_DAY = 96;
const FIRST_START_INDEX = { message: "retention_contacts_first_message", click: "retention_contacts_first_click" };
const UTC: OffsetSegment[] = [{ from: 0, offset: 0 }];

/**
 * Cohorts in a zone whose periods are not UTC periods, exactly, from the UTC rollups: a contact
 * counts the same in both unless its first start or one of its returns lies between a UTC period
 * boundary and the zone's boundary of the same period (a "sliver", never longer than the zone's
 * offset). Only those contacts are read one by one; their UTC contribution is taken out of the
 * rollups' counts and their contribution in the zone put in. The work is proportional to the
 * events in slivers: a few per cent of a week or month report, up to half of a day report.
 */
export async function readZonedCohorts(d1: D1Database, q: CohortQuery, timeZone: string): Promise<CohortCount[]> {
  const wallOf = (index: number) => periodStartAt(index, q.period, "UTC") / QUARTER_MS;
  // A day of margin: no zone is a day away from UTC, and rows outside the cohorts are dropped at the end.
  const firstFrom = (wallOf(q.first) - QUARTERS_PER_DAY) * QUARTER_MS;
  const firstTo = (wallOf(q.last + 1) + QUARTERS_PER_DAY) * QUARTER_MS;
  const untilMs = (wallOf(q.last + q.periods) + QUARTERS_PER_DAY) * QUARTER_MS;
  const segments = offsetSegments(firstFrom, untilMs, timeZone);
  // Period j starts at the same number on both clocks; within a segment of offset o the zone's clock
  // passes it o quarter hours before UTC's does, and in between the two disagree.
  const slivers = (from: number, to: number) => {
    const found: [number, number][] = [];
    for (let j = from; j <= to; j++) {
      const wall = wallOf(j);
      segments.forEach((s, i) => {
        const lo = Math.max(Math.min(wall, wall - s.offset), s.from);
        const hi = Math.min(Math.max(wall, wall - s.offset), segments[i + 1]?.from ?? Infinity);
        if (hi > lo) found.push([lo, hi]);
      });
    }
    return found;
  };
  const cohortSlivers = slivers(q.first, q.last + 1);
  const returnSlivers = slivers(q.first + 1, q.last + q.periods);
  if (cohortSlivers.length === 0 && returnSlivers.length === 0) return readRolledUpCohorts(d1, q);

  const first = FIRST_START_COLUMN[q.start];
  const utcCohort = localPeriodSql(`(c.${first} / 900000)`, q.period, UTC);
  const zoneCohort = localPeriodSql(`(c.${first} / 900000)`, q.period, segments);
  // Each irregular contact (numbered, as integers sort faster than hashes) once with no return, so
  // that it counts in its cohort's size, then once per return; DISTINCT keeps one row per period.
  const periodsIn = (system: string, segs: OffsetSegment[]) =>
    `SELECT DISTINCT '${system}' AS system, id, ${system}_cohort AS cohort,
        CASE WHEN quarter IS NULL THEN 0 ELSE ${localPeriodSql("quarter", q.period, segs)} - ${system}_cohort END AS period
      FROM activity`;
  const sql = `WITH irregular AS (
      SELECT c.contact_hash FROM json_each(?2) s
      CROSS JOIN retention_contacts c INDEXED BY ${FIRST_START_INDEX[q.start]} ON c.workspace_id = ?1
        AND c.${first} >= (s.value ->> 0) * 900000 AND c.${first} < (s.value ->> 1) * 900000
      UNION
      SELECT a.contact_hash FROM json_each(?3) s
      CROSS JOIN retention_quarters a INDEXED BY retention_quarters_time ON a.workspace_id = ?1
        AND a.quarter >= s.value ->> 0 AND a.quarter < s.value ->> 1
      WHERE a.mask & ?7 != 0
    ),
    starts AS MATERIALIZED (
      SELECT ROW_NUMBER() OVER () AS id, c.contact_hash, c.${first} / 900000 AS first_quarter,
        ${utcCohort} AS utc_cohort, ${zoneCohort} AS zone_cohort
      FROM irregular i
      CROSS JOIN retention_contacts c ON c.workspace_id = ?1 AND c.contact_hash = i.contact_hash
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
      ${periodsIn("zone", segments)}
    )
    WHERE period BETWEEN 0 AND ?8
    GROUP BY system, cohort, period`;
  const [utc, corrections] = await Promise.all([
    readRolledUpCohorts(d1, q),
    d1
      .prepare(sql)
      .bind(
        q.workspaceId,
        JSON.stringify(cohortSlivers),
        JSON.stringify(returnSlivers),
        firstFrom,
        firstTo,
        Math.ceil(untilMs / QUARTER_MS),
        RETURN_BITS[q.returnOn],
        q.periods - 1,
      )
      .all<CohortCount & { system: "utc" | "zone" }>(),
  ]);

  const counts = new Map<string, CohortCount>();
  const add = ({ cohort, period, contacts }: CohortCount, sign: number) => {
    const key = `${cohort}/${period}`;
    const count = counts.get(key) ?? { cohort, period, contacts: 0 };
    count.contacts += sign * contacts;
    counts.set(key, count);
  };
  for (const row of utc) add(row, 1);
  for (const row of corrections.results) add(row, row.system === "utc" ? -1 : 1);
  return [...counts.values()].filter((c) => c.cohort >= q.first && c.cohort <= q.last && c.contacts > 0);
}
