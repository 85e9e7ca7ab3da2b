import { eraseContact } from "../contacts/erasure";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from "../schemas/common";
import { readContacts } from "../schemas/contact";
import { EraseContactRequest, EraseContactResult } from "../schemas/erasure";

export const erasureRoutes = createRouter();

// The contact travels in the body, never in the URL: the platform logs URLs.
erasureRoutes.openapi(
  createRoute({
    method: "post",
    path: "/contacts/erase",
    summary: "Erase everything tied to a contact in this workspace",
    description:
      "Deletes the contact's messages, inbound messages, clicks, conversions, events, outbox and dead-letter entries, and takes it out of the retention rollups; its per-recipient links are unlinked and keep redirecting. Queued work about it recorded before now is dropped when delivered. Totals that hold no contact stay. An unknown contact answers zero counts.",
    security: bearerSecurity,
    middleware: [requireApiKey("admin")],
    tags: ["Contacts"],
    request: jsonBody(EraseContactRequest),
    responses: { 200: jsonResponse(EraseContactResult, "What was erased, per kind"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const workspace = c.var.auth.workspace;
    const { contact } = c.req.valid("json");
    const [contactId] = readContacts(workspace.settings.defaultCountry, [contact], () => ["contact"]);
    const erased = await eraseContact(c.env, workspace.id, contactId ?? "");
    return c.json({ erased }, 200);
  },
);
