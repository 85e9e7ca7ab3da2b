import { expect } from "vitest";

/**
 * What an A/B report must say of each variant, worked out from counts alone with textbook
 * statistics: a pooled two-proportion z-test against the first variant, two-sided, significant
 * below p = 0.05. Nothing here comes from the service's own code.
 */

/** P(|Z| ≥ z) for a standard normal Z, by Simpson's rule over the density from |z| to 12 beyond it. */
export function twoSidedNormalTail(z: number): number {
  const a = Math.abs(z);
  const steps = 4000;
  const h = 12 / steps;
  const density = (t: number) => Math.exp((-t * t) / 2) / Math.sqrt(2 * Math.PI);
  let sum = density(a) + density(a + 12);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * density(a + i * h);
  return 2 * ((sum * h) / 3);
}

export type VariantCounts = { variant: string; messages: number; reached: number };
export type ExpectedVariant = {
  variant: string;
  rate: number | null;
  uplift: number | null;
  pValue: number | null;
  significant: boolean;
};

export function expectedVariants(counts: VariantCounts[]): ExpectedVariant[] {
  const [base] = counts;
  const rateOf = (c: VariantCounts) => (c.messages === 0 ? null : c.reached / c.messages);
  return counts.map((c, i) => {
    const rate = rateOf(c);
    const baseRate = rateOf(base);
    if (i === 0) return { variant: c.variant, rate, uplift: null, pValue: null, significant: false };
    let pValue: number | null = null;
    if (c.messages > 0 && base.messages > 0) {
      const pooled = (base.reached + c.reached) / (base.messages + c.messages);
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / base.messages + 1 / c.messages));
      // Both groups all in or all out: no difference to test.
      pValue = se === 0 ? 1 : twoSidedNormalTail((rate! - baseRate!) / se);
    }
    return {
      variant: c.variant,
      rate,
      uplift: rate === null || !baseRate ? null : rate / baseRate - 1,
      pValue,
      significant: pValue !== null && pValue < 0.05,
    };
  });
}

/** The report's variants against the expected ones; p-values agree to a relative 1e-6. */
export function expectVariants(received: ExpectedVariant[], expected: ExpectedVariant[], label?: string) {
  expect(
    received.map(({ variant, rate, significant }) => ({ variant, rate, significant })),
    label,
  ).toEqual(expected.map(({ variant, rate, significant }) => ({ variant, rate, significant })));
  received.forEach((v, i) => {
    const e = expected[i];
    const where = `${label ?? "A/B"} ${v.variant}`;
    if (e.uplift === null) expect(v.uplift, where).toBeNull();
    else expect(v.uplift, where).toBeCloseTo(e.uplift, 12);
    if (e.pValue === null) expect(v.pValue, where).toBeNull();
    else
      expect(Math.abs(v.pValue! - e.pValue) / e.pValue, `${where} pValue ${v.pValue} vs ${e.pValue}`).toBeLessThan(
        1e-6,
      );
  });
}
