import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertDeadLetters } from "../src/db/dead-letters";
import { createDb } from "../src/db/client";
import { forwardToGa4 } from "../src/ga4/forward";
import { forwardToWebhooks } from "../src/webhooks/forward";
import { hashContact } from "../src/lib/contact";
import worker from "../src/index";
import { runQueue } from "./failures";
import {
  ANDROID_CHROME,
  applied,
  callJson,
  callWorker,
  clickRecord,
  createApiKey,
  createCampaign,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
  withoutAsOf,
} from "./helpers";
import { APP_SECRET, createWhatsAppWorkspace, deliverWebhook, statusBody, webhookBody } from "./whatsapp-helpers";

const DAY = 86_400_000;
// Two weeks ago at noon UTC, so that the week and month cohorts hold the contacts' later returns.
const T0 = Math.floor((Date.now() - 14 * DAY) / DAY) * DAY + 12 * 3_600_000;

type Contact = { phone: string; wamid: string; inbound: string };
const ERASED: Contact = { phone: "+16505550111", wamid: "wamid.erase-me", inbound: "wamid.in-erase-me" };
const GA4_MEASUREMENT_ID = "G-ERASURE1";
const KEPT: Contact = { phone: "+16505550222", wamid: "wamid.keep-me", inbound: "wamid.in-keep-me" };

/**
 * A contact's whole history in a workspace: a per-recipient link and its registered message, sent,
 * delivered and read; a human click a day later; a purchase through the click and one named by the
 * contact; a reply a week later; a CSAT answer.
 */
async function history(workspaceId: string, key: string, campaignId: string, contact: Contact) {
  const link = await callJson("/api/v1/links", {
    key,
    body: { url: "https://shop.example.com/", campaignId, contact: contact.phone, externalId: `crm-${contact.phone}` },
  });
  expect(link.status).toBe(201);
  const registered = await callJson("/api/v1/messages", {
    key,
    body: {
      messages: [
        {
          id: contact.wamid,
          contact: contact.phone,
          campaignId,
          linkCode: link.body.code,
          category: "marketing",
          sentAt: new Date(T0).toISOString(),
        },
      ],
    },
  });
  expect(registered.status).toBe(200);
  const consent = await callJson("/api/v1/contacts/consent", {
    key,
    body: { contact: contact.phone, optedIn: true, source: "website" },
  });
  expect(consent.status).toBe(201);
  const recipient = contact.phone.slice(1);
  const statuses = (["sent", "delivered", "read"] as const).map((status, i) => ({
    id: contact.wamid,
    status,
    at: T0 + i * 60_000,
    recipient,
  }));
  expect((await deliverWebhook(workspaceId, statusBody(...statuses))).status).toBe(200);
  const click = await callWorker(`/${link.body.code}`, {
    headers: { "user-agent": ANDROID_CHROME },
    cf: { country: "US" },
  });
  expect(click.status).toBe(302);
  const clickId = new URL(click.headers.get("location")!).searchParams.get("wa_cid");
  expect(clickId).toBeTruthy();
  const purchase = (body: Record<string, unknown>) =>
    callJson("/api/v1/conversions", { key, body: { event: "purchase", value: 10, currency: "EUR", ...body } });
  expect((await purchase({ clickId, orderId: `o1-${contact.wamid}` })).status).toBe(201);
  expect((await purchase({ contact: contact.phone, orderId: `o2-${contact.wamid}` })).status).toBe(201);
  const reply = webhookBody({
    messages: [
      { id: contact.inbound, from: recipient, timestamp: String(Math.floor((T0 + 7 * DAY) / 1000)), type: "text" },
    ],
  });
  expect((await deliverWebhook(workspaceId, reply)).status).toBe(200);
  const csat = await callJson("/api/v1/events", {
    key,
    body: { events: [{ type: "csat", contact: contact.phone, value: 5 }] },
  });
  expect(csat.status).toBe(201);
  return { code: link.body.code as string, clickId: clickId! };
}

