import { z } from "@hono/zod-openapi";
import { webhookEventTypes } from "../db/schema";
import { isoDateTime } from "./common";

export const WebhookEndpointBody = z
  .object({
    url: z.string().max(2048).openapi({ example: "https://crm.example.com/hooks/chatfunnel" }),
    events: z
      .array(z.enum(webhookEventTypes))
      .min(1)
      .max(webhookEventTypes.length)
      .openapi({ example: ["link.clicked", "conversion.created"] }),
  })
  .strict()
  .openapi("CreateWebhookEndpoint");

export const WebhookEndpoint = z
  .object({
    id: z.string().openapi({ example: "whe_8Zb2kQ1vX0aLm3Pn" }),
    url: z.string(),
    events: z.array(z.enum(webhookEventTypes)),
    disabled: z
      .boolean()
      .openapi({ description: "True once the endpoint answered 410 Gone; a replay enables it again" }),
    disabledReason: z.string().nullable(),
    createdAt: isoDateTime,
  })
  .openapi("WebhookEndpoint");

export const CreatedWebhookEndpoint = WebhookEndpoint.extend({
  secret: z.string().openapi({
    description: "The signing secret (`whsec_` + base64 of the key), shown only this once",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).openapi("CreatedWebhookEndpoint");

export const WebhookEndpointList = z
  .object({ webhooks: z.array(WebhookEndpoint), nextCursor: z.string().nullable() })
  .openapi("WebhookEndpointList");

export const WebhookDelivery = z
  .object({
    id: z.string().openapi({ description: "The webhook-id header: the same on every attempt" }),
    type: z.enum(webhookEventTypes),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    responseStatus: z.number().int().nullable().openapi({ description: "The last attempt's HTTP status" }),
    error: z.string().nullable().openapi({ description: "Why the last attempt failed" }),
    nextAttemptAt: isoDateTime.nullable(),
    createdAt: isoDateTime,
    deliveredAt: isoDateTime.nullable(),
    body: z.unknown().openapi({ description: "The body as signed and sent: `{ type, timestamp, data }`" }),
  })
  .openapi("WebhookDelivery");

export const WebhookDeliveryList = z
  .object({ deliveries: z.array(WebhookDelivery), nextCursor: z.string().nullable() })
  .openapi("WebhookDeliveryList");
