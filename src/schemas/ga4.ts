import * as z from "./zod";
import { doc } from "../lib/openapi";
import { isoDateTime } from "./common";

export const Ga4Status = doc(
  z.object({
    pending: doc(z.int(), { description: "Events waiting to be sent, or to be tried again" }),
    sent: doc(z.int(), { description: "Events GA4 accepted" }),
    failed: doc(z.int(), { description: "Events given up on, kept until replayed" }),
    skipped: doc(z.int(), {
      description: "Events more than 72 hours old when they could first be sent, which GA4 no longer takes",
    }),
  }),
  { id: "Ga4Status" },
);

export const Ga4FailedEvent = doc(
  z.object({
    id: z.string(),
    kind: z.enum(["click", "conversion"]),
    subjectId: doc(z.string(), { description: "The click id or conversion id" }),
    name: doc(z.string(), { description: "The GA4 event name", example: "wa_link_click" }),
    occurredAt: isoDateTime,
    attempts: z.int(),
    reason: doc(z.nullable(z.string()), { description: "Why the last attempt failed" }),
    failedAt: isoDateTime,
  }),
  { id: "Ga4FailedEvent" },
);

export const Ga4FailedList = doc(z.object({ events: z.array(Ga4FailedEvent), nextCursor: z.nullable(z.string()) }), {
  id: "Ga4FailedList",
});
