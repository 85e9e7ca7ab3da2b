import { z } from "@hono/zod-openapi";
import { contactInput } from "./contact";
import { normalizeDestination } from "../lib/destination";
import { isoDateTime, ListQuery, plainText } from "./common";
import { variantName } from "./campaigns";

// First path segments the Worker serves itself; a custom code may not take them.
const RESERVED_CODES = new Set(["api", "t", "webhooks", "dashboard", "health", "static", "assets", "favicon"]);

export const linkCode = z
  .string()
  .regex(/^[A-Za-z0-9_-]{4,64}$/, "4–64 characters of A–Z, a–z, 0–9, _ and -")
  .refine((code) => !RESERVED_CODES.has(code.toLowerCase()), "This code is reserved")
  .openapi({ example: "spring-sale" });

export const destinationUrl = z
  .string()
  .max(4096)
  .transform((value, ctx) => {
    const check = normalizeDestination(value);
    if (check.ok) return check.url;
    ctx.addIssue({ code: "custom", message: check.reason });
    return z.NEVER;
  })
  .openapi({ type: "string", format: "uri", example: "https://shop.example.com/offer?sku=42" });

const utmValue = plainText(256);
export const Utm = z
  .object({ source: utmValue, medium: utmValue, campaign: utmValue, content: utmValue, term: utmValue })
  .partial()
  .strict()
  .openapi("Utm");

const futureDateTime = isoDateTime
  .transform((value) => Date.parse(value))
  .refine((ms) => ms > Date.now(), "Must be in the future")
  .openapi({ type: "string", format: "date-time" });

const messageId = plainText(256).openapi({ description: "The WhatsApp message id (wamid)" });
const externalId = plainText(128).openapi({ description: "Your own id for the contact, e.g. a CRM id" });

export const CreateLinkBody = z
  .object({
    url: destinationUrl,
    campaignId: z.string().max(64).optional(),
    variant: variantName.optional(),
    contact: contactInput.optional(),
    messageId: messageId.optional(),
    externalId: externalId.optional(),
    code: linkCode.optional(),
    utm: Utm.optional(),
    expiresAt: futureDateTime.optional(),
  })
  .strict()
  .openapi("CreateLink");
export type CreateLinkBody = z.infer<typeof CreateLinkBody>;

export const MAX_BULK_RECIPIENTS = 10_000;

export const BulkRecipient = z
  .object({
    contact: contactInput,
    messageId: messageId.optional(),
    variant: variantName.optional(),
    url: destinationUrl.optional(),
    externalId: externalId.optional(),
  })
  .strict()
  .openapi("BulkRecipient");

export const BulkLinksBody = z
  .object({
    url: destinationUrl,
    campaignId: z.string().max(64),
    variant: variantName.optional(),
    utm: Utm.optional(),
    expiresAt: futureDateTime.optional(),
    recipients: z.array(BulkRecipient).min(1).max(MAX_BULK_RECIPIENTS),
  })
  .strict()
  .openapi("BulkLinks");

export const UpdateLinkBody = z
  .object({
    url: destinationUrl,
    expiresAt: futureDateTime
      .nullable()
      .openapi({ type: ["string", "null"], format: "date-time", description: "`null` removes the expiry" }),
    disabled: z.boolean(),
    messageId: messageId.nullable().openapi({ description: "`null` detaches the link from its message" }),
  })
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, "Nothing to change: give at least one field")
  .openapi("UpdateLink");

export const Link = z
  .object({
    id: z.string(),
    code: z.string(),
    shortUrl: z.string().openapi({ example: "https://go.example.com/spring-sale" }),
    url: z.string(),
    campaignId: z.string().nullable(),
    variant: z.string().nullable(),
    messageId: z.string().nullable(),
    externalId: z.string().nullable(),
    utm: Utm.nullable(),
    disabled: z.boolean(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
    expiresAt: isoDateTime.nullable(),
    clicks: z.number().int().openapi({ description: "Human clicks" }),
    uniqueClicks: z.number().int(),
    previews: z.number().int().openapi({ description: "Link-preview fetches (never counted as clicks)" }),
    bots: z.number().int(),
    conversions: z.number().int(),
    revenue: z.number(),
  })
  .openapi("Link");

export const LinkList = z.object({ links: z.array(Link), nextCursor: z.string().nullable() }).openapi("LinkList");
export const BulkLinksResult = z.object({ links: z.array(Link) }).openapi("BulkLinksResult");

// An empty `campaignId=` is a mistake, not "every campaign": it is refused rather than ignored.
export const LinkListQuery = ListQuery.extend({ campaignId: z.string().min(1).max(64).optional() });
