import * as z from "../schemas/zod";
import type { Db } from "../db/client";
import { findCampaign, variantIssue } from "../db/campaigns";
import {
  findLinkByCode,
  insertLinks,
  listLinks,
  newLinkRow,
  serializeLink,
  updateLinkByCode,
  type NewLink,
} from "../db/links";
import { refuseOptedOut } from "../consent/opt-outs";
import { isNonPublicDestination } from "../lib/destination";
import { ApiError, type ErrorIssue } from "../errors";
import { hashContact } from "../lib/contact";
import { forgetRedirectTarget } from "../db/link-cache";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { rateLimited, withinLimit } from "../middleware/rate-limit";
import { bearerSecurity, errorResponses, jsonBody, jsonResponse } from "../schemas/common";
import { readContact, readContacts } from "../schemas/contact";
import {
  BulkLinksBody,
  BulkLinksResult,
  CreateLinkBody,
  Link,
  LinkList,
  LinkListQuery,
  linkCode,
  UpdateLinkBody,
} from "../schemas/links";

export const linkRoutes = createRouter();

const common = { security: bearerSecurity, tags: ["Links"] };
const write = { ...common, middleware: [requireApiKey("links:write")] };
const read = { ...common, middleware: [requireApiKey("links:write", "reports:read")] };
const codeParam = z.object({ code: linkCode });

async function resolveCampaign(db: Db, workspaceId: string, id: string | undefined) {
  if (id === undefined) return null;
  const campaign = await findCampaign(db, workspaceId, id);
  if (!campaign)
    throw new ApiError("invalid_request", "The request is invalid; see issues.", [
      { path: ["campaignId"], message: "No such campaign in this workspace" },
    ]);
  return campaign;
}

/** Requests that create links, per API key (a bulk request is one). */
async function limitLinkCreation(env: Env, apiKeyId: string) {
  if (!(await withinLimit(env.LINK_CREATION_LIMITER, apiKeyId))) {
    throw rateLimited("This API key has created too many links; try again after Retry-After seconds.");
  }
}

/** Destinations in a private network are refused, except when the Worker runs for local development. */
function refuseNonPublicDestinations(env: Env, destinations: { path: (string | number)[]; url?: string }[]) {
  if (env.ENVIRONMENT === "development") return;
  const issues = destinations
    .filter((d) => d.url !== undefined && isNonPublicDestination(d.url))
    .map((d) => ({ path: d.path, message: "The host is a loopback, private, link-local or metadata address" }));
  if (issues.length > 0) throw new ApiError("invalid_request", "No link was written; see issues.", issues);
}

