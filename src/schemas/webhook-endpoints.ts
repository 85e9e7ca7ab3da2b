import * as z from "./zod";
import { doc } from "../lib/openapi";
import { webhookEventTypes } from "../db/schema";
import { isoDateTime } from "./common";

export const WebhookEndpointBody = doc(
  z.strictObject({
    url: doc(z.string().check(z.maxLength(2048)), { example: "https://crm.example.com/hooks/chatfunnel" }),
    events: doc(z.array(z.enum(webhookEventTypes)).check(z.minLength(1), z.maxLength(webhookEventTypes.length)), {
      example: ["link.clicked", "conversion.created"],
    }),
  }),
  { id: "CreateWebhookEndpoint" },
);

export const WebhookEndpoint = doc(
  z.object({
    id: doc(z.string(), { example: "whe_8Zb2kQ1vX0aLm3Pn" }),
    url: z.string(),
    events: z.array(z.enum(webhookEventTypes)),
    disabled: doc(z.boolean(), {
      description: "True once the endpoint answered 410 Gone; a replay enables it again",
    }),
    disabledReason: z.nullable(z.string()),
    createdAt: isoDateTime,
  }),
  { id: "WebhookEndpoint" },
);

export const CreatedWebhookEndpoint = doc(
  z.extend(WebhookEndpoint, {
    secret: doc(z.string(), {
      description: "The signing secret (`whsec_` + base64 of the key), shown only this once",
      example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }),
  }),
  { id: "CreatedWebhookEndpoint" },
);

export const WebhookEndpointList = doc(
  z.object({ webhooks: z.array(WebhookEndpoint), nextCursor: z.nullable(z.string()) }),
  { id: "WebhookEndpointList" },
);

export const WebhookDelivery = doc(
  z.object({
    id: doc(z.string(), { description: "The webhook-id header: the same on every attempt" }),
    type: z.enum(webhookEventTypes),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.int(),
    responseStatus: doc(z.nullable(z.int()), { description: "The last attempt's HTTP status" }),
    error: doc(z.nullable(z.string()), { description: "Why the last attempt failed" }),
    nextAttemptAt: z.nullable(isoDateTime),
    createdAt: isoDateTime,
    deliveredAt: z.nullable(isoDateTime),
    body: doc(z.unknown(), { description: "The body as signed and sent: `{ type, timestamp, data }`" }),
  }),
  { id: "WebhookDelivery" },
);

export const WebhookDeliveryList = doc(
  z.object({ deliveries: z.array(WebhookDelivery), nextCursor: z.nullable(z.string()) }),
  { id: "WebhookDeliveryList" },
);
