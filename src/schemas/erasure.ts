import * as z from "./zod";
import { doc } from "../lib/openapi";
import { contactInput } from "./contact";

export const EraseContactRequest = doc(z.strictObject({ contact: contactInput }), { id: "EraseContactRequest" });

const count = (description: string) => doc(z.int().check(z.nonnegative()), { description });

export const EraseContactResult = doc(
  z.object({
    erased: doc(
      z.object({
        messages: count("Messages sent to the contact, with their stored state"),
        inboundMessages: count("Messages the contact sent"),
        clicks: count("Clicks, previews and bot visits of the contact's links and messages"),
        conversions: count("Conversions of the contact, or attributed to its clicks, links or messages"),
        contactEvents: count("CSAT answers, chatbot outcomes and custom events of the contact"),
        links: count("Per-recipient links, unlinked from the contact: they keep redirecting"),
        outboxEntries: count("Changes about the contact not yet or already told to consumers"),
        deadLetters: count("Events about the contact that could never be stored"),
        consents: count("The contact's consent records, opt-outs included"),
        ga4Events: count("Events of the contact on their way to GA4, not sent yet or failed"),
        webhookDeliveries: count("Outbound webhook deliveries about the contact: pending, failed or in the log"),
        retentionContacts: count(
          "The contact's rows in the retention rollups (UTC and the reporting time zone); the cohorts no longer count it",
        ),
      }),
      { description: "Rows erased or unlinked, per kind; zero for an unknown contact" },
    ),
  }),
  { id: "EraseContactResult" },
);
