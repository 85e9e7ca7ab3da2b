import examples from "libphonenumber-js/examples.mobile.json";
import { getCountries, parsePhoneNumberFromString, validatePhoneNumberLength } from "libphonenumber-js/min";
import { describe, expect, it } from "vitest";
import { contactCountry, isPhoneCountry, normalizeContact } from "../src/lib/contact";

describe("normalizeContact", () => {
  it.each([
    ["+1 (650) 555-1234", "+16505551234"],
    ["16505551234", "+16505551234"],
    ["0044 20 7946 0958", "+442079460958"],
    ["+55 11 91234-5678", "+5511912345678"],
    ["+91.98765.43210", "+919876543210"],
    // WhatsApp's wa_id for Mexican mobiles keeps the old "1": it must hash the same as the webhook's.
    ["+52 1 55 1234 5678", "+5215512345678"],
    [
      "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6",
      "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6",
    ],
    ["US.13491208655302741918", "US.13491208655302741918"],
  ])("accepts %s as %s", (input, expected) => {
    expect(normalizeContact(input)).toEqual({ ok: true, id: expected });
  });

  it.each(["", "john@example.com", "+1 23", "+999 1234 5678 9012 3456", "user.", "12ab34"])("refuses %j", (input) => {
    expect(normalizeContact(input).ok).toBe(false);
  });

  it.each([
    ["0151 99887766", "DE", "+4915199887766"],
    ["030 1234567", "DE", "+49301234567"],
    ["(650) 555-1234", "US", "+16505551234"],
    ["07700 900123", "GB", "+447700900123"],
    ["011 44 7700 900123", "US", "+447700900123"],
  ])("reads the national number %s in %s as %s", (input, country, expected) => {
    expect(normalizeContact(input, country)).toEqual({ ok: true, id: expected });
  });

  it("keeps reading numbers with their country code as written, whatever the default country", () => {
    expect(normalizeContact("+44 7700 900123", "DE")).toEqual({ ok: true, id: "+447700900123" });
    expect(normalizeContact("0044 7700 900123", "DE")).toEqual({ ok: true, id: "+447700900123" });
    expect(normalizeContact("447700900123", "DE")).toEqual({ ok: true, id: "+447700900123" });
  });

  it("asks for a default country for a national number, and refuses one that is not a number there", () => {
    expect(normalizeContact("0151 99887766")).toMatchObject({ ok: false, needsCountry: true });
    expect(normalizeContact("0151 99887766", "Germany")).toMatchObject({ ok: false, needsCountry: true });
    expect(normalizeContact("0 1", "DE")).toMatchObject({ ok: false });
    expect(normalizeContact("0151 9988x766", "DE")).toEqual({ ok: false, reason: expect.any(String) });
  });
});

describe("contactCountry", () => {
  it.each([
    ["+14155550123", "US"],
    ["+16135550123", "CA"],
    ["+447400123456", "GB"],
    ["+4915123456789", "DE"],
    ["+919876543210", "IN"],
    ["+5511987654321", "BR"],
    ["US.13491208655302741918", "US"],
    ["user.AbC123", null],
    ["+999123456789", null],
  ])("places %s in %s", (contact, country) => {
    expect(contactCountry(contact)).toBe(country);
  });
});

// The Worker carries libphonenumber-js's "min" metadata without formats (scripts/phone-metadata.mjs): every
// country's example mobile number, written nationally, internationally, a digit short and a digit long, reads
// exactly as the library's own "min" metadata reads it.
describe("the metadata without formats", () => {
  const countries = getCountries();
  it("knows every country the library knows", () => {
    expect(countries.length).toBeGreaterThan(240);
    expect(countries.filter((country) => !isPhoneCountry(country))).toEqual([]);
  });

  it("reads every country's numbers as the full metadata does", () => {
    let compared = 0;
    let nationals = 0;
    for (const country of countries) {
      const national = (examples as Record<string, string>)[country];
      if (!national) continue;
      const reference = parsePhoneNumberFromString(national, country)!;
      const e164 = reference.number;
      // Written with its trunk prefix or area code in brackets, as people write them, it is read in its country.
      const written = reference.formatNational();
      if (/^(?:0(?!0)|\()/.test(written)) {
        expect(normalizeContact(written, country), `${country} ${written}`).toEqual(
          normalizeContact(parsePhoneNumberFromString(written, country)!.number),
        );
        nationals += 1;
      }
      expect(normalizeContact(e164), e164).toEqual(
        ["INVALID_COUNTRY", "NOT_A_NUMBER", "TOO_SHORT"].includes(validatePhoneNumberLength(e164) ?? "")
          ? { ok: false, reason: expect.any(String) }
          : { ok: true, id: e164 },
      );
      expect(contactCountry(e164), e164).toBe(reference.country ?? null);
      for (const variant of [e164.slice(0, -1), `${e164}5`]) {
        const problem = validatePhoneNumberLength(variant);
        const refused = ["INVALID_COUNTRY", "NOT_A_NUMBER", "TOO_SHORT"].includes(problem ?? "") || variant.length > 16;
        expect(normalizeContact(variant).ok, variant).toBe(!refused);
        if (!refused)
          expect(contactCountry(variant), variant).toBe(parsePhoneNumberFromString(variant)?.country ?? null);
      }
      compared += 1;
    }
    expect(compared).toBeGreaterThan(200);
    expect(nationals).toBeGreaterThan(100);
  });
});
