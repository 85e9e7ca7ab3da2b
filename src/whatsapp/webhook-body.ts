import * as z from "../schemas/zod";
import { EARLIEST_EVENT_MS, isStorableTime } from "../lib/event-bounds";
import { readPricing, type Pricing } from "../lib/pricing";
import { SYSTEM_MESSAGE } from "../db/messages";
import { boundedJson } from "../schemas/common";

// Meta's webhook body, read leniently: fields we do not use pass through unchecked, and a change we
// cannot read is skipped rather than failing the delivery (Meta would retry it for days). What is
// stored is bounded: ids and names have lengths, JSON has a depth and a size, times a range.
const unixSeconds = z.pipe(
  z.union([z.string().check(z.regex(/^\d{1,12}$/)), z.int().check(z.nonnegative())]),
  z.transform(Number),
);
const id = z.string().check(z.minLength(1), z.maxLength(256));

const Status = z.object({
  id,
  status: z.string().check(z.maxLength(32)),
  timestamp: unixSeconds,
  recipient_id: z.optional(z.string().check(z.maxLength(64))),
  recipient_user_id: z.optional(id),
  recipient_type: z.optional(z.string().check(z.maxLength(32))),
  // Meta allows 512 characters of callback data.
  biz_opaque_callback_data: z.optional(z.string().check(z.maxLength(512))),
  errors: z.optional(boundedJson(z.array(z.unknown()))),
  // Of a pricing object, only Meta's pricing fields are kept (see readPricing).
  pricing: z.optional(boundedJson(z.record(z.string(), z.unknown()))),
});

const Inbound = z.object({
  id,
  from: z.optional(z.string().check(z.maxLength(64))),
  from_user_id: z.optional(id),
  timestamp: unixSeconds,
  type: z.string().check(z.maxLength(64)),
  context: z.optional(z.object({ id: z.optional(id) })),
  reaction: z.optional(z.object({ message_id: z.optional(id) })),
  // Read apart (SystemChange), so that a system message that cannot be read is skipped on its own.
  system: z.optional(z.unknown()),
});

// A system message: the user's phone number or business-scoped user id changed. It names the user's
// old ids (`from`, `previous_user_id`) and new ones (`wa_id`, once `new_wa_id`, and `user_id`); its
// `body` is prose that repeats the numbers, and is never read. Parent user ids (`parent_user_id`,
// `previous_parent_user_id`) are shared across linked business portfolios and are not contacts here.
const SystemChange = z.object({
  type: z.string().check(z.maxLength(64)),
  wa_id: z.optional(z.string().check(z.maxLength(64))),
  new_wa_id: z.optional(z.string().check(z.maxLength(64))),
  user_id: z.optional(id),
  previous_user_id: z.optional(id),
});

// A `user_preferences` change: a user stopped or resumed the business's marketing messages.
const UserPreference = z.object({
  wa_id: z.optional(z.string().check(z.maxLength(64))),
  user_id: z.optional(id),
  category: z.string().check(z.maxLength(64)),
  value: z.string().check(z.maxLength(32)),
  timestamp: unixSeconds,
});

// The users a change is about: `wa_id` (phone number) and `user_id` (business-scoped user id) of one user.
const Contact = z.object({ wa_id: z.optional(z.string().check(z.maxLength(64))), user_id: z.optional(id) });

const Value = z.object({
  contacts: z.optional(z.array(z.unknown())),
  statuses: z.optional(z.array(z.unknown())),
  messages: z.optional(z.array(z.unknown())),
  user_preferences: z.optional(z.array(z.unknown())),
});

export const WebhookBody = z.object({
  object: z.string(),
  entry: z.array(
    z.object({
      changes: z._default(z.array(z.object({ field: z.optional(z.string()), value: z.unknown() })), []),
    }),
  ),
});

export type WhatsAppStatus = "sent" | "delivered" | "read" | "failed";

/** A contact as WhatsApp names it: a phone number (`wa_id`, digits) and/or a business-scoped user id. */
export type WebhookContact = { phone: string | null; userId: string | null };

