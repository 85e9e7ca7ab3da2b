import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { webhookEventTypes } from "../src/db/schema";
import { drainOutbox } from "../src/events/pipeline";
import { MAX_ATTEMPTS, RETRY_SCHEDULE_S } from "../src/lib/standard-webhooks";
import { forwardToWebhooks } from "../src/webhooks/forward";
import { sendWebhookTurn } from "../src/webhooks/send";
import {
  ANDROID_CHROME,
  callJson,
  callWorker,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  type Json,
} from "./helpers";
import type { Delivered } from "./standins/webhook-received";
import { createWhatsAppWorkspace, deliverWebhook, statusBody, webhookBody } from "./whatsapp-helpers";

// Outbound webhooks (SPEC §13) against the local receiver (test/standins/webhook-receiver.ts), which
// verifies every signature as the Standard Webhooks specification describes.

const ALL_EVENTS = [...webhookEventTypes];
const HOUR = 3_600_000;
// Endpoints on the local receiver are allowed only where the Worker runs for local development.
const development = { ...env, ENVIRONMENT: "development" } as Env;

async function receiver(path: string, name: string, body?: unknown) {
  const response = await fetch(`${env.TEST_WEBHOOK_RECEIVER}/__receiver/${path}?name=${name}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}
const received = (name: string) => receiver("received", name) as Promise<Delivered[]>;
const accepted = async (name: string) => (await received(name)).filter((d) => d.answered === 204);
const failWith = (name: string, mode: { status?: number; retryAfter?: number; drop?: boolean; times?: number }) =>
  receiver("mode", name, mode);
const bodies = (deliveries: Delivered[]) => deliveries.map((d) => JSON.parse(d.body) as Json);

/** An endpoint on the receiver, subscribed to `events`, whose secret the receiver verifies with. */
async function endpoint(key: string, events = ALL_EVENTS) {
  const name = `e${crypto.randomUUID().replaceAll("-", "")}`;
  const res = await callJson("/api/v1/webhooks", {
    key,
    body: { url: `${env.TEST_WEBHOOK_RECEIVER}/r/${name}`, events },
    env: development,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await receiver("secret", name, { secret: res.body.secret });
  return { name, id: res.body.id as string, secret: res.body.secret as string };
}

async function forwardAndSend(now = Date.now()) {
  await drainOutbox(env.DB);
  await forwardToWebhooks(env, { now });
  return sendWebhookTurn(env, now);
}

/** Every delivery verified, with the three headers, a JSON body `{ type, timestamp, data }` under 20 kB. */
function expectSigned(deliveries: Delivered[]) {
  for (const d of deliveries) {
    expect(d.problem).toBeNull();
    expect(d.verified).toBe(true);
    expect(d.headers["webhook-id"]).toMatch(/^msg_/);
    expect(d.headers["content-type"]).toBe("application/json");
    expect(d.body.length).toBeLessThan(20_000);
    expect(Object.keys(JSON.parse(d.body)).sort()).toEqual(["data", "timestamp", "type"]);
  }
}

beforeEach(() => {
  // Turns run where each test says: the deliveries queue's own consumer would send at the real time.
  vi.spyOn(env.DELIVERIES, "send").mockResolvedValue(undefined as never);
});
afterEach(async () => {
  vi.restoreAllMocks();
  // Turns at a later time would otherwise find the deliveries an earlier test left waiting.
  await env.DB.exec("UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'pending'");
});

describe("endpoints", () => {
  it("creates an endpoint with a whsec_ secret shown once and stored sealed", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/webhooks", {
      key: adminKey,
      body: { url: "https://crm.example.com/hooks", events: ["link.clicked", "conversion.created", "link.clicked"] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^whe_/),
      url: "https://crm.example.com/hooks",
      events: ["link.clicked", "conversion.created"],
      disabled: false,
      disabledReason: null,
      createdAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
    });
    const keyBytes = atob(res.body.secret.slice("whsec_".length)).length;
    expect(keyBytes).toBeGreaterThanOrEqual(24);
    expect(keyBytes).toBeLessThanOrEqual(64);
    const read = await callJson(`/api/v1/webhooks/${res.body.id}`, { key: adminKey });
    expect(read.body).toEqual({ ...res.body, secret: undefined });
    const list = await callJson("/api/v1/webhooks", { key: adminKey });
    expect(list.body).toEqual({ webhooks: [read.body], nextCursor: null });
    expect(JSON.stringify(list.body)).not.toContain(res.body.secret);
    const row = await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE id = ?1")
      .bind(res.body.id)
      .first<{ secret: string }>();
    expect(row!.secret).toMatch(/^v1\./);
    expect(row!.secret).not.toContain(res.body.secret.slice(6));

    expect((await callJson(`/api/v1/webhooks/${res.body.id}`, { key: adminKey, method: "DELETE" })).status).toBe(204);
    const gone = await callJson(`/api/v1/webhooks/${res.body.id}`, { key: adminKey });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual(expectErrorEnvelope("not_found"));
  });

  it.each([
    ["http://crm.example.com/hooks", "https"],
    ["https://127.0.0.1/hooks", "loopback"],
    ["https://localhost:8443/hooks", "loopback"],
    ["https://[::1]/hooks", "loopback"],
    ["https://169.254.169.254/latest", "loopback"],
    ["https://10.0.0.8/hooks", "loopback"],
    ["https://0x7f000001/hooks", "loopback"],
    ["https://metadata.google.internal/", "loopback"],
    ["ftp://crm.example.com/", "http"],
    ["not a url", "absolute"],
  ])("refuses %s as a target (not https, or not public) and writes nothing", async (url, reason) => {
    const { adminKey, workspace } = await createWorkspace();
    const res = await callJson("/api/v1/webhooks", { key: adminKey, body: { url, events: ["link.clicked"] } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues[0].path).toEqual(["url"]);
    expect(res.body.error.issues[0].message.toLowerCase()).toContain(
      reason === "https" ? "https" : reason === "http" ? "http" : reason === "absolute" ? "absolute" : "loopback",
    );
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE workspace_id = ?1")
      .bind(workspace.id)
      .first<{ n: number }>())!;
    expect(n).toBe(0);
  });

  it("refuses unknown events and an empty list", async () => {
    const { adminKey } = await createWorkspace();
    for (const events of [[], ["message.sent"], "link.clicked"]) {
      const res = await callJson("/api/v1/webhooks", {
        key: adminKey,
        body: { url: "https://crm.example.com/", events },
      });
      expect(res.status).toBe(400);
    }
  });
});

describe("deliveries", () => {
  it("sends each subscribed change once, signed, with the external id and no phone number", async () => {
    const { workspaceId, adminKey: key } = await createWhatsAppWorkspace();
    const all = await endpoint(key);
    const conversionsOnly = await endpoint(key, ["conversion.created"]);
    const campaign = await createCampaign(key, { variants: ["A"] });
    const wamid = `wamid.${crypto.randomUUID()}`;
    const failedWamid = `wamid.${crypto.randomUUID()}`;
    const link = await createLink(key, {
      campaignId: campaign.id,
      variant: "A",
      contact: "+351912000001",
      externalId: "crm-42",
    });
    const registered = await callJson("/api/v1/messages", {
      key,
      body: {
        messages: [
          {
            id: wamid,
            contact: "+351912000001",
            campaignId: campaign.id,
            variant: "A",
            linkCode: link.code,
            externalId: "crm-42",
          },
          { id: failedWamid, contact: "+351912000002", campaignId: campaign.id, externalId: "crm-43" },
        ],
      },
    });
    expect(registered.status).toBe(200);
    const now = Date.now();
    await deliverWebhook(
      workspaceId,
      statusBody({ id: wamid, status: "delivered", at: now - 60_000, recipient: "351912000001" }),
    );
    await deliverWebhook(
      workspaceId,
      statusBody({
        id: failedWamid,
        status: "failed",
        at: now - 50_000,
        recipient: "351912000002",
        errors: [{ code: 131049, title: "This message was not delivered to maintain healthy ecosystem engagement." }],
      }),
    );
    const click = await callWorker(`/${link.code}`, {
      headers: { "user-agent": ANDROID_CHROME },
      cf: { country: "PT" },
    });
    const clickId = new URL(click.headers.get("location")!).searchParams.get("wa_cid")!;
    const conversion = await callJson("/api/v1/conversions", {
      key,
      body: { event: "purchase", clickId, value: 30, currency: "EUR", orderId: "o-1" },
    });
    const reply = webhookBody({
      messages: [
        {
          id: `wamid.in.${crypto.randomUUID()}`,
          from: "351912000001",
          timestamp: String(Math.floor(now / 1000)),
          type: "text",
          context: { id: wamid },
        },
      ],
    });
    expect((await deliverWebhook(workspaceId, reply)).status).toBe(200);

    await forwardAndSend();
    const delivered = await accepted(all.name);
    expectSigned(delivered);
    const byType = Object.fromEntries(
      bodies(delivered).map((b) => [b.type + (b.data.messageId === failedWamid ? ":failed" : ""), b]),
    );
    expect(
      bodies(delivered)
        .map((b) => b.type)
        .sort(),
    ).toEqual(
      [
        "conversion.created",
        "link.clicked",
        "message.delivered",
        "message.failed",
        "message.read",
        "message.replied",
      ].sort(),
    );
    expect(byType["link.clicked"].data).toEqual({
      clickId,
      linkCode: link.code,
      campaignId: campaign.id,
      variant: "A",
      messageId: wamid,
      externalId: "crm-42",
      occurredAt: expect.any(String),
      country: "PT",
      device: "mobile",
      os: "Android",
      browser: "Chrome",
    });
    expect(byType["conversion.created"].data).toMatchObject({
      conversionId: conversion.body.id,
      event: "purchase",
      value: 30,
      currency: "EUR",
      orderId: "o-1",
      clickId,
      messageId: wamid,
      externalId: "crm-42",
    });
    expect(byType["message.delivered"]).toEqual({
      type: "message.delivered",
      timestamp: new Date(Math.floor((now - 60_000) / 1000) * 1000).toISOString(),
      data: {
        messageId: wamid,
        campaignId: campaign.id,
        variant: "A",
        linkCode: link.code,
        externalId: "crm-42",
        occurredAt: new Date(Math.floor((now - 60_000) / 1000) * 1000).toISOString(),
      },
    });
    // The click implies the read.
    expect(byType["message.read"].data.messageId).toBe(wamid);
    expect(byType["message.replied"].data.externalId).toBe("crm-42");
    expect(byType["message.failed:failed"].data).toMatchObject({
      messageId: failedWamid,
      externalId: "crm-43",
      errorCode: 131049,
      limited: true,
      experiment: false,
    });
    for (const d of delivered) expect(d.body).not.toMatch(/35191200000[12]/);
    // The same id is never sent twice.
    expect(new Set(delivered.map((d) => d.headers["webhook-id"])).size).toBe(delivered.length);

    expect(bodies(await accepted(conversionsOnly.name)).map((b) => b.type)).toEqual(["conversion.created"]);
    expectSigned(await accepted(conversionsOnly.name));

    // Nothing is sent again.
    await forwardAndSend(Date.now() + 48 * HOUR);
    expect(await accepted(all.name)).toHaveLength(6);
  });

  it("sends each message step once, however WhatsApp repeats and reorders its statuses", async () => {
    const { workspaceId, adminKey: key } = await createWhatsAppWorkspace();
    const hook = await endpoint(key, ["message.delivered", "message.read"]);
    const wamid = `wamid.${crypto.randomUUID()}`;
    const now = Date.now();
    const read = statusBody({ id: wamid, status: "read", at: now - 10_000 });
    const delivered = statusBody({ id: wamid, status: "delivered", at: now - 20_000 });
    const sent = statusBody({ id: wamid, status: "sent", at: now - 30_000 });
    for (const body of [read, read, delivered, sent, delivered, read]) {
      expect((await deliverWebhook(workspaceId, body)).status).toBe(200);
      await forwardAndSend();
    }
    const got = bodies(await accepted(hook.name));
    expect(got.map((b) => b.type).sort()).toEqual(["message.delivered", "message.read"]);
    // Delivered is known first from the read (read implies delivered), at the read's time, and stays sent once.
    expect(got.every((b) => b.data.messageId === wamid)).toBe(true);
  });
});

describe("failures", () => {
  it("retries through an outage on the specification's schedule, honouring Retry-After, until every event arrives", async () => {
    const { adminKey: key } = await createWorkspace();
    const hook = await endpoint(key, ["conversion.created"]);
    await failWith(hook.name, { status: 503 });
    for (const orderId of ["a", "b", "c"]) {
      await callJson("/api/v1/conversions", { key, body: { event: "purchase", orderId, value: 1, currency: "EUR" } });
    }
    let now = Date.now();
    expect(await forwardAndSend(now)).toMatchObject({ claimed: 3, retried: 3 });
    // Not again before the first wait (5 s, with jitter) is over.
    expect(await sendWebhookTurn(env, now + 4_000)).toMatchObject({ claimed: 0 });
    now += 6_000;
    await failWith(hook.name, { drop: true });
    expect(await sendWebhookTurn(env, now)).toMatchObject({ claimed: 3, retried: 3 });
    // A 3xx is a failure too: a sender that followed the redirect would be wrong.
    await failWith(hook.name, { status: 301 });
    now += 6 * 60_000;
    expect(await sendWebhookTurn(env, now)).toMatchObject({ claimed: 3, retried: 3 });
    await failWith(hook.name, { status: 429, retryAfter: 7200 });
    now += 40 * 60_000;
    expect(await sendWebhookTurn(env, now)).toMatchObject({ claimed: 3, retried: 3 });
    await failWith(hook.name, {});
    // The schedule says 2 h next; Retry-After asked for 2 h as well, and nothing is sent before.
    expect(await sendWebhookTurn(env, now + HOUR)).toMatchObject({ claimed: 0 });
    expect(await sendWebhookTurn(env, now + 3 * HOUR)).toMatchObject({ claimed: 3, delivered: 3 });

    const all = await received(hook.name);
    expect(all.map((d) => d.answered)).toEqual([
      503,
      503,
      503,
      "dropped",
      "dropped",
      "dropped",
      301,
      301,
      301,
      429,
      429,
      429,
      204,
      204,
      204,
    ]);
    expectSigned(all.filter((d) => d.answered !== "dropped"));
    const delivered = await accepted(hook.name);
    expect(
      bodies(delivered)
        .map((b) => b.data.orderId)
        .sort(),
    ).toEqual(["a", "b", "c"]);
    // Every attempt of a delivery carried the same id and body.
    const attemptsById = new Map<string, Set<string>>();
    for (const d of all)
      attemptsById.set(
        d.headers["webhook-id"] ?? "",
        new Set([...(attemptsById.get(d.headers["webhook-id"] ?? "") ?? []), d.body]),
      );
    for (const [id, versions] of attemptsById) if (id) expect(versions.size).toBe(1);

    const log = await callJson(`/api/v1/webhooks/${hook.id}/deliveries`, { key });
    expect(log.status).toBe(200);
    expect(log.body.deliveries).toHaveLength(3);
    for (const d of log.body.deliveries) {
      expect(d).toMatchObject({
        type: "conversion.created",
        status: "delivered",
        attempts: 5,
        responseStatus: 204,
        error: null,
        nextAttemptAt: null,
      });
      expect(d.body.type).toBe("conversion.created");
    }
  });

  it("keeps a delivery as failed after the last attempt, logs why, and replays it", async () => {
    const { adminKey: key } = await createWorkspace();
    const hook = await endpoint(key, ["conversion.created"]);
    await failWith(hook.name, { status: 500 });
    await callJson("/api/v1/conversions", { key, body: { event: "signup" } });
    let now = Date.now();
    await forwardAndSend(now);
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      now += RETRY_SCHEDULE_S[attempt - 2] * 1000 * 1.2;
      expect(await sendWebhookTurn(env, now)).toMatchObject({ claimed: 1 });
    }
    expect(await sendWebhookTurn(env, now + 48 * HOUR)).toMatchObject({ claimed: 0 });
    expect(await received(hook.name)).toHaveLength(MAX_ATTEMPTS);
    const log = await callJson(`/api/v1/webhooks/${hook.id}/deliveries?limit=10`, { key });
    expect(log.body.deliveries[0]).toMatchObject({
      status: "failed",
      attempts: 10,
      responseStatus: 500,
      error: "Answered HTTP 500",
    });

    await failWith(hook.name, {});
    const replay = await callJson(`/api/v1/webhooks/${hook.id}/replay`, { key, method: "POST" });
    expect(replay.body).toEqual({ replayed: 1 });
    expect(await sendWebhookTurn(env)).toMatchObject({ delivered: 1 });
    expect(await accepted(hook.name)).toHaveLength(1);
  });

  it("disables an endpoint that answers 410, fails what was waiting for it, and sends it nothing more", async () => {
    const { adminKey: key } = await createWorkspace();
    const hook = await endpoint(key, ["conversion.created"]);
    const other = await endpoint(key, ["conversion.created"]);
    await failWith(hook.name, { status: 410 });
    await callJson("/api/v1/conversions", { key, body: { event: "signup" } });
    await forwardAndSend();
    const read = await callJson(`/api/v1/webhooks/${hook.id}`, { key });
    expect(read.body).toMatchObject({ disabled: true, disabledReason: "The endpoint answered 410 Gone" });
    // The other endpoint is not concerned.
    expect(await accepted(other.name)).toHaveLength(1);

    await callJson("/api/v1/conversions", { key, body: { event: "lead" } });
    await forwardAndSend();
    expect(await received(hook.name)).toHaveLength(1);
    expect(await accepted(other.name)).toHaveLength(2);
    const log = await callJson(`/api/v1/webhooks/${hook.id}/deliveries`, { key });
    expect(log.body.deliveries.map((d: Json) => d.status)).toEqual(["failed"]);

    // Replaying enables it again.
    await failWith(hook.name, {});
    expect((await callJson(`/api/v1/webhooks/${hook.id}/replay`, { key, method: "POST" })).body).toEqual({
      replayed: 1,
    });
    expect((await callJson(`/api/v1/webhooks/${hook.id}`, { key })).body.disabled).toBe(false);
    expect(await sendWebhookTurn(env)).toMatchObject({ delivered: 1 });
    await callJson("/api/v1/conversions", { key, body: { event: "lead2" } });
    await forwardAndSend();
    expect(bodies(await accepted(hook.name)).map((b) => b.data.event)).toEqual(["signup", "lead2"]);
  });

  it("keeps one endpoint's outage from holding up another workspace's", async () => {
    const down = await createWorkspace();
    const up = await createWorkspace();
    const downHook = await endpoint(down.adminKey, ["conversion.created"]);
    const upHook = await endpoint(up.adminKey, ["conversion.created"]);
    await failWith(downHook.name, { status: 500 });
    await callJson("/api/v1/conversions", { key: down.adminKey, body: { event: "signup" } });
    await callJson("/api/v1/conversions", { key: up.adminKey, body: { event: "signup" } });
    await forwardAndSend();
    expect(await accepted(upHook.name)).toHaveLength(1);
    expect(await accepted(downHook.name)).toHaveLength(0);
  });
});

describe("the queue and erasure", () => {
  it("delivers end to end through the events and deliveries queues", async () => {
    vi.restoreAllMocks();
    const { adminKey: key } = await createWorkspace();
    const hook = await endpoint(key, ["conversion.created"]);
    const created = await callJson("/api/v1/conversions", { key, body: { event: "signup" } });
    await vi.waitFor(
      async () => expect(bodies(await accepted(hook.name)).map((b) => b.data.conversionId)).toEqual([created.body.id]),
      { timeout: 20_000, interval: 250 },
    );
  });

  it("erases the contact's deliveries, pending and logged", async () => {
    const { adminKey: key } = await createWorkspace();
    const hook = await endpoint(key, ["conversion.created", "link.clicked"]);
    const link = await createLink(key, { contact: "+351912000009" });
    await callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } });
    await forwardAndSend();
    await failWith(hook.name, { status: 503 });
    await callJson("/api/v1/conversions", { key, body: { event: "signup", contact: "+351912000009" } });
    await forwardAndSend();
    const erased = await callJson("/api/v1/contacts/erase", { key, body: { contact: "+351912000009" } });
    expect(erased.body.erased.webhookDeliveries).toBe(2);
    expect((await callJson(`/api/v1/webhooks/${hook.id}/deliveries`, { key })).body.deliveries).toEqual([]);
  });
});
