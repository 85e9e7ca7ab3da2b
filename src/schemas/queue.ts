import { readPricing } from "../lib/pricing";
import { z } from "@hono/zod-openapi";
import type { ConversionRequest } from "../conversions/record";
import type { ClickRecord } from "../db/clicks";
import type { StoredConsent } from "../db/consents";
import type { StoredInbound, StoredStatus } from "../db/messages";
import { CONSENT_SOURCE } from "../lib/consent";
import { isStorableTime } from "../lib/event-bounds";
import { boundedJson } from "./common";

// What travels through the events queue is checked again when it is consumed, against the same bounds
// as at the boundary: a message written by an older version, or damaged, is refused, not stored.
const text = (max: number) => z.string().max(max);
const id = text(256);
const hash = text(128);
const time = z.number().refine((ms) => isStorableTime(ms, Date.now()), "Outside the storable time range");

export const ClickRecordSchema = z.object({
  id: text(64),
  workspaceId: text(64),
  linkId: text(64),
  campaignId: text(64).nullable(),
  variant: text(64).nullable(),
  messageId: id.nullable(),
  contactHash: hash.nullable(),
  kind: z.enum(["click", "preview", "bot"]),
  visitorHash: hash.nullable(),
  dedupSeconds: z.number().int().nonnegative(),
  occurredAt: time,
  country: text(8).nullable(),
  deviceType: text(64).nullable(),
  os: text(64).nullable(),
  browser: text(64).nullable(),
  referrerHost: text(256).nullable(),
  userAgent: text(512).nullable(),
}) satisfies z.ZodType<ClickRecord>;

export const StoredStatusSchema = z.object({
  workspaceId: text(64),
  messageId: id,
  status: z.enum(["sent", "delivered", "read", "failed"]),
  at: time,
  contactHash: hash.nullable(),
  // Queued before contacts were paired or groups marked: neither.
  aliasHash: hash.nullable().default(null),
  country: text(8).nullable(),
  bizOpaque: text(512).nullable(),
  errors: boundedJson(z.array(z.unknown())).nullable(),
  // Only Meta's pricing fields, whatever was queued (an older message carried the whole object).
  pricing: z.unknown().transform((value) => readPricing(value)),
  isGroup: z.boolean().default(false),
}) satisfies z.ZodType<StoredStatus>;

export const StoredInboundSchema = z.object({
  workspaceId: text(64),
  id,
  type: text(64),
  at: time,
  contactHash: hash.nullable(),
  aliasHash: hash.nullable().default(null),
  contextId: id.nullable(),
}) satisfies z.ZodType<StoredInbound>;

export const StoredConsentSchema = z.object({
  workspaceId: text(64),
  contactHash: hash,
  optedIn: z.boolean(),
  source: z.string().regex(CONSENT_SOURCE),
  at: time,
}) satisfies z.ZodType<StoredConsent>;

// A queued conversion comes from the beacon or the pixel, which carry no contact.
const ConversionRequestSchema = z.object({
  clickId: text(64).optional(),
  event: text(40),
  value: z.number().finite().nullable(),
  valueMinor: z.number().int().nullable(),
  currency: text(3).nullable(),
  orderId: text(128).optional(),
  occurredAt: time.optional(),
  gaClientId: text(41).optional(),
  gaSessionId: text(20).optional(),
  consent: z
    .object({ adUserData: z.enum(["granted", "denied"]), adPersonalization: z.enum(["granted", "denied"]) })
    .optional(),
}) satisfies z.ZodType<ConversionRequest>;

export const QueueMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("click"), click: ClickRecordSchema }),
  z.object({
    type: z.literal("whatsapp"),
    events: z.object({
      statuses: z.array(StoredStatusSchema),
      inbound: z.array(StoredInboundSchema),
      // Absent from messages queued before consent records travelled with webhook events.
      consents: z.array(StoredConsentSchema).default([]),
    }),
  }),
  z.object({
    type: z.literal("conversion"),
    workspaceId: text(64),
    request: ConversionRequestSchema,
    source: z.enum(["beacon", "pixel"]),
  }),
  z.object({ type: z.literal("retention-zones"), workspaceId: text(64).optional() }),
  // The outbox has entries to apply (see src/events/pipeline.ts).
  z.object({ type: z.literal("outbox") }),
  // A turn of the GA4 sender (deliveries queue; see src/ga4/send.ts).
  z.object({ type: z.literal("ga4") }),
  // A turn of the outbound webhooks' sender (deliveries queue; see src/webhooks/send.ts).
  z.object({ type: z.literal("webhooks") }),
  // The daily housekeeping has work left that one turn could not do (see src/housekeeping/purge.ts).
  z.object({ type: z.literal("housekeeping") }),
]);

/** What travels through the events queue: work that must not be lost when D1 is unavailable. */
export type QueueMessage = z.infer<typeof QueueMessageSchema>;
