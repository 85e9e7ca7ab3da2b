import * as z from "./zod";
import { doc } from "../lib/openapi";
import { ApiError, type ErrorIssue } from "../errors";
import { normalizeContact } from "../lib/contact";

/** A national number as written: it is read once the workspace, and so its defaultCountry, is known. */
export class NationalNumber {
  constructor(readonly written: string) {}
}

/** A validated contact: its normalised id, or a national number still to be read in the workspace's country. */
export type ContactInput = string | NationalNumber;

export const contactInput = doc(
  z.pipe(
    z.string().check(z.maxLength(256)),
    z.transform((value, ctx): ContactInput => {
      const check = normalizeContact(value);
      if (check.ok) return check.id;
      if (check.needsCountry) return new NationalNumber(value);
      ctx.issues.push({ code: "custom", message: check.reason, input: value });
      return z.NEVER;
    }),
  ),
  {
    example: "+14155550123",
    description:
      "A phone number with its country code (+49 151 99887766, 0049…, 49151…), or national (0151 99887766, (650) 555-1234) in the workspace's `defaultCountry`; or a WhatsApp user id (user.…)",
  },
);

/**
 * The contacts of a request as normalised ids, national numbers read in `defaultCountry`. A 400 lists
 * every one that cannot be read, before anything is written.
 */
export function readContacts(
  defaultCountry: string | null,
  contacts: ContactInput[],
  pathOf: (index: number) => (string | number)[],
): string[] {
  const issues: ErrorIssue[] = [];
  const ids = contacts.map((contact, i) => {
    if (typeof contact === "string") return contact;
    const check = normalizeContact(contact.written, defaultCountry);
    if (check.ok) return check.id;
    issues.push({ path: pathOf(i), message: check.reason });
    return "";
  });
  if (issues.length > 0) throw new ApiError("invalid_request", "Nothing was written; see issues.", issues);
  return ids;
}

/** One optional contact, read as `readContacts` reads them. */
export function readContact(
  defaultCountry: string | null,
  contact: ContactInput | undefined,
  path: (string | number)[],
): string | undefined {
  return contact === undefined ? undefined : readContacts(defaultCountry, [contact], () => path)[0];
}
