import type { MessageTotals } from "./messages";
import { ratio, twoProportionTest } from "./stats";

const SIGNIFICANCE = 0.05;

/**
 * Each variant against the first: the campaign's own variants in their order, then any other
 * variant that messages carry. Rates are shares of sent messages that reached the metric's step.
 * `totals` are the variant's sums (undefined when it sent nothing), for what the caller adds.
 */
export function abVariants(declared: string[], totals: MessageTotals[], metric: "conversion" | "click") {
  const byVariant = new Map(totals.filter((t) => t.key !== null).map((t) => [t.key as string, t]));
  const names = [...declared, ...[...byVariant.keys()].filter((v) => !declared.includes(v)).sort()];
  const reached = (t: MessageTotals | undefined) => (t ? (metric === "click" ? t.clicked : t.converted) : 0);
  const base = byVariant.get(names[0]);
  return names.map((variant, i) => {
    const t = byVariant.get(variant);
    const messages = t?.sent ?? 0;
    const rate = ratio(reached(t), messages);
    const baseRate = ratio(reached(base), base?.sent ?? 0);
    const test = i === 0 ? null : twoProportionTest(reached(base), base?.sent ?? 0, reached(t), messages);
    return {
      variant,
      messages,
      clicks: t?.clicked ?? 0,
      conversions: t?.converted ?? 0,
      rate,
      uplift: i === 0 || rate === null || !baseRate ? null : rate / baseRate - 1,
      pValue: test ? test.pValue : null,
      significant: test !== null && test.pValue < SIGNIFICANCE,
      limited: t?.limited ?? 0,
      experiment: t?.experiment ?? 0,
      totals: t,
    };
  });
}
