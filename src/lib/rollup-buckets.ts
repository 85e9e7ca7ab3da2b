import { DAY_MS, QUARTER_MS, QUARTERS_PER_DAY } from "./calendar";

/** Rollups keep rows per UTC quarter hour ('q', numbered ms / QUARTER_MS) and per UTC day ('d', ms / DAY_MS). */
export type Grain = "q" | "d";

/** Rollup buckets [from, to) of one grain. */
export type BucketRange = [grain: Grain, from: number, to: number];

/** One rollup bucket and the sum of a metric in it. */
export type BucketSum = { grain: Grain; bucket: number; value: number };

export const grainMs = (grain: Grain) => (grain === "q" ? QUARTER_MS : DAY_MS);

/** The range as whole UTC days plus the quarter hours before and after them, as rollup buckets. */
export function rollupSpans(range: { from: number; to: number }) {
  const q0 = range.from / QUARTER_MS;
  const q1 = range.to / QUARTER_MS;
  const d0 = Math.ceil(range.from / DAY_MS);
  const d1 = Math.floor(range.to / DAY_MS);
  if (d1 <= d0) return { days: null, quarters: [[q0, q1]] as [number, number][] };
  return {
    days: [d0, d1] as [number, number],
    quarters: [
      [q0, d0 * QUARTERS_PER_DAY],
      [d1 * QUARTERS_PER_DAY, q1],
    ].filter(([a, b]) => b > a) as [number, number][],
  };
}

/**
 * The buckets that cover the given time spans exactly: whole UTC days as 'd' buckets, the rest as
 * quarter hours. Adjacent ranges are merged so that a series reads few index ranges.
 */
export function bucketRanges(spans: readonly { from: number; to: number }[]): BucketRange[] {
  const ranges: BucketRange[] = [];
  const add = (grain: Grain, from: number, to: number) => {
    const last = ranges.findLast((r) => r[0] === grain);
    if (last && last[2] === from) last[2] = to;
    else ranges.push([grain, from, to]);
  };
  for (const span of spans) {
    const { days, quarters } = rollupSpans(span);
    const firstDayQuarter = days ? days[0] * QUARTERS_PER_DAY : Infinity;
    for (const [a, b] of quarters) if (a < firstDayQuarter) add("q", a, b);
    if (days) add("d", days[0], days[1]);
    for (const [a, b] of quarters) if (a >= firstDayQuarter) add("q", a, b);
  }
  return ranges;
}
