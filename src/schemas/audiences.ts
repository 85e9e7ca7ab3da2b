import { z } from "@hono/zod-openapi";
import { AUDIENCE_STAGES } from "../db/audience-stages";
import { isoDateTime, ListQuery } from "./common";
import { reportAsOf } from "./reports";

export const AudienceQuery = ListQuery.extend({
  campaignId: z.string().min(1).max(64).openapi({ description: "A campaign of the workspace" }),
  stage: z.enum(AUDIENCE_STAGES).openapi({
    description:
      "Exclusive as named, with a message's inferred steps: `delivered_not_read` (delivered, not read nor clicked), `read_not_clicked`, `clicked_not_converted`, `converted`, or `limited` (failed with error 131049, Meta's limit on marketing messages to the user, and not delivered since: retry a day later)",
  }),
  format: z.enum(["json", "csv"]).optional().openapi({ description: "`csv` (or `Accept: text/csv`) returns CSV" }),
});

export const AudienceMessage = z
  .object({
    messageId: z.string().openapi({ description: "The wamid" }),
    externalId: z
      .string()
      .nullable()
      .openapi({ description: "Your own id for the contact: the message's, else its link's" }),
    linkCode: z.string().nullable(),
    variant: z.string().nullable(),
    reachedAt: isoDateTime.openapi({ description: "When the message reached the stage" }),
  })
  .openapi("AudienceMessage");

export const AudienceList = z
  .object({
    asOf: reportAsOf,
    messages: z.array(AudienceMessage),
    nextCursor: z.string().nullable(),
  })
  .openapi("AudienceList");
