import * as z from "./zod";
import { doc } from "../lib/openapi";

/** Failed work to send again (GA4 events, webhook deliveries): those named, or all of them. */
export const ReplayBody = doc(
  z.strictObject({
    ids: doc(z.optional(z.array(z.string().check(z.maxLength(64))).check(z.minLength(1), z.maxLength(1000))), {
      description: "The failed ones to send again; all of them when absent",
    }),
  }),
  { id: "Replay" },
);

export const ReplayResult = doc(
  z.object({ replayed: doc(z.int(), { description: "Failed ones put back in the queue, due at once" }) }),
  { id: "ReplayResult" },
);

/** The optional JSON body of a replay route: without one, everything failed is replayed. */
export const replayRequestBody = {
  required: false,
  content: { "application/json": { schema: ReplayBody } },
} as const;
