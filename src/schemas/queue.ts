import { readPricing } from "../lib/pricing";
import * as z from "./zod";
import type { ConversionRequest } from "../conversions/record";
import type { ClickRecord } from "../db/clicks";
import type { StoredConsent } from "../db/consents";
import type { StoredInbound, StoredStatus } from "../db/messages";
import { CONSENT_SOURCE } from "../lib/consent";
import { isStorableTime } from "../lib/event-bounds";
import { boundedJson } from "./common";

// What travels through the events queue is checked again when it is consumed, against the same bounds
// as at the boundary: a message written by an older version, or damaged, is refused, not stored.
const text = (max: number) => z.string().check(z.maxLength(max));
const id = text(256);
const hash = text(128);
const time = z.number().check(z.refine((ms) => isStorableTime(ms, Date.now()), "Outside the storable time range"));

export const ClickRecordSchema = z.object({
  id: text(64),
  workspaceId: text(64),
  linkId: text(64),
  campaignId: z.nullable(text(64)),
  variant: z.nullable(text(64)),
  messageId: z.nullable(id),
  contactHash: z.nullable(hash),
  kind: z.enum(["click", "preview", "bot"]),
  visitorHash: z.nullable(hash),
  dedupSeconds: z.int().check(z.nonnegative()),
  occurredAt: time,
  country: z.nullable(text(8)),
  deviceType: z.nullable(text(64)),
  os: z.nullable(text(64)),
  browser: z.nullable(text(64)),
  referrerHost: z.nullable(text(256)),
  userAgent: z.nullable(text(512)),
}) satisfies z.ZodMiniType<ClickRecord>;

export const StoredStatusSchema = z.object({
  workspaceId: text(64),
  messageId: id,
  status: z.enum(["sent", "delivered", "read", "failed"]),
  at: time,
  contactHash: z.nullable(hash),
  // Queued before contacts were paired or groups marked: neither.
  aliasHash: z._default(z.nullable(hash), null),
  country: z.nullable(text(8)),
  bizOpaque: z.nullable(text(512)),
  errors: z.nullable(boundedJson(z.array(z.unknown()))),
  // Only Meta's pricing fields, whatever was queued (an older message carried the whole object).
  pricing: z.pipe(
    z.unknown(),
    z.transform((value) => readPricing(value)),
  ),
  isGroup: z._default(z.boolean(), false),
}) satisfies z.ZodMiniType<StoredStatus>;

export const StoredInboundSchema = z.object({
  workspaceId: text(64),
  id,
  type: text(64),
  at: time,
  contactHash: z.nullable(hash),
  aliasHash: z._default(z.nullable(hash), null),
  contextId: z.nullable(id),
}) satisfies z.ZodMiniType<StoredInbound>;

export const StoredConsentSchema = z.object({
  workspaceId: text(64),
  contactHash: hash,
  optedIn: z.boolean(),
  source: z.string().check(z.regex(CONSENT_SOURCE)),
  at: time,
}) satisfies z.ZodMiniType<StoredConsent>;

// A queued conversion comes from the beacon or the pixel, which carry no contact.
const ConversionRequestSchema = z.object({
  clickId: z.optional(text(64)),
  event: text(40),
  value: z.nullable(z.number()),
  valueMinor: z.nullable(z.int()),
  currency: z.nullable(text(3)),
  orderId: z.optional(text(128)),
  occurredAt: z.optional(time),
  gaClientId: z.optional(text(41)),
  gaSessionId: z.optional(text(20)),
  consent: z.optional(
    z.object({ adUserData: z.enum(["granted", "denied"]), adPersonalization: z.enum(["granted", "denied"]) }),
  ),
}) satisfies z.ZodMiniType<ConversionRequest>;

export const QueueMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("click"), click: ClickRecordSchema }),
  z.object({
    type: z.literal("whatsapp"),
    events: z.object({
      statuses: z.array(StoredStatusSchema),
      inbound: z.array(StoredInboundSchema),
      // Absent from messages queued before consent records travelled with webhook events.
      consents: z._default(z.array(StoredConsentSchema), []),
    }),
  }),
  z.object({
    type: z.literal("conversion"),
    workspaceId: text(64),
    request: ConversionRequestSchema,
    source: z.enum(["beacon", "pixel"]),
  }),
  z.object({ type: z.literal("retention-zones"), workspaceId: z.optional(text(64)) }),
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