export type StatusEvent = {
  messageId: string;
  status: WhatsAppStatus;
  at: number;
  contact: WebhookContact;
  bizOpaque: string | null;
  errors: unknown[] | null;
  pricing: Pricing | null;
  /** Sent to a group (`recipient_type: group`): no one recipient, kept out of the per-recipient funnel. */
  isGroup: boolean;
};

/** A contact's marketing opt-out or opt-in, as WhatsApp reported it. */
export type ConsentEvent = { contact: WebhookContact; optedIn: boolean; at: number };

export type InboundEvent = {
  id: string;
  type: string;
  at: number;
  contact: WebhookContact;
  contextId: string | null;
  /** Of a system message (`type: system`): the user's new ids; `contact` holds the old ones. */
  changedTo: WebhookContact | null;
};

// `played` (a voice message was listened to) says at least as much as `read`.
// A Map, so that a status named after an object's own properties (`constructor`, `toString`) is no status.
const STATUS_NAMES = new Map<string, WhatsAppStatus>(
  Object.entries({
    sent: "sent",
    delivered: "delivered",
    read: "read",
    played: "read",
    failed: "failed",
  }),
);

// The changes read: `messages` (statuses and inbound messages) and `user_preferences`.
const FIELDS = new Set(["messages", "user_preferences"]);

const MARKETING_PREFERENCES = new Map([
  ["stop", false],
  ["resume", true],
]);

// Error 131050: the user stopped marketing messages from the business (the message was not delivered).
const STOPPED_MARKETING = 131050;

function contactOf(phone: string | undefined, userId: string | undefined): WebhookContact {
  return { phone: phone && /^\d{6,15}$/.test(phone) ? phone : null, userId: userId || null };
}

/**
 * The users a change's `contacts` block names by both a phone number and a user id, found by either:
 * a status or message naming only one of them is about the same user.
 */
function pairedContacts(raw: unknown[] | undefined): Map<string, WebhookContact> {
  const pairs = new Map<string, WebhookContact>();
  for (const item of raw ?? []) {
    const parsed = Contact.safeParse(item);
    if (!parsed.success) continue;
    const contact = contactOf(parsed.data.wa_id, parsed.data.user_id);
    if (contact.phone === null || contact.userId === null) continue;
    pairs.set(`phone:${contact.phone}`, contact);
    pairs.set(`user:${contact.userId}`, contact);
  }
  return pairs;
}

/** A contact with the side it lacks filled in from the change's `contacts` block, when that names it. */
function completeContact(contact: WebhookContact, pairs: Map<string, WebhookContact>): WebhookContact {
  if (contact.phone !== null && contact.userId !== null) return contact;
  const paired =
    (contact.phone !== null ? pairs.get(`phone:${contact.phone}`) : undefined) ??
    (contact.userId !== null ? pairs.get(`user:${contact.userId}`) : undefined);
  return paired ?? contact;
}

const hasContact = (contact: WebhookContact) => contact.phone !== null || contact.userId !== null;

/**
 * The old and new ids of a system message that says a user's number or user id changed, or null when
 * it says something else or lacks either side. `user_changed_user_id` names no number (a `from`, if
 * any, is the unchanged one, and stays on the old side, which it was already part of).
 */
function readIdentityChange(
  from: string | undefined,
  raw: unknown,
): { contact: WebhookContact; changedTo: WebhookContact } | null {
  const system = SystemChange.safeParse(raw);
  if (!system.success) return null;
  const s = system.data;
  const contact = contactOf(from, s.previous_user_id);
  const changedTo =
    s.type === "user_changed_number"
      ? contactOf(s.wa_id ?? s.new_wa_id, s.user_id)
      : s.type === "user_changed_user_id"
        ? contactOf(undefined, s.user_id)
        : null;
  if (changedTo === null || !hasContact(contact) || !hasContact(changedTo)) return null;
  return { contact, changedTo };
}

const reportsStoppedMarketing = (errors: unknown[] | undefined) =>
  (errors ?? []).some((e) => Number((e as { code?: unknown } | null)?.code) === STOPPED_MARKETING);

