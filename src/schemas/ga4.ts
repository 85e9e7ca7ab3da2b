import { z } from "@hono/zod-openapi";
import { isoDateTime } from "./common";

export const Ga4Status = z
  .object({
    pending: z.number().int().openapi({ description: "Events waiting to be sent, or to be tried again" }),
    sent: z.number().int().openapi({ description: "Events GA4 accepted" }),
    failed: z.number().int().openapi({ description: "Events given up on, kept until replayed" }),
    skipped: z.number().int().openapi({
      description: "Events more than 72 hours old when they could first be sent, which GA4 no longer takes",
    }),
  })
  .openapi("Ga4Status");

export const Ga4FailedEvent = z
  .object({
    id: z.string(),
    kind: z.enum(["click", "conversion"]),
    subjectId: z.string().openapi({ description: "The click id or conversion id" }),
    name: z.string().openapi({ description: "The GA4 event name", example: "wa_link_click" }),
    occurredAt: isoDateTime,
    attempts: z.number().int(),
    reason: z.string().nullable().openapi({ description: "Why the last attempt failed" }),
    failedAt: isoDateTime,
  })
  .openapi("Ga4FailedEvent");

export const Ga4FailedList = z
  .object({ events: z.array(Ga4FailedEvent), nextCursor: z.string().nullable() })
  .openapi("Ga4FailedList");
