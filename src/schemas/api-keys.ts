import { z } from "@hono/zod-openapi";
import { isoDateTime, plainText } from "./common";

export const scopes = ["links:write", "events:write", "reports:read", "admin"] as const;

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(scopes)),
    hint: z.string().openapi({ example: "cf_sk_…x9Qa" }),
    createdAt: isoDateTime,
    lastUsedAt: isoDateTime.nullable(),
  })
  .openapi("ApiKey");

export const CreateApiKeyBody = z
  .object({
    name: plainText(100),
    scopes: z
      .array(z.enum(scopes))
      .min(1)
      .transform((list) => [...new Set(list)]),
  })
  .strict()
  .openapi("CreateApiKey");

export const CreatedApiKey = ApiKey.extend({
  key: z.string().openapi({ description: "The key itself, shown only this once" }),
}).openapi("CreatedApiKey");

export const ApiKeyList = z
  .object({ apiKeys: z.array(ApiKey), nextCursor: z.string().nullable() })
  .openapi("ApiKeyList");
