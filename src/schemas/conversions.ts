import * as z from "./zod";
import { doc } from "../lib/openapi";
import { isValidEventName } from "../lib/ga4-rules";
import { checkMoney } from "../lib/money";
import { eventTime, plainText } from "./common";
import { contactInput } from "./contact";
import { Ga4ConsentInput } from "./workspaces";

const CLOCK_SKEW_MS = 5 * 60_000;

// GA4's rules for event names, so that every conversion can be forwarded as it is: GA4 reserves some
// (session_start, first_visit, …) and the prefixes firebase_, google_ and ga_.
export const eventName = doc(
  z
    .string()
    .check(
      z.regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, "1–40 letters, digits and underscores, starting with a letter"),
      z.refine(
        isValidEventName,
        "A name GA4 reserves (such as session_start, or one starting with firebase_, google_ or ga_)",
      ),
    ),
  { example: "purchase" },
);

// A conversion cannot lie in the future, beyond the clocks' skew.
const pastDateTime = eventTime(CLOCK_SKEW_MS);

// The snippet sends null for what the page does not know (no click id yet, no GA cookie).
const absentAsUndefined = <T>(value: T | null | undefined) => value ?? undefined;

export const conversionFields = {
  clickId: z.pipe(z.nullish(plainText(64)), z.transform(absentAsUndefined<string>)),
  event: eventName,
  value: doc(z.optional(z.union([z.number(), z.string().check(z.maxLength(32))])), { example: 49.9 }),
  currency: doc(z.optional(z.string()), { example: "EUR" }),
  // The shop's own order id, kept exactly as its system writes it (exports quote whatever it holds).
  orderId: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(128))),
  gaClientId: z.pipe(
    z.nullish(
      z
        .string()
        .check(z.regex(/^\d{1,20}\.\d{1,20}$/, "The GA client id, as in the _ga cookie: 1234567890.1700000000")),
    ),
    z.transform(absentAsUndefined<string>),
  ),
  gaSessionId: z.pipe(
    z.nullish(z.string().check(z.regex(/^\d{1,20}$/, "The GA4 session id, as in the _ga_<stream> cookie: digits"))),
    z.transform(absentAsUndefined<string>),
  ),
  consent: doc(z.optional(Ga4ConsentInput), {
    description: "This conversion's own consent for GA4, instead of the workspace's `ga4.consent`",
  }),
};

type MoneyFields = { value?: number | string; currency?: string };

/** Checks value and currency together; the result carries the decimal and the minor units. */
export function withMoney<T extends MoneyFields>(body: T, ctx: z.core.ParsePayload) {
  const { value, currency, ...rest } = body;
  if (value === undefined) {
    if (currency !== undefined) {
      ctx.issues.push({ code: "custom", path: ["value"], message: "A currency needs a value", input: body });
    }
    return { ...rest, value: null, valueMinor: null, currency: null };
  }
  if (currency === undefined) {
    ctx.issues.push({ code: "custom", path: ["currency"], message: "A value needs an ISO 4217 currency", input: body });
    return z.NEVER;
  }
  const money = checkMoney(value, currency);
  if (!money.ok) {
    ctx.issues.push({
      code: "custom",
      path: [/currency/.test(money.reason) ? "currency" : "value"],
      message: money.reason,
      input: body,
    });
    return z.NEVER;
  }
  return { ...rest, value: money.value, valueMinor: money.minor, currency };
}

const conversionObject = z.strictObject({
  ...conversionFields,
  contact: z.optional(contactInput),
  occurredAt: z.optional(pastDateTime),
});

export const ConversionBody = doc(
  z.pipe(
    conversionObject,
    z.transform((body: z.output<typeof conversionObject>, ctx) => withMoney(body, ctx)),
  ),
  { id: "CreateConversion" },
);
export type ConversionInput = z.output<typeof ConversionBody>;

export const Attribution = doc(
  z.object({
    clickId: z.string(),
    linkCode: z.string(),
    campaignId: z.nullable(z.string()),
    variant: z.nullable(z.string()),
    messageId: z.nullable(z.string()),
  }),
  { id: "Attribution" },
);

export const ConversionResult = doc(
  z.object({
    id: z.string(),
    duplicate: doc(z.boolean(), { description: "True when this (event, orderId) was already recorded" }),
    attributedTo: z.nullable(Attribution),
  }),
  { id: "ConversionResult" },
);

const eventType = z.union([z.enum(["csat", "bot_resolved", "escalated", "agent_resolved"]), eventName]);

export const ContactEventsBody = doc(
  z.strictObject({
    events: z
      .array(
        z
          .strictObject({
            type: eventType,
            contact: contactInput,
            campaignId: z.optional(z.string().check(z.maxLength(64))),
            value: z.optional(z.number()),
            occurredAt: z.optional(pastDateTime),
          })
          .check(
            z.superRefine((event, ctx) => {
              if (event.type === "csat" && (event.value === undefined || ![1, 2, 3, 4, 5].includes(event.value))) {
                ctx.addIssue({
                  code: "custom",
                  path: ["value"],
                  message: "A CSAT answer is a whole number from 1 to 5",
                });
              }
            }),
          ),
      )
      .check(z.minLength(1), z.maxLength(1000)),
  }),
  { id: "ContactEvents" },
);

export const ContactEventsResult = doc(z.object({ accepted: z.int() }), { id: "ContactEventsResult" });
