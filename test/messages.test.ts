import { env } from "cloudflare:test";
import { breakWrites, repairWrites, runQueue } from "./failures";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueueMessage } from "../src/schemas/queue";
import {
  callJson,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
} from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, getMessage, statusBody } from "./whatsapp-helpers";

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

function register(key: string, messages: unknown[]) {
  return callJson("/api/v1/messages", { key, body: { messages } });
}

function messageRows(workspaceId: string) {
  return env.DB.prepare("SELECT * FROM messages WHERE workspace_id = ?1 ORDER BY id")
    .bind(workspaceId)
    .all()
    .then((r) => r.results);
}

function messageCount(workspaceId: string) {
  return env.DB.prepare("SELECT count(*) AS n FROM messages WHERE workspace_id = ?1")
    .bind(workspaceId)
    .first<number>("n");
}

function inboundRows(workspaceId: string) {
  return env.DB.prepare(
    "SELECT id, contact_hash, context_id, type, occurred_at FROM inbound_messages WHERE workspace_id = ?1 ORDER BY id",
  )
    .bind(workspaceId)
    .all()
    .then((r) => r.results);
}

describe("POST /api/v1/messages", () => {
  it("registers 10,000 messages in one request, and the same request again changes nothing", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const messages = Array.from({ length: 10_000 }, (_, i) => ({
      id: `wamid.bulk-${String(i).padStart(5, "0")}`,
      contact: `+1 415 555 ${String(i).padStart(4, "0")}`,
      campaignId: campaign.id,
      variant: i % 2 === 0 ? "A" : "B",
      category: "marketing",
      sentAt: iso(T0 + i * 1000),
    }));

    const first = await register(adminKey, messages);
    expect(first).toMatchObject({ status: 200, body: { registered: 10_000 } });
    const rows = await messageRows(workspace.id);
    expect(rows).toHaveLength(10_000);
    expect(rows[9_999]).toMatchObject({
      id: "wamid.bulk-09999",
      campaign_id: campaign.id,
      variant: "B",
      category: "marketing",
      sent_at: T0 + 9_999_000,
      registered_at: expect.any(Number),
    });
    expect(new Set(rows.map((r) => r.contact_hash)).size).toBe(10_000);

    const again = await register(adminKey, messages);
    expect(again).toMatchObject({ status: 200, body: { registered: 10_000 } });
    expect(await messageRows(workspace.id)).toEqual(rows);
  }, 60_000);

  it("shows a registered message with its campaign, variant, link, category and send time", async () => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "A" });
    const res = await register(adminKey, [
      {
        id: "wamid.one",
        contact: "+14155550123",
        campaignId: campaign.id,
        variant: "A",
        linkCode: link.code,
        category: "marketing",
        externalId: "crm-42",
        sentAt: "2026-06-01T11:00:00+02:00",
      },
    ]);
    expect(res).toEqual({ status: 200, body: { registered: 1 }, headers: expect.anything() });
    expect((await getMessage(adminKey, "wamid.one")).body).toEqual({
      id: "wamid.one",
      campaignId: campaign.id,
      variant: "A",
      linkCode: link.code,
      externalId: "crm-42",
      category: "marketing",
      registered: true,
      status: "sent",
      sentAt: "2026-06-01T09:00:00.000Z",
      deliveredAt: null,
      readAt: null,
      failedAt: null,
      clickedAt: null,
      convertedAt: null,
      inferred: [],
      errors: null,
      pricing: null,
    });
  });

  it("counts an id given twice in one request once, keeping its first entry", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const res = await register(adminKey, [
      { id: "wamid.twice", contact: "+14155550123", campaignId: campaign.id, variant: "A" },
      { id: "wamid.other", contact: "+14155550124" },
      { id: "wamid.twice", contact: "+14155550125", campaignId: campaign.id, variant: "B" },
    ]);
    expect(res.body).toEqual({ registered: 2 });
    expect(await messageCount(workspace.id)).toBe(2);
    expect((await getMessage(adminKey, "wamid.twice")).body).toMatchObject({ variant: "A" });
  });

  it("lists an invalid contact by its index and registers nothing", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await register(adminKey, [
      { id: "wamid.ok", contact: "+14155550123" },
      { id: "wamid.ok2", contact: "user.abc123" },
      { id: "wamid.bad", contact: "call me maybe" },
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([["messages", 2, "contact"]]);
    expect(await messageCount(workspace.id)).toBe(0);
  });

  it("lists an unknown campaign, an unknown link and a variant outside its campaign by index, and registers nothing", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const res = await register(adminKey, [
      { id: "wamid.ok", contact: "+14155550123", campaignId: campaign.id, variant: "A" },
      { id: "wamid.1", contact: "+14155550123", campaignId: "cmp_nope" },
      { id: "wamid.2", contact: "+14155550123", linkCode: "nope-nope" },
      { id: "wamid.3", contact: "+14155550123", campaignId: campaign.id, variant: "C" },
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body).sort()).toEqual(
      [
        ["messages", 1, "campaignId"],
        ["messages", 2, "linkCode"],
        ["messages", 3, "variant"],
      ].sort(),
    );
    expect(await messageCount(workspace.id)).toBe(0);
  });

  it("refuses more than 10,000 messages in one request and registers nothing", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const messages = Array.from({ length: 10_001 }, (_, i) => ({ id: `wamid.${i}`, contact: "+14155550123" }));
    const res = await register(adminKey, messages);
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([["messages"]]);
    expect(await messageCount(workspace.id)).toBe(0);
  });

  it.each([
    ["no messages", { messages: [] }, ["messages"]],
    ["an unknown field", { messages: [{ id: "wamid.x", contact: "+14155550123", colour: "red" }] }, ["messages", 0]],
    ["no id", { messages: [{ contact: "+14155550123" }] }, ["messages", 0, "id"]],
    [
      "a send time that is not ISO 8601",
      { messages: [{ id: "w", contact: "+14155550123", sentAt: "yesterday" }] },
      ["messages", 0, "sentAt"],
    ],
  ])("refuses %s with 400", async (_, body, path) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/messages", { key: adminKey, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toContainEqual(path);
    expect(await messageCount(workspace.id)).toBe(0);
  });

  it("lets a message registered with only a link code inherit the link's campaign and variant", async () => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B" });
    await register(adminKey, [
      { id: "wamid.inherits", contact: "+14155550123", linkCode: link.code },
      { id: "wamid.overrides", contact: "+14155550123", linkCode: link.code, variant: "A" },
    ]);
    expect((await getMessage(adminKey, "wamid.inherits")).body).toMatchObject({
      campaignId: campaign.id,
      variant: "B",
      linkCode: link.code,
    });
    expect((await getMessage(adminKey, "wamid.overrides")).body).toMatchObject({
      campaignId: campaign.id,
      variant: "A",
      linkCode: link.code,
    });
  });

  it("refuses a variant outside the campaign of the link it inherits from, and registers nothing", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B" });
    const res = await register(adminKey, [
      { id: "wamid.z", contact: "+14155550123", linkCode: link.code, variant: "Z" },
    ]);
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([["messages", 0, "variant"]]);
    expect(await messageCount(workspace.id)).toBe(0);
  });

  it("refuses another workspace's campaign and link as unknown", async () => {
    const other = await createWorkspace();
    const otherCampaign = await createCampaign(other.adminKey);
    const otherLink = await createLink(other.adminKey, { campaignId: otherCampaign.id });
    const { workspace, adminKey } = await createWorkspace();
    const res = await register(adminKey, [
      { id: "wamid.1", contact: "+14155550123", campaignId: otherCampaign.id },
      { id: "wamid.2", contact: "+14155550123", linkCode: otherLink.code },
    ]);
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([
      ["messages", 0, "campaignId"],
      ["messages", 1, "linkCode"],
    ]);
    expect(await messageCount(workspace.id)).toBe(0);
    expect(await messageCount(other.workspace.id)).toBe(0);
  });

  it("needs a links:write key: reports:read and events:write keys get 403, no key gets 401", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const body = { messages: [{ id: "wamid.scoped", contact: "+14155550123" }] };
    const reader = await createApiKey(adminKey, ["reports:read"]);
    const events = await createApiKey(adminKey, ["events:write"]);
    const writer = await createApiKey(adminKey, ["links:write"]);

    expect(await callJson("/api/v1/messages", { key: reader, body })).toMatchObject({
      status: 403,
      body: expectErrorEnvelope("forbidden"),
    });
    expect(await callJson("/api/v1/messages", { key: events, body })).toMatchObject({
      status: 403,
      body: expectErrorEnvelope("forbidden"),
    });
    expect(await callJson("/api/v1/messages", { body })).toMatchObject({
      status: 401,
      body: expectErrorEnvelope("unauthorized"),
    });
    expect(await messageCount(workspace.id)).toBe(0);
    expect(await callJson("/api/v1/messages", { key: writer, body })).toMatchObject({
      status: 200,
      body: { registered: 1 },
    });
  });
});