async function setUp() {
  // Reports in Berlin time keep a wall-clock copy of the retention rollups, which erasure must reach too.
  // It forwards to GA4, which is down: the contact's clicks and conversions wait to be sent.
  const created = await createWorkspace({
    whatsapp: { appSecret: APP_SECRET },
    timezone: "Europe/Berlin",
    ga4: { measurementId: GA4_MEASUREMENT_ID, apiSecret: "ga4-secret" },
  });
  await fetch(`${env.GA4_ENDPOINT}/__standin/mode?measurement_id=${GA4_MEASUREMENT_ID}`, {
    method: "POST",
    body: JSON.stringify({ status: 503 }),
  });
  // And pushes every change to a CRM's webhook, which logs each delivery.
  const hook = await callJson("/api/v1/webhooks", {
    key: created.adminKey,
    body: {
      url: `${env.TEST_WEBHOOK_RECEIVER}/r/erasure`,
      events: ["link.clicked", "conversion.created", "message.delivered", "message.read", "message.replied"],
    },
    env: { ...env, ENVIRONMENT: "development" } as Env,
  });
  expect(hook.status).toBe(201);
  const a = { ...created, workspaceId: created.workspace.id as string };
  const b = await createWhatsAppWorkspace();
  const campaignA = (await createCampaign(a.adminKey)).id as string;
  const campaignB = (await createCampaign(b.adminKey)).id as string;
  const erased = await history(a.workspaceId, a.adminKey, campaignA, ERASED);
  const kept = await history(a.workspaceId, a.adminKey, campaignA, KEPT);
  // The same person is a contact of another workspace too.
  const elsewhere = await history(b.workspaceId, b.adminKey, campaignB, {
    ...ERASED,
    wamid: "wamid.b",
    inbound: "wamid.in-b",
  });
  await applied();
  await forwardToGa4(env);
  await forwardToWebhooks(env);
  return { a, b, erased, kept, elsewhere };
}

/** Every table's rows that mention `needle` anywhere, as JSON, listed from the schema itself. */
async function rowsMentioning(needle: string): Promise<Record<string, Record<string, unknown>[]>> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  const found: Record<string, Record<string, unknown>[]> = {};
  for (const { name } of tables) {
    const { results } = await env.DB.prepare(`SELECT * FROM "${name}"`).all<Record<string, unknown>>();
    const rows = results.filter((row) => JSON.stringify(row).includes(needle));
    if (rows.length > 0) found[name] = rows;
  }
  return found;
}

/** The workspace ids a workspace's rows are kept under: its own, and its retention copies' rollup ids. */
async function rollupIds(workspaceId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT rollup_id AS id FROM retention_zones WHERE workspace_id = ?1")
    .bind(workspaceId)
    .all<{ id: string }>();
  return [workspaceId, ...results.map((r) => r.id)];
}

