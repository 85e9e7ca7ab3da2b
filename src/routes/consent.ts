import { insertConsents } from "../db/consents";
import { hashContact } from "../lib/contact";
import { requireApiKey } from "../middleware/auth";
import { createRoute, createRouter } from "../middleware/validation";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse, toIso } from "../schemas/common";
import { ConsentBody, ConsentRecord } from "../schemas/consent";
import { readContact } from "../schemas/contact";

export const consentRoutes = createRouter();

consentRoutes.openapi(
  createRoute({
    security: bearerSecurity,
    tags: ["Contacts"],
    method: "post",
    path: "/contacts/consent",
    summary: "Record a contact's opt-in or opt-out",
    description:
      "Records are kept as a history; the latest one holds. While it is an opt-out, links for the contact and " +
      "registrations of its messages are refused (409 `opted_out`): every one for an opt-out recorded here, those " +
      "of category `marketing` or `marketing_lite` (or of none: links, registrations without a category) for " +
      "one WhatsApp reported. The contact is stored only as its hash and is not echoed.",
    middleware: [requireApiKey("links:write")],
    request: jsonBody(ConsentBody),
    responses: { 201: jsonResponse(ConsentRecord, "Recorded"), ...errorResponses(400, 401, 403, 415) },
  }),
  async (c) => {
    const { contact, optedIn, source } = c.req.valid("json");
    const { id: workspaceId, settings } = c.var.auth.workspace;
    const contactId = readContact(settings.defaultCountry, contact, ["contact"])!;
    const at = c.var.receivedAt;
    const contactHash = await hashContact(c.env.PII_PEPPER, contactId);
    await insertConsents(c.env.DB, [{ workspaceId, contactHash, optedIn, source, at }], at);
    return c.json({ optedIn, source, recordedAt: toIso(at)! }, 201);
  },
);