describe("GET /api/v1/messages/:id", () => {
  it("answers 404 with the error envelope for an unknown message", async () => {
    const { adminKey } = await createWorkspace();
    const res = await getMessage(adminKey, "wamid.unknown");
    expect(res.status).toBe(404);
    expect(res.body).toEqual(expectErrorEnvelope("not_found"));
  });

  it("answers 404 for another workspace's message, registered or known from a webhook", async () => {
    const other = await createWhatsAppWorkspace();
    await register(other.adminKey, [{ id: "wamid.theirs", contact: "+14155550123" }]);
    await deliverWebhook(other.workspaceId, statusBody({ id: "wamid.theirs-too", status: "sent", at: T0 }));
    const { adminKey } = await createWorkspace();
    for (const id of ["wamid.theirs", "wamid.theirs-too"]) {
      expect((await getMessage(other.adminKey, id)).status).toBe(200);
      const res = await getMessage(adminKey, id);
      expect(res.status).toBe(404);
      expect(res.body).toEqual(expectErrorEnvelope("not_found"));
    }
  });

  it("finds a message whose wamid holds the base64 characters /, + and = when the id is URL-encoded", async () => {
    const { adminKey } = await createWorkspace();
    const id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFER/g0NDEzNDdFODU3+UMxMAA=";
    await register(adminKey, [{ id, contact: "+14155550123" }]);
    const res = await getMessage(adminKey, id);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id);
  });

  it("needs a reports:read key", async () => {
    const { adminKey } = await createWorkspace();
    await register(adminKey, [{ id: "wamid.read-me", contact: "+14155550123" }]);
    const writer = await createApiKey(adminKey, ["links:write"]);
    const reader = await createApiKey(adminKey, ["reports:read"]);
    expect(await getMessage(writer, "wamid.read-me")).toMatchObject({
      status: 403,
      body: expectErrorEnvelope("forbidden"),
    });
    expect((await getMessage(reader, "wamid.read-me")).status).toBe(200);
  });
});

