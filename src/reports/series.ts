import { firstClickQuarter, sumClickBuckets } from "../db/reports/click-rollups";
import { firstSendQuarter, sumSendBuckets, type SendMetric } from "../db/reports/send-series";
import { ApiError } from "../errors";
import type { RateCard } from "../db/schema";
import { DAY_MS, HOUR_MS, QUARTER_MS, nextPeriod, offsetAt, periodStart, weekdayOfDay } from "../lib/calendar";
import { grainMs, type BucketRange, type BucketSum } from "../lib/rollup-buckets";
import { costBuckets, ratesOf, type Rates } from "./cost";
import type { ReportFilter, ReportRange } from "./range";
import type { D1Handle } from "../db/client";

export type Interval = "hour" | "day" | "week";

/**
 * Sends (by the message's send time) come from the message rollups, their cost (by send time too)
 * from the charges rollup, the rest from the click rollups.
 */
export type SeriesMetric = SendMetric | "cost" | "clicks" | "conversions" | "revenue";

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

const isSendMetric = (metric: SeriesMetric): metric is SendMetric =>
  metric === "sent" || metric === "delivered" || metric === "read";

/**
 * The metric summed per bucket of the ranges, leaving out empty buckets; revenue and cost in
 * millionths. Cost needs the rate card's `rates`.
 */
export function sumSeriesBuckets(
  d1: D1Handle,
  filter: ReportFilter,
  metric: SeriesMetric,
  ranges: BucketRange[],
  rates: Rates | null = null,
): Promise<BucketSum[]> {
  if (metric === "cost") {
    if (!rates) throw new Error("A cost series needs rates (seriesRates)");
    return costBuckets(d1, filter, rates, ranges);
  }
  return isSendMetric(metric)
    ? sumSendBuckets(d1, filter, metric, ranges)
    : sumClickBuckets(d1, filter, metric, ranges);
}

/**
 * The start of the first quarter hour in the filter's range that holds the metric's events (messages,
 * clicks, or conversions for conversions and revenue), or null when there are none.
 */
export async function firstEventAt(d1: D1Handle, filter: ReportFilter, metric: SeriesMetric) {
  const [from, to] = [filter.from / QUARTER_MS, filter.to / QUARTER_MS];
  const quarter =
    isSendMetric(metric) || metric === "cost"
      ? await firstSendQuarter(d1, filter, from, to)
      : await firstClickQuarter(d1, filter, metric === "clicks" ? "clicks" : "conversions", from, to);
  return quarter === null ? null : quarter * QUARTER_MS;
}

/** The rates a series of `metric` needs: a cost series is refused without a rate card. */
export function seriesRates(metric: SeriesMetric, card: RateCard | null | undefined): Rates | null {
  if (metric !== "cost") return null;
  if (!card) {
    throw new ApiError("invalid_request", "A cost series needs the workspace's rate card.", [
      { path: ["metric"], message: "Set the workspace's settings.rateCard first" },
    ]);
  }
  return ratesOf(card);
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
    // Local times may be just below 0.
    const localDay = Math.floor(local / DAY_MS);
    const hour = Math.floor((local - localDay * DAY_MS) / HOUR_MS);
    cells[weekdayOfDay(localDay) * 24 + hour].value += sum.value;
  }
  return cells;
}
