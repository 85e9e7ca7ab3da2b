import * as z from "./zod";
import { doc } from "../lib/openapi";
import { MAX_REPLY_HOURS } from "../rollups/declarations";
import { isoDateTime } from "./common";

const dateOrTime = doc(z.optional(z.string().check(z.maxLength(40))), {
  description:
    "An ISO 8601 time with offset, or a date meaning local midnight in `timezone` (a `to` date includes its day)",
  example: "2026-11-01",
});

const repeatable = z.pipe(
  z.union([
    z.string().check(z.minLength(1), z.maxLength(64)),
    z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.maxLength(100)),
  ]),
  z.transform((v) => (Array.isArray(v) ? v : [v])),
);

/** Parameters every report takes. */
export const ReportQuery = z.object({
  from: dateOrTime,
  to: dateOrTime,
  campaignId: doc(z.optional(repeatable), { description: "Repeatable" }),
  variant: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  timezone: doc(z._default(z.string().check(z.maxLength(64)), "UTC"), {
    description: "IANA time zone; days and weeks are cut in it",
  }),
  format: doc(z.optional(z.enum(["json", "csv"])), { description: "`csv` (or `Accept: text/csv`) returns CSV" }),
});
export type ReportQuery = z.infer<typeof ReportQuery>;

/** Responses of a report: its JSON schema, or the same rows as CSV. */
export const reportAsOf = doc(isoDateTime, {
  description: "Every event acknowledged before this time is included in the report",
});

export function reportResponse<T extends z.ZodMiniType>(schema: T, description: string) {
  return {
    description,
    content: {
      "application/json": { schema },
      "text/csv": { schema: z.string() },
    },
  } as const;
}

export const WindowParam = doc(z._default(z.enum(["1h", "6h", "1d", "3d", "7d", "14d", "30d"]), "7d"), {
  description: "Clicks and conversions count when they came within this time of the send",
});

/** `Nh` or `Nd`, whole hours up to MAX_REPLY_HOURS (the reply-delay rollup's last exact bucket). */
export const ResponseWindowParam = doc(
  z._default(
    z.string().check(
      z.regex(/^[1-9]\d{0,2}[hd]$/, "Whole hours or days, such as 24h or 7d"),
      z.refine((w) => responseWindowHours(w) <= MAX_REPLY_HOURS, `At most ${MAX_REPLY_HOURS / 24}d`),
    ),
    "72h",
  ),
  {
    description: `\`responseRate\` counts a reply when it came within this time of the message (1h to ${MAX_REPLY_HOURS / 24}d)`,
    example: "24h",
  },
);

export function responseWindowHours(window: string): number {
  return Number(window.slice(0, -1)) * (window.endsWith("d") ? 24 : 1);
}

export const FailureOutcomes = doc(
  z.object({
    failed: doc(z.int(), { description: "Failed with any other error" }),
    limited: doc(z.int(), {
      description: "Failed with 131049: Meta limited marketing messages to the user; retry later",
    }),
    experiment: doc(z.int(), { description: "Failed with 130472: the user is in Meta's marketing experiment group" }),
  }),
  { id: "FailureOutcomes", description: "Sent messages that failed and were never delivered, by outcome" },
);

export const CostSchema = doc(
  z.nullable(
    z.object({
      currency: doc(z.string(), { description: "The rate card's ISO 4217 currency" }),
      total: doc(z.number(), { description: "Charged messages (pricing `type` `regular`) at the rate card's prices" }),
      perDelivered: z.nullable(z.number()),
      perClick: z.nullable(z.number()),
      perConversion: z.nullable(z.number()),
      roas: doc(z.nullable(z.number()), {
        description:
          "Revenue in the rate card's currency / total; a message's revenue counts when its conversions all carry that currency",
      }),
    }),
  ),
  { id: "Cost", description: "From the workspace's `rateCard`; null without one" },
);

export const FunnelStepSchema = doc(
  z.object({
    name: z.enum(["sent", "delivered", "read", "clicked", "converted"]),
    count: z.int(),
    inferred: doc(z.optional(z.int()), { description: "How many reached the step only by inference" }),
    rateFromPrevious: z.nullable(z.number()),
    rateFromFirst: z.nullable(z.number()),
  }),
  { id: "FunnelStep" },
);

export const FunnelReport = doc(
  z.object({
    asOf: reportAsOf,
    window: z.string(),
    steps: z.array(FunnelStepSchema),
    revenue: z.number(),
    medianTimeToClickSeconds: doc(z.nullable(z.number()), { description: "Estimated within 5 %" }),
    medianTimeToConvertSeconds: doc(z.nullable(z.number()), { description: "Estimated within 5 %" }),
    outcomes: FailureOutcomes,
    groups: z.optional(
      z.array(
        z.object({
          key: z.nullable(z.string()),
          steps: z.array(FunnelStepSchema),
          outcomes: FailureOutcomes,
        }),
      ),
    ),
  }),
  { id: "FunnelReport" },
);

export const AbReport = doc(
  z.object({
    asOf: reportAsOf,
    metric: z.enum(["conversion", "click"]),
    window: z.string(),
    variants: z.array(
      z.object({
        variant: z.string(),
        messages: z.int(),
        clicks: z.int(),
        conversions: z.int(),
        rate: z.nullable(z.number()),
        uplift: z.nullable(z.number()),
        pValue: z.nullable(z.number()),
        significant: z.boolean(),
        limited: z.int(),
        experiment: z.int(),
        cost: CostSchema,
      }),
    ),
  }),
  { id: "AbReport" },
);

const nullableRate = z.nullable(z.number());

export const MetricsReport = doc(
  z.object({
    asOf: reportAsOf,
    window: z.string(),
    messages: z.object({
      sent: z.int(),
      delivered: z.int(),
      read: z.int(),
      clicked: z.int(),
      converted: z.int(),
      replied: doc(z.int(), { description: "Replied to within `responseWindow`" }),
      failed: doc(z.int(), { description: "Failed with an error other than limited or experiment" }),
      limited: z.int(),
      experiment: z.int(),
      charged: doc(z.int(), { description: "Charged by Meta: pricing `type` `regular`" }),
    }),
    deliveryRate: nullableRate,
    openRate: nullableRate,
    clickThroughRate: nullableRate,
    conversionRate: nullableRate,
    responseRate: doc(nullableRate, { description: "Replied to within `responseWindow` / delivered" }),
    responseWindow: z.string(),
    avgResponseTimeSeconds: nullableRate,
    revenue: z.number(),
    csat: z.object({ average: nullableRate, responses: z.int() }),
    dropOff: z.array(z.object({ step: z.string(), count: z.int(), rate: nullableRate })),
    chatbot: z.object({
      selfResolutionRate: nullableRate,
      escalationRate: nullableRate,
    }),
    retentionRate: nullableRate,
    optOutRate: doc(nullableRate, {
      description:
        "Contacts who opted out in the range (of marketing, or of everything) / contacts sent a marketing message " +
        "(`marketing` or `marketing_lite`) in it; workspace-wide",
    }),
    limitedRate: doc(nullableRate, { description: "Sent messages that failed as limited (131049) / sent" }),
    experimentRate: doc(nullableRate, { description: "Sent messages that failed as experiment (130472) / sent" }),
    cost: CostSchema,
  }),
  { id: "MetricsReport" },
);
