/**
 * Consent rules. A contact is opted out while its latest consent record is an opt-out. What an opt-out
 * covers depends on where it came from: WhatsApp's (a `user_preferences` "stop", or error 131050) are
 * about marketing messages only; one recorded through the API with any other source covers every
 * message. An opt-in recorded later lifts either.
 */

/** The source of the records WhatsApp reports: opt-outs of marketing messages only. */
export const WHATSAPP_SOURCE = "whatsapp";

/** A source: a short lower-case name such as `api`, `website`, `whatsapp` or `crm.signup`. */
export const CONSENT_SOURCE = /^[a-z][a-z0-9_.-]{0,31}$/;

/** The pricing categories of marketing messages, as Meta names them. */
export const MARKETING_CATEGORIES = ["marketing", "marketing_lite"] as const;

/**
 * A contact's standing opt-out: `everything` when an opt-out since its latest opt-in came from a source
 * other than WhatsApp (a WhatsApp "stop" after an opt-out of everything narrows nothing).
 */
export type OptOut = { everything: boolean };

/**
 * Whether a message of `category` counts as marketing for an opt-out. A message of no known category
 * does: links carry none, and a registration that leaves it out could be a marketing message.
 */
export function isMarketing(category: string | null): boolean {
  return category === null || (MARKETING_CATEGORIES as readonly string[]).includes(category.toLowerCase());
}

/** Whether an opt-out refuses a link or message registration of `category` for its contact. */
export function refuses(optOut: OptOut | undefined, category: string | null): boolean {
  return optOut !== undefined && (optOut.everything || isMarketing(category));
}
