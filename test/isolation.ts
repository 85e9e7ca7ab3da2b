import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { ApiScope } from "../src/db/schema";
import { snapshotRows } from "./db-snapshot";
import { ANDROID_CHROME, callJson, callWorker, createApiKey, createCampaign, createLink, type Json } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, statusBody } from "./whatsapp-helpers";

/** A workspace with one of everything an API key can reach: what another workspace's key must never see. */
export type World = {
  workspaceId: string;
  adminKey: string;
  campaignId: string;
  linkCode: string;
  linkId: string;
  messageId: string;
  clickId: string;
  conversionId: string;
  apiKeyId: string;
  /** An event GA4 forwarding gave up on, in the dead-letter store. */
  ga4EventId: string;
  /** An outbound webhook endpoint, with a failed delivery in its log. */
  webhookId: string;
  keys: Map<string, string>;
};

// A revenue no other test data has: a report that shows it shows this world's conversion.
const REVENUE = "4242.42";

export async function buildWorld(): Promise<World> {
  const { workspaceId, adminKey } = await createWhatsAppWorkspace();
  const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
  const link = await createLink(adminKey, { campaignId: campaign.id, variant: "A", contact: "+351912345678" });
  const messageId = `wamid.${crypto.randomUUID()}`;
  const registered = await callJson("/api/v1/messages", {
    key: adminKey,
    body: { messages: [{ id: messageId, contact: "+351912345678", linkCode: link.code }] },
  });
  expect(registered.status).toBe(200);
  const now = Date.now();
  await deliverWebhook(workspaceId, statusBody({ id: messageId, status: "delivered", at: now - 60_000 }));
  const click = await callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } });
  const clickId = new URL(click.headers.get("location")!).searchParams.get("wa_cid")!;
  const conversion = await callJson("/api/v1/conversions", {
    key: adminKey,
    body: { clickId, event: "purchase", value: REVENUE, currency: "EUR", orderId: `order-${crypto.randomUUID()}` },
  });
  expect(conversion.body.attributedTo?.clickId).toBe(clickId);
  const apiKey = await callJson("/api/v1/api-keys", {
    key: adminKey,
    body: { name: "spare", scopes: ["reports:read"] },
  });
  const ga4EventId = `ga4_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare(
    `INSERT INTO ga4_events (id, workspace_id, kind, subject_id, client_id, consent, event, occurred_at, status,
       attempts, next_at, lease_until, reason, created_at, updated_at)
     VALUES (?1, ?2, 'conversion', ?3, '1.2', '{}', '{"name":"purchase"}', ?4, 'failed', 10, ?4, 0, 'GA4 answered HTTP 503', ?4, ?4)`,
  )
    .bind(ga4EventId, workspaceId, conversion.body.id, now)
    .run();
  // On the local receiver (allowed where the Worker runs for local development), so that nothing leaves the machine.
  const webhook = await callJson("/api/v1/webhooks", {
    key: adminKey,
    body: { url: `${env.TEST_WEBHOOK_RECEIVER}/r/isolation`, events: ["conversion.created"] },
    env: { ...env, ENVIRONMENT: "development" } as Env,
  });
  expect(webhook.status).toBe(201);
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries (id, endpoint_id, workspace_id, type, subject_id, payload, status, attempts, next_at,
       lease_until, response_status, error, created_at, updated_at)
     VALUES (?1, ?2, ?3, 'conversion.created', ?4, '{}', 'failed', 10, ?5, 0, 500, 'Answered HTTP 500', ?5, ?5)`,
  )
    .bind(`msg_${crypto.randomUUID().replaceAll("-", "")}`, webhook.body.id, workspaceId, conversion.body.id, now)
    .run();
  return {
    workspaceId,
    adminKey,
    campaignId: campaign.id,
    linkCode: link.code,
    linkId: link.id,
    messageId,
    clickId,
    conversionId: conversion.body.id,
    apiKeyId: apiKey.body.id,
    ga4EventId,
    webhookId: webhook.body.id,
    keys: new Map(),
  };
}

type Request = { path: string; method?: string; body?: unknown };

