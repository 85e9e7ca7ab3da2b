import { z } from "@hono/zod-openapi";
import { conversionFields, withMoney } from "./conversions";

/** What the snippet's beacon sends: a conversion without contact, attributed by its click id. */
export const BeaconBody = z.object(conversionFields).strict().transform(withMoney).openapi("Beacon");

/** The pixel's query: every field as text, read as the beacon's fields are. */
export const PixelQuery = z.object({
  k: z.string().openapi({ description: "The workspace's publishable key" }),
  cid: z.string().optional().openapi({ description: "The click id" }),
  e: z.string().openapi({ description: "The event name", example: "purchase" }),
  v: z.string().optional().openapi({ description: "The value, a decimal number", example: "49.90" }),
  c: z.string().optional().openapi({ description: "The value's ISO 4217 currency", example: "EUR" }),
  o: z.string().optional().openapi({ description: "The order id" }),
});
