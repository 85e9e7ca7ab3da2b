import { z } from "@hono/zod-openapi";
import { isPhoneCountry } from "../lib/contact";
import { currencyExponent, priceMicros } from "../lib/money";
import { canonicalTimeZone } from "../lib/time-zone";
import { isoDateTime, plainText } from "./common";

const origin = z
  .string()
  .max(253)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value.replace(/\/$/, "");
    } catch {
      return false;
    }
  }, "Must be an origin such as https://shop.example.com")
  .transform((value) => new URL(value).origin);

const secret = z.string().min(1).max(512);

const consentValue = z.enum(["granted", "denied"]);
/** Consent for Google's use of what GA4 receives (Consent Mode's ad_user_data and ad_personalization). */
export const Ga4ConsentInput = z
  .object({ adUserData: consentValue, adPersonalization: consentValue })
  .strict()
  .openapi("Ga4Consent", {
    description:
      "Consent for Google's use of the data: sent with every GA4 request as `consent.ad_user_data` and `consent.ad_personalization`.",
    example: { adUserData: "denied", adPersonalization: "denied" },
  });

const rateCategory = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, "A Meta pricing category such as marketing");
const rateCountry = z.string().refine(isPhoneCountry, "An ISO 3166-1 alpha-2 country code in capitals, such as DE");

/** The rate card as given: prices are decimals (numbers or strings), kept as decimal strings. */
export const RateCardInput = z
  .object({
    currency: z.string().refine((c) => currencyExponent(c) !== null, "An ISO 4217 currency code such as EUR"),
    rates: z
      .array(
        z
          .object({
            category: rateCategory,
            country: rateCountry.nullable().optional(),
            price: z
              .union([z.number(), z.string().max(20)])
              .refine((p) => priceMicros(p) !== null, "A decimal ≥ 0 with at most 6 decimals, such as 0.0613")
              .transform((p) => String(priceMicros(p)! / 1_000_000)),
          })
          .strict(),
      )
      .max(1000)
      .refine(
        (rates) => new Set(rates.map((r) => `${r.category} ${r.country ?? ""}`)).size === rates.length,
        "One rate per category and country",
      ),
  })
  .strict()
  .transform((card) => ({
    currency: card.currency,
    rates: card.rates.map((r) => ({ category: r.category, country: r.country ?? null, price: r.price })),
  }))
  .openapi("RateCardInput", {
    description:
      "What Meta charges you per charged message (pricing `type` `regular`), by pricing category and optionally " +
      "recipient country. A message takes the rate of its category and country, else of its category alone; " +
      "a category without a rate costs nothing. Reports' `cost` comes from it; `null` removes it.",
    example: {
      currency: "USD",
      rates: [
        { category: "marketing", price: 0.025 },
        { category: "marketing", country: "DE", price: "0.1365" },
      ],
    },
  });

export const RateCardOutput = z
  .object({
    currency: z.string(),
    rates: z.array(z.object({ category: z.string(), country: z.string().nullable(), price: z.number() })),
  })
  .openapi("RateCard");

export const SettingsInput = z
  .object({
    whatsapp: z.object({ appSecret: secret, verifyToken: secret }).partial().strict().nullable(),
    ga4: z
      .object({
        measurementId: z.string().regex(/^G-[A-Z0-9]{4,20}$/, "A GA4 measurement id such as G-ABC123XYZ"),
        apiSecret: secret,
        consent: Ga4ConsentInput.openapi({ description: "Both `denied` unless set (safe for EEA users)" }),
        debugMode: z.boolean().openapi({ description: "Marks every forwarded event for GA4's DebugView" }),
      })
      .partial()
      .strict()
      .nullable(),
    clickIdParam: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/, "1–32 letters, digits, _ . -, starting with a letter"),
    attributionWindowDays: z.number().int().min(1).max(90),
    clickDedupSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400),
    allowedOrigins: z.array(origin).max(100),
    retentionDays: z.number().int().min(1).max(3650),
    timezone: z
      .string()
      .max(64)
      .refine((value) => canonicalTimeZone(value) !== null, "An IANA time zone such as Europe/Berlin or UTC")
      .openapi({
        description:
          "The reporting time zone (IANA, default UTC): retention in it is kept rolled up, as it is in UTC. Reports in any other zone are exact too, but slower on large data.",
        example: "Europe/Berlin",
      }),
    defaultCountry: z
      .string()
      .refine(isPhoneCountry, "An ISO 3166-1 alpha-2 country code in capitals, such as DE or US")
      .nullable()
      .openapi({
        description:
          "ISO 3166-1 alpha-2: national phone numbers (0151 99887766) are read in it; unset (`null`), they are refused",
        example: "DE",
      }),
    rateCard: RateCardInput.nullable(),
  })
  .partial()
  .strict()
  .openapi("WorkspaceSettingsInput");
export type SettingsInput = z.infer<typeof SettingsInput>;

export const SettingsOutput = z
  .object({
    whatsapp: z.object({ appSecretSet: z.boolean(), verifyTokenSet: z.boolean() }),
    ga4: z.object({
      measurementId: z.string().nullable(),
      apiSecretSet: z.boolean(),
      enabled: z.boolean().openapi({
        description: "Whether clicks and conversions are forwarded: a measurement id and a usable API secret are set",
      }),
      consent: Ga4ConsentInput,
      debugMode: z.boolean(),
    }),
    clickIdParam: z.string(),
    attributionWindowDays: z.number(),
    clickDedupSeconds: z.number(),
    allowedOrigins: z.array(z.string()),
    retentionDays: z.number(),
    timezone: z.string(),
    defaultCountry: z.string().nullable(),
    rateCard: RateCardOutput.nullable(),
  })
  .openapi("WorkspaceSettings");

export const Workspace = z
  .object({
    id: z.string().openapi({ example: "ws_3kTMd9Qx0b2LpW1z" }),
    name: z.string(),
    publishableKey: z.string(),
    settings: SettingsOutput,
    createdAt: isoDateTime,
  })
  .openapi("Workspace");

export const CreateWorkspaceBody = z
  .object({ name: plainText(200), settings: SettingsInput.optional() })
  .strict()
  .openapi("CreateWorkspace");

export const CreatedWorkspace = Workspace.extend({
  apiKey: z.string().openapi({ description: "An `admin` API key, shown only this once" }),
}).openapi("CreatedWorkspace");

export const UpdateWorkspaceBody = z
  .object({ name: plainText(200), settings: SettingsInput })
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, "Nothing to change: give a name or settings")
  .openapi("UpdateWorkspace");