linkRoutes.openapi(
  createRoute({
    ...write,
    method: "post",
    path: "/links",
    summary: "Create a tracked short link",
    description:
      "A link for a contact whose latest consent record is an opt-out, of any kind (a link counts as marketing), is " +
      "refused with 409 `opted_out`.",
    request: jsonBody(CreateLinkBody),
    responses: { 201: jsonResponse(Link, "The link"), ...errorResponses(400, 401, 403, 409, 415) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    refuseNonPublicDestinations(c.env, [{ path: ["url"], url: body.url }]);
    const contact = readContact(c.var.auth.workspace.settings.defaultCountry, body.contact, ["contact"]);
    await limitLinkCreation(c.env, c.var.auth.apiKeyId);
    const workspaceId = c.var.auth.workspace.id;
    const campaign = await resolveCampaign(c.var.db, workspaceId, body.campaignId);
    const issue = variantIssue(campaign?.variants ?? null, body.variant, ["variant"]);
    if (issue) throw new ApiError("invalid_request", "The request is invalid; see issues.", [issue]);
    const contactHash = contact ? await hashContact(c.env.PII_PEPPER, contact) : null;
    // A link carries no category: it counts as marketing, which any opt-out covers.
    if (contactHash) await refuseOptedOut(c.env.DB, workspaceId, [{ contactHash, category: null, path: ["contact"] }]);
    const row = newLinkRow(workspaceId, { ...body, contactHash }, Date.now());
    if ((await insertLinks(c.env.DB, [row], body.code !== undefined)) === "code_taken") {
      throw new ApiError("conflict", `The code "${body.code}" is already taken.`);
    }
    await forgetRedirectTarget(row.code);
    return c.json(serializeLink(row, new URL(c.req.url).origin), 201);
  },
);

linkRoutes.openapi(
  createRoute({
    ...write,
    method: "post",
    path: "/links/bulk",
    summary: "Create one link per recipient (up to 10,000), all or nothing",
    description:
      "Recipients whose latest consent record is an opt-out refuse the whole request: 409 `opted_out`, with each " +
      "one's index in `issues`, and no link written.",
    request: jsonBody(BulkLinksBody),
    responses: {
      201: jsonResponse(BulkLinksResult, "The links, in input order"),
      ...errorResponses(400, 401, 403, 409, 413, 415),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    refuseNonPublicDestinations(c.env, [
      { path: ["url"], url: body.url },
      ...body.recipients.map((r, i) => ({ path: ["recipients", i, "url"], url: r.url })),
    ]);
    const { defaultCountry } = c.var.auth.workspace.settings;
    const contacts = readContacts(
      defaultCountry,
      body.recipients.map((r) => r.contact),
      (i) => ["recipients", i, "contact"],
    );
    await limitLinkCreation(c.env, c.var.auth.apiKeyId);
    const workspaceId = c.var.auth.workspace.id;
    const campaign = await resolveCampaign(c.var.db, workspaceId, body.campaignId);
    const issues = [
      variantIssue(campaign?.variants ?? null, body.variant, ["variant"]),
      ...body.recipients.map((r, i) =>
        variantIssue(campaign?.variants ?? null, r.variant, ["recipients", i, "variant"]),
      ),
    ].filter((issue): issue is ErrorIssue => issue !== null);
    if (issues.length > 0) throw new ApiError("invalid_request", "No link was created; see issues.", issues);

    const now = Date.now();
    const contactHashes = await Promise.all(contacts.map((contact) => hashContact(c.env.PII_PEPPER, contact)));
    await refuseOptedOut(
      c.env.DB,
      workspaceId,
      contactHashes.map((contactHash, i) => ({ contactHash, category: null, path: ["recipients", i, "contact"] })),
    );
    const rows = body.recipients.map((r, i) =>
      newLinkRow(
        workspaceId,
        {
          url: r.url ?? body.url,
          campaignId: body.campaignId,
          variant: r.variant ?? body.variant,
          contactHash: contactHashes[i],
          messageId: r.messageId,
          externalId: r.externalId,
          utm: body.utm,
          expiresAt: body.expiresAt,
        },
        now,
      ),
    );
    await insertLinks(c.env.DB, rows, false);
    const origin = new URL(c.req.url).origin;
    return c.json({ links: rows.map((row) => serializeLink(row, origin)) }, 201);
  },
);

linkRoutes.openapi(
  createRoute({
    ...read,
    method: "get",
    path: "/links",
    summary: "List links with their live counters, newest first",
    request: { query: LinkListQuery },
    responses: { 200: jsonResponse(LinkList, "A page of links"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const { campaignId, cursor, limit } = c.req.valid("query");
    const page = await listLinks(c.var.db, { workspaceId: c.var.auth.workspace.id, campaignId, cursor, limit });
    const origin = new URL(c.req.url).origin;
    return c.json({ links: page.items.map((r) => serializeLink(r.row, origin)), nextCursor: page.nextCursor }, 200);
  },
);

linkRoutes.openapi(
  createRoute({
    ...read,
    method: "get",
    path: "/links/{code}",
    summary: "One link with its live counters",
    request: { params: codeParam },
    responses: { 200: jsonResponse(Link, "The link"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { code } = c.req.valid("param");
    const row = await findLinkByCode(c.var.db, c.var.auth.workspace.id, code);
    if (!row) throw new ApiError("not_found", `No link ${code} in this workspace.`);
    return c.json(serializeLink(row, new URL(c.req.url).origin), 200);
  },
);

async function updateLink(db: Db, workspaceId: string, code: string, changes: Partial<NewLink>) {
  const row = await updateLinkByCode(db, workspaceId, code, changes);
  if (!row) throw new ApiError("not_found", `No link ${code} in this workspace.`);
  await forgetRedirectTarget(code);
  return row;
}

linkRoutes.openapi(
  createRoute({
    ...write,
    method: "patch",
    path: "/links/{code}",
    summary: "Change a link's destination, expiry, message id, or disable / re-enable it",
    request: { params: codeParam, ...jsonBody(UpdateLinkBody) },
    responses: { 200: jsonResponse(Link, "The updated link"), ...errorResponses(400, 401, 403, 404, 415) },
  }),
  async (c) => {
    const { code } = c.req.valid("param");
    const { disabled, ...changes } = c.req.valid("json");
    refuseNonPublicDestinations(c.env, [{ path: ["url"], url: changes.url }]);
    const row = await updateLink(c.var.db, c.var.auth.workspace.id, code, {
      ...changes,
      ...(disabled === undefined ? {} : { disabledAt: disabled ? Date.now() : null }),
    });
    return c.json(serializeLink(row, new URL(c.req.url).origin), 200);
  },
);

linkRoutes.openapi(
  createRoute({
    ...write,
    method: "delete",
    path: "/links/{code}",
    summary: "Disable a link: it answers 410 from then on, its history stays",
    request: { params: codeParam },
    responses: { 200: jsonResponse(Link, "The disabled link"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { code } = c.req.valid("param");
    const row = await updateLink(c.var.db, c.var.auth.workspace.id, code, { disabledAt: Date.now() });
    return c.json(serializeLink(row, new URL(c.req.url).origin), 200);
  },
);
