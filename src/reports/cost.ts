import { sumCharges, sumRevenueIn, type ChargeRow } from "../db/reports/message-charges";
import type { RateCard } from "../db/schema";
import { priceMicros } from "../lib/money";
import { bucketRanges, type BucketRange, type BucketSum, type Grain } from "../lib/rollup-buckets";
import type { ReportFilter } from "./range";
import { ratio } from "./stats";
import type { D1Handle } from "../db/client";

export type Cost = {
  currency: string;
  total: number;
  perDelivered: number | null;
  perClick: number | null;
  perConversion: number | null;
  roas: number | null;
};

/** A rate card's prices in millionths, looked up by category and country ('' for the category's own rate). */
export type Rates = { currency: string; micros: Map<string, number> };

export function ratesOf(card: RateCard): Rates {
  return {
    currency: card.currency,
    micros: new Map(card.rates.map((r) => [`${r.category} ${r.country ?? ""}`, priceMicros(r.price) ?? 0])),
  };
}

/** The most specific rate: the category's in that country, else the category's own; no rate costs nothing. */
export function rateMicros(rates: Rates, category: string, country: string): number {
  return rates.micros.get(`${category} ${country}`) ?? rates.micros.get(`${category} `) ?? 0;
}

/** What charged messages cost, in millionths; a BigInt so that large sums stay exact. */
export function chargesMicros(rates: Rates, rows: ChargeRow[]): bigint {
  let total = 0n;
  for (const row of rows) total += BigInt(row.charged) * BigInt(rateMicros(rates, row.category, row.country));
  return total;
}

const MICROS = 1_000_000;

type CostCounts = { delivered: number; clicked: number; converted: number };

/** The cost of messages that reached delivered / clicked / converted `counts`, and the return on it. */
export function costOf(rates: Rates, totalMicros: bigint, counts: CostCounts, revenueMicros: number): Cost {
  const total = Number(totalMicros) / MICROS;
  return {
    currency: rates.currency,
    total,
    perDelivered: ratio(total, counts.delivered),
    perClick: ratio(total, counts.clicked),
    perConversion: ratio(total, counts.converted),
    roas: ratio(revenueMicros / MICROS, total),
  };
}

/**
 * What a report's messages cost with the rate card, as a function of a variant ('' without
 * `byVariant`) and that variant's counts; every cost is null without a rate card.
 */
export async function reportCosts(
  d1: D1Handle,
  filter: ReportFilter,
  card: RateCard | null | undefined,
  byVariant = false,
): Promise<(variant: string, counts: CostCounts) => Cost | null> {
  if (!card) return () => null;
  const rates = ratesOf(card);
  const ranges = bucketRanges([filter]);
  const [charges, revenue] = await Promise.all([
    sumCharges(d1, filter, ranges, { variant: byVariant }),
    sumRevenueIn(d1, filter, ranges, rates.currency, byVariant),
  ]);
  return (variant, counts) => {
    const spent = chargesMicros(
      rates,
      charges.filter((row) => row.variant === variant),
    );
    const earned = revenue.filter((row) => row.variant === variant).reduce((sum, row) => sum + row.revenueMicros, 0);
    return costOf(rates, spent, counts, earned);
  };
}

/** The cost in millionths per bucket of the ranges, leaving out buckets that cost nothing. */
export async function costBuckets(
  d1: D1Handle,
  filter: ReportFilter,
  rates: Rates,
  ranges: BucketRange[],
): Promise<BucketSum[]> {
  const byBucket = new Map<string, { grain: Grain; bucket: number; micros: bigint }>();
  for (const row of await sumCharges(d1, filter, ranges, { bucket: true })) {
    const key = `${row.grain} ${row.bucket}`;
    const sum = byBucket.get(key) ?? { grain: row.grain as Grain, bucket: row.bucket, micros: 0n };
    sum.micros += chargesMicros(rates, [row]);
    byBucket.set(key, sum);
  }
  return [...byBucket.values()]
    .filter((s) => s.micros !== 0n)
    .map((s) => ({ grain: s.grain, bucket: s.bucket, value: Number(s.micros) }));
}
