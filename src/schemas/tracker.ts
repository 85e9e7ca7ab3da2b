import * as z from "./zod";
import { doc } from "../lib/openapi";
import { conversionFields, withMoney } from "./conversions";

/** What the snippet's beacon sends: a conversion without contact, attributed by its click id. */
export const BeaconBody = doc(z.pipe(z.strictObject(conversionFields), z.transform(withMoney)), { id: "Beacon" });

/** The pixel's query: every field as text, read as the beacon's fields are. */
export const PixelQuery = z.object({
  k: doc(z.string(), { description: "The workspace's publishable key" }),
  cid: doc(z.optional(z.string()), { description: "The click id" }),
  e: doc(z.string(), { description: "The event name", example: "purchase" }),
  v: doc(z.optional(z.string()), { description: "The value, a decimal number", example: "49.90" }),
  c: doc(z.optional(z.string()), { description: "The value's ISO 4217 currency", example: "EUR" }),
  o: doc(z.optional(z.string()), { description: "The order id" }),
});
