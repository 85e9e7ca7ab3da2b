import { ApiError } from "../errors";
import { canonicalTimeZone } from "../lib/time-zone";

export const QUARTER_MS = 15 * 60_000;
export const HOUR_MS = 60 * 60_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * A report's time range, [from, to) in epoch ms. Both ends fall on a quarter hour: rollups are kept
 * per UTC quarter hour and per UTC day, and every time zone's offset is a multiple of 15 minutes,
 * so any local day, week or month is a whole number of quarter hours and reports stay exact.
 */
export type ReportRange = { from: number; to: number; timeZone: string };

export type ReportFilter = ReportRange & {
  workspaceId: string;
  campaignIds: string[];
  variant: string | null;
};

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

export function checkTimeZone(timeZone: string): string {
  const canonical = canonicalTimeZone(timeZone);
  if (canonical) return canonical;
  throw new ApiError("invalid_request", "Unknown time zone.", [
    { path: ["timezone"], message: "An IANA time zone such as Europe/Berlin or UTC" },
  ]);
}

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

/**
 * `from` / `to` as ISO datetimes, or as dates meaning local midnight in `timeZone` (a `to` date
 * includes that whole day). Without them a report covers everything up to now.
 */
export function resolveRange(
  query: { from?: string; to?: string },
  timeZone: string,
  now = Date.now(),
): { from: number; to: number } {
  const from = query.from === undefined ? 0 : toInstant(query.from, "from", timeZone, 0);
  const to =
    query.to === undefined ? Math.ceil((now + 1) / QUARTER_MS) * QUARTER_MS : toInstant(query.to, "to", timeZone, 1);
  if (to <= from) {
    throw new ApiError("invalid_request", "The range is empty.", [{ path: ["to"], message: "Must be after from" }]);
  }
  return { from, to };
}

function toInstant(value: string, field: "from" | "to", timeZone: string, extraDays: number): number {
  const date = value.match(DATE_ONLY);
  const ms = date
    ? zonedTime(Number(date[1]), Number(date[2]), Number(date[3]) + extraDays, 0, timeZone)
    : Date.parse(value);
  const wellFormed = date || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  if (!wellFormed || !Number.isFinite(ms) || ms < 0) {
    throw new ApiError("invalid_request", `\`${field}\` is not a date or time.`, [
      { path: [field], message: "An ISO 8601 date (2026-11-01) or time with offset (2026-11-01T09:00:00Z)" },
    ]);
  }
  if (ms % QUARTER_MS !== 0) {
    throw new ApiError("invalid_request", `\`${field}\` must fall on a quarter hour.`, [
      { path: [field], message: "Reports are cut at :00, :15, :30 and :45 (whole seconds zero)" },
    ]);
  }
  return ms;
}

/** The range as whole UTC days plus the quarter hours before and after them, as rollup buckets. */
export function rollupSpans(range: { from: number; to: number }) {
  const q0 = range.from / QUARTER_MS;
  const q1 = range.to / QUARTER_MS;
  const d0 = Math.ceil(range.from / DAY_MS);
  const d1 = Math.floor(range.to / DAY_MS);
  if (d1 <= d0) return { days: null, quarters: [[q0, q1]] as [number, number][] };
  const perDay = DAY_MS / QUARTER_MS;
  return {
    days: [d0, d1] as [number, number],
    quarters: [
      [q0, d0 * perDay],
      [d1 * perDay, q1],
    ].filter(([a, b]) => b > a) as [number, number][],
  };
}

/** The filter every report applies, from its validated common parameters. */
export function reportFilter(
  workspaceId: string,
  query: { from?: string; to?: string; campaignId?: string[]; variant?: string; timezone: string },
): ReportFilter {
  const timeZone = checkTimeZone(query.timezone);
  return {
    workspaceId,
    ...resolveRange(query, timeZone),
    timeZone,
    campaignIds: query.campaignId ?? [],
    variant: query.variant ?? null,
  };
}
