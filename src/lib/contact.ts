import {
  isSupportedCountry as isSupportedCountryIn,
  parsePhoneNumberFromString as parseIn,
  validatePhoneNumberLength as validateLengthIn,
  type CountryCode,
  type MetadataJson,
} from "libphonenumber-js/core";
import phoneMetadata from "./phone-metadata.json";
import { hmacSha256Hex } from "./crypto";

// Business-scoped user ids (`user.…`, or a country prefix such as `US.…`), sent by WhatsApp
// instead of a number for users who adopted usernames.
// libphonenumber-js's "min" metadata without formats (see scripts/phone-metadata.mjs): reading and checking a
// number needs every country's numbering plan, never how the number is written out.
const metadata = phoneMetadata as unknown as MetadataJson;
const isSupportedCountry = (country: string) => isSupportedCountryIn(country as CountryCode, metadata);
const parsePhoneNumberFromString = (text: string, country?: CountryCode) =>
  country ? parseIn(text, country, metadata) : parseIn(text, metadata);
const validatePhoneNumberLength = (text: string) => validateLengthIn(text, metadata);

const BSUID = /^(?:user|[A-Z]{2})\.[A-Za-z0-9._:-]{1,200}$/;
// A number written the national way: with its trunk prefix (`0151 …`; `00` is the international
// prefix) or with its area code in brackets (`(650) 555-1234`).
const NATIONAL = /^(?:0(?!0)|\()/;
const NUMBER_CHARACTERS = /^[\d\s().\-/]{6,30}$/;

export type ContactCheck = { ok: true; id: string } | { ok: false; reason: string; needsCountry?: true };

const NOT_A_NUMBER = "Not a phone number: unknown country code, too few or too many digits";

/** Whether a country's national numbers can be read: an ISO 3166-1 alpha-2 code with a numbering plan. */
export function isPhoneCountry(country: string): country is CountryCode {
  return /^[A-Z]{2}$/.test(country) && isSupportedCountry(country);
}

/** An E.164 number, unless it has an unknown calling code or too few or too many digits. */
function checkE164(e164: string): ContactCheck {
  const problem = validatePhoneNumberLength(e164);
  if (e164.length > 16 || problem === "INVALID_COUNTRY" || problem === "NOT_A_NUMBER" || problem === "TOO_SHORT") {
    return { ok: false, reason: NOT_A_NUMBER };
  }
  return { ok: true, id: e164 };
}

function readNationalNumber(value: string, country: string | null): ContactCheck {
  if (!NUMBER_CHARACTERS.test(value)) return { ok: false, reason: NOT_A_NUMBER };
  if (country === null || !isPhoneCountry(country)) {
    return {
      ok: false,
      needsCountry: true,
      reason:
        "A national number needs the workspace's defaultCountry setting; or write it with its country code (e.g. +49 151 …)",
    };
  }
  const number = parsePhoneNumberFromString(value, country);
  if (!number) return { ok: false, reason: `Not a phone number in ${country}` };
  return checkE164(number.number);
}

/**
 * A contact is a phone number in any common format (normalised to E.164) or a BSUID. A number with
 * its country code is read as written, as WhatsApp's `wa_id` is: `+44 20 7946 0958`, `0044…`,
 * `447946…`; a national one (`0151 99887766`, `(650) 555-1234`) in `defaultCountry`.
 * The digits are kept as given: WhatsApp's own `wa_id`s include forms that numbering plans call too
 * long (Mexico's `521…`), and a contact must hash the same whether it came from the API or a webhook.
 * libphonenumber only refuses unknown country codes and numbers too short to be real.
 */
export function normalizeContact(input: string, defaultCountry: string | null = null): ContactCheck {
  const value = input.trim();
  if (BSUID.test(value)) return { ok: true, id: value };
  if (NATIONAL.test(value)) return readNationalNumber(value, defaultCountry);
  const international = value.replace(/^00/, "+").replace(/^(?=\d)/, "+");
  if (!/^\+[\d\s().\-/]{6,30}$/.test(international)) {
    return {
      ok: false,
      reason:
        "A phone number (e.g. +14155550123, or 0151 99887766 in the workspace's defaultCountry) or a WhatsApp business-scoped user id (user.…)",
    };
  }
  return checkE164(`+${international.replace(/\D/g, "")}`);
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
