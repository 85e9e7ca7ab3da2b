import { recordConversion } from "../conversions/record";
import { findCampaignIds } from "../db/campaign-ids";
import { insertContactEvents } from "../db/contact-events";
import { ApiError } from "../errors";
import { hashContact } from "../lib/contact";
import { earliestRetainedTime } from "../lib/event-bounds";
import { newId } from "../lib/ids";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse, retentionIssues } from "../schemas/common";
import { readContact, readContacts } from "../schemas/contact";
import { ContactEventsBody, ContactEventsResult, ConversionBody, ConversionResult } from "../schemas/conversions";

export const conversionRoutes = createRouter();

const common = { security: bearerSecurity, tags: ["Conversions"], middleware: [requireApiKey("events:write")] };

conversionRoutes.openapi(
  createRoute({
    ...common,
    method: "post",
    path: "/conversions",
    summary: "Record a conversion from your server, attributed to the click it followed",
    request: jsonBody(ConversionBody),
    responses: {
      201: jsonResponse(ConversionResult, "Recorded, or the earlier record of the same (event, orderId)"),
      ...errorResponses(400, 401, 403, 415),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { workspace } = c.var.auth;
    const contact = readContact(workspace.settings.defaultCountry, body.contact, ["contact"]);
    const earliest = earliestRetainedTime(Date.now(), workspace.settings.retentionDays);
    const issues = retentionIssues(body.occurredAt, earliest, ["occurredAt"]);
    if (issues.length > 0) {
      throw new ApiError("invalid_request", "The conversion was not recorded; see issues.", issues);
    }
    const result = await recordConversion(c.env, c.var.db, workspace, { ...body, contact }, "api");
    return c.json(result, 201);
  },
);

conversionRoutes.openapi(
  createRoute({
    ...common,
    method: "post",
    path: "/events",
    summary: "Record CSAT answers, chatbot outcomes or custom events of contacts (up to 1,000)",
    request: jsonBody(ContactEventsBody),
    responses: { 201: jsonResponse(ContactEventsResult, "Recorded"), ...errorResponses(400, 401, 403, 415) },
  }),
  async (c) => {
    const { events } = c.req.valid("json");
    const workspace = c.var.auth.workspace;
    const contacts = readContacts(
      workspace.settings.defaultCountry,
      events.map((e) => e.contact),
      (i) => ["events", i, "contact"],
    );
    const now = Date.now();
    const earliest = earliestRetainedTime(now, workspace.settings.retentionDays);
    const issues = events.flatMap((e, i) => retentionIssues(e.occurredAt, earliest, ["events", i, "occurredAt"]));
    const campaignIds = [...new Set(events.map((e) => e.campaignId).filter((id): id is string => !!id))];
    if (campaignIds.length > 0) {
      const known = await findCampaignIds(c.env.DB, workspace.id, campaignIds);
      events.forEach((e, i) => {
        if (e.campaignId && !known.has(e.campaignId)) {
          issues.push({ path: ["events", i, "campaignId"], message: "No such campaign in this workspace" });
        }
      });
    }
    if (issues.length > 0) throw new ApiError("invalid_request", "No event was recorded; see issues.", issues);
    const rows = await Promise.all(
      events.map(async (e, i) => ({
        id: newId("evt"),
        type: e.type,
        contactHash: await hashContact(c.env.PII_PEPPER, contacts[i]),
        campaignId: e.campaignId ?? null,
        value: e.value ?? null,
        occurredAt: e.occurredAt ?? now,
      })),
    );
    await insertContactEvents(c.env.DB, workspace.id, rows);
    return c.json({ accepted: rows.length }, 201);
  },
);
