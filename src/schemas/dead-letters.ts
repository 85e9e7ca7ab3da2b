import * as z from "./zod";
import { doc } from "../lib/openapi";
import { isoDateTime } from "./common";

export const deadLetterKinds = ["click", "status", "inbound", "consent", "conversion", "queue_message"] as const;

export const DeadLetter = doc(
  z.object({
    id: z.string(),
    kind: doc(z.enum(deadLetterKinds), { description: "What the event was" }),
    reason: doc(z.string(), { description: "Why the database refused it" }),
    event: doc(z.unknown(), { description: "The event as it was to be stored (contacts only as hashes)" }),
    createdAt: isoDateTime,
  }),
  { id: "DeadLetter" },
);

export const DeadLetterList = doc(z.object({ deadLetters: z.array(DeadLetter), nextCursor: z.nullable(z.string()) }), {
  id: "DeadLetterList",
});
