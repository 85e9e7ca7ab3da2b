import { z } from "@hono/zod-openapi";
import { eventTime, isoDateTime, plainText } from "./common";
import { variantName } from "./campaigns";
import { WebhookBody } from "../whatsapp/webhook-body";
import { contactInput } from "./contact";
import { linkCode } from "./links";

export const RegisterMessage = z
  .object({
    id: plainText(256).openapi({ description: "The WhatsApp message id (wamid)" }),
    contact: contactInput,
    campaignId: z.string().max(64).optional(),
    variant: variantName.optional(),
    linkCode: linkCode.optional(),
    sentAt: eventTime().optional(),
    category: plainText(64).optional().openapi({
      example: "marketing",
      description:
        "Meta's pricing category (`marketing`, `utility`, …); without one, a message counts as marketing for opt-outs",
    }),
    externalId: plainText(128).optional(),
  })
  .strict()
  .openapi("RegisterMessage");

export const MAX_REGISTERED_MESSAGES = 10_000;

export const RegisterMessagesBody = z
  .object({ messages: z.array(RegisterMessage).min(1).max(MAX_REGISTERED_MESSAGES) })
  .strict()
  .openapi("RegisterMessages");

export const RegisterMessagesResult = z
  .object({ registered: z.number().int().openapi({ description: "Distinct message ids in the request" }) })
  .openapi("RegisterMessagesResult");

const step = isoDateTime.nullable();

const MessagePricing = z
  .object({
    pricingModel: z
      .string()
      .nullable()
      .openapi({ description: "`PMP` (per-message pricing), or `CBP` before July 2025" }),
    type: z.string().nullable().openapi({
      description:
        "`regular` (charged), `free_customer_service`, `free_entry_point`, `free_group_customer_service`, or a newer value as given",
    }),
    category: z
      .string()
      .nullable()
      .openapi({
        description:
          "`marketing`, `marketing_lite`, `utility`, `authentication`, `authentication-international`, `service`, " +
          "`referral_conversion`, `group_marketing`, `group_utility`, `group_service`, or a newer value as given",
      }),
  })
  .openapi("MessagePricing");

export const MessageState = z
  .object({
    id: z.string(),
    campaignId: z.string().nullable(),
    variant: z.string().nullable(),
    linkCode: z.string().nullable(),
    externalId: z.string().nullable(),
    category: z.string().nullable(),
    registered: z
      .boolean()
      .openapi({ description: "Whether the message was registered, or is known only from statuses" }),
    status: z.enum(["sent", "delivered", "read", "failed"]),
    sentAt: step,
    deliveredAt: step,
    readAt: step,
    failedAt: step,
    clickedAt: step,
    convertedAt: step,
    inferred: z.array(z.enum(["sent", "delivered", "read"])).openapi({ description: "Steps reached but not reported" }),
    errors: z.array(z.unknown()).nullable(),
    pricing: MessagePricing.nullable().openapi({
      description: "Meta's pricing, each field from the latest status that carried it; null when none did",
    }),
  })
  .openapi("MessageState");

export const IngestResult = z
  .object({
    statuses: z.number().int(),
    messages: z.number().int().openapi({
      description: "Inbound messages, and system messages that say a user's number or user id changed",
    }),
    consents: z.number().int().openapi({
      description: "Marketing opt-outs and opt-ins: user_preferences items, and failures with error 131050",
    }),
    skipped: z.number().int().openapi({ description: "Items that could not be read, or whose time cannot be stored" }),
  })
  .openapi("IngestResult");

/** Meta's webhook body, as `POST /webhooks/whatsapp/{workspaceId}` and `POST /api/v1/statuses` take it. */
export const WhatsAppWebhookBody = WebhookBody.openapi("WhatsAppWebhookBody", {
  description:
    "Changes of field `messages` (`value.statuses[]`, `value.messages[]`) and `user_preferences` " +
    "(`value.user_preferences[]`: a user's marketing `stop` or `resume`) are read; others are ignored",
});
