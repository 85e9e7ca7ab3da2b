/**
 * Per-message pricing as Meta reports it on statuses (since July 2025, revised 1 October 2026), kept
 * under Meta's own keys: reports read `$.type` and `$.category` of the stored JSON. Values are taken
 * as given, new ones included (`marketing_lite`, `group_marketing`, `referral_conversion`, …), but
 * only short strings: anything else in a field is not pricing we can use.
 */
export type Pricing = { pricing_model?: string; type?: string; category?: string; billable?: boolean };

/** The fields a message keeps, each from the latest status that carried it. */
export const PRICING_FIELDS = ["pricing_model", "type", "category", "billable"] as const;

const MAX_VALUE_LENGTH = 64;

const isValue = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= MAX_VALUE_LENGTH;

/** The pricing fields of a status's `pricing` object; null when it carries none. */
export function readPricing(raw: unknown): Pricing | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const given = raw as Record<string, unknown>;
  const pricing: Pricing = {};
  if (isValue(given.pricing_model)) pricing.pricing_model = given.pricing_model;
  if (isValue(given.type)) pricing.type = given.type;
  if (isValue(given.category)) pricing.category = given.category;
  // Deprecated by Meta and not relied on, but kept while it is sent.
  if (typeof given.billable === "boolean") pricing.billable = given.billable;
  return Object.keys(pricing).length > 0 ? pricing : null;
}

/** A message is charged when Meta's pricing type is `regular` (free types: customer service, entry point, …). */
export function isCharged(pricing: Readonly<Record<string, unknown>> | null | undefined): boolean {
  return pricing?.type === "regular";
}

export type PricingAnswer = { pricingModel: string | null; type: string | null; category: string | null };

/** Stored pricing as the API answers it; null when no status carried any. */
export function describePricing(pricing: Record<string, unknown> | null): PricingAnswer | null {
  if (!pricing) return null;
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return { pricingModel: text(pricing.pricing_model), type: text(pricing.type), category: text(pricing.category) };
}
