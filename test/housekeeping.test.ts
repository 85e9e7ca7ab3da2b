import { createScheduledController, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { insertClicks } from "../src/db/clicks";
import { createDb } from "../src/db/client";
import { insertDeadLetters } from "../src/db/dead-letters";
import { EXPIRED_MESSAGES_SQL, EXPIRING_TABLES, expiredRowsSql } from "../src/db/housekeeping";
import { DELETE_CHUNK, housekeepInTurns, housekeepingTurn } from "../src/housekeeping/purge";
import type { QueueMessage } from "../src/schemas/queue";
import { hashContact } from "../src/lib/contact";
import worker from "../src/index";
import { runQueue } from "./failures";
import { callJson, callWorker, clickRecord, createCampaign, createLink, createWorkspace, withoutAsOf } from "./helpers";
import { DAY, MINUTE, phone, statusesBody, waId } from "./retention-model";
import { APP_SECRET, deliverWebhook, VERIFY_TOKEN } from "./whatsapp-helpers";

const DAILY = "17 3 * * *";
const NOW = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const isoDay = (ms: number) => iso(ms).slice(0, 10);

afterEach(() => vi.restoreAllMocks());

async function runDailyCron(scheduledTime = NOW) {
  await worker.scheduled(createScheduledController({ scheduledTime, cron: DAILY }), env);
}

/** A workspace that accepts old events while it is seeded; its retention is shortened afterwards. */
async function seededWorkspace() {
  const whatsapp = { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN };
  const { workspace, adminKey } = await createWorkspace({ retentionDays: 3650, whatsapp });
  const campaign = await createCampaign(adminKey, { variants: ["A"] });
  return { id: workspace.id as string, adminKey, campaignId: campaign.id as string };
}

type Seeded = Awaited<ReturnType<typeof seededWorkspace>>;

/**
 * One event of every kind at about `at` for contact `n`, through the ways each arrives: a registered
 * message with its statuses, a human click on the recipient's link, a conversion attributed to it, a
 * reply, a CSAT answer, and a dead letter.
 */
async function seedEveryKind(w: Seeded, tag: string, n: number, at: number) {
  const contact = phone(n);
  const key = w.adminKey;
  const link = await createLink(key, { campaignId: w.campaignId, variant: "A", contact });
  const wamid = `wamid.${w.id}.${tag}`;
  const messages = [{ id: wamid, contact, campaignId: w.campaignId, linkCode: link.code, sentAt: iso(at) }];
  expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
  const statuses = ["delivered", "read"].map((status, i) => ({
    id: wamid,
    status,
    timestamp: String(Math.floor((at + (i + 1) * MINUTE) / 1000)),
    recipient_id: waId(contact),
  }));
  const reply = {
    id: `${wamid}.reply`,
    from: waId(contact),
    timestamp: String(Math.floor((at + 5 * MINUTE) / 1000)),
    type: "text",
    context: { id: wamid },
  };
  const ingested = await callJson("/api/v1/statuses", { key, body: statusesBody(statuses, [reply]) });
  expect(ingested.body).toEqual({ statuses: 2, messages: 1, consents: 0, skipped: 0 });
  const clickId = `${w.id}.${tag}.click`;
  await insertClicks(env.DB, [
    clickRecord(w.id, link.id, {
      id: clickId,
      campaignId: w.campaignId,
      variant: "A",
      contactHash: await hashContact(env.PII_PEPPER, contact),
      occurredAt: at + 3 * MINUTE,
    }),
  ]);
  const conversion = {
    event: "purchase",
    clickId,
    orderId: `${tag}-order`,
    value: 25,
    currency: "EUR",
    occurredAt: iso(at + 4 * MINUTE),
  };
  expect((await callJson("/api/v1/conversions", { key, body: conversion })).status).toBe(201);
  const events = [{ type: "csat", contact, value: 4, occurredAt: iso(at + 6 * MINUTE) }];
  expect((await callJson("/api/v1/events", { key, body: { events } })).status).toBe(201);
  await insertDeadLetters(createDb(env.DB), [{ workspaceId: w.id, kind: "status", reason: "test", payload: { tag } }]);
  await env.DB.prepare("UPDATE dead_letters SET created_at = ?1 WHERE workspace_id = ?2 AND payload = ?3")
    .bind(at + 7 * MINUTE, w.id, JSON.stringify({ tag }))
    .run();
  // An event GA4 forwarding gave up on, kept as failed since then.
  await env.DB.prepare(
    `INSERT INTO ga4_events (id, workspace_id, kind, subject_id, client_id, consent, event, occurred_at, status,
       attempts, next_at, lease_until, reason, created_at, updated_at)
     VALUES (?1, ?2, 'click', ?3, '1.2', '{}', '{"name":"wa_link_click"}', ?4, 'failed', 10, ?4, 0, 'test', ?4, ?4)`,
  )
    .bind(`ga4_${w.id}.${tag}`, w.id, clickId, at + 8 * MINUTE)
    .run();
  // And a webhook delivery of the click, in its endpoint's log.
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries (id, endpoint_id, workspace_id, type, subject_id, payload, status, attempts,
       next_at, lease_until, response_status, created_at, updated_at, delivered_at)
     VALUES (?1, 'whe_test', ?2, 'link.clicked', ?3, '{}', 'delivered', 1, ?4, 0, 204, ?4, ?4, ?4)`,
  )
    .bind(`msg_${w.id}.${tag}`, w.id, clickId, at + 9 * MINUTE)
    .run();
}

async function setRetention(w: Seeded, retentionDays: number) {
  const res = await callJson("/api/v1/workspace", {
    method: "PATCH",
    key: w.adminKey,
    body: { settings: { retentionDays } },
  });
  expect(res.status).toBe(200);
}

/** Raw and per-message rows of the workspace, per table. */
async function rowCounts(workspaceId: string) {
  const tables = [
    "messages",
    "message_contacts",
    "message_rollup_applied",
    "clicks",
    "conversions",
    "inbound_messages",
    "contact_events",
    "dead_letters",
    "ga4_events",
    "webhook_deliveries",
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    counts[table] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workspace_id = ?1`)
      .bind(workspaceId)
      .first<number>("n"))!;
  }
  return counts;
}

