/**
 * Time as reports and rollups count it: UTC quarter hours and days, the wall clock of an IANA zone,
 * and the local periods the rollups number. Every zone's offset is a whole number of quarter hours,
 * which is what lets a local day, week or month be cut exactly from quarter-hour rows.
 */

export const MINUTE_MS = 60_000;
export const QUARTER_MS = 15 * MINUTE_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const QUARTERS_PER_DAY = DAY_MS / QUARTER_MS;

type LocalParts = { year: number; month: number; day: number; hour: number; minute: number; weekday: number };

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** The wall-clock time in `timeZone`; weekday 0 is Monday. */
export function localParts(ms: number, timeZone: string): LocalParts {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday),
  };
}

/** The offset of `timeZone` from UTC at `ms`, in ms. */
export function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - (ms - (ms % MINUTE_MS));
}

/** The weekday of day `day` since 1970-01-01 (a Thursday), 0 being Monday; also for days before 1970. */
export function weekdayOfDay(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

/** The instant at which the local wall-clock time is y-m-d h:00 in `timeZone` (the first, if repeated). */
export function zonedTime(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour);
  let guess = wall;
  // Two rounds settle the offset, also across a daylight-saving change.
  for (let i = 0; i < 2; i++) {
    const p = localParts(guess, timeZone);
    const seen = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    guess += wall - seen;
  }
  return guess;
}

/** An ISO time with the zone's offset at that moment (Z when it is zero), e.g. 2026-06-01T00:00:00.000+05:30. */
export function toZonedIso(ms: number, timeZone: string): string {
  const offset = offsetAt(ms, timeZone);
  const wall = new Date(ms + offset).toISOString().slice(0, -1);
  if (offset === 0) return `${wall}Z`;
  const minutes = Math.abs(offset) / MINUTE_MS;
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${wall}${offset < 0 ? "-" : "+"}${hh}:${mm}`;
}

export type Period = "hour" | "day" | "week" | "month";

/** The start of the local hour, day, week (Monday) or month that contains `ms`. */
export function periodStart(ms: number, period: Period, timeZone: string): number {
  const p = localParts(ms, timeZone);
  if (period === "hour") return zonedTime(p.year, p.month, p.day, p.hour, timeZone);
  if (period === "month") return zonedTime(p.year, p.month, 1, 0, timeZone);
  const day = period === "week" ? p.day - p.weekday : p.day;
  const utcDay = new Date(Date.UTC(p.year, p.month - 1, day));
  return zonedTime(utcDay.getUTCFullYear(), utcDay.getUTCMonth() + 1, utcDay.getUTCDate(), 0, timeZone);
}

/** The start of the period after the one that starts at `start`. */
export function nextPeriod(start: number, period: Period, timeZone: string): number {
  const p = localParts(start, timeZone);
  if (period === "hour") return start + HOUR_MS;
  if (period === "month") return zonedTime(p.year, p.month + 1, 1, 0, timeZone);
  const days = period === "week" ? 7 : 1;
  const next = new Date(Date.UTC(p.year, p.month - 1, p.day + days));
  return zonedTime(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, timeZone);
}

/** From quarter hour `from` on (UTC, ms / QUARTER_MS), the zone is `offset` quarter hours ahead of UTC. */
export type OffsetSegment = { from: number; offset: number };

function quarterOffsetAt(quarter: number, timeZone: string): number {
  return Math.round(offsetAt(quarter * QUARTER_MS, timeZone) / QUARTER_MS);
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
  const segments = [{ from: first, offset: quarterOffsetAt(first, timeZone) }];
  for (let at = first; at < end; at += QUARTERS_PER_DAY) {
    const next = at + QUARTERS_PER_DAY;
    const offset = quarterOffsetAt(next, timeZone);
    if (offset === segments[segments.length - 1].offset) continue;
    let lo = at;
    let hi = next;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (quarterOffsetAt(mid, timeZone) === offset) hi = mid;
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

/** The periods that rollups number; hours are not among them. */
export type DatePeriod = Exclude<Period, "hour">;

/**
 * Local periods are numbered as the rollups number UTC ones: days since 1970-01-01, Monday weeks
 * (1970-01-01 was a Thursday, so week w starts on day 7w − 3) and months since 1970-01, all read
 * on the wall clock of the time zone.
 */
export function periodIndex(ms: number, period: DatePeriod, timeZone: string): number {
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
function firstDay(index: number, period: DatePeriod): number {
  if (period === "day") return index;
  if (period === "week") return index * 7 - 3;
  const month = ((index % 12) + 12) % 12;
  return Date.UTC(1970 + (index - month) / 12, month, 1) / DAY_MS;
}

/** The first instant of local period `index`: where the wall clock first reaches its first day. */
export function periodStartAt(index: number, period: DatePeriod, timeZone: string): number {
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
 * SQL for periodIndex() of the UTC quarter hour `quarter` (an SQL expression), so that a query numbers
 * periods exactly as this module does. The offsets are numbers computed here, never input, so they
 * are written into the SQL.
 */
export function localPeriodSql(quarter: string, period: DatePeriod, segments: OffsetSegment[]): string {
  const cases = segments
    .slice(1)
    .map((s, i) => `WHEN ${quarter} < ${s.from} THEN ${segments[i].offset}`)
    .join(" ");
  const lastOffset = segments[segments.length - 1].offset;
  const local = cases ? `(${quarter} + CASE ${cases} ELSE ${lastOffset} END)` : `(${quarter} + ${lastOffset})`;
  if (period === "day") return `(${local} / ${QUARTERS_PER_DAY})`;
  if (period === "week") return `((${local} / ${QUARTERS_PER_DAY} + 3) / 7)`;
  const field = (f: string) => `CAST(strftime('${f}', ${local} * ${QUARTER_MS / 1000}, 'unixepoch') AS INTEGER)`;
  return `((${field("%Y")} - 1970) * 12 + ${field("%m")} - 1)`;
}
