import { caughtUp } from "../middleware/caught-up";
import { refuseOptedOut } from "../consent/opt-outs";
import { variantIssue } from "../db/campaigns";
import {
  findCampaignVariants,
  findMessage,
  findMessageLinks,
  registerMessages,
  type MessageRegistration,
} from "../db/messages";
import { ApiError, type ErrorIssue } from "../errors";
import { contactCountry, hashContact } from "../lib/contact";
import { earliestRetainedTime } from "../lib/event-bounds";
import { describePricing } from "../lib/pricing";
import { createRoute, createRouter } from "../middleware/validation";
import * as z from "../schemas/zod";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse, retentionIssues, toIso } from "../schemas/common";
import { readContacts } from "../schemas/contact";
import {
  IngestResult,
  MessageState,
  RegisterMessagesBody,
  RegisterMessagesResult,
  WhatsAppWebhookBody,
} from "../schemas/messages";
import { storeWhatsAppEvents } from "../events/write";
import { toStoredEvents } from "../whatsapp/ingest";
import { deriveMessageState } from "../whatsapp/message-state";
import { ingestCounts, readWebhookEvents } from "../whatsapp/webhook-body";

export const messageRoutes = createRouter();

const common = { security: bearerSecurity, tags: ["WhatsApp"] };

messageRoutes.openapi(
  createRoute({
    ...common,
    method: "post",
    path: "/statuses",
    summary: "Relay a WhatsApp webhook body (statuses, inbound messages, marketing opt-outs) received elsewhere",
    middleware: [requireApiKey("events:write")],
    request: jsonBody(WhatsAppWebhookBody),
    responses: { 200: jsonResponse(IngestResult, "Stored"), ...errorResponses(400, 401, 403, 413, 415) },
  }),
  async (c) => {
    const now = Date.now();
    const earliest = earliestRetainedTime(now, c.var.auth.workspace.settings.retentionDays);
    const parsed = readWebhookEvents(c.req.valid("json"), now, earliest);
    await storeWhatsAppEvents(c.env, await toStoredEvents(c.env.PII_PEPPER, c.var.auth.workspace.id, parsed));
    return c.json(ingestCounts(parsed), 200);
  },
);

messageRoutes.openapi(
  createRoute({
    ...common,
    method: "post",
    path: "/messages",
    summary: "Register sent messages (up to 10,000) with their campaign, variant and link; idempotent by id",
    description:
      "A message for a contact whose latest consent record is an opt-out refuses the whole request (409 " +
      "`opted_out`, each index in `issues`, nothing registered) when the opt-out covers it: one recorded through " +
      "the API covers every category; one WhatsApp reported covers `marketing`, `marketing_lite` and messages " +
      "registered without a category.",
    middleware: [requireApiKey("links:write")],
    request: jsonBody(RegisterMessagesBody),
    responses: {
      200: jsonResponse(RegisterMessagesResult, "Registered"),
      ...errorResponses(400, 401, 403, 409, 413, 415),
    },
  }),
  async (c) => {
    const { messages } = c.req.valid("json");
    const workspaceId = c.var.auth.workspace.id;
    const contacts = readContacts(
      c.var.auth.workspace.settings.defaultCountry,
      messages.map((m) => m.contact),
      (i) => ["messages", i, "contact"],
    );
    const distinct = (values: (string | null | undefined)[]) => [...new Set(values.filter((v): v is string => !!v))];
    const links = await findMessageLinks(c.env.DB, workspaceId, distinct(messages.map((m) => m.linkCode)));
    // A message without a campaignId takes its link's campaign, whose variants then apply too.
    const campaignOf = (m: (typeof messages)[number]) =>
      m.campaignId ?? (m.linkCode ? links.get(m.linkCode)?.campaignId : null) ?? null;
    const campaigns = await findCampaignVariants(c.env.DB, workspaceId, distinct(messages.map(campaignOf)));

    const earliest = earliestRetainedTime(Date.now(), c.var.auth.workspace.settings.retentionDays);
    const issues: ErrorIssue[] = messages.flatMap((m, i) =>
      retentionIssues(m.sentAt, earliest, ["messages", i, "sentAt"]),
    );
    const rows: MessageRegistration[] = await Promise.all(
      messages.map(async (m, i) => {
        const link = m.linkCode ? links.get(m.linkCode) : undefined;
        if (m.linkCode && !link)
          issues.push({ path: ["messages", i, "linkCode"], message: "No such link in this workspace" });
        const campaignId = campaignOf(m);
        const campaign = campaignId ? campaigns.get(campaignId) : undefined;
        if (m.campaignId && !campaign) {
          issues.push({ path: ["messages", i, "campaignId"], message: "No such campaign in this workspace" });
        }
        const issue = variantIssue(campaignId ? (campaign ?? []) : null, m.variant, ["messages", i, "variant"]);
        if (issue) issues.push(issue);
        const variant = m.variant ?? (m.campaignId ? null : link?.variant) ?? null;
        return {
          id: m.id,
          contactHash: await hashContact(c.env.PII_PEPPER, contacts[i]),
          country: contactCountry(contacts[i]),
          campaignId,
          variant,
          linkCode: m.linkCode ?? null,
          category: m.category ?? null,
          externalId: m.externalId ?? null,
          sentAt: m.sentAt ?? null,
        };
      }),
    );
    if (issues.length > 0) throw new ApiError("invalid_request", "No message was registered; see issues.", issues);
    await refuseOptedOut(
      c.env.DB,
      workspaceId,
      rows.map((row, i) => ({
        contactHash: row.contactHash,
        category: row.category,
        path: ["messages", i, "contact"],
      })),
    );
    await registerMessages(c.env.DB, workspaceId, rows);
    return c.json({ registered: new Set(rows.map((r) => r.id)).size }, 200);
  },
);

messageRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/messages/{id}",
    summary: "One message's joined state: statuses, inferred steps, click, errors and pricing",
    middleware: [requireApiKey("reports:read"), caughtUp],
    request: { params: z.object({ id: z.string().check(z.minLength(1), z.maxLength(256)) }) },
    responses: { 200: jsonResponse(MessageState, "The message"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const row = await findMessage(c.var.d1, c.var.auth.workspace.id, id);
    if (!row) throw new ApiError("not_found", `No message ${id} in this workspace.`);
    const state = deriveMessageState(row);
    return c.json(
      {
        id: row.id,
        campaignId: row.campaignId,
        variant: row.variant,
        linkCode: row.linkCode,
        externalId: row.externalId,
        category: row.category,
        registered: row.registeredAt !== null,
        status: state.status,
        sentAt: toIso(state.sentAt),
        deliveredAt: toIso(state.deliveredAt),
        readAt: toIso(state.readAt),
        failedAt: toIso(state.failedAt),
        clickedAt: toIso(state.clickedAt),
        convertedAt: toIso(row.convertedAt),
        inferred: state.inferred,
        errors: row.errors,
        pricing: describePricing(row.pricing),
      },
      200,
    );
  },
);
