import { z } from "@hono/zod-openapi";
import { MAX_REPLY_HOURS } from "../rollups/declarations";
import { isoDateTime } from "./common";

const dateOrTime = z.string().max(40).openapi({
  description:
    "An ISO 8601 time with offset, or a date meaning local midnight in `timezone` (a `to` date includes its day)",
  example: "2026-11-01",
});

const repeatable = z
  .union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).max(100)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** Parameters every report takes. */
export const ReportQuery = z.object({
  from: dateOrTime.optional(),
  to: dateOrTime.optional(),
  campaignId: repeatable.optional().openapi({ description: "Repeatable", type: "string" }),
  variant: z.string().min(1).max(64).optional(),
  timezone: z.string().max(64).default("UTC").openapi({ description: "IANA time zone; days and weeks are cut in it" }),
  format: z.enum(["json", "csv"]).optional().openapi({ description: "`csv` (or `Accept: text/csv`) returns CSV" }),
});
export type ReportQuery = z.infer<typeof ReportQuery>;

/** Responses of a report: its JSON schema, or the same rows as CSV. */
export const reportAsOf = isoDateTime.openapi({
  description: "Every event acknowledged before this time is included in the report",
});

export function reportResponse<T extends z.ZodType>(schema: T, description: string) {
  return {
    description,
    content: {
      "application/json": { schema },
      "text/csv": { schema: z.string() },
    },
  } as const;
}

export const WindowParam = z
  .enum(["1h", "6h", "1d", "3d", "7d", "14d", "30d"])
  .default("7d")
  .openapi({ description: "Clicks and conversions count when they came within this time of the send" });

/** `Nh` or `Nd`, whole hours up to MAX_REPLY_HOURS (the reply-delay rollup's last exact bucket). */
export const ResponseWindowParam = z
  .string()
  .regex(/^[1-9]\d{0,2}[hd]$/, "Whole hours or days, such as 24h or 7d")
  .refine((w) => responseWindowHours(w) <= MAX_REPLY_HOURS, `At most ${MAX_REPLY_HOURS / 24}d`)
  .default("72h")
  .openapi({
    description: `\`responseRate\` counts a reply when it came within this time of the message (1h to ${MAX_REPLY_HOURS / 24}d)`,
    example: "24h",
  });

export function responseWindowHours(window: string): number {
  return Number(window.slice(0, -1)) * (window.endsWith("d") ? 24 : 1);
}

export const FailureOutcomes = z
  .object({
    failed: z.number().int().openapi({ description: "Failed with any other error" }),
    limited: z
      .number()
      .int()
      .openapi({ description: "Failed with 131049: Meta limited marketing messages to the user; retry later" }),
    experiment: z
      .number()
      .int()
      .openapi({ description: "Failed with 130472: the user is in Meta's marketing experiment group" }),
  })
  .openapi("FailureOutcomes", { description: "Sent messages that failed and were never delivered, by outcome" });

export const CostSchema = z
  .object({
    currency: z.string().openapi({ description: "The rate card's ISO 4217 currency" }),
    total: z.number().openapi({ description: "Charged messages (pricing `type` `regular`) at the rate card's prices" }),
    perDelivered: z.number().nullable(),
    perClick: z.number().nullable(),
    perConversion: z.number().nullable(),
    roas: z.number().nullable().openapi({
      description:
        "Revenue in the rate card's currency / total; a message's revenue counts when its conversions all carry that currency",
    }),
  })
  .nullable()
  .openapi("Cost", { description: "From the workspace's `rateCard`; null without one" });

export const FunnelStepSchema = z
  .object({
    name: z.enum(["sent", "delivered", "read", "clicked", "converted"]),
    count: z.number().int(),
    inferred: z.number().int().optional().openapi({ description: "How many reached the step only by inference" }),
    rateFromPrevious: z.number().nullable(),
    rateFromFirst: z.number().nullable(),
  })
  .openapi("FunnelStep");

export const FunnelReport = z
  .object({
    asOf: reportAsOf,
    window: z.string(),
    steps: z.array(FunnelStepSchema),
    revenue: z.number(),
    medianTimeToClickSeconds: z.number().nullable().openapi({ description: "Estimated within 5 %" }),
    medianTimeToConvertSeconds: z.number().nullable().openapi({ description: "Estimated within 5 %" }),
    outcomes: FailureOutcomes,
    groups: z
      .array(
        z.object({
          key: z.string().nullable(),
          steps: z.array(FunnelStepSchema),
          outcomes: FailureOutcomes,
        }),
      )
      .optional(),
  })
  .openapi("FunnelReport");

export const AbReport = z
  .object({
    asOf: reportAsOf,
    metric: z.enum(["conversion", "click"]),
    window: z.string(),
    variants: z.array(
      z.object({
        variant: z.string(),
        messages: z.number().int(),
        clicks: z.number().int(),
        conversions: z.number().int(),
        rate: z.number().nullable(),
        uplift: z.number().nullable(),
        pValue: z.number().nullable(),
        significant: z.boolean(),
        limited: z.number().int(),
        experiment: z.number().int(),
        cost: CostSchema,
      }),
    ),
  })
  .openapi("AbReport");

const nullableRate = z.number().nullable();

export const MetricsReport = z
  .object({
    asOf: reportAsOf,
    window: z.string(),
    messages: z.object({
      sent: z.number().int(),
      delivered: z.number().int(),
      read: z.number().int(),
      clicked: z.number().int(),
      converted: z.number().int(),
      replied: z.number().int().openapi({ description: "Replied to within `responseWindow`" }),
      failed: z.number().int().openapi({ description: "Failed with an error other than limited or experiment" }),
      limited: z.number().int(),
      experiment: z.number().int(),
      charged: z.number().int().openapi({ description: "Charged by Meta: pricing `type` `regular`" }),
    }),
    deliveryRate: nullableRate,
    openRate: nullableRate,
    clickThroughRate: nullableRate,
    conversionRate: nullableRate,
    responseRate: nullableRate.openapi({ description: "Replied to within `responseWindow` / delivered" }),
    responseWindow: z.string(),
    avgResponseTimeSeconds: nullableRate,
    revenue: z.number(),
    csat: z.object({ average: nullableRate, responses: z.number().int() }),
    dropOff: z.array(z.object({ step: z.string(), count: z.number().int(), rate: nullableRate })),
    chatbot: z.object({
      selfResolutionRate: nullableRate,
      escalationRate: nullableRate,
    }),
    retentionRate: nullableRate,
    optOutRate: nullableRate.openapi({
      description:
        "Contacts who opted out in the range (of marketing, or of everything) / contacts sent a marketing message " +
        "(`marketing` or `marketing_lite`) in it; workspace-wide",
    }),
    limitedRate: nullableRate.openapi({ description: "Sent messages that failed as limited (131049) / sent" }),
    experimentRate: nullableRate.openapi({ description: "Sent messages that failed as experiment (130472) / sent" }),
    cost: CostSchema,
  })
  .openapi("MetricsReport");