/** A marketing "stop" or "resume" of a user_preferences change, or null when it cannot be read or stored. */
function readPreference(raw: unknown, now: number): ConsentEvent | null {
  const item = UserPreference.safeParse(raw);
  if (!item.success || item.data.category !== "marketing_messages") return null;
  const optedIn = MARKETING_PREFERENCES.get(item.data.value);
  const contact = contactOf(item.data.wa_id, item.data.user_id);
  const at = item.data.timestamp * 1000;
  if (optedIn === undefined || !hasContact(contact) || !isStorableTime(at, now)) return null;
  return { contact, optedIn, at };
}

export type ParsedWebhook = {
  statuses: StatusEvent[];
  inbound: InboundEvent[];
  consents: ConsentEvent[];
  skipped: number;
};

/**
 * Flattens a webhook body into status, inbound-message and consent events (a marketing "stop" or
 * "resume", or a message that failed because the user stopped marketing messages); unreadable items,
 * and items whose time lies outside what may be stored (before `earliest`, the start of the
 * workspace's retention period, too), are counted, not fatal.
 */
export function readWebhookEvents(
  body: z.infer<typeof WebhookBody>,
  now = Date.now(),
  earliest = EARLIEST_EVENT_MS,
): ParsedWebhook {
  const parsed: ParsedWebhook = { statuses: [], inbound: [], consents: [], skipped: 0 };
  const storable = (seconds: number) => isStorableTime(seconds * 1000, now) && seconds * 1000 >= earliest;
  for (const entry of body.entry) {
    for (const change of entry.changes) {
      if (change.field !== undefined && !FIELDS.has(change.field)) continue;
      const value = Value.safeParse(change.value);
      if (!value.success) {
        parsed.skipped++;
        continue;
      }
      const pairs = pairedContacts(value.data.contacts);
      for (const raw of value.data.statuses ?? []) {
        const item = Status.safeParse(raw);
        const status = item.success ? STATUS_NAMES.get(item.data.status) : undefined;
        if (!item.success || !status || !storable(item.data.timestamp)) {
          parsed.skipped++;
          continue;
        }
        const s = item.data;
        // A group's recipient_id names the group, and its participant is not the message's recipient.
        const isGroup = s.recipient_type === "group";
        const contact = isGroup
          ? contactOf(undefined, undefined)
          : completeContact(contactOf(s.recipient_id, s.recipient_user_id), pairs);
        parsed.statuses.push({
          messageId: s.id,
          status,
          at: s.timestamp * 1000,
          contact,
          bizOpaque: s.biz_opaque_callback_data ?? null,
          errors: s.errors ?? null,
          pricing: readPricing(s.pricing),
          isGroup,
        });
        if (status === "failed" && hasContact(contact) && reportsStoppedMarketing(s.errors)) {
          parsed.consents.push({ contact, optedIn: false, at: s.timestamp * 1000 });
        }
      }
      for (const raw of value.data.messages ?? []) {
        const item = Inbound.safeParse(raw);
        if (!item.success || !storable(item.data.timestamp)) {
          parsed.skipped++;
          continue;
        }
        const m = item.data;
        if (m.type === SYSTEM_MESSAGE) {
          // System messages come without a contacts block: the message itself names both sides.
          const change = readIdentityChange(m.from, m.system);
          if (!change) {
            parsed.skipped++;
            continue;
          }
          parsed.inbound.push({ id: m.id, type: m.type, at: m.timestamp * 1000, contextId: null, ...change });
          continue;
        }
        parsed.inbound.push({
          id: m.id,
          type: m.type,
          at: m.timestamp * 1000,
          contact: completeContact(contactOf(m.from, m.from_user_id), pairs),
          // A reaction names the message it reacts to, as a reply's context does.
          contextId: m.context?.id ?? m.reaction?.message_id ?? null,
          changedTo: null,
        });
      }
      for (const raw of value.data.user_preferences ?? []) {
        const consent = readPreference(raw, now);
        if (consent) parsed.consents.push(consent);
        else parsed.skipped++;
      }
    }
  }
  return parsed;
}

/** What the answer to a webhook says of it: the events stored, and the items skipped. */
export function ingestCounts(parsed: ParsedWebhook) {
  return {
    statuses: parsed.statuses.length,
    messages: parsed.inbound.length,
    consents: parsed.consents.length,
    skipped: parsed.skipped,
  };
}
