import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runQueue } from "./failures";
import { callJson, callWorker, createLink, expectErrorEnvelope } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, getMessage, statusBody, webhookBody } from "./whatsapp-helpers";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

afterEach(() => vi.useRealTimers());

async function count(table: string, workspaceId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE workspace_id = ?`)
    .bind(workspaceId)
    .first<{ n: number }>();
  return row!.n;
}

describe("times in a webhook body", () => {
  // Each is skipped and counted; the status beside them is stored.
  const odd: [string, unknown][] = [
    ["the largest safe integer", 9007199254740991],
    ["zero", 0],
    ["twelve nines (the year 33658)", "999999999999"],
    ["milliseconds instead of seconds", String(Date.now())],
    ["negative", -1],
    ["negative as text", "-1700000000"],
    ["a fraction", 1700000000.5],
    ["not a number", "soon"],
    ["an ISO date", "2026-11-02T09:00:00Z"],
    ["just before 2009", String(Date.UTC(2008, 11, 31, 23, 59, 59) / 1000)],
    ["two days ahead", String(Math.floor((Date.now() + 2 * DAY) / 1000))],
    ["null", null],
  ];

  it.each(odd)("skips a status whose timestamp is %s, and stores the rest", async (_name, timestamp) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const body = webhookBody({
      statuses: [
        { id: "wamid.odd", status: "sent", timestamp, recipient_id: "16505551234" },
        { id: "wamid.fine", status: "sent", timestamp: String(T0 / 1000), recipient_id: "16505551234" },
      ],
    });
    expect(await deliverWebhook(workspaceId, body)).toMatchObject({
      status: 200,
      body: { statuses: 1, messages: 0, consents: 0, skipped: 1 },
    });
    expect((await getMessage(adminKey, "wamid.odd")).status).toBe(404);
    expect((await getMessage(adminKey, "wamid.fine")).body.sentAt).toBe(new Date(T0).toISOString());
  });

  it.each(odd)("skips an inbound message whose timestamp is %s", async (_name, timestamp) => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const body = webhookBody({
      messages: [{ id: "wamid.in", from: "16505551234", timestamp, type: "text", text: { body: "hi" } }],
    });
    expect((await deliverWebhook(workspaceId, body)).body).toEqual({
      statuses: 0,
      messages: 0,
      consents: 0,
      skipped: 1,
    });
    expect(await count("inbound_messages", workspaceId)).toBe(0);
  });

  it("takes the first moment of the workspace's retention period and one day after now, the edges of what may be stored", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    // The default retentionDays (400) starts the period; 2009-01-01 lies before every workspace's.
    const earliest = NOW - 400 * DAY;
    const latest = NOW + DAY;
    const res = await deliverWebhook(
      workspaceId,
      statusBody(
        { id: "wamid.first", status: "sent", at: earliest },
        { id: "wamid.last", status: "sent", at: latest },
        { id: "wamid.before", status: "sent", at: earliest - 1000 },
      ),
    );
    expect(res.body).toEqual({ statuses: 2, messages: 0, consents: 0, skipped: 1 });
    expect((await getMessage(adminKey, "wamid.first")).body.sentAt).toBe(new Date(earliest).toISOString());
    expect((await getMessage(adminKey, "wamid.last")).body.sentAt).toBe(new Date(latest).toISOString());
    expect((await getMessage(adminKey, "wamid.before")).status).toBe(404);
  });

  it("skips a status with an id, callback data or type longer than can be stored", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const at = String(T0 / 1000);
    const body = webhookBody({
      statuses: [
        { id: "w".repeat(257), status: "sent", timestamp: at },
        { id: "wamid.biz", status: "sent", timestamp: at, biz_opaque_callback_data: "b".repeat(513) },
      ],
      messages: [{ id: "wamid.in", from: "16505551234", timestamp: at, type: "t".repeat(65) }],
    });
    expect((await deliverWebhook(workspaceId, body)).body).toEqual({
      statuses: 0,
      messages: 0,
      consents: 0,
      skipped: 3,
    });
    expect(await count("messages", workspaceId)).toBe(0);
  });
});

describe("times given to the API", () => {
  const wrong: [string, string][] = [
    ["before 2009", "2008-12-31T23:59:59Z"],
    ["the year 0", "0000-01-01T00:00:00Z"],
    ["two days ahead", new Date(Date.now() + 2 * DAY).toISOString()],
    ["before the workspace's retention period (400 days)", new Date(Date.now() - 401 * DAY).toISOString()],
    ["not a time", "yesterday"],
    ["epoch milliseconds", "1700000000000"],
  ];

  it.each(wrong)("refuses a message sentAt %s with 400 naming the field, and registers nothing", async (_n, sentAt) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const res = await callJson("/api/v1/messages", {
      key: adminKey,
      body: {
        messages: [
          { id: "wamid.ok", contact: "+14155550123" },
          { id: "wamid.x", contact: "+14155550124", sentAt },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues).toEqual([expect.objectContaining({ path: ["messages", 1, "sentAt"] })]);
    expect(await count("messages", workspaceId)).toBe(0);
  });

  it.each(wrong)("refuses a conversion occurredAt %s with 400, and records nothing", async (_n, occurredAt) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const res = await callJson("/api/v1/conversions", {
      key: adminKey,
      body: { event: "purchase", orderId: "o-1", occurredAt },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([expect.objectContaining({ path: ["occurredAt"] })]);
    expect(await count("conversions", workspaceId)).toBe(0);
  });

  it("accepts a message sent at the first moment of the workspace's retention period", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(NOW);
    const { adminKey } = await createWhatsAppWorkspace();
    const first = new Date(NOW - 400 * DAY).toISOString();
    const res = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.first", contact: "+14155550123", sentAt: first }] },
    });
    expect(res).toMatchObject({ status: 200, body: { registered: 1 } });
    expect((await getMessage(adminKey, "wamid.first")).body.sentAt).toBe(first);
  });
});

describe("times of queued events", () => {
  it("drops a queued status or reply that aged past its workspace's retention period before it was written", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace({ retentionDays: 30 });
    const event = {
      workspaceId,
      contactHash: null,
      aliasHash: null,
      country: null,
      bizOpaque: null,
      errors: null,
      pricing: null,
      isGroup: false,
    };
    const reply = { workspaceId, type: "text", contactHash: null, aliasHash: null, contextId: null };
    const result = await runQueue([
      {
        type: "whatsapp",
        events: {
          statuses: [
            { ...event, messageId: "wamid.aged", status: "sent", at: Date.now() - 31 * DAY },
            { ...event, messageId: "wamid.kept", status: "sent", at: Date.now() - 29 * DAY },
          ],
          inbound: [{ ...reply, id: "wamid.in.aged", at: Date.now() - 31 * DAY }],
          consents: [],
        },
      },
    ]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect((await getMessage(adminKey, "wamid.aged")).status).toBe(404);
    expect((await getMessage(adminKey, "wamid.kept")).status).toBe(200);
    expect(await count("inbound_messages", workspaceId)).toBe(0);
  });
});

describe("reading what was stored before it was checked", () => {
  it("answers the message view, every export and every report without a 5xx", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const link = await createLink(adminKey);
    // Rows as an older version could have stored them: times no date can hold, and damaged JSON.
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO messages (workspace_id, id, sent_at, errors, pricing, created_at)
         VALUES (?1, 'wamid.odd', 9007199254740991, '{"deep":', '[1,2]', ?2)`,
      ).bind(workspaceId, T0),
      env.DB.prepare(
        `INSERT INTO messages (workspace_id, id, delivered_at, read_at, created_at)
         VALUES (?1, 'wamid.early', 0, -5, ?2)`,
      ).bind(workspaceId, T0),
      env.DB.prepare(
        `INSERT INTO messages (workspace_id, id, sent_at, failed_at, errors, pricing, created_at)
         VALUES (?1, 'wamid.far', 999999999999000, 999999999999000, 'null', '"text"', ?2)`,
      ).bind(workspaceId, T0),
      env.DB.prepare(
        `INSERT INTO clicks (id, workspace_id, link_id, kind, is_unique, occurred_at)
         VALUES ('clk-odd', ?1, ?2, 'click', 1, 9007199254740991)`,
      ).bind(workspaceId, link.id),
    ]);

    const message = await getMessage(adminKey, "wamid.odd");
    expect(message.status).toBe(200);
    expect(message.body).toMatchObject({ sentAt: null, errors: null, pricing: null });
    expect((await getMessage(adminKey, "wamid.far")).body).toMatchObject({ errors: null, pricing: null });
    expect((await getMessage(adminKey, "wamid.early")).status).toBe(200);

    const paths = [
      "/api/v1/export/messages",
      "/api/v1/export/messages?format=ndjson",
      "/api/v1/export/clicks",
      "/api/v1/export/clicks?format=ndjson",
      "/api/v1/export/conversions",
      "/api/v1/reports/funnel",
      "/api/v1/reports/funnel?groupBy=variant",
      "/api/v1/reports/metrics",
      "/api/v1/reports/ab",
      "/api/v1/reports/retention",
      "/api/v1/reports/timeseries?metric=sent&interval=day",
      "/api/v1/reports/timeseries?metric=clicks&interval=week",
      "/api/v1/reports/heatmap",
      "/api/v1/reports/breakdown?dimension=country&metric=clicks",
      `/api/v1/links/${link.code}`,
    ];
    for (const path of paths) {
      const res = await callWorker(path, { key: adminKey });
      const text = await res.text();
      expect({ path, status: res.status < 500 ? "answered" : `${res.status} ${text}` }).toEqual({
        path,
        status: "answered",
      });
    }
  });
});
