import * as z from "./zod";
import { doc } from "../lib/openapi";
import { contactInput } from "./contact";
import { normalizeDestination } from "../lib/destination";
import { isoDateTime, ListQuery, plainText } from "./common";
import { variantName } from "./campaigns";

// First path segments the Worker serves itself; a custom code may not take them.
const RESERVED_CODES = new Set(["api", "t", "webhooks", "dashboard", "health", "static", "assets", "favicon"]);

export const linkCode = doc(
  z.string().check(
    z.regex(/^[A-Za-z0-9_-]{4,64}$/, "4–64 characters of A–Z, a–z, 0–9, _ and -"),
    z.refine((code) => !RESERVED_CODES.has(code.toLowerCase()), "This code is reserved"),
  ),
  { example: "spring-sale" },
);

export const destinationUrl = doc(
  z.pipe(
    z.string().check(z.maxLength(4096)),
    z.transform((value, ctx) => {
      const check = normalizeDestination(value);
      if (check.ok) return check.url;
      ctx.issues.push({ code: "custom", message: check.reason, input: value });
      return z.NEVER;
    }),
  ),
  { format: "uri", example: "https://shop.example.com/offer?sku=42" },
);

const utmValue = plainText(256);
export const Utm = doc(
  z.partial(
    z.strictObject({ source: utmValue, medium: utmValue, campaign: utmValue, content: utmValue, term: utmValue }),
  ),
  { id: "Utm" },
);

const futureDateTime = z.pipe(
  isoDateTime,
  z.pipe(
    z.transform((value: string) => Date.parse(value)),
    z.number().check(z.refine((ms) => ms > Date.now(), "Must be in the future")),
  ),
);

const messageId = doc(plainText(256), { description: "The WhatsApp message id (wamid)" });
const externalId = doc(plainText(128), { description: "Your own id for the contact, e.g. a CRM id" });

export const CreateLinkBody = doc(
  z.strictObject({
    url: destinationUrl,
    campaignId: z.optional(z.string().check(z.maxLength(64))),
    variant: z.optional(variantName),
    contact: z.optional(contactInput),
    messageId: z.optional(messageId),
    externalId: z.optional(externalId),
    code: z.optional(linkCode),
    utm: z.optional(Utm),
    expiresAt: z.optional(futureDateTime),
  }),
  { id: "CreateLink" },
);
export type CreateLinkBody = z.infer<typeof CreateLinkBody>;

export const MAX_BULK_RECIPIENTS = 10_000;

export const BulkRecipient = doc(
  z.strictObject({
    contact: contactInput,
    messageId: z.optional(messageId),
    variant: z.optional(variantName),
    url: z.optional(destinationUrl),
    externalId: z.optional(externalId),
  }),
  { id: "BulkRecipient" },
);

export const BulkLinksBody = doc(
  z.strictObject({
    url: destinationUrl,
    campaignId: z.string().check(z.maxLength(64)),
    variant: z.optional(variantName),
    utm: z.optional(Utm),
    expiresAt: z.optional(futureDateTime),
    recipients: z.array(BulkRecipient).check(z.minLength(1), z.maxLength(MAX_BULK_RECIPIENTS)),
  }),
  { id: "BulkLinks" },
);

export const UpdateLinkBody = doc(
  z
    .partial(
      z.strictObject({
        url: destinationUrl,
        expiresAt: doc(z.nullable(futureDateTime), { description: "`null` removes the expiry" }),
        disabled: z.boolean(),
        messageId: doc(z.nullable(messageId), { description: "`null` detaches the link from its message" }),
      }),
    )
    .check(z.refine((body) => Object.keys(body).length > 0, "Nothing to change: give at least one field")),
  { id: "UpdateLink" },
);

export const Link = doc(
  z.object({
    id: z.string(),
    code: z.string(),
    shortUrl: doc(z.string(), { example: "https://go.example.com/spring-sale" }),
    url: z.string(),
    campaignId: z.nullable(z.string()),
    variant: z.nullable(z.string()),
    messageId: z.nullable(z.string()),
    externalId: z.nullable(z.string()),
    utm: z.nullable(Utm),
    disabled: z.boolean(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
    expiresAt: z.nullable(isoDateTime),
    clicks: doc(z.int(), { description: "Human clicks" }),
    uniqueClicks: z.int(),
    previews: doc(z.int(), { description: "Link-preview fetches (never counted as clicks)" }),
    bots: z.int(),
    conversions: z.int(),
    revenue: z.number(),
  }),
  { id: "Link" },
);

export const LinkList = doc(z.object({ links: z.array(Link), nextCursor: z.nullable(z.string()) }), { id: "LinkList" });
export const BulkLinksResult = doc(z.object({ links: z.array(Link) }), { id: "BulkLinksResult" });

// An empty `campaignId=` is a mistake, not "every campaign": it is refused rather than ignored.
export const LinkListQuery = z.extend(ListQuery, {
  campaignId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});
