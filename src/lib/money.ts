import currencyDigits from "./currency-digits.json";

const DIGITS: Record<string, number> = currencyDigits;

/**
 * Minor units of an ISO 4217 currency (2 for EUR, 0 for JPY, 3 for BHD), or null if it is not one.
 * From the ISO list itself (currency-codes, cut to codes and digits by scripts/reference-data.mjs): Intl's
 * CLDR data gives cash digits instead (0 for HUF, which has 2).
 */
export function currencyExponent(currency: string): number | null {
  return /^[A-Z]{3}$/.test(currency) && Object.hasOwn(DIGITS, currency) ? DIGITS[currency] : null;
}

export type MoneyCheck = { ok: true; value: number; minor: number } | { ok: false; reason: string };

const MAX_VALUE = 1e12;

/** A non-negative amount with no more decimals than its currency has, as given and in minor units. */
export function checkMoney(value: number | string, currency: string): MoneyCheck {
  const exponent = currencyExponent(currency);
  if (exponent === null) return { ok: false, reason: `Not an ISO 4217 currency code: ${currency}` };
  const text = typeof value === "number" ? String(value) : value.trim();
  const match = text.match(/^(\d{1,13})(?:\.(\d+))?$/);
  if (!match) return { ok: false, reason: "A non-negative decimal number, such as 49.90" };
  const decimals = (match[2] ?? "").replace(/0+$/, "");
  if (decimals.length > exponent) return { ok: false, reason: `${currency} has ${exponent} decimal places` };
  const amount = Number(text);
  if (amount > MAX_VALUE) return { ok: false, reason: "Too large" };
  const minor = Number(match[1]) * 10 ** exponent + Number(decimals.padEnd(exponent, "0") || "0");
  return { ok: true, value: amount, minor };
}

const MAX_PRICE_MICROS = 1_000_000 * 1_000_000;

/**
 * A non-negative price with up to 6 decimals, in millionths of its currency, or null. Prices may have
 * more decimals than their currency (Meta's rates have 4 in USD); millionths keep sums of them exact.
 */
export function priceMicros(value: number | string): number | null {
  const text = typeof value === "number" ? String(value) : value.trim();
  const match = text.match(/^(\d{1,7})(?:\.(\d{1,6}))?$/);
  if (!match) return null;
  const micros = Number(match[1]) * 1_000_000 + Number((match[2] ?? "").padEnd(6, "0") || "0");
  return micros <= MAX_PRICE_MICROS ? micros : null;
}
