import * as z from "./zod";
import { doc } from "../lib/openapi";
import { isPhoneCountry } from "../lib/contact";
import { currencyExponent, priceMicros } from "../lib/money";
import { canonicalTimeZone } from "../lib/time-zone";
import { isoDateTime, plainText } from "./common";

const origin = z.pipe(
  z.string().check(
    z.maxLength(253),
    z.refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value.replace(/\/$/, "");
      } catch {
        return false;
      }
    }, "Must be an origin such as https://shop.example.com"),
  ),
  z.transform((value: string) => new URL(value).origin),
);

const secret = z.string().check(z.minLength(1), z.maxLength(512));

const consentValue = z.enum(["granted", "denied"]);
/** Consent for Google's use of what GA4 receives (Consent Mode's ad_user_data and ad_personalization). */
export const Ga4ConsentInput = doc(z.strictObject({ adUserData: consentValue, adPersonalization: consentValue }), {
  id: "Ga4Consent",
  description:
    "Consent for Google's use of the data: sent with every GA4 request as `consent.ad_user_data` and `consent.ad_personalization`.",
  example: { adUserData: "denied", adPersonalization: "denied" },
});

const rateCategory = z.string().check(z.regex(/^[a-z][a-z0-9_-]{0,63}$/, "A Meta pricing category such as marketing"));
const rateCountry = z
  .string()
  .check(z.refine(isPhoneCountry, "An ISO 3166-1 alpha-2 country code in capitals, such as DE"));

const rateCardFields = z.strictObject({
  currency: z.string().check(z.refine((c) => currencyExponent(c) !== null, "An ISO 4217 currency code such as EUR")),
  rates: z
    .array(
      z.strictObject({
        category: rateCategory,
        country: z.optional(z.nullable(rateCountry)),
        price: z.pipe(
          z
            .union([z.number(), z.string().check(z.maxLength(20))])
            .check(z.refine((p) => priceMicros(p) !== null, "A decimal ≥ 0 with at most 6 decimals, such as 0.0613")),
          z.transform((p: number | string) => String(priceMicros(p)! / 1_000_000)),
        ),
      }),
    )
    .check(
      z.maxLength(1000),
      z.refine(
        (rates) => new Set(rates.map((r) => `${r.category} ${r.country ?? ""}`)).size === rates.length,
        "One rate per category and country",
      ),
    ),
});

/** The rate card as given: prices are decimals (numbers or strings), kept as decimal strings. */
export const RateCardInput = doc(
  z.pipe(
    rateCardFields,
    z.transform((card: z.output<typeof rateCardFields>) => ({
      currency: card.currency,
      rates: card.rates.map((r) => ({ category: r.category, country: r.country ?? null, price: r.price })),
    })),
  ),
  {
    id: "RateCardInput",
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
  },
);

export const RateCardOutput = doc(
  z.object({
    currency: z.string(),
    rates: z.array(z.object({ category: z.string(), country: z.nullable(z.string()), price: z.number() })),
  }),
  { id: "RateCard" },
);

export const SettingsInput = doc(
  z.partial(
    z.strictObject({
      whatsapp: z.nullable(z.partial(z.strictObject({ appSecret: secret, verifyToken: secret }))),
      ga4: z.nullable(
        z.partial(
          z.strictObject({
            measurementId: z.string().check(z.regex(/^G-[A-Z0-9]{4,20}$/, "A GA4 measurement id such as G-ABC123XYZ")),
            apiSecret: secret,
            consent: doc(Ga4ConsentInput, { description: "Both `denied` unless set (safe for EEA users)" }),
            debugMode: doc(z.boolean(), { description: "Marks every forwarded event for GA4's DebugView" }),
          }),
        ),
      ),
      clickIdParam: z
        .string()
        .check(z.regex(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/, "1–32 letters, digits, _ . -, starting with a letter")),
      attributionWindowDays: z.int().check(z.minimum(1), z.maximum(90)),
      clickDedupSeconds: z.int().check(z.minimum(0), z.maximum(30 * 86_400)),
      allowedOrigins: z.array(origin).check(z.maxLength(100)),
      retentionDays: z.int().check(z.minimum(1), z.maximum(3650)),
      timezone: doc(
        z.string().check(
          z.maxLength(64),
          z.refine((value) => canonicalTimeZone(value) !== null, "An IANA time zone such as Europe/Berlin or UTC"),
        ),
        {
          description:
            "The reporting time zone (IANA, default UTC): retention in it is kept rolled up, as it is in UTC. Reports in any other zone are exact too, but slower on large data.",
          example: "Europe/Berlin",
        },
      ),
      defaultCountry: doc(
        z.nullable(
          z
            .string()
            .check(z.refine(isPhoneCountry, "An ISO 3166-1 alpha-2 country code in capitals, such as DE or US")),
        ),
        {
          description:
            "ISO 3166-1 alpha-2: national phone numbers (0151 99887766) are read in it; unset (`null`), they are refused",
          example: "DE",
        },
      ),
      rateCard: z.nullable(RateCardInput),
    }),
  ),
  { id: "WorkspaceSettingsInput" },
);
export type SettingsInput = z.infer<typeof SettingsInput>;

export const SettingsOutput = doc(
  z.object({
    whatsapp: z.object({ appSecretSet: z.boolean(), verifyTokenSet: z.boolean() }),
    ga4: z.object({
      measurementId: z.nullable(z.string()),
      apiSecretSet: z.boolean(),
      enabled: doc(z.boolean(), {
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
    defaultCountry: z.nullable(z.string()),
    rateCard: z.nullable(RateCardOutput),
  }),
  { id: "WorkspaceSettings" },
);

export const Workspace = doc(
  z.object({
    id: doc(z.string(), { example: "ws_3kTMd9Qx0b2LpW1z" }),
    name: z.string(),
    publishableKey: z.string(),
    settings: SettingsOutput,
    createdAt: isoDateTime,
  }),
  { id: "Workspace" },
);

export const CreateWorkspaceBody = doc(z.strictObject({ name: plainText(200), settings: z.optional(SettingsInput) }), {
  id: "CreateWorkspace",
});

export const CreatedWorkspace = doc(
  z.extend(Workspace, {
    apiKey: doc(z.string(), { description: "An `admin` API key, shown only this once" }),
  }),
  { id: "CreatedWorkspace" },
);

export const UpdateWorkspaceBody = doc(
  z
    .partial(z.strictObject({ name: plainText(200), settings: SettingsInput }))
    .check(z.refine((body) => Object.keys(body).length > 0, "Nothing to change: give a name or settings")),
  { id: "UpdateWorkspace" },
);
