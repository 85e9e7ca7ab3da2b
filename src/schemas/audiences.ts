import * as z from "./zod";
import { doc } from "../lib/openapi";
import { AUDIENCE_STAGES } from "../db/audience-stages";
import { isoDateTime, ListQuery } from "./common";
import { reportAsOf } from "./reports";

export const AudienceQuery = z.extend(ListQuery, {
  campaignId: doc(z.string().check(z.minLength(1), z.maxLength(64)), { description: "A campaign of the workspace" }),
  stage: doc(z.enum(AUDIENCE_STAGES), {
    description:
      "Exclusive as named, with a message's inferred steps: `delivered_not_read` (delivered, not read nor clicked), `read_not_clicked`, `clicked_not_converted`, `converted`, or `limited` (failed with error 131049, Meta's limit on marketing messages to the user, and not delivered since: retry a day later)",
  }),
  format: doc(z.optional(z.enum(["json", "csv"])), { description: "`csv` (or `Accept: text/csv`) returns CSV" }),
});

export const AudienceMessage = doc(
  z.object({
    messageId: doc(z.string(), { description: "The wamid" }),
    externalId: doc(z.nullable(z.string()), {
      description: "Your own id for the contact: the message's, else its link's",
    }),
    linkCode: z.nullable(z.string()),
    variant: z.nullable(z.string()),
    reachedAt: doc(isoDateTime, { description: "When the message reached the stage" }),
  }),
  { id: "AudienceMessage" },
);

export const AudienceList = doc(
  z.object({
    asOf: reportAsOf,
    messages: z.array(AudienceMessage),
    nextCursor: z.nullable(z.string()),
  }),
  { id: "AudienceList" },
);
