import { readRolledUpCohorts, type CohortCount, type CohortQuery } from "../db/reports/retention-cohorts";
import { readZoneCorrections, type Sliver } from "../db/reports/retention-zoned";
import { offsetSegments, periodStartAt, QUARTER_MS, QUARTERS_PER_DAY } from "../lib/calendar";
import type { D1Handle } from "../db/client";

/**
 * Cohorts in a zone whose periods are not UTC periods, exactly, from the UTC rollups: a contact
 * counts the same in both unless its first start or one of its returns lies between a UTC period
 * boundary and the zone's boundary of the same period (a "sliver", never longer than the zone's
 * offset). Only those contacts are read one by one; their UTC contribution is taken out of the
 * rollups' counts and their contribution in the zone put in. The work is proportional to the
 * events in slivers: a few per cent of a week or month report, up to half of a day report.
 */
export async function readZonedCohorts(d1: D1Handle, q: CohortQuery, timeZone: string): Promise<CohortCount[]> {
  const wallOf = (index: number) => periodStartAt(index, q.period, "UTC") / QUARTER_MS;
  // A day of margin: no zone is a day away from UTC, and rows outside the cohorts are dropped at the end.
  const firstFromMs = (wallOf(q.first) - QUARTERS_PER_DAY) * QUARTER_MS;
  const firstToMs = (wallOf(q.last + 1) + QUARTERS_PER_DAY) * QUARTER_MS;
  const untilMs = (wallOf(q.last + q.periods) + QUARTERS_PER_DAY) * QUARTER_MS;
  const segments = offsetSegments(firstFromMs, untilMs, timeZone);
  // Period j starts at the same number on both clocks; within a segment of offset o the zone's clock
  // passes it o quarter hours before UTC's does, and in between the two disagree.
  const slivers = (from: number, to: number) => {
    const found: Sliver[] = [];
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

  const [utc, corrections] = await Promise.all([
    readRolledUpCohorts(d1, q),
    readZoneCorrections(d1, {
      ...q,
      segments,
      cohortSlivers,
      returnSlivers,
      firstFromMs,
      firstToMs,
      untilQuarter: Math.ceil(untilMs / QUARTER_MS),
    }),
  ]);

  const counts = new Map<string, CohortCount>();
  const add = ({ cohort, period, contacts }: CohortCount, sign: number) => {
    const key = `${cohort}/${period}`;
    const count = counts.get(key) ?? { cohort, period, contacts: 0 };
    count.contacts += sign * contacts;
    counts.set(key, count);
  };
  for (const row of utc) add(row, 1);
  for (const row of corrections) add(row, row.system === "utc" ? -1 : 1);
  return [...counts.values()].filter((c) => c.cohort >= q.first && c.cohort <= q.last && c.contacts > 0);
}
