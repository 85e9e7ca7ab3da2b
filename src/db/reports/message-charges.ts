import type { BucketRange } from "../../lib/rollup-buckets";
import { rollupParams, rollupWhere, type RollupFilter } from "./rollup-filter";
import type { D1Handle } from "../client";

/** Charged messages of one pricing category and country ('' when unknown), in one bucket and variant when asked. */
export type ChargeRow = {
  grain: string;
  bucket: number;
  variant: string;
  category: string;
  country: string;
  charged: number;
};

/**
 * Charged messages over the buckets by pricing category and country, and also by bucket and by
 * variant when `by` says so (other columns are then '' or 0).
 */
export async function sumCharges(
  d1: D1Handle,
  filter: RollupFilter,
  ranges: BucketRange[],
  by: { bucket?: boolean; variant?: boolean } = {},
): Promise<ChargeRow[]> {
  const grain = by.bucket ? "r.grain" : "''";
  const bucket = by.bucket ? "r.bucket" : "0";
  const variant = by.variant ? "r.variant" : "''";
  const { results } = await d1
    .prepare(
      `SELECT ${grain} AS grain, ${bucket} AS bucket, ${variant} AS variant, r.pricing_category AS category,
         r.country AS country, SUM(r.charged) AS charged
       FROM json_each(?2) AS s CROSS JOIN message_charges AS r
       WHERE ${rollupWhere("r")} GROUP BY 1, 2, 3, 4, 5 HAVING SUM(r.charged) <> 0`,
    )
    .bind(...rollupParams(filter, ranges))
    .all<ChargeRow>();
  return results;
}

/** Revenue in one currency over the buckets (of messages whose conversions all had it), per variant when asked. */
export async function sumRevenueIn(
  d1: D1Handle,
  filter: RollupFilter,
  ranges: BucketRange[],
  currency: string,
  byVariant = false,
): Promise<{ variant: string; revenueMicros: number }[]> {
  const { results } = await d1
    .prepare(
      `SELECT ${byVariant ? "r.variant" : "''"} AS variant, SUM(r.revenue_micros) AS revenueMicros
       FROM json_each(?2) AS s CROSS JOIN message_revenue AS r
       WHERE ${rollupWhere("r")} AND r.currency = ?5 GROUP BY 1`,
    )
    .bind(...rollupParams(filter, ranges), currency)
    .all<{ variant: string; revenueMicros: number }>();
  return results.map((r) => ({ variant: r.variant, revenueMicros: Number(r.revenueMicros) }));
}
