import type { StoredConsent } from "../db/consents";
import type { StoredInbound, StoredStatus, WhatsAppEvents } from "../db/messages";
import { WHATSAPP_SOURCE } from "../lib/consent";
import { contactCountry, hashContact } from "../lib/contact";
import type { InboundEvent, ParsedWebhook, WebhookContact } from "./webhook-body";

/**
 * The contact id of a webhook's phone number or business-scoped user id, hashed exactly as contacts
 * given to the API are: a `wa_id` is the E.164 number without its `+`.
 */
function contactId(contact: WebhookContact): string | null {
  return contact.phone ? `+${contact.phone}` : contact.userId;
}

/** The user id of a contact also named by its phone number: the same contact under another id. */
function aliasId(contact: WebhookContact): string | null {
  return contact.phone ? contact.userId : null;
}

/** Every id a contact is named by, its contact id first. */
function idsOf(contact: WebhookContact): string[] {
  const ids = [contactId(contact), aliasId(contact)];
  return ids.filter((id): id is string => id !== null);
}

/**
 * The ids of a system message's user: its old contact id, then every other id it had or has. The
 * message travels and is stored as one inbound message per other id, each pairing that id with the
 * old one (`aliasHash` with `contactHash`), and none of them is a reply (see writeWhatsAppEvents).
 */
function changedIds(event: InboundEvent): { old: string; others: string[] } | null {
  const [old, ...formerAliases] = idsOf(event.contact);
  if (!old || !event.changedTo) return null;
  return { old, others: [...formerAliases, ...idsOf(event.changedTo)].filter((id) => id !== old) };
}

export async function toStoredEvents(
  pepper: string,
  workspaceId: string,
  parsed: ParsedWebhook,
): Promise<WhatsAppEvents> {
  // Statuses of one recipient repeat the same contact: each distinct one is hashed once.
  const ids = new Set<string>();
  for (const event of [...parsed.statuses, ...parsed.inbound, ...parsed.consents]) {
    const id = contactId(event.contact);
    if (id) ids.add(id);
    const alias = aliasId(event.contact);
    if (alias) ids.add(alias);
  }
  for (const event of parsed.inbound) for (const id of changedIds(event)?.others ?? []) ids.add(id);
  const hashes = new Map(await Promise.all([...ids].map(async (id) => [id, await hashContact(pepper, id)] as const)));
  const hashOf = (contact: WebhookContact) => hashes.get(contactId(contact) ?? "") ?? null;
  const aliasHashOf = (contact: WebhookContact) => hashes.get(aliasId(contact) ?? "") ?? null;
  // Parsing a number for its country is slow next to the rest: once per distinct contact too.
  const countries = new Map([...ids].map((id) => [id, contactCountry(id)]));
  const countryOf = (contact: WebhookContact) => countries.get(contactId(contact) ?? "") ?? null;
  return {
    statuses: parsed.statuses.map(({ contact, ...s }): StoredStatus => ({
      ...s,
      workspaceId,
      contactHash: hashOf(contact),
      aliasHash: aliasHashOf(contact),
      country: countryOf(contact),
    })),
    inbound: parsed.inbound.flatMap((event): StoredInbound[] => {
      const { contact, changedTo: _, ...m } = event;
      const changed = changedIds(event);
      if (changed) {
        const contactHash = hashes.get(changed.old) ?? null;
        return changed.others.map((id) => ({ ...m, workspaceId, contactHash, aliasHash: hashes.get(id) ?? null }));
      }
      return [{ ...m, workspaceId, contactHash: hashOf(contact), aliasHash: aliasHashOf(contact) }];
    }),
    // Every consent event names a contact (the parser keeps no other), so each has its hash.
    consents: parsed.consents.flatMap(({ contact, ...c }): StoredConsent[] => {
      const contactHash = hashOf(contact);
      return contactHash ? [{ ...c, workspaceId, contactHash, source: WHATSAPP_SOURCE }] : [];
    }),
  };
}
