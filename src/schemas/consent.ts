import * as z from "./zod";
import { doc } from "../lib/openapi";
import { CONSENT_SOURCE } from "../lib/consent";
import { isoDateTime } from "./common";
import { contactInput } from "./contact";

export const consentSource = doc(
  z.string().check(z.regex(CONSENT_SOURCE, "1–32 characters of a–z, 0–9, _, . and -, starting with a letter")),
  {
    example: "website",
    description:
      "Where the consent was given or withdrawn, e.g. `api`, `website`, `crm`. `whatsapp` records what WhatsApp " +
      "reports (webhooks record it themselves): an opt-out of marketing messages only; any other source an opt-out " +
      "of every message",
  },
);

export const ConsentBody = doc(
  z.strictObject({
    contact: contactInput,
    optedIn: doc(z.boolean(), { description: "`false` records an opt-out, `true` an opt-in that lifts one" }),
    source: consentSource,
  }),
  { id: "Consent" },
);

export const ConsentRecord = doc(
  z.object({
    optedIn: z.boolean(),
    source: z.string(),
    recordedAt: doc(isoDateTime, { description: "When it was recorded: the latest record of a contact holds" }),
  }),
  { id: "ConsentRecord" },
);
