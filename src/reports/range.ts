import { ApiError } from "../errors";
import { QUARTER_MS, zonedTime } from "../lib/calendar";
import { canonicalTimeZone } from "../lib/time-zone";

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

/** Whether the day exists: 2026-02-30 would otherwise roll over into March. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function checkTimeZone(timeZone: string): string {
  const canonical = canonicalTimeZone(timeZone);
  if (canonical) return canonical;
  throw new ApiError("invalid_request", "Unknown time zone.", [
    { path: ["timezone"], message: "An IANA time zone such as Europe/Berlin or UTC" },
  ]);
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

/**
 * `from` / `to` of a raw export, read as a report's are, but to the millisecond: raw rows need no
 * quarter hours. Either end may be left open (null).
 */
export function resolveExportBounds(
  query: { from?: string; to?: string },
  timeZone: string,
): { from: number | null; to: number | null } {
  const from = query.from === undefined ? null : toInstant(query.from, "from", timeZone, 0, false);
  const to = query.to === undefined ? null : toInstant(query.to, "to", timeZone, 1, false);
  if (from !== null && to !== null && to <= from) {
    throw new ApiError("invalid_request", "The range is empty.", [{ path: ["to"], message: "Must be after from" }]);
  }
  return { from, to };
}

function toInstant(
  value: string,
  field: "from" | "to",
  timeZone: string,
  extraDays: number,
  onQuarterHours = true,
): number {
  const date = value.match(DATE_ONLY);
  const ms = date
    ? zonedTime(Number(date[1]), Number(date[2]), Number(date[3]) + extraDays, 0, timeZone)
    : Date.parse(value);
  const wellFormed = date
    ? isCalendarDate(Number(date[1]), Number(date[2]), Number(date[3]))
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  if (!wellFormed || !Number.isFinite(ms) || ms < 0) {
    throw new ApiError("invalid_request", `\`${field}\` is not a date or time.`, [
      { path: [field], message: "An ISO 8601 date (2026-11-01) or time with offset (2026-11-01T09:00:00Z)" },
    ]);
  }
  if (onQuarterHours && ms % QUARTER_MS !== 0) {
    throw new ApiError("invalid_request", `\`${field}\` must fall on a quarter hour.`, [
      { path: [field], message: "Reports are cut at :00, :15, :30 and :45 (whole seconds zero)" },
    ]);
  }
  return ms;
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