function countRows(table: string, workspaceId: string) {
  return env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workspace_id = ?1`)
    .bind(workspaceId)
    .first<number>("n");
}

function erase(key: string, contact: unknown) {
  return callJson("/api/v1/contacts/erase", { key, body: { contact } });
}

function retention(key: string, timezone = "UTC") {
  const from = new Date(T0 - 31 * DAY).toISOString().slice(0, 10);
  return callJson(`/api/v1/reports/retention?period=week&periods=4&from=${from}&returnOn=any&timezone=${timezone}`, {
    key,
  });
}

describe("POST /api/v1/contacts/erase", () => {
  it("erases every row tied to the contact in this workspace, and nothing else", async () => {
    const { a, b, erased, kept } = await setUp();
    const hash = await hashContact(env.PII_PEPPER, ERASED.phone);
    const keptHash = await hashContact(env.PII_PEPPER, KEPT.phone);
    const funnelBefore = withoutAsOf((await callJson("/api/v1/reports/funnel", { key: a.adminKey })).body);
    const retentionBefore = withoutAsOf((await retention(a.adminKey)).body);
    const zonedBefore = withoutAsOf((await retention(a.adminKey, "Europe/Berlin")).body);
    // The contact is in the retention copy before: the test would prove nothing otherwise.
    const aIds = await rollupIds(a.workspaceId);
    const bRows = await rowsMentioning(hash).then((found) =>
      Object.fromEntries(
        Object.entries(found)
          .map(([table, rows]) => [table, rows.filter((r) => !aIds.includes(r.workspace_id as string))] as const)
          // Tables only this workspace had rows of (its events on their way to GA4).
          .filter(([, rows]) => rows.length > 0),
      ),
    );
    expect(aIds.length).toBe(2);
    expect((await rowsMentioning(hash)).retention_contacts?.map((r) => r.workspace_id).sort()).toEqual(
      [...aIds, b.workspaceId].sort(),
    );

    // And in its campaign's retention, in both workspaces.
    expect((await rowsMentioning(hash)).retention_scope_contacts?.map((r) => r.workspace_id).sort()).toEqual(
      [a.workspaceId, b.workspaceId].sort(),
    );

    // And on its way to GA4.
    expect((await rowsMentioning(hash)).ga4_events?.map((r) => r.workspace_id)).toEqual([
      a.workspaceId,
      a.workspaceId,
      a.workspaceId,
    ]);

    // And in the count of contacts sent marketing, for the opt-out rate.
    expect((await rowsMentioning(hash)).marketing_quarters?.map((r) => r.workspace_id)).toContain(a.workspaceId);

    // And in the log of the CRM's webhook.
    const deliveries = (await rowsMentioning(hash)).webhook_deliveries?.length ?? 0;
    expect(deliveries).toBeGreaterThanOrEqual(5);

    const res = await erase(a.adminKey, "+1 (650) 555-0111");
    expect(res.status).toBe(200);
    expect(res.body.erased).toEqual({
      messages: 1,
      inboundMessages: 1,
      clicks: 1,
      conversions: 2,
      contactEvents: 1,
      links: 1,
      outboxEntries: expect.any(Number),
      deadLetters: 0,
      consents: 1,
      // The click and the two purchases.
      ga4Events: 3,
      webhookDeliveries: deliveries,
      // Its starts in UTC, in the zone's wall-clock copy, and in its campaign.
      retentionContacts: 3,
    });
    // The click, the two conversions, the reply, the event, the message's changes and its steps.
    expect(res.body.erased.outboxEntries).toBeGreaterThanOrEqual(9);

    // Whatever still mentions the contact's hash belongs to the other workspace, unchanged.
    const after = await rowsMentioning(hash);
    const bIds = await rollupIds(b.workspaceId);
    // Only the erasure itself is remembered, for queued work about the contact, until it expires.
    expect(after.contact_erasures?.map((r) => r.workspace_id)).toEqual([a.workspaceId]);
    delete after.contact_erasures;
    const leftBehind = Object.entries(after).flatMap(([table, rows]) =>
      rows.filter((row) => !bIds.includes(row.workspace_id as string)).map((row) => ({ table, row })),
    );
    expect(leftBehind).toEqual([]);
    expect(after).toEqual(bRows);
    // Nor do the message's, the reply's or the click's ids appear anywhere.
    for (const id of [ERASED.wamid, ERASED.inbound, erased.clickId, `crm-${ERASED.phone}`]) {
      const inA = Object.values(await rowsMentioning(id)).flatMap((rows) =>
        rows.filter((row) => !bIds.includes(row.workspace_id as string)),
      );
      expect({ id, rows: inA }).toEqual({ id, rows: [] });
    }
    // The other contact of the workspace is untouched.
    expect(Object.keys(await rowsMentioning(keptHash)).length).toBeGreaterThan(3);
    expect(await rowsMentioning(kept.clickId)).not.toEqual({});

    // Totals that hold no contact stay; retention no longer counts the contact, in UTC or Berlin time.
    expect(withoutAsOf((await callJson("/api/v1/reports/funnel", { key: a.adminKey })).body)).toEqual(funnelBefore);
    for (const [before, timezone] of [
      [retentionBefore, "UTC"],
      [zonedBefore, "Europe/Berlin"],
    ] as const) {
      const now = withoutAsOf((await retention(a.adminKey, timezone)).body);
      const size = (report: typeof now) => report.cohorts.reduce((n: number, c: { size: number }) => n + c.size, 0);
      expect(size(before)).toBe(2);
      expect(size(now)).toBe(1);
      const returned = (report: typeof now) =>
        report.cohorts.flatMap((c: { values: { period: number; count: number }[] }) =>
          c.values.filter((v) => v.period > 0).map((v) => v.count),
        );
      // Each came back in the week after (the reply) and two weeks after (the click and purchases).
      expect(returned(before).reduce((x: number, y: number) => x + y, 0)).toBe(4);
      expect(returned(now).reduce((x: number, y: number) => x + y, 0)).toBe(2);
    }

    // The per-day counts of that chain still describe the rows left: the other contact's alone.
    const chain = await env.DB.prepare(
      `SELECT (SELECT SUM(quarters) FROM marketing_days WHERE workspace_id = ?1) AS days,
        (SELECT SUM(quarters) FROM marketing_day_pairs WHERE workspace_id = ?1) AS pairs,
        (SELECT COUNT(*) FROM marketing_quarters WHERE workspace_id = ?1) AS quarters`,
    )
      .bind(a.workspaceId)
      .first();
    expect(chain).toEqual({ days: 1, pairs: 1, quarters: 1 });

    // The contact's link keeps redirecting, no longer tied to anyone; a new click is not the contact's.
    const link = await callJson(`/api/v1/links/${erased.code}`, { key: a.adminKey });
    expect(link.body).toMatchObject({ code: erased.code, externalId: null, clicks: 1, conversions: 2 });
    expect((await callWorker(`/${erased.code}`, { headers: { "user-agent": ANDROID_CHROME } })).status).toBe(302);
    const newClicks = (await rowsMentioning(hash)).clicks ?? [];
    expect(newClicks.filter((r) => r.workspace_id === a.workspaceId)).toEqual([]);

    // Erasing again finds nothing more.
    const again = await erase(a.adminKey, ERASED.phone);
    expect(again.status).toBe(200);
    expect(Object.values(again.body.erased).every((n) => n === 0)).toBe(true);
  });

  it("answers zero counts for an unknown contact, and changes nothing", async () => {
    const { a } = await setUp();
    const before = await rowsMentioning(a.workspaceId);
    const res = await erase(a.adminKey, "+4915199887766");
    expect(res.status).toBe(200);
    expect(res.body.erased).toEqual({
      messages: 0,
      inboundMessages: 0,
      clicks: 0,
      conversions: 0,
      contactEvents: 0,
      links: 0,
      outboxEntries: 0,
      deadLetters: 0,
      consents: 0,
      ga4Events: 0,
      webhookDeliveries: 0,
      retentionContacts: 0,
    });
    const after = await rowsMentioning(a.workspaceId);
    // The erasure is remembered (for queued work), and the key that asked was used.
    for (const table of ["contact_erasures", "api_keys"]) {
      delete before[table];
      delete after[table];
    }
    for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
      expect({ table, rows: after[table] }).toEqual({ table, rows: before[table] });
    }
  });

  it("erases in chunks: a long history goes whole", async () => {
    const a = await createWhatsAppWorkspace();
    // 2,500 statuses of 2,500 messages to the contact: more than two chunks of messages.
    const statuses = Array.from({ length: 2_500 }, (_, i) => ({
      id: `wamid.many-${i}`,
      status: "sent",
      at: T0 + i * 1_000,
      recipient: ERASED.phone.slice(1),
    }));
    for (let i = 0; i < statuses.length; i += 500) {
      expect((await deliverWebhook(a.workspaceId, statusBody(...statuses.slice(i, i + 500)))).status).toBe(200);
    }
    const res = await erase(a.adminKey, ERASED.phone);
    expect(res.status).toBe(200);
    expect(res.body.erased.messages).toBe(2_500);
    expect(await countRows("messages", a.workspaceId)).toBe(0);
  });

  it("erases the contact's dead letters", async () => {
    const a = await createWhatsAppWorkspace();
    const hash = await hashContact(env.PII_PEPPER, ERASED.phone);
    const other = await hashContact(env.PII_PEPPER, KEPT.phone);
    const letter = (contactHash: string) => ({
      workspaceId: a.workspaceId,
      kind: "status" as const,
      reason: "refused",
      payload: { workspaceId: a.workspaceId, messageId: "wamid.dead", contactHash },
    });
    await insertDeadLetters(createDb(env.DB), [letter(hash), letter(other)]);
    const res = await erase(a.adminKey, ERASED.phone);
    expect(res.body.erased.deadLetters).toBe(1);
    const { results } = await env.DB.prepare("SELECT payload FROM dead_letters WHERE workspace_id = ?1")
      .bind(a.workspaceId)
      .all<{ payload: string }>();
    expect(results.map((r) => JSON.parse(r.payload).contactHash)).toEqual([other]);
  });

  it("drops queued work about the contact recorded before the erasure, and keeps what came after", async () => {
    const a = await createWhatsAppWorkspace();
    const link = await callJson("/api/v1/links", { key: a.adminKey, body: { url: "https://shop.example.com/" } });
    const hash = await hashContact(env.PII_PEPPER, ERASED.phone);
    expect((await erase(a.adminKey, ERASED.phone)).status).toBe(200);
    const before = clickRecord(a.workspaceId, link.body.id, { contactHash: hash, occurredAt: Date.now() - 60_000 });
    const later = clickRecord(a.workspaceId, link.body.id, { contactHash: hash, occurredAt: Date.now() + 1_000 });
    const stranger = clickRecord(a.workspaceId, link.body.id, { occurredAt: Date.now() - 60_000 });
    const status = {
      workspaceId: a.workspaceId,
      messageId: "wamid.queued",
      status: "sent" as const,
      at: Date.now() - 60_000,
      contactHash: hash,
      aliasHash: null,
      country: "US",
      bizOpaque: null,
      errors: null,
      pricing: null,
      isGroup: false,
    };
    const result = await runQueue([
      { type: "click", click: before },
      { type: "click", click: later },
      { type: "click", click: stranger },
      { type: "whatsapp", events: { statuses: [status], inbound: [], consents: [] } },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["msg-0", "msg-1", "msg-2", "msg-3"]);
    const { results } = await env.DB.prepare("SELECT id FROM clicks WHERE workspace_id = ?1 ORDER BY id")
      .bind(a.workspaceId)
      .all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual([later.id, stranger.id].sort());
    const message = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE id = 'wamid.queued'").first<number>(
      "n",
    );
    expect(message).toBe(0);
  });

  it("needs an admin key and a readable contact, in the body", async () => {
    const a = await createWhatsAppWorkspace();
    const writer = await createApiKey(a.adminKey, ["links:write"]);
    const forbidden = await erase(writer, ERASED.phone);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual(expectErrorEnvelope("forbidden"));
    expect((await erase("", ERASED.phone)).status).toBe(401);
    for (const contact of ["not a phone", 42, null, "0151 99887766"]) {
      const res = await erase(a.adminKey, contact);
      expect(res.status).toBe(400);
      expect(issuePaths(res.body)).toContainEqual(["contact"]);
    }
    const extra = await callJson("/api/v1/contacts/erase", { key: a.adminKey, body: { contact: ERASED.phone, x: 1 } });
    expect(extra.status).toBe(400);
    expect(await countRows("contact_erasures", a.workspaceId)).toBe(0);
  });

  it("forgets an erasure once the queue can no longer hold work about the contact", async () => {
    const a = await createWhatsAppWorkspace();
    const now = Date.now();
    await env.DB.prepare("INSERT INTO contact_erasures VALUES (?1, 'old', ?2), (?1, 'recent', ?3)")
      .bind(a.workspaceId, now - 15 * DAY - 1, now - 14 * DAY)
      .run();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "17 3 * * *" }), env);
    const { results } = await env.DB.prepare("SELECT contact_hash FROM contact_erasures WHERE workspace_id = ?1")
      .bind(a.workspaceId)
      .all<{ contact_hash: string }>();
    expect(results.map((r) => r.contact_hash)).toEqual(["recent"]);
  });
});
