import { z } from "@hono/zod-openapi";
import { isValidEventName } from "../lib/ga4-rules";
import { checkMoney } from "../lib/money";
import { eventTime, plainText } from "./common";
import { contactInput } from "./contact";
import { Ga4ConsentInput } from "./workspaces";

const CLOCK_SKEW_MS = 5 * 60_000;

// GA4's rules for event names, so that every conversion can be forwarded as it is: GA4 reserves some
// (session_start, first_visit, …) and the prefixes firebase_, google_ and ga_.
export const eventName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, "1–40 letters, digits and underscores, starting with a letter")
  .refine(
    isValidEventName,
    "A name GA4 reserves (such as session_start, or one starting with firebase_, google_ or ga_)",
  )
  .openapi({ example: "purchase" });

// A conversion cannot lie in the future, beyond the clocks' skew.
const pastDateTime = eventTime(CLOCK_SKEW_MS);

// The snippet sends null for what the page does not know (no click id yet, no GA cookie).
const absentAsUndefined = <T>(value: T | null | undefined) => value ?? undefined;

export const conversionFields = {
  clickId: plainText(64).nullish().transform(absentAsUndefined),
  event: eventName,
  value: z
    .union([z.number(), z.string().max(32)])
    .optional()
    .openapi({ example: 49.9 }),
  currency: z.string().optional().openapi({ example: "EUR" }),
  // The shop's own order id, kept exactly as its system writes it (exports quote whatever it holds).
  orderId: z.string().trim().min(1).max(128).optional(),
  gaClientId: z
    .string()
    .regex(/^\d{1,20}\.\d{1,20}$/, "The GA client id, as in the _ga cookie: 1234567890.1700000000")
    .nullish()
    .transform(absentAsUndefined),
  gaSessionId: z
    .string()
    .regex(/^\d{1,20}$/, "The GA4 session id, as in the _ga_<stream> cookie: digits")
    .nullish()
    .transform(absentAsUndefined),
  consent: Ga4ConsentInput.optional().openapi({
    description: "This conversion's own consent for GA4, instead of the workspace's `ga4.consent`",
  }),
};

type MoneyFields = { value?: number | string; currency?: string };

/** Checks value and currency together; the result carries the decimal and the minor units. */
export function withMoney<T extends MoneyFields>(body: T, ctx: z.RefinementCtx) {
  const { value, currency, ...rest } = body;
  if (value === undefined) {
    if (currency !== undefined) ctx.addIssue({ code: "custom", path: ["value"], message: "A currency needs a value" });
    return { ...rest, value: null, valueMinor: null, currency: null };
  }
  if (currency === undefined) {
    ctx.addIssue({ code: "custom", path: ["currency"], message: "A value needs an ISO 4217 currency" });
    return z.NEVER;
  }
  const money = checkMoney(value, currency);
  if (!money.ok) {
    ctx.addIssue({
      code: "custom",
      path: [/currency/.test(money.reason) ? "currency" : "value"],
      message: money.reason,
    });
    return z.NEVER;
  }
  return { ...rest, value: money.value, valueMinor: money.minor, currency };
}

export const ConversionBody = z
  .object({ ...conversionFields, contact: contactInput.optional(), occurredAt: pastDateTime.optional() })
  .strict()
  .transform(withMoney)
  .openapi("CreateConversion");
export type ConversionInput = z.output<typeof ConversionBody>;

export const Attribution = z
  .object({
    clickId: z.string(),
    linkCode: z.string(),
    campaignId: z.string().nullable(),
    variant: z.string().nullable(),
    messageId: z.string().nullable(),
  })
  .openapi("Attribution");

export const ConversionResult = z
  .object({
    id: z.string(),
    duplicate: z.boolean().openapi({ description: "True when this (event, orderId) was already recorded" }),
    attributedTo: Attribution.nullable(),
  })
  .openapi("ConversionResult");

const eventType = z.union([z.enum(["csat", "bot_resolved", "escalated", "agent_resolved"]), eventName]);

export const ContactEventsBody = z
  .object({
    events: z
      .array(
        z
          .object({
            type: eventType,
            contact: contactInput,
            campaignId: z.string().max(64).optional(),
            value: z.number().finite().optional(),
            occurredAt: pastDateTime.optional(),
          })
          .strict()
          .superRefine((event, ctx) => {
            if (event.type === "csat" && (event.value === undefined || ![1, 2, 3, 4, 5].includes(event.value))) {
              ctx.addIssue({ code: "custom", path: ["value"], message: "A CSAT answer is a whole number from 1 to 5" });
            }
          }),
      )
      .min(1)
      .max(1000),
  })
  .strict()
  .openapi("ContactEvents");

export const ContactEventsResult = z.object({ accepted: z.number().int() }).openapi("ContactEventsResult");
