import * as z from "./zod";
import { doc } from "../lib/openapi";
import { isoDateTime, plainText } from "./common";

export const scopes = ["links:write", "events:write", "reports:read", "admin"] as const;

export const ApiKey = doc(
  z.object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(scopes)),
    hint: doc(z.string(), { example: "cf_sk_…x9Qa" }),
    createdAt: isoDateTime,
    lastUsedAt: z.nullable(isoDateTime),
  }),
  { id: "ApiKey" },
);

export const CreateApiKeyBody = doc(
  z.strictObject({
    name: plainText(100),
    scopes: z.pipe(
      z.array(z.enum(scopes)).check(z.minLength(1)),
      z.transform((list) => [...new Set(list)]),
    ),
  }),
  { id: "CreateApiKey" },
);

export const CreatedApiKey = doc(
  z.extend(ApiKey, {
    key: doc(z.string(), { description: "The key itself, shown only this once" }),
  }),
  { id: "CreatedApiKey" },
);

export const ApiKeyList = doc(z.object({ apiKeys: z.array(ApiKey), nextCursor: z.nullable(z.string()) }), {
  id: "ApiKeyList",
});
