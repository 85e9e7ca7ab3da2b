import { readCombinedCohorts } from "../db/reports/retention-combined";
import {
  findRetentionScopes,
  readRolledUpCohorts,
  readStartSpan,
  type CohortCount,
  type CohortQuery,
  type ReturnKind,
  type StartKind,
} from "../db/reports/retention-cohorts";
import { findZoneRollup } from "../db/retention-zones";
import { ApiError } from "../errors";
import {
  offsetSegments,
  periodIndex,
  periodStartAt,
  QUARTER_MS,
  QUARTERS_PER_DAY,
  toZonedIso,
  type DatePeriod,
} from "../lib/calendar";
import type { ReportFilter } from "./range";
import { readZonedCohorts } from "./retention-zoned";
import type { D1Handle } from "../db/client";

export { retentionRate } from "./retention-rate";
export type { ReturnKind, StartKind } from "../db/reports/retention-cohorts";
/** Retention's cohorts and returns are counted per local day, Monday week or month, numbered as the calendar does. */
export type RetentionPeriod = DatePeriod;

/** The rollups keep returns up to 59 periods after a cohort's own. */
export const MAX_PERIODS = 60;
export const MAX_COHORTS = 1_000;

export type RetentionOptions = { period: RetentionPeriod; periods: number; start: StartKind; returnOn: ReturnKind };

export type RetentionValue = { period: number; count: number; rate: number; inProgress: boolean };
export type RetentionCohort = { start: string; size: number; values: RetentionValue[] };
export type RetentionReport = { cohorts: RetentionCohort[]; average: { period: number; rate: number | null }[] };

/**
 * Cohorts of contacts by the local period of their first start event, for the cohorts whose period
 * starts within [from, to) (and holds contacts: the range is first cut to the contacts' first starts,
 * so that a report of everything reads only the periods with data). values[k] counts the contacts who came back in exactly the k-th period
 * after their cohort's; periods that have not started yet are left out, and the average leaves out
 * periods still in progress (their counts can still grow). With campaigns or a variant, the contacts
 * are those of the campaigns (or variant), by their first start in them; their returns are any.
 */
export async function retentionReport(
  d1: D1Handle,
  filter: ReportFilter,
  options: RetentionOptions,
  now = Date.now(),
): Promise<RetentionReport> {
  const { period, periods } = options;
  const tz = filter.timeZone;
  const startCache = new Map<number, number>();
  const startAt = (index: number) => {
    let start = startCache.get(index);
    if (start === undefined) startCache.set(index, (start = periodStartAt(index, period, tz)));
    return start;
  };
  const scoped = filter.campaignIds.length > 0 || filter.variant !== null;
  const scopes = scoped ? await findRetentionScopes(d1, filter.workspaceId, filter.campaignIds, filter.variant) : null;
  if (scopes?.length === 0) return { cohorts: [], average: averages([], periods) };
  const starts = await readStartSpan(d1, filter.workspaceId, options.start, scopes);
  if (starts?.first == null || starts.last == null) return { cohorts: [], average: averages([], periods) };
  const containing = periodIndex(filter.from, period, tz);
  const first = Math.max(
    startAt(containing) < filter.from ? containing + 1 : containing,
    periodIndex(starts.first, period, tz),
  );
  const last = Math.min(periodIndex(filter.to - 1, period, tz), periodIndex(starts.last, period, tz));
  if (last - first + 1 > MAX_COHORTS) {
    throw new ApiError("invalid_request", `A retention report has at most ${MAX_COHORTS} cohorts.`, [
      { path: ["from"], message: "Choose a shorter range or a longer period" },
    ]);
  }
  if (last < first) return { cohorts: [], average: averages([], periods) };

  const query: CohortQuery = { workspaceId: filter.workspaceId, scope: null, ...options, first, last };
  const counts =
    scopes === null || scopes.length === 1
      ? await readCohorts(d1, { ...query, scope: scopes?.[0] ?? null }, tz)
      : await readCombinedCohorts(d1, { ...query, scopes, ...readWindow(query, tz) });

  const cohorts = toCohorts(counts, periods, startAt, now).map((c) => ({ ...c, start: toZonedIso(c.start, tz) }));
  return { cohorts, average: averages(cohorts, periods) };
}

/**
 * UTC and the workspace's reporting zone read their rollups (a zone's wall-clock copy numbers its
 * periods as periodIndex does); any other zone, and any zone but UTC for a campaign, corrects the UTC
 * rollups, at a cost that grows with the data.
 */
async function readCohorts(d1: D1Handle, query: CohortQuery, timeZone: string): Promise<CohortCount[]> {
  if (timeZone === "UTC") return readRolledUpCohorts(d1, query);
  const rollupId = query.scope === null ? await findZoneRollup(d1, query.workspaceId, timeZone) : null;
  if (rollupId) return readRolledUpCohorts(d1, { ...query, workspaceId: rollupId });
  return readZonedCohorts(d1, query, timeZone);
}

/** The zone's offsets over every time a query of these cohorts reads, and the quarter hour its returns end at. */
function readWindow(query: CohortQuery, timeZone: string) {
  // A day of margin either side: no zone is a day away from UTC.
  const fromMs = periodStartAt(query.first, query.period, timeZone) - QUARTERS_PER_DAY * QUARTER_MS;
  const untilMs = periodStartAt(query.last + query.periods, query.period, timeZone) + QUARTERS_PER_DAY * QUARTER_MS;
  return { segments: offsetSegments(fromMs, untilMs, timeZone), untilQuarter: Math.ceil(untilMs / QUARTER_MS) };
}

function toCohorts(counts: CohortCount[], periods: number, startAt: (index: number) => number, now: number) {
  const byCohort = new Map<number, number[]>();
  for (const { cohort, period, contacts } of counts) {
    let row = byCohort.get(cohort);
    if (!row) byCohort.set(cohort, (row = new Array<number>(periods).fill(0)));
    row[period] = contacts;
  }
  return [...byCohort]
    .filter(([, row]) => row[0] > 0)
    .sort(([a], [b]) => a - b)
    .map(([cohort, row]) => {
      const size = row[0];
      const values: RetentionValue[] = [];
      for (let k = 0; k < periods && (k === 0 || startAt(cohort + k) <= now); k++) {
        values.push({ period: k, count: row[k], rate: row[k] / size, inProgress: now < startAt(cohort + k + 1) });
      }
      return { start: startAt(cohort), size, values };
    });
}

/** Per period, the cohort-size-weighted rate over the cohorts whose period is complete; null when none is. */
function averages(cohorts: { size: number; values: RetentionValue[] }[], periods: number) {
  return Array.from({ length: periods }, (_, k) => {
    let returned = 0;
    let size = 0;
    for (const cohort of cohorts) {
      const value = cohort.values[k];
      if (!value || value.inProgress) continue;
      returned += value.count;
      size += cohort.size;
    }
    return { period: k, rate: size === 0 ? null : returned / size };
  });
}
