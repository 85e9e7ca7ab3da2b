import * as z from "./zod";
import { doc } from "../lib/openapi";
import { eventTime, isoDateTime, plainText } from "./common";
import { variantName } from "./campaigns";
import { WebhookBody } from "../whatsapp/webhook-body";
import { contactInput } from "./contact";
import { linkCode } from "./links";

export const RegisterMessage = doc(
  z.strictObject({
    id: doc(plainText(256), { description: "The WhatsApp message id (wamid)" }),
    contact: contactInput,
    campaignId: z.optional(z.string().check(z.maxLength(64))),
    variant: z.optional(variantName),
    linkCode: z.optional(linkCode),
    sentAt: z.optional(eventTime()),
    category: doc(z.optional(plainText(64)), {
      example: "marketing",
      description:
        "Meta's pricing category (`marketing`, `utility`, …); without one, a message counts as marketing for opt-outs",
    }),
    externalId: z.optional(plainText(128)),
  }),
  { id: "RegisterMessage" },
);

export const MAX_REGISTERED_MESSAGES = 10_000;

export const RegisterMessagesBody = doc(
  z.strictObject({
    messages: z.array(RegisterMessage).check(z.minLength(1), z.maxLength(MAX_REGISTERED_MESSAGES)),
  }),
  { id: "RegisterMessages" },
);

export const RegisterMessagesResult = doc(
  z.object({ registered: doc(z.int(), { description: "Distinct message ids in the request" }) }),
  { id: "RegisterMessagesResult" },
);

const step = z.nullable(isoDateTime);

const MessagePricing = doc(
  z.object({
    pricingModel: doc(z.nullable(z.string()), {
      description: "`PMP` (per-message pricing), or `CBP` before July 2025",
    }),
    type: doc(z.nullable(z.string()), {
      description:
        "`regular` (charged), `free_customer_service`, `free_entry_point`, `free_group_customer_service`, or a newer value as given",
    }),
    category: doc(z.nullable(z.string()), {
      description:
        "`marketing`, `marketing_lite`, `utility`, `authentication`, `authentication-international`, `service`, " +
        "`referral_conversion`, `group_marketing`, `group_utility`, `group_service`, or a newer value as given",
    }),
  }),
  { id: "MessagePricing" },
);

export const MessageState = doc(
  z.object({
    id: z.string(),
    campaignId: z.nullable(z.string()),
    variant: z.nullable(z.string()),
    linkCode: z.nullable(z.string()),
    externalId: z.nullable(z.string()),
    category: z.nullable(z.string()),
    registered: doc(z.boolean(), {
      description: "Whether the message was registered, or is known only from statuses",
    }),
    status: z.enum(["sent", "delivered", "read", "failed"]),
    sentAt: step,
    deliveredAt: step,
    readAt: step,
    failedAt: step,
    clickedAt: step,
    convertedAt: step,
    inferred: doc(z.array(z.enum(["sent", "delivered", "read"])), { description: "Steps reached but not reported" }),
    errors: z.nullable(z.array(z.unknown())),
    pricing: doc(z.nullable(MessagePricing), {
      description: "Meta's pricing, each field from the latest status that carried it; null when none did",
    }),
  }),
  { id: "MessageState" },
);

export const IngestResult = doc(
  z.object({
    statuses: z.int(),
    messages: doc(z.int(), {
      description: "Inbound messages, and system messages that say a user's number or user id changed",
    }),
    consents: doc(z.int(), {
      description: "Marketing opt-outs and opt-ins: user_preferences items, and failures with error 131050",
    }),
    skipped: doc(z.int(), { description: "Items that could not be read, or whose time cannot be stored" }),
  }),
  { id: "IngestResult" },
);

/** Meta's webhook body, as `POST /webhooks/whatsapp/{workspaceId}` and `POST /api/v1/statuses` take it. */
export const WhatsAppWebhookBody = doc(WebhookBody, {
  id: "WhatsAppWebhookBody",
  description:
    "Changes of field `messages` (`value.statuses[]`, `value.messages[]`) and `user_preferences` " +
    "(`value.user_preferences[]`: a user's marketing `stop` or `resume`) are read; others are ignored",
});
