import { parsePhoneNumberFromString, validatePhoneNumberLength } from "libphonenumber-js/min";
import { hmacSha256Hex } from "./crypto";

// Business-scoped user ids (`user.…`, or a country prefix such as `US.…`), sent by WhatsApp
// instead of a number for users who adopted usernames.
const BSUID = /^(?:user|[A-Z]{2})\.[A-Za-z0-9._:-]{1,200}$/;

export type ContactCheck = { ok: true; id: string } | { ok: false; reason: string };

/**
 * A contact is a phone number in any common format (normalised to E.164) or a BSUID. Numbers must
 * carry their country code, as WhatsApp's `wa_id` does: `+44 20 7946 0958`, `0044…`, `447946…`.
 * The digits are kept as given: WhatsApp's own `wa_id`s include forms that numbering plans call too
 * long (Mexico's `521…`), and a contact must hash the same whether it came from the API or a webhook.
 * libphonenumber only refuses unknown country codes and numbers too short to be real.
 */
export function normalizeContact(input: string): ContactCheck {
  const value = input.trim();
  if (BSUID.test(value)) return { ok: true, id: value };
  const international = value.replace(/^00/, "+").replace(/^(?=\d)/, "+");
  if (!/^\+[\d\s().\-/]{6,30}$/.test(international)) {
    return {
      ok: false,
      reason: "A phone number with country code (e.g. +14155550123) or a WhatsApp business-scoped user id (user.…)",
    };
  }
  const e164 = `+${international.replace(/\D/g, "")}`;
  const problem = validatePhoneNumberLength(e164);
  if (e164.length > 16 || problem === "INVALID_COUNTRY" || problem === "NOT_A_NUMBER" || problem === "TOO_SHORT") {
    return { ok: false, reason: "Not a phone number: unknown country code, too few or too many digits" };
  }
  return { ok: true, id: e164 };
}

/** The only form in which a contact is stored: HMAC-SHA256 under PII_PEPPER. */
export function hashContact(pepper: string, contactId: string): Promise<string> {
  return hmacSha256Hex(pepper, contactId);
}

/**
 * The country of a normalised contact, for reports: from the number's calling code and leading
 * digits, or from a business-scoped user id's country prefix (`US.…`). Unknown for `user.…` ids.
 */
export function contactCountry(contactId: string): string | null {
  if (contactId.startsWith("+")) return parsePhoneNumberFromString(contactId)?.country ?? null;
  const prefix = contactId.match(/^([A-Z]{2})\./);
  return prefix ? prefix[1] : null;
}
