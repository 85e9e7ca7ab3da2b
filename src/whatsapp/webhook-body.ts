import { z } from "@hono/zod-openapi";
import { EARLIEST_EVENT_MS, isStorableTime } from "../lib/event-bounds";
import { boundedJson } from "../schemas/common";

// Meta's webhook body, read leniently: fields we do not use pass through unchecked, and a change we
// cannot read is skipped rather than failing the delivery (Meta would retry it for days). What is
// stored is bounded: ids and names have lengths, JSON has a depth and a size, times a range.
const unixSeconds = z.union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative()]).transform(Number);
const id = z.string().min(1).max(256);

const Status = z.object({
  id,
  status: z.string().max(32),
  timestamp: unixSeconds,
  recipient_id: z.string().max(64).optional(),
  recipient_user_id: id.optional(),
  recipient_type: z.string().max(32).optional(),
  // Meta allows 512 characters of callback data.
  biz_opaque_callback_data: z.string().max(512).optional(),
  errors: boundedJson(z.array(z.unknown())).optional(),
  pricing: boundedJson(z.record(z.string(), z.unknown())).optional(),
});

const Inbound = z.object({
  id,
  from: z.string().max(64).optional(),
  from_user_id: id.optional(),
  timestamp: unixSeconds,
  type: z.string().max(64),
  context: z.object({ id: id.optional() }).optional(),
  reaction: z.object({ message_id: id.optional() }).optional(),
});

const Value = z.object({
  statuses: z.array(z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
});

export const WebhookBody = z.object({
  object: z.string(),
  entry: z.array(
    z.object({
      changes: z.array(z.object({ field: z.string().optional(), value: z.unknown() })).default([]),
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
  pricing: Record<string, unknown> | null;
};

export type InboundEvent = {
  id: string;
  type: string;
  at: number;
  contact: WebhookContact;
  contextId: string | null;
};

// `played` (a voice message was listened to) says at least as much as `read`.
const STATUS_NAMES: Record<string, WhatsAppStatus> = {
  sent: "sent",
  delivered: "delivered",
  read: "read",
  played: "read",
  failed: "failed",
};

function contactOf(phone: string | undefined, userId: string | undefined): WebhookContact {
  return { phone: phone && /^\d{6,15}$/.test(phone) ? phone : null, userId: userId || null };
}

export type ParsedWebhook = { statuses: StatusEvent[]; inbound: InboundEvent[]; skipped: number };

/**
 * Flattens a webhook body into status and inbound-message events; unreadable items, and items whose
 * time lies outside what may be stored (before `earliest`, the start of the workspace's retention
 * period, too), are counted, not fatal.
 */
export function readWebhookEvents(
  body: z.infer<typeof WebhookBody>,
  now = Date.now(),
  earliest = EARLIEST_EVENT_MS,
): ParsedWebhook {
  const parsed: ParsedWebhook = { statuses: [], inbound: [], skipped: 0 };
  const storable = (seconds: number) => isStorableTime(seconds * 1000, now) && seconds * 1000 >= earliest;
  for (const entry of body.entry) {
    for (const change of entry.changes) {
      if (change.field !== undefined && change.field !== "messages") continue;
      const value = Value.safeParse(change.value);
      if (!value.success) {
        parsed.skipped++;
        continue;
      }
      for (const raw of value.data.statuses ?? []) {
        const item = Status.safeParse(raw);
        const status = item.success ? STATUS_NAMES[item.data.status] : undefined;
        if (!item.success || !status || !storable(item.data.timestamp)) {
          parsed.skipped++;
          continue;
        }
        const s = item.data;
        parsed.statuses.push({
          messageId: s.id,
          status,
          at: s.timestamp * 1000,
          contact:
            s.recipient_type === "group"
              ? contactOf(undefined, undefined)
              : contactOf(s.recipient_id, s.recipient_user_id),
          bizOpaque: s.biz_opaque_callback_data ?? null,
          errors: s.errors ?? null,
          pricing: s.pricing ?? null,
        });
      }
      for (const raw of value.data.messages ?? []) {
        const item = Inbound.safeParse(raw);
        if (!item.success || !storable(item.data.timestamp)) {
          parsed.skipped++;
          continue;
        }
        const m = item.data;
        parsed.inbound.push({
          id: m.id,
          type: m.type,
          at: m.timestamp * 1000,
          contact: contactOf(m.from, m.from_user_id),
          // A reaction names the message it reacts to, as a reply's context does.
          contextId: m.context?.id ?? m.reaction?.message_id ?? null,
        });
      }
    }
  }
  return parsed;
}
