import { ApiError } from "../errors";
import { grainMs, type BucketSum } from "./bucket-ranges";
import { DAY_MS, HOUR_MS, QUARTER_MS, localParts, nextPeriod, periodStart, type ReportRange } from "./range";

export type Interval = "hour" | "day" | "week";

export const MAX_POINTS = 5_000;

/** A local period of a series, clipped to the report's range: `start` is where the whole period starts. */
export type SeriesPeriod = { start: number; from: number; to: number };

/** The local periods that overlap [from, to), in order; more than MAX_POINTS is refused. */
export function seriesPeriods(range: ReportRange, interval: Interval): SeriesPeriod[] {
  const periods: SeriesPeriod[] = [];
  for (let start = periodStart(range.from, interval, range.timeZone); start < range.to;) {
    if (periods.length === MAX_POINTS) {
      throw new ApiError("invalid_request", `A series has at most ${MAX_POINTS} points.`, [
        { path: ["interval"], message: "Choose a longer interval or a shorter range" },
      ]);
    }
    const end = nextPeriod(start, interval, range.timeZone);
    periods.push({ start, from: Math.max(start, range.from), to: Math.min(end, range.to) });
    start = end;
  }
  return periods;
}

/** Each bucket's sum added to the period holding it (the buckets were read from these periods' spans). */
export function sumIntoPeriods(periods: SeriesPeriod[], sums: BucketSum[]): number[] {
  const values = periods.map(() => 0);
  for (const sum of sums) {
    const at = sum.bucket * grainMs(sum.grain);
    let lo = 0;
    let hi = periods.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (periods[mid].from <= at) lo = mid;
      else hi = mid - 1;
    }
    values[lo] += sum.value;
  }
  return values;
}

/** The offset of `timeZone` from UTC at `ms`, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - (ms - (ms % 60_000));
}

/** An ISO time with the zone's offset at that moment (Z when it is zero), e.g. 2026-06-01T00:00:00.000+05:30. */
export function toZonedIso(ms: number, timeZone: string): string {
  const offset = offsetAt(ms, timeZone);
  const wall = new Date(ms + offset).toISOString().slice(0, -1);
  if (offset === 0) return `${wall}Z`;
  const minutes = Math.abs(offset) / 60_000;
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${wall}${offset < 0 ? "-" : "+"}${hh}:${mm}`;
}

export type HeatmapCell = { weekday: number; hour: number; value: number };

/**
 * Quarter-hour sums added up by local weekday (0 = Monday) and hour: all 168 cells, Monday 0:00 first.
 * Offsets are looked up once per UTC day and used for the whole day when it has no change of offset.
 */
export function heatmapCells(sums: BucketSum[], timeZone: string): HeatmapCell[] {
  const cells: HeatmapCell[] = [];
  for (let weekday = 0; weekday < 7; weekday++) {
    for (let hour = 0; hour < 24; hour++) cells.push({ weekday, hour, value: 0 });
  }
  const dayOffsets = new Map<number, number | null>();
  for (const sum of sums) {
    const at = sum.bucket * QUARTER_MS;
    const day = Math.floor(at / DAY_MS);
    let offset = dayOffsets.get(day);
    if (offset === undefined) {
      const first = offsetAt(day * DAY_MS, timeZone);
      offset = first === offsetAt((day + 1) * DAY_MS, timeZone) ? first : null;
      dayOffsets.set(day, offset);
    }
    const local = at + (offset ?? offsetAt(at, timeZone));
    // 1970-01-01 was a Thursday: weekday 3 when Monday is 0. Local times may be just below 0.
    const localDay = Math.floor(local / DAY_MS);
    const weekday = (((localDay + 3) % 7) + 7) % 7;
    const hour = Math.floor((local - localDay * DAY_MS) / HOUR_MS);
    cells[weekday * 24 + hour].value += sum.value;
  }
  return cells;
}
