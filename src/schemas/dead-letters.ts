import { z } from "@hono/zod-openapi";
import { isoDateTime } from "./common";

export const deadLetterKinds = ["click", "status", "inbound", "consent", "conversion", "queue_message"] as const;

export const DeadLetter = z
  .object({
    id: z.string(),
    kind: z.enum(deadLetterKinds).openapi({ description: "What the event was" }),
    reason: z.string().openapi({ description: "Why the database refused it" }),
    event: z.unknown().openapi({ description: "The event as it was to be stored (contacts only as hashes)" }),
    createdAt: isoDateTime,
  })
  .openapi("DeadLetter");

export const DeadLetterList = z
  .object({ deadLetters: z.array(DeadLetter), nextCursor: z.string().nullable() })
  .openapi("DeadLetterList");