// A status webhook with three statuses of one message and a reply to it, as Meta sends it.
const RELAYED = {
  object: "whatsapp_business_account",
  entry: [
    {
      id: "102290129340398",
      changes: [
        {
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
            statuses: [
              {
                id: "wamid.relayed",
                status: "read",
                timestamp: String((T0 + 2 * MIN) / 1000),
                recipient_id: "16505551234",
              },
              {
                id: "wamid.relayed",
                status: "sent",
                timestamp: String(T0 / 1000),
                recipient_id: "16505551234",
                pricing: { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" },
              },
              {
                id: "wamid.relayed",
                status: "failed",
                timestamp: String((T0 + MIN) / 1000),
                recipient_id: "16505551234",
                errors: [{ code: 131026, title: "Message undeliverable" }],
              },
            ],
            messages: [
              {
                from: "16505551234",
                id: "wamid.reply",
                timestamp: String((T0 + 3 * MIN) / 1000),
                type: "text",
                text: { body: "Yes please" },
                context: { from: "15550783881", id: "wamid.relayed" },
              },
            ],
          },
        },
      ],
    },
  ],
};

const RELAYED_STATE = {
  id: "wamid.relayed",
  campaignId: null,
  variant: null,
  linkCode: null,
  externalId: null,
  category: null,
  registered: false,
  status: "read",
  sentAt: iso(T0),
  deliveredAt: iso(T0 + 2 * MIN),
  readAt: iso(T0 + 2 * MIN),
  failedAt: iso(T0 + MIN),
  clickedAt: null,
  convertedAt: null,
  inferred: ["delivered"],
  errors: [{ code: 131026, title: "Message undeliverable" }],
  pricing: { pricingModel: "PMP", type: "regular", category: "marketing" },
};

