import { DAY_MS, QUARTER_MS, rollupSpans, type ReportFilter } from "./range";

export type Grain = "q" | "d";

/** Rollup buckets [from, to) of one grain. */
export type BucketRange = [grain: Grain, from: number, to: number];

/** One rollup bucket and the sum of a metric in it. */
export type BucketSum = { grain: Grain; bucket: number; value: number };

export const grainMs = (grain: Grain) => (grain === "q" ? QUARTER_MS : DAY_MS);

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
    const firstDayQuarter = days ? (days[0] * DAY_MS) / QUARTER_MS : Infinity;
    for (const [a, b] of quarters) if (a < firstDayQuarter) add("q", a, b);
    if (days) add("d", days[0], days[1]);
    for (const [a, b] of quarters) if (a >= firstDayQuarter) add("q", a, b);
  }
  return ranges;
}

/**
 * The part of a rollup query that every report shares: the workspace ?1, the campaign filter ?3 (a
 * JSON array, or null for all) and the variant filter ?4 (or null).
 */
export function filterWhere(alias: string): string {
  return `${alias}.workspace_id = ?1
    AND (?3 IS NULL OR ${alias}.campaign_id IN (SELECT value FROM json_each(?3)))
    AND (?4 IS NULL OR ${alias}.variant = ?4)`;
}

/**
 * filterWhere() plus the buckets listed in ?2, a JSON array of BucketRange joined as `s`: written
 * `json_each(?2) AS s CROSS JOIN <table>` so that each range is one scan of the primary key.
 */
export function rollupWhere(alias: string): string {
  return `${filterWhere(alias)} AND ${alias}.grain = s.value->>0
    AND ${alias}.bucket >= s.value->>1 AND ${alias}.bucket < s.value->>2`;
}

/** The bindings ?1 to ?4 of rollupWhere() (or of filterWhere(), which leaves ?2 unused). */
export function rollupParams(filter: ReportFilter, ranges: readonly unknown[] | null): unknown[] {
  return [
    filter.workspaceId,
    ranges && JSON.stringify(ranges),
    filter.campaignIds.length > 0 ? JSON.stringify(filter.campaignIds) : null,
    filter.variant,
  ];
}