const everyTable = (n: number) => ({
  messages: n,
  message_contacts: n,
  message_rollup_applied: n,
  clicks: n,
  conversions: n,
  inbound_messages: n,
  contact_events: n,
  dead_letters: n,
  ga4_events: n,
  webhook_deliveries: n,
});

/** Every report over `from`..`to` (dates), without asOf. */
async function reports(key: string, from: number, to: number) {
  const range = `from=${isoDay(from)}&to=${isoDay(to)}`;
  const paths = [
    `funnel?${range}&groupBy=variant`,
    `metrics?${range}`,
    `timeseries?${range}&metric=sent&interval=day`,
    `timeseries?${range}&metric=read&interval=day`,
    `timeseries?${range}&metric=clicks&interval=day`,
    `timeseries?${range}&metric=revenue&interval=week`,
    `breakdown?${range}&dimension=device&metric=conversions`,
    `retention?${range}&period=week&periods=4&start=message&returnOn=any`,
  ];
  const answers: Record<string, unknown> = {};
  for (const path of paths) {
    const res = await callJson(`/api/v1/reports/${path}`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    answers[path] = withoutAsOf(res.body);
  }
  return answers;
}

describe("the daily purge", () => {
  it("deletes raw rows of every kind past each workspace's retention, and the reports stay the same", async () => {
    const a = await seededWorkspace();
    const b = await seededWorkspace();
    const times = { old: NOW - 120 * DAY, middle: NOW - 45 * DAY, young: NOW - 5 * DAY };
    for (const w of [a, b]) {
      await seedEveryKind(w, "old", 1, times.old);
      await seedEveryKind(w, "middle", 2, times.middle);
      await seedEveryKind(w, "young", 3, times.young);
    }
    // a keeps 30 days, b 90: the middle events are old for a, young for b.
    await setRetention(a, 30);
    await setRetention(b, 90);
    const from = times.old - 2 * DAY;
    const before = { a: await reports(a.adminKey, from, NOW), b: await reports(b.adminKey, from, NOW) };
    const oldRange = { a: await reports(a.adminKey, from, times.middle + DAY) };
    expect(await rowCounts(a.id)).toEqual(everyTable(3));
    expect(before.a[`metrics?from=${isoDay(from)}&to=${isoDay(NOW)}`]).toMatchObject({
      messages: { sent: 3, delivered: 3, read: 3, clicked: 3, converted: 3, replied: 3 },
      revenue: 75,
      csat: { responses: 3 },
    });

    const log = vi.spyOn(console, "log");
    await runDailyCron();

    expect(await rowCounts(a.id)).toEqual(everyTable(1));
    expect(await rowCounts(b.id)).toEqual(everyTable(2));
    const left = await env.DB.prepare("SELECT id FROM messages WHERE workspace_id IN (?1, ?2) ORDER BY id")
      .bind(a.id, b.id)
      .all<{ id: string }>();
    expect(left.results.map((m) => m.id).sort()).toEqual(
      [`wamid.${a.id}.young`, `wamid.${b.id}.middle`, `wamid.${b.id}.young`].sort(),
    );
    expect(await reports(a.adminKey, from, NOW)).toEqual(before.a);
    expect(await reports(a.adminKey, from, times.middle + DAY)).toEqual(oldRange.a);
    expect(await reports(b.adminKey, from, NOW)).toEqual(before.b);

    const line = log.mock.calls.map(([text]) => JSON.parse(String(text))).find((l) => l.event === "housekeeping");
    expect(line).toEqual({
      event: "housekeeping",
      deleted: {
        messages: 3,
        message_contacts: 3,
        message_rollup_applied: 3,
        conversions: 3,
        clicks: 3,
        inbound_messages: 3,
        contact_events: 3,
        dead_letters: 3,
        ga4_events: 3,
        webhook_deliveries: 3,
        outbox: expect.any(Number),
        visitor_salts: expect.any(Number),
        contact_erasures: 0,
      },
      more: false,
      waitedForRollups: false,
    });
  });

  it("refuses or skips events older than the retention period, so a purged message is not counted again", async () => {
    const w = await seededWorkspace();
    await seedEveryKind(w, "gone", 1, NOW - 45 * DAY);
    await setRetention(w, 30);
    await runDailyCron();
    expect(await rowCounts(w.id)).toEqual(everyTable(0));
    const range = [NOW - 50 * DAY, NOW] as const;
    const before = await reports(w.adminKey, ...range);

    const key = w.adminKey;
    const wamid = `wamid.${w.id}.gone`;
    const late = String(Math.floor((NOW - 45 * DAY + 10 * MINUTE) / 1000));
    const webhook = statusesBody(
      [{ id: wamid, status: "read", timestamp: late, recipient_id: waId(phone(1)) }],
      [{ id: `${wamid}.late-reply`, from: waId(phone(1)), timestamp: late, type: "text", context: { id: wamid } }],
    );
    expect((await callJson("/api/v1/statuses", { key, body: webhook })).body).toEqual({
      statuses: 0,
      messages: 0,
      consents: 0,
      skipped: 2,
    });
    expect((await deliverWebhook(w.id, webhook)).body).toEqual({ statuses: 0, messages: 0, consents: 0, skipped: 2 });
    const old = iso(NOW - 45 * DAY);
    const register = await callJson("/api/v1/messages", {
      key,
      body: { messages: [{ id: wamid, contact: phone(1), sentAt: old }] },
    });
    expect(register.status).toBe(400);
    expect(register.body.error.issues.map((i: { path: unknown }) => i.path)).toEqual([["messages", 0, "sentAt"]]);
    const conversion = await callJson("/api/v1/conversions", {
      key,
      body: { event: "purchase", orderId: "gone-order", value: 25, currency: "EUR", occurredAt: old },
    });
    expect(conversion.status).toBe(400);
    expect(conversion.body.error.issues.map((i: { path: unknown }) => i.path)).toEqual([["occurredAt"]]);
    const events = await callJson("/api/v1/events", {
      key,
      body: { events: [{ type: "csat", contact: phone(1), value: 4, occurredAt: old }] },
    });
    expect(events.status).toBe(400);
    expect(events.body.error.issues.map((i: { path: unknown }) => i.path)).toEqual([["events", 0, "occurredAt"]]);
    // A status the queue kept while D1 was down is dropped when it is written after the purge.
    const stored = { workspaceId: w.id, messageId: wamid, status: "read" as const, at: Number(late) * 1000 };
    const queued = await runQueue([
      {
        type: "whatsapp",
        events: {
          statuses: [
            {
              ...stored,
              contactHash: null,
              aliasHash: null,
              country: null,
              bizOpaque: null,
              errors: null,
              pricing: null,
              isGroup: false,
            },
          ],
          inbound: [],
          consents: [],
        },
      },
    ]);
    expect(queued.explicitAcks).toEqual(["msg-0"]);

    expect(await rowCounts(w.id)).toEqual(everyTable(0));
    expect(await reports(w.adminKey, ...range)).toEqual(before);
  });

  it("takes a message with a conversion reported before its click, so later activity cannot take the revenue back", async () => {
    const w = await seededWorkspace();
    const cutoff = NOW - 30 * DAY;
    const contact = phone(7);
    const link = await createLink(w.adminKey, { campaignId: w.campaignId, variant: "A", contact });
    const wamid = `wamid.${w.id}.skewed`;
    const key = w.adminKey;
    const register = [
      { id: wamid, contact, campaignId: w.campaignId, linkCode: link.code, sentAt: iso(cutoff + 2 * MINUTE) },
    ];
    expect((await callJson("/api/v1/messages", { key, body: { messages: register } })).status).toBe(200);
    const hash = await hashContact(env.PII_PEPPER, contact);
    const clickId = `${w.id}.skewed.click`;
    await insertClicks(env.DB, [
      clickRecord(w.id, link.id, { id: clickId, contactHash: hash, occurredAt: cutoff + 3 * MINUTE }),
    ]);
    // The site's clock is a few minutes behind: the conversion is reported before the click (and the cutoff).
    const conversion = { event: "purchase", clickId, value: 40, currency: "EUR", occurredAt: iso(cutoff - MINUTE) };
    expect((await callJson("/api/v1/conversions", { key, body: conversion })).status).toBe(201);
    await setRetention(w, 30);
    const range = [cutoff - 2 * DAY, cutoff + 2 * DAY] as const;
    const before = await reports(key, ...range);

    await runDailyCron();
    expect(await rowCounts(w.id)).toMatchObject({ messages: 0, conversions: 0, message_rollup_applied: 0 });
    // The click itself is younger than the cutoff and stays.
    expect(await rowCounts(w.id)).toMatchObject({ clicks: 1 });

    // The recipient clicks again and buys: nothing reaches the purged message any more.
    const again = `${w.id}.skewed.again`;
    await insertClicks(env.DB, [clickRecord(w.id, link.id, { id: again, contactHash: hash, occurredAt: Date.now() })]);
    const repeat = { event: "purchase", clickId: again, value: 15, currency: "EUR" };
    expect((await callJson("/api/v1/conversions", { key, body: repeat })).status).toBe(201);
    expect(await reports(key, ...range)).toEqual(before);
  });

  it("deletes in bounded chunks, and a turn's limits leave the rest to the next turn through the queue", async () => {
    const { workspace } = await createWorkspace({ retentionDays: 30 });
    const link = await createLink((await createWorkspace()).adminKey);
    // Bots, so that the rows go to the purge without outbox entries to apply first.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO clicks (id, workspace_id, link_id, kind, is_unique, occurred_at)
       SELECT ?2 || '.' || i, ?2, ?3, 'bot', 0, ?4 + i FROM n`,
    )
      .bind(DELETE_CHUNK * 2 + 500, workspace.id, link.id, NOW - 40 * DAY)
      .run();
    const clicks = () =>
      env.DB.prepare("SELECT COUNT(*) AS n FROM clicks WHERE workspace_id = ?1").bind(workspace.id).first<number>("n");
    const sent: unknown[] = [];
    vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
      sent.push(...[...messages].map((m) => m.body));
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } } as unknown as QueueSendBatchResponse;
    });

    // Three statements: the messages' chunk, the conversions' and one of clicks, which stops at DELETE_CHUNK.
    const turn = await housekeepInTurns(env, NOW, { budgetMs: 60_000, statements: 3, chunk: DELETE_CHUNK });
    expect(turn).toMatchObject({ more: true, deleted: { messages: 0, conversions: 0, clicks: DELETE_CHUNK } });
    expect(await clicks()).toBe(DELETE_CHUNK + 500);
    expect(sent).toEqual([{ type: "housekeeping" }]);

    const next = await runQueue(sent as QueueMessage[]);
    expect(next.explicitAcks).toEqual(["msg-0"]);
    expect(await clicks()).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it("deletes nothing raw while the rollups have not counted what was recorded before the turn", async () => {
    const { workspace, adminKey } = await createWorkspace({ retentionDays: 30 });
    const link = await createLink(adminKey);
    const old = NOW - 40 * DAY;
    await env.DB.exec(
      "CREATE TRIGGER stall_rollups BEFORE INSERT ON pipeline_entries BEGIN SELECT RAISE(ABORT, 'stalled'); END;",
    );
    try {
      await insertClicks(env.DB, [clickRecord(workspace.id, link.id, { occurredAt: old })]);
      const stalled = await housekeepingTurn(env, NOW);
      expect(stalled).toMatchObject({ waitedForRollups: true, deleted: { clicks: 0 } });
    } finally {
      await env.DB.exec("DROP TRIGGER stall_rollups;");
    }
    const done = await housekeepingTurn(env, NOW);
    expect(done).toMatchObject({ waitedForRollups: false, deleted: { clicks: 1 } });
    const counted = await env.DB.prepare(
      "SELECT SUM(clicks) AS n FROM click_rollups WHERE workspace_id = ?1 AND grain = 'd' AND dimension = ''",
    )
      .bind(workspace.id)
      .first<number>("n");
    expect(counted).toBe(1);
  });

  it("finds each workspace's expired rows through an index, never by scanning a table", async () => {
    const cutoffs = JSON.stringify([
      ["ws_a", NOW],
      [null, NOW],
    ]);
    const plans: Record<string, string[]> = {};
    for (const sql of [
      ...EXPIRING_TABLES.map(expiredRowsSql),
      ...EXPIRED_MESSAGES_SQL.filter((s) => s.includes("?1")),
    ]) {
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(cutoffs, 10).all<{ detail: string }>();
      plans[sql.slice(0, 40)] = results.map((r) => r.detail);
    }
    for (const [sql, details] of Object.entries(plans)) {
      expect(
        details.filter((d) => d.startsWith("SCAN") && !d.startsWith("SCAN c")),
        sql,
      ).toEqual([]);
      expect(
        details.some((d) =>
          /SEARCH t USING (COVERING )?INDEX|SEARCH a USING (COVERING )?INDEX message_rollup_applied_expiry/.test(d),
        ),
        sql,
      ).toBe(true);
    }
  });

  it("keeps dead letters that name no workspace no longer than the shortest retention", async () => {
    await createWorkspace({ retentionDays: 30 });
    await insertDeadLetters(createDb(env.DB), [
      { workspaceId: null, kind: "queue_message", reason: "unreadable", payload: { n: "old" } },
      { workspaceId: null, kind: "queue_message", reason: "unreadable", payload: { n: "young" } },
    ]);
    await env.DB.prepare(`UPDATE dead_letters SET created_at = ?1 WHERE payload = '{"n":"old"}'`)
      .bind(NOW - 31 * DAY)
      .run();
    await runDailyCron();
    const { results } = await env.DB.prepare("SELECT payload FROM dead_letters WHERE workspace_id IS NULL").all();
    expect(results).toEqual([{ payload: '{"n":"young"}' }]);
  });

  it("keeps the link counters", async () => {
    const { adminKey } = await createWorkspace({ retentionDays: 30 });
    const link = await createLink(adminKey);
    const ua =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    await callWorker(`/${link.code}`, { headers: { "user-agent": ua, "cf-connecting-ip": "192.0.2.1" } });
    await callWorker(`/${link.code}`, { headers: { "user-agent": ua, "cf-connecting-ip": "192.0.2.2" } });
    await env.DB.prepare("UPDATE clicks SET occurred_at = ?1 WHERE link_id = ?2")
      .bind(NOW - 31 * DAY, link.id)
      .run();
    await runDailyCron();
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM clicks WHERE link_id = ?").bind(link.id).first("n");
    expect(left).toBe(0);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body).toMatchObject({
      clicks: 2,
      uniqueClicks: 2,
    });
  });
});
