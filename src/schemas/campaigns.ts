import { z } from "@hono/zod-openapi";
import { isoDateTime, plainText } from "./common";

export const variantName = plainText(64);

export const Campaign = z
  .object({
    id: z.string().openapi({ example: "cmp_Vb2kQ9x0LmT3pZ8a" }),
    name: z.string(),
    variants: z.array(z.string()),
    template: z.string().nullable(),
    createdAt: isoDateTime,
  })
  .openapi("Campaign");

export const CreateCampaignBody = z
  .object({
    name: plainText(200),
    variants: z
      .array(variantName)
      .max(26)
      .refine((list) => new Set(list).size === list.length, "Variant names must be unique")
      .optional(),
    template: plainText(512).optional(),
  })
  .strict()
  .openapi("CreateCampaign");

export const CampaignList = z
  .object({ campaigns: z.array(Campaign), nextCursor: z.string().nullable() })
  .openapi("CampaignList");