describe("POST /api/v1/statuses", () => {
  it("stores a relayed webhook body exactly as the signed webhook would", async () => {
    const relayed = await createWorkspace();
    const key = await createApiKey(relayed.adminKey, ["events:write"]);
    const res = await callJson("/api/v1/statuses", { key, body: RELAYED });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ statuses: 3, messages: 1, consents: 0, skipped: 0 });

    const signed = await createWhatsAppWorkspace();
    expect((await deliverWebhook(signed.workspaceId, RELAYED)).body).toEqual(res.body);

    const viaRelay = await getMessage(relayed.adminKey, "wamid.relayed");
    expect(viaRelay.body).toEqual(RELAYED_STATE);
    expect((await getMessage(signed.adminKey, "wamid.relayed")).body).toEqual(viaRelay.body);
    expect(await inboundRows(relayed.workspace.id)).toEqual(await inboundRows(signed.workspaceId));
    expect(await inboundRows(relayed.workspace.id)).toEqual([
      expect.objectContaining({
        id: "wamid.reply",
        type: "text",
        context_id: "wamid.relayed",
        occurred_at: T0 + 3 * MIN,
      }),
    ]);
  });

  it("needs an events:write key: none gets 401, a links:write key gets 403", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const linksOnly = await createApiKey(adminKey, ["links:write"]);
    expect(await callJson("/api/v1/statuses", { body: RELAYED })).toMatchObject({
      status: 401,
      body: expectErrorEnvelope("unauthorized"),
    });
    expect(await callJson("/api/v1/statuses", { key: linksOnly, body: RELAYED })).toMatchObject({
      status: 403,
      body: expectErrorEnvelope("forbidden"),
    });
    expect(await messageCount(workspace.id)).toBe(0);
  });

  it("refuses a body that is not JSON with 400, one not sent as JSON with 415, and one that is no webhook with 400", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["events:write"]);
    expect(await callJson("/api/v1/statuses", { key, body: "{not json" })).toMatchObject({
      status: 400,
      body: expectErrorEnvelope("invalid_json"),
    });
    expect(
      await callJson("/api/v1/statuses", {
        key,
        body: JSON.stringify(RELAYED),
        headers: { "content-type": "text/plain" },
      }),
    ).toMatchObject({ status: 415, body: expectErrorEnvelope("unsupported_media_type") });
    expect(await callJson("/api/v1/statuses", { key, body: { hello: "world" } })).toMatchObject({
      status: 400,
      body: expectErrorEnvelope("invalid_request"),
    });
    expect(await messageCount(workspace.id)).toBe(0);
  });
});

describe("webhook durability when D1 fails", () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    await repairWrites("messages");
  });

  it("still answers 200, queues the events, and the queue consumer lands them once D1 is back", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const queued: QueueMessage[] = [];
    const sendBatch = env.EVENTS.sendBatch.bind(env.EVENTS);
    const spy = vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages, options) => {
      queued.push(...[...messages].map((m) => m.body as QueueMessage));
      return sendBatch(messages, options);
    });
    await breakWrites("messages");

    const res = await deliverWebhook(workspaceId, RELAYED);
    expect(res).toMatchObject({ status: 200, body: { statuses: 3, messages: 1, consents: 0, skipped: 0 } });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(queued).toEqual([
      {
        type: "whatsapp",
        events: {
          statuses: [
            expect.objectContaining({ workspaceId, messageId: "wamid.relayed", status: "read", at: T0 + 2 * MIN }),
            expect.objectContaining({ workspaceId, messageId: "wamid.relayed", status: "sent", at: T0 }),
            expect.objectContaining({ workspaceId, messageId: "wamid.relayed", status: "failed", at: T0 + MIN }),
          ],
          inbound: [expect.objectContaining({ workspaceId, id: "wamid.reply", contextId: "wamid.relayed" })],
          consents: [],
        },
      },
    ]);
    // Nothing reached D1: the batch with the inbound message failed as a whole.
    expect((await getMessage(adminKey, "wamid.relayed")).status).toBe(404);
    expect(await inboundRows(workspaceId)).toEqual([]);

    // While D1 still fails, the consumer asks for a retry rather than dropping the events.
    const failed = await runQueue(queued);
    expect(failed.retryMessages).toEqual([expect.objectContaining({ msgId: "msg-0" })]);
    expect(failed.explicitAcks).toEqual([]);

    await repairWrites("messages");
    const landed = await runQueue(queued);
    expect(landed.explicitAcks).toEqual(["msg-0"]);
    expect(landed.retryMessages).toEqual([]);
    expect((await getMessage(adminKey, "wamid.relayed")).body).toEqual(RELAYED_STATE);
    expect(await inboundRows(workspaceId)).toEqual([
      expect.objectContaining({ id: "wamid.reply", type: "text", context_id: "wamid.relayed" }),
    ]);

    // Landing the same queued events again (a redelivery) changes nothing.
    const before = await messageRows(workspaceId);
    expect((await runQueue(queued)).explicitAcks).toEqual(["msg-0"]);
    expect(await messageRows(workspaceId)).toEqual(before);
  });

  it("answers 500 so that Meta retries when neither D1 nor the queue can take the events", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    vi.spyOn(env.EVENTS, "sendBatch").mockRejectedValue(new Error("queue unavailable"));
    await breakWrites("messages");

    const res = await deliverWebhook(workspaceId, RELAYED);
    expect(res.status).toBe(500);
    expect(res.body).toEqual(expectErrorEnvelope("internal_error"));

    // Meta's retry, once D1 is back, stores everything.
    vi.restoreAllMocks();
    await repairWrites("messages");
    const retry = await deliverWebhook(workspaceId, RELAYED);
    expect(retry).toMatchObject({ status: 200, body: { statuses: 3, messages: 1, consents: 0, skipped: 0 } });
    expect((await getMessage(adminKey, "wamid.relayed")).body).toEqual(RELAYED_STATE);
  });
});