export type Operation = {
  /** As the OpenAPI document names it: `GET /api/v1/links/{code}`. */
  operation: string;
  /** The scopes that open it (`admin` opens everything). */
  scopes: ApiScope[];
  /** The request, naming the owner's resources wherever it names any. */
  request: (owner: World) => Request;
  /** What another workspace's key gets for it: it acts in its own workspace, or finds nothing. */
  intruderStatus: number;
};

const REPORT_QUERY = (w: World) => `campaignId=${w.campaignId}&from=2020-01-01`;
const wamidStatus = (w: World) => statusBody({ id: w.messageId, status: "read", at: Date.now() - 1000 });

export const OPERATIONS: Operation[] = [
  {
    operation: "GET /api/v1/workspace",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/workspace" }),
    intruderStatus: 200,
  },
  {
    operation: "PATCH /api/v1/workspace",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/workspace", method: "PATCH", body: { name: "Renamed" } }),
    intruderStatus: 200,
  },
  {
    operation: "POST /api/v1/api-keys",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/api-keys", body: { name: "new", scopes: ["admin"] } }),
    intruderStatus: 201,
  },
  {
    operation: "GET /api/v1/api-keys",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/api-keys" }),
    intruderStatus: 200,
  },
  {
    operation: "DELETE /api/v1/api-keys/{id}",
    scopes: ["admin"],
    request: (w) => ({ path: `/api/v1/api-keys/${w.apiKeyId}`, method: "DELETE" }),
    intruderStatus: 404,
  },
  {
    operation: "POST /api/v1/campaigns",
    scopes: ["links:write"],
    request: () => ({ path: "/api/v1/campaigns", body: { name: "Theirs" } }),
    intruderStatus: 201,
  },
  {
    operation: "GET /api/v1/campaigns",
    scopes: ["links:write", "reports:read"],
    request: () => ({ path: "/api/v1/campaigns" }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/campaigns/{id}",
    scopes: ["links:write", "reports:read"],
    request: (w) => ({ path: `/api/v1/campaigns/${w.campaignId}` }),
    intruderStatus: 404,
  },
  {
    // The same person, erased through another workspace's key: that workspace has no such contact.
    operation: "POST /api/v1/contacts/erase",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/contacts/erase", body: { contact: "+351912345678" } }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/dead-letters",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/dead-letters" }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/ga4/status",
    scopes: ["reports:read"],
    request: () => ({ path: "/api/v1/ga4/status" }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/ga4/failed",
    scopes: ["reports:read"],
    request: () => ({ path: "/api/v1/ga4/failed" }),
    intruderStatus: 200,
  },
  {
    // Naming the owner's failed event: the intruder's workspace has no such event, and replays nothing.
    operation: "POST /api/v1/ga4/replay",
    scopes: ["admin"],
    request: (w) => ({ path: "/api/v1/ga4/replay", body: { ids: [w.ga4EventId] } }),
    intruderStatus: 200,
  },
  {
    // The intruder subscribes its own workspace.
    operation: "POST /api/v1/webhooks",
    scopes: ["admin"],
    request: () => ({
      path: "/api/v1/webhooks",
      body: { url: "https://crm.example.com/other", events: ["link.clicked"] },
    }),
    intruderStatus: 201,
  },
  {
    operation: "GET /api/v1/webhooks",
    scopes: ["admin"],
    request: () => ({ path: "/api/v1/webhooks" }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/webhooks/{id}",
    scopes: ["admin"],
    request: (w) => ({ path: `/api/v1/webhooks/${w.webhookId}` }),
    intruderStatus: 404,
  },
  {
    operation: "DELETE /api/v1/webhooks/{id}",
    scopes: ["admin"],
    request: (w) => ({ path: `/api/v1/webhooks/${w.webhookId}`, method: "DELETE" }),
    intruderStatus: 404,
  },
  {
    operation: "GET /api/v1/webhooks/{id}/deliveries",
    scopes: ["admin"],
    request: (w) => ({ path: `/api/v1/webhooks/${w.webhookId}/deliveries` }),
    intruderStatus: 404,
  },
  {
    operation: "POST /api/v1/webhooks/{id}/replay",
    scopes: ["admin"],
    request: (w) => ({ path: `/api/v1/webhooks/${w.webhookId}/replay`, method: "POST" }),
    intruderStatus: 404,
  },
  {
    operation: "POST /api/v1/links",
    scopes: ["links:write"],
    request: (w) => ({ path: "/api/v1/links", body: { url: "https://shop.example.com/", campaignId: w.campaignId } }),
    intruderStatus: 400,
  },
  {
    operation: "POST /api/v1/links/bulk",
    scopes: ["links:write"],
    request: (w) => ({
      path: "/api/v1/links/bulk",
      body: { url: "https://shop.example.com/", campaignId: w.campaignId, recipients: [{ contact: "+351912345679" }] },
    }),
    intruderStatus: 400,
  },
  {
    operation: "GET /api/v1/links",
    scopes: ["links:write", "reports:read"],
    request: (w) => ({ path: `/api/v1/links?campaignId=${w.campaignId}` }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/links/{code}",
    scopes: ["links:write", "reports:read"],
    request: (w) => ({ path: `/api/v1/links/${w.linkCode}` }),
    intruderStatus: 404,
  },
  {
    operation: "PATCH /api/v1/links/{code}",
    scopes: ["links:write"],
    request: (w) => ({
      path: `/api/v1/links/${w.linkCode}`,
      method: "PATCH",
      body: { url: "https://evil.example.net/" },
    }),
    intruderStatus: 404,
  },
  {
    operation: "DELETE /api/v1/links/{code}",
    scopes: ["links:write"],
    request: (w) => ({ path: `/api/v1/links/${w.linkCode}`, method: "DELETE" }),
    intruderStatus: 404,
  },
  {
    operation: "POST /api/v1/statuses",
    scopes: ["events:write"],
    request: (w) => ({ path: "/api/v1/statuses", body: wamidStatus(w) }),
    intruderStatus: 200,
  },
  {
    operation: "POST /api/v1/messages",
    scopes: ["links:write"],
    request: (w) => ({
      path: "/api/v1/messages",
      body: { messages: [{ id: w.messageId, contact: "+351912345678", linkCode: w.linkCode }] },
    }),
    intruderStatus: 400,
  },
  {
    operation: "POST /api/v1/contacts/consent",
    scopes: ["links:write"],
    request: () => ({
      path: "/api/v1/contacts/consent",
      body: { contact: "+351912345678", optedIn: false, source: "api" },
    }),
    intruderStatus: 201,
  },
  {
    operation: "GET /api/v1/messages/{id}",
    scopes: ["reports:read"],
    request: (w) => ({ path: `/api/v1/messages/${w.messageId}` }),
    intruderStatus: 404,
  },
  {
    operation: "POST /api/v1/conversions",
    scopes: ["events:write"],
    request: (w) => ({ path: "/api/v1/conversions", body: { clickId: w.clickId, event: "lead" } }),
    intruderStatus: 201,
  },
  {
    operation: "POST /api/v1/events",
    scopes: ["events:write"],
    request: (w) => ({
      path: "/api/v1/events",
      body: { events: [{ type: "csat", value: 5, contact: "+351912345678", campaignId: w.campaignId }] },
    }),
    intruderStatus: 400,
  },
  ...["funnel", "metrics", "timeseries", "heatmap"].map((report) => ({
    operation: `GET /api/v1/reports/${report}`,
    scopes: ["reports:read"] as ApiScope[],
    request: (w: World) => ({ path: `/api/v1/reports/${report}?${REPORT_QUERY(w)}` }),
    intruderStatus: 200,
  })),
  {
    operation: "GET /api/v1/reports/ab",
    scopes: ["reports:read"],
    request: (w) => ({ path: `/api/v1/reports/ab?campaignId=${w.campaignId}` }),
    intruderStatus: 404,
  },
  {
    operation: "GET /api/v1/reports/retention",
    scopes: ["reports:read"],
    request: () => ({ path: "/api/v1/reports/retention?start=click&returnOn=any" }),
    intruderStatus: 200,
  },
  {
    operation: "GET /api/v1/reports/breakdown",
    scopes: ["reports:read"],
    request: (w) => ({ path: `/api/v1/reports/breakdown?dimension=link&${REPORT_QUERY(w)}` }),
    intruderStatus: 200,
  },
  {
    // The owner's campaign is no campaign of the intruder's workspace.
    operation: "GET /api/v1/audiences",
    scopes: ["reports:read"],
    request: (w) => ({ path: `/api/v1/audiences?campaignId=${w.campaignId}&stage=converted` }),
    intruderStatus: 400,
  },
  ...["clicks", "conversions", "messages"].map((table) => ({
    operation: `GET /api/v1/export/${table}`,
    scopes: ["reports:read"] as ApiScope[],
    request: (w: World) => ({ path: `/api/v1/export/${table}?format=ndjson&campaignId=${w.campaignId}` }),
    intruderStatus: 200,
  })),
];

/** `METHOD path` of every operation the OpenAPI document says an API key opens. */
export async function documentedKeyOperations(): Promise<string[]> {
  const { body } = await callJson("/api/v1/openapi.json");
  return Object.entries(body.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([, op]) => (op.security ?? []).some((s: Json) => "apiKey" in s))
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
}

async function send(key: string, request: Request) {
  const method = request.method ?? (request.body === undefined ? "GET" : "POST");
  const res = await callWorker(request.path, { key, method, body: request.body });
  return { status: res.status, text: await res.text() };
}

function expectErrorText(text: string, status: number) {
  if (status < 400) return;
  const code = { 400: "invalid_request", 403: "forbidden", 404: "not_found" }[status as 400 | 403 | 404];
  expect(JSON.parse(text)).toEqual({
    error: expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }),
  });
}

/** The owner's identifiers and revenue that a request does not name itself: an answer holding one leaks it. */
function secretsOf(owner: World, request: Request): string[] {
  const named = `${request.path} ${JSON.stringify(request.body ?? null)}`;
  const secrets = [
    owner.workspaceId,
    owner.campaignId,
    owner.linkCode,
    owner.linkId,
    owner.messageId,
    owner.clickId,
    owner.conversionId,
    owner.apiKeyId,
    owner.ga4EventId,
    owner.webhookId,
    REVENUE,
  ];
  return secrets.filter((secret) => !named.includes(secret));
}

/**
 * Runs `op` with the intruder's admin key against the owner's resources: the answer is the expected one,
 * shows nothing of the owner's, and the owner's rows are exactly as they were.
 */
export async function expectIsolated(op: Operation, owner: World, intruder: World) {
  const before = await snapshotRows(owner.workspaceId);
  // The snapshot holds the owner's data, so that comparing it means something.
  expect([before.links, before.clicks, before.conversions, before.messages].map((rows) => rows.length)).toEqual([
    1, 1, 1, 1,
  ]);
  const request = op.request(owner);
  const { status, text } = await send(intruder.adminKey, request);
  expect(status, `${op.operation} ${text.slice(0, 300)}`).toBe(op.intruderStatus);
  expectErrorText(text, status);
  for (const secret of secretsOf(owner, request)) expect(text, `${op.operation} shows ${secret}`).not.toContain(secret);
  expect(await snapshotRows(owner.workspaceId)).toEqual(before);
}

/** The key of `world` whose scopes open nothing that `op` needs. */
async function keyLacking(world: World, op: Operation): Promise<string> {
  const scopes = (["links:write", "events:write", "reports:read"] as const).filter((s) => !op.scopes.includes(s));
  const name = scopes.join(",");
  if (!world.keys.has(name)) world.keys.set(name, await createApiKey(world.adminKey, scopes));
  return world.keys.get(name)!;
}

/** Runs `op` with a key of the owner's own workspace that lacks its scope: 403, and nothing written. */
export async function expectScopeRefused(op: Operation, owner: World) {
  const key = await keyLacking(owner, op);
  const before = await snapshotRows();
  const { status, text } = await send(key, op.request(owner));
  expect(status, `${op.operation} ${text.slice(0, 300)}`).toBe(403);
  expectErrorText(text, status);
  expect(await snapshotRows()).toEqual(before);
}
