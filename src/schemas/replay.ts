import { z } from "@hono/zod-openapi";

/** Failed work to send again (GA4 events, webhook deliveries): those named, or all of them. */
export const ReplayBody = z
  .object({
    ids: z
      .array(z.string().max(64))
      .min(1)
      .max(1000)
      .optional()
      .openapi({ description: "The failed ones to send again; all of them when absent" }),
  })
  .strict()
  .openapi("Replay");

export const ReplayResult = z
  .object({ replayed: z.number().int().openapi({ description: "Failed ones put back in the queue, due at once" }) })
  .openapi("ReplayResult");

/** The optional JSON body of a replay route: without one, everything failed is replayed. */
export const replayRequestBody = {
  required: false,
  content: { "application/json": { schema: ReplayBody } },
} as const;
