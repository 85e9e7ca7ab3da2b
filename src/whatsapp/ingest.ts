import {
  mergeEvents,
  writeWhatsAppEvents,
  type StoredInbound,
  type StoredStatus,
  type WhatsAppEvents,
} from "../db/messages";
import { contactCountry, hashContact } from "../lib/contact";
import { WriteCoalescer } from "../lib/write-coalescer";
import { enqueue, type QueueMessage } from "../queue";
import type { ParsedWebhook, WebhookContact } from "./webhook-body";

/**
 * The contact id of a webhook's phone number or business-scoped user id, hashed exactly as contacts
 * given to the API are: a `wa_id` is the E.164 number without its `+`.
 */
function contactId(contact: WebhookContact): string | null {
  return contact.phone ? `+${contact.phone}` : contact.userId;
}

export async function toStoredEvents(
  pepper: string,
  workspaceId: string,
  parsed: ParsedWebhook,
): Promise<WhatsAppEvents> {
  // Statuses of one recipient repeat the same contact: each distinct one is hashed once.
  const ids = new Set<string>();
  for (const event of [...parsed.statuses, ...parsed.inbound]) {
    const id = contactId(event.contact);
    if (id) ids.add(id);
  }
  const hashes = new Map(await Promise.all([...ids].map(async (id) => [id, await hashContact(pepper, id)] as const)));
  const hashOf = (contact: WebhookContact) => hashes.get(contactId(contact) ?? "") ?? null;
  // Parsing a number for its country is slow next to the rest: once per distinct contact too.
  const countries = new Map([...ids].map((id) => [id, contactCountry(id)]));
  const countryOf = (contact: WebhookContact) => countries.get(contactId(contact) ?? "") ?? null;
  return {
    statuses: parsed.statuses.map(({ contact, ...s }): StoredStatus => ({
      ...s,
      workspaceId,
      contactHash: hashOf(contact),
      country: countryOf(contact),
    })),
    inbound: parsed.inbound.map(({ contact, ...m }): StoredInbound => ({
      ...m,
      workspaceId,
      contactHash: hashOf(contact),
    })),
  };
}

// Queue messages must stay under 128 KB; a large webhook body is split into several.
const MAX_QUEUE_MESSAGE_BYTES = 100_000;

function splitForQueue(events: WhatsAppEvents): QueueMessage[] {
  const messages: QueueMessage[] = [];
  let current: WhatsAppEvents = { statuses: [], inbound: [] };
  let size = 0;
  const push = <K extends keyof WhatsAppEvents>(kind: K, event: WhatsAppEvents[K][number]) => {
    const bytes = JSON.stringify(event).length;
    if (size + bytes > MAX_QUEUE_MESSAGE_BYTES && size > 0) {
      messages.push({ type: "whatsapp", events: current });
      current = { statuses: [], inbound: [] };
      size = 0;
    }
    (current[kind] as WhatsAppEvents[K][number][]).push(event);
    size += bytes;
  };
  for (const status of events.statuses) push("statuses", status);
  for (const inbound of events.inbound) push("inbound", inbound);
  if (size > 0) messages.push({ type: "whatsapp", events: current });
  return messages;
}

// Webhooks that arrive together share one D1 batch: one local D1 write per request caps near 1,000/s.
const eventWrites = new WriteCoalescer<WhatsAppEvents>({ maxItems: 64, pollMs: 1, staleAfterMs: 10_000 });

/**
 * Stores the events durably: in D1, or, when D1 fails, in the events queue, which retries them.
 * Resolves only once one of the two holds them, so a webhook can be acknowledged after it.
 */
export function storeWhatsAppEvents(env: Env, events: WhatsAppEvents): Promise<void> {
  if (events.statuses.length === 0 && events.inbound.length === 0) return Promise.resolve();
  return eventWrites.add(events, async (batches) => {
    const merged = mergeEvents(batches);
    try {
      await writeWhatsAppEvents(env.DB, merged);
    } catch (err) {
      console.warn(
        JSON.stringify({ event: "whatsapp_write_failed", statuses: merged.statuses.length, error: String(err) }),
      );
      await enqueue(env.EVENTS, splitForQueue(merged));
    }
  });
}
