import { DAY_MS, QUARTER_MS, localParts } from "./range";

export type RetentionPeriod = "day" | "week" | "month";

/** From quarter hour `from` on (UTC, ms / 900000), the zone is `offset` quarter hours ahead of UTC. */
export type OffsetSegment = { from: number; offset: number };

const QUARTERS_PER_DAY = DAY_MS / QUARTER_MS;

/** The zone's offset from UTC at a quarter hour, in quarter hours (every zone's offset is a multiple of 15 minutes). */
function offsetAt(quarter: number, timeZone: string): number {
  const ms = quarter * QUARTER_MS;
  const p = localParts(ms, timeZone);
  return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - ms) / QUARTER_MS);
}

// A zone's rules do not change while an isolate lives, so each year is worked out once.
const yearCache = new Map<string, OffsetSegment[]>();
const MAX_CACHED_YEARS = 2_000;

/** A UTC year's offsets, found by looking at each midnight and narrowing each change down to its quarter hour. */
function yearSegments(year: number, timeZone: string): OffsetSegment[] {
  const key = `${timeZone} ${year}`;
  const cached = yearCache.get(key);
  if (cached) return cached;
  const first = Date.UTC(year, 0, 1) / QUARTER_MS;
  const end = Date.UTC(year + 1, 0, 1) / QUARTER_MS;
  const segments = [{ from: first, offset: offsetAt(first, timeZone) }];
  for (let at = first; at < end; at += QUARTERS_PER_DAY) {
    const next = at + QUARTERS_PER_DAY;
    const offset = offsetAt(next, timeZone);
    if (offset === segments[segments.length - 1].offset) continue;
    let lo = at;
    let hi = next;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid, timeZone) === offset) hi = mid;
      else lo = mid;
    }
    if (hi < end) segments.push({ from: hi, offset });
  }
  if (yearCache.size >= MAX_CACHED_YEARS) yearCache.clear();
  yearCache.set(key, segments);
  return segments;
}

/** The zone's offsets over [fromMs, toMs); the first segment may start earlier. */
export function offsetSegments(fromMs: number, toMs: number, timeZone: string): OffsetSegment[] {
  if (timeZone === "UTC") return [{ from: 0, offset: 0 }];
  const segments: OffsetSegment[] = [];
  const last = new Date(Math.max(fromMs, toMs - 1)).getUTCFullYear();
  for (let year = new Date(fromMs).getUTCFullYear(); year <= last; year++) {
    for (const s of yearSegments(year, timeZone)) {
      if (segments.length === 0 || segments[segments.length - 1].offset !== s.offset) segments.push(s);
    }
  }
  return segments;
}

/**
 * Local periods are numbered as the rollups number UTC ones: days since 1970-01-01, Monday weeks
 * (1970-01-01 was a Thursday, so week w starts on day 7w − 3) and months since 1970-01, all read
 * on the wall clock of the time zone.
 */
export function periodIndex(ms: number, period: RetentionPeriod, timeZone: string): number {
  const quarter = Math.floor(ms / QUARTER_MS);
  const segments = offsetSegments(ms, ms + 1, timeZone);
  const offset = segments.findLast((s) => s.from <= quarter)?.offset ?? segments[0].offset;
  const day = Math.floor((quarter + offset) / QUARTERS_PER_DAY);
  if (period === "day") return day;
  if (period === "week") return Math.floor((day + 3) / 7);
  const date = new Date(day * DAY_MS);
  return (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth();
}

/** The local day (days since 1970-01-01 on the wall clock) on which local period `index` starts. */
function firstDay(index: number, period: RetentionPeriod): number {
  if (period === "day") return index;
  if (period === "week") return index * 7 - 3;
  const month = ((index % 12) + 12) % 12;
  return Date.UTC(1970 + (index - month) / 12, month, 1) / DAY_MS;
}

/** The first instant of local period `index`: where the wall clock first reaches its first day. */
export function periodStartAt(index: number, period: RetentionPeriod, timeZone: string): number {
  const wall = firstDay(index, period) * QUARTERS_PER_DAY;
  if (timeZone === "UTC") return wall * QUARTER_MS;
  const segments = offsetSegments(
    (wall - QUARTERS_PER_DAY) * QUARTER_MS,
    (wall + QUARTERS_PER_DAY) * QUARTER_MS,
    timeZone,
  );
  let first = Infinity;
  segments.forEach((s, i) => {
    const at = Math.max(s.from, wall - s.offset);
    if (at < (segments[i + 1]?.from ?? Infinity)) first = Math.min(first, at);
  });
  return first * QUARTER_MS;
}

/**
 * SQL for the local period number of the UTC quarter hour `quarter` (an SQL expression). The offsets
 * are numbers computed here, never input, so they are written into the SQL.
 */
export function localPeriodSql(quarter: string, period: RetentionPeriod, segments: OffsetSegment[]): string {
  const cases = segments
    .slice(1)
    .map((s, i) => `WHEN ${quarter} < ${s.from} THEN ${segments[i].offset}`)
    .join(" ");
  const lastOffset = segments[segments.length - 1].offset;
  const local = cases ? `(${quarter} + CASE ${cases} ELSE ${lastOffset} END)` : `(${quarter} + ${lastOffset})`;
  if (period === "day") return `(${local} / 96)`;
  if (period === "week") return `((${local} / 96 + 3) / 7)`;
  const field = (f: string) => `CAST(strftime('${f}', ${local} * 900, 'unixepoch') AS INTEGER)`;
  return `((${field("%Y")} - 1970) * 12 + ${field("%m")} - 1)`;
}
