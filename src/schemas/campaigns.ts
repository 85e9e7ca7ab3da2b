import * as z from "./zod";
import { doc } from "../lib/openapi";
import { isoDateTime, plainText } from "./common";

export const variantName = plainText(64);

export const Campaign = doc(
  z.object({
    id: doc(z.string(), { example: "cmp_Vb2kQ9x0LmT3pZ8a" }),
    name: z.string(),
    variants: z.array(z.string()),
    template: z.nullable(z.string()),
    createdAt: isoDateTime,
  }),
  { id: "Campaign" },
);

export const CreateCampaignBody = doc(
  z.strictObject({
    name: plainText(200),
    variants: z.optional(
      z.array(variantName).check(
        z.maxLength(26),
        z.refine((list) => new Set(list).size === list.length, "Variant names must be unique"),
      ),
    ),
    template: z.optional(plainText(512)),
  }),
  { id: "CreateCampaign" },
);

export const CampaignList = doc(z.object({ campaigns: z.array(Campaign), nextCursor: z.nullable(z.string()) }), {
  id: "CampaignList",
});
