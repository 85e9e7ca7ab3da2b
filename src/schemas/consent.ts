import { z } from "@hono/zod-openapi";
import { CONSENT_SOURCE } from "../lib/consent";
import { isoDateTime } from "./common";
import { contactInput } from "./contact";

export const consentSource = z
  .string()
  .regex(CONSENT_SOURCE, "1–32 characters of a–z, 0–9, _, . and -, starting with a letter")
  .openapi({
    example: "website",
    description:
      "Where the consent was given or withdrawn, e.g. `api`, `website`, `crm`. `whatsapp` records what WhatsApp " +
      "reports (webhooks record it themselves): an opt-out of marketing messages only; any other source an opt-out " +
      "of every message",
  });

export const ConsentBody = z
  .object({
    contact: contactInput,
    optedIn: z.boolean().openapi({ description: "`false` records an opt-out, `true` an opt-in that lifts one" }),
    source: consentSource,
  })
  .strict()
  .openapi("Consent");

export const ConsentRecord = z
  .object({
    optedIn: z.boolean(),
    source: z.string(),
    recordedAt: isoDateTime.openapi({ description: "When it was recorded: the latest record of a contact holds" }),
  })
  .openapi("ConsentRecord");
