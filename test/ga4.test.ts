import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forwardToGa4 } from "../src/ga4/forward";
import { MAX_ATTEMPTS, RETRY_DELAYS_S, sendGa4Turn, TURN_EVENTS } from "../src/ga4/send";
import { derivedClientId } from "../src/lib/ga4-events";
import type { Received } from "./standins/ga4-received";
import {
  ANDROID_CHROME,
  callJson,
  callWorker,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  type Json,
} from "./helpers";

// GA4 forwarding (SPEC §10) against the local stand-in for GA4 (test/ga4-standin.ts), which keeps every
// request per measurement id and checks each against the Measurement Protocol's rules.

const HOUR = 3_600_000;

const newMeasurementId = () =>
  `G-${Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[b % 32]).join("")}`;

async function standIn(path: string, measurementId: string, body?: unknown) {
  const response = await fetch(`${env.GA4_ENDPOINT}/__standin/${path}?measurement_id=${measurementId}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}
const received = (measurementId: string) => standIn("received", measurementId) as Promise<Received[]>;
const accepted = async (measurementId: string) => (await received(measurementId)).filter((r) => r.answered === 204);
const failWith = (measurementId: string, mode: { status?: number; drop?: boolean; times?: number }) =>
  standIn("mode", measurementId, mode);
const recover = (measurementId: string) => standIn("mode", measurementId, {});

async function ga4Workspace(ga4: Record<string, unknown> = {}) {
  const measurementId = newMeasurementId();
  const { workspace, adminKey } = await createWorkspace({
    ga4: { measurementId, apiSecret: `secret-${measurementId}`, ...ga4 },
  });
  return { measurementId, workspace, key: adminKey as string };
}

async function status(key: string) {
  const res = await callJson("/api/v1/ga4/status", { key });
  expect(res.status).toBe(200);
  return res.body as { pending: number; sent: number; failed: number; skipped: number };
}

async function conversion(key: string, body: Record<string, unknown>) {
  const res = await callJson("/api/v1/conversions", { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function humanClick(code: string) {
  const response = await callWorker(`/${code}`, { headers: { "user-agent": ANDROID_CHROME } });
  expect(response.status).toBe(302);
  const clickId = new URL(response.headers.get("location")!).searchParams.get("wa_cid")!;
  const row = await env.DB.prepare("SELECT occurred_at FROM clicks WHERE id = ?1")
    .bind(clickId)
    .first<{ occurred_at: number }>();
  expect(row).not.toBeNull();
  return { clickId, occurredAt: row!.occurred_at };
}

/** Reads the outbox for GA4 and runs one sender turn at `now`. */
async function forwardAndSend(now = Date.now()) {
  await forwardToGa4(env, { now });
  return sendGa4Turn(env, now);
}

const events = (requests: Received[]) => requests.flatMap((r) => (r.body as Json).events as Json[]);

/** What every request must be, whatever it carries. */
function expectWellFormed(requests: Received[]) {
  for (const request of requests) {
    expect(request.problems).toEqual([]);
    expect(request.method).toBe("POST");
    expect(request.contentType).toMatch(/^application\/json/);
    expect(request.query).toEqual({ measurement_id: expect.stringMatching(/^G-/), api_secret: expect.any(String) });
    expect(request.bytes).toBeLessThan(130_000);
    const body = request.body as Json;
    expect(body.events.length).toBeGreaterThan(0);
    expect(body.events.length).toBeLessThanOrEqual(25);
    expect(body.client_id).toMatch(/^\d+\.\d+$/);
    expect(body.consent).toEqual({
      ad_user_data: expect.stringMatching(/^(GRANTED|DENIED)$/),
      ad_personalization: expect.stringMatching(/^(GRANTED|DENIED)$/),
    });
  }
}

beforeEach(() => {
  // Turns run where each test says: the deliveries queue's own consumer would send at the real time.
  vi.spyOn(env.DELIVERIES, "send").mockResolvedValue(undefined as never);
});
afterEach(async () => {
  vi.restoreAllMocks();
  // Turns at a later time would otherwise find the events an earlier test left waiting.
  await env.DB.exec("DELETE FROM ga4_events");
});

describe("settings", () => {
  it("reports forwarding as on only with a measurement id and an API secret, both consents denied by default", async () => {
    const { measurementId, key } = await ga4Workspace();
    const res = await callJson("/api/v1/workspace", { key });
    expect(res.body.settings.ga4).toEqual({
      measurementId,
      apiSecretSet: true,
      enabled: true,
      consent: { adUserData: "denied", adPersonalization: "denied" },
      debugMode: false,
    });
    expect(JSON.stringify(res.body)).not.toContain(`secret-${measurementId}`);

    const half = await createWorkspace({ ga4: { measurementId: newMeasurementId() } });
    const halfSettings = await callJson("/api/v1/workspace", { key: half.adminKey });
    expect(halfSettings.body.settings.ga4).toMatchObject({ apiSecretSet: false, enabled: false });

    const patched = await callJson("/api/v1/workspace", {
      key,
      method: "PATCH",
      body: { settings: { ga4: { consent: { adUserData: "granted", adPersonalization: "denied" }, debugMode: true } } },
    });
    expect(patched.body.settings.ga4).toMatchObject({
      enabled: true,
      consent: { adUserData: "granted", adPersonalization: "denied" },
      debugMode: true,
    });
    const off = await callJson("/api/v1/workspace", { key, method: "PATCH", body: { settings: { ga4: null } } });
    expect(off.body.settings.ga4).toMatchObject({ measurementId: null, apiSecretSet: false, enabled: false });
  });

  it("refuses consent values other than granted and denied", async () => {
    const { key } = await ga4Workspace();
    const res = await callJson("/api/v1/workspace", {
      key,
      method: "PATCH",
      body: { settings: { ga4: { consent: { adUserData: "GRANTED", adPersonalization: "denied" } } } },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
  });
});

describe("what GA4 receives", () => {
  it("a human click as wa_link_click with campaign, variant, link code and message category, at its real time", async () => {
    const { measurementId, key } = await ga4Workspace();
    const campaign = await createCampaign(key, { name: "Black Friday", variants: ["a", "b"] });
    const messageId = `wamid.${crypto.randomUUID()}`;
    const link = await createLink(key, { campaignId: campaign.id, variant: "b", contact: "+351912345678", messageId });
    const registered = await callJson("/api/v1/messages", {
      key,
      body: { messages: [{ id: messageId, contact: "+351912345678", campaignId: campaign.id, category: "marketing" }] },
    });
    expect(registered.status).toBe(200);
    const click = await humanClick(link.code);
    // A link preview is no click and goes nowhere.
    await callWorker(`/${link.code}`, { headers: { "user-agent": "WhatsApp/2.23.20.0 A" } });

    await forwardAndSend();
    const requests = await accepted(measurementId);
    expectWellFormed(requests);
    expect(requests).toHaveLength(1);
    const body = requests[0].body as Json;
    expect(body.client_id).toBe(await derivedClientId(click.clickId, click.occurredAt));
    expect(body.consent).toEqual({ ad_user_data: "DENIED", ad_personalization: "DENIED" });
    expect(body.events).toEqual([
      {
        name: "wa_link_click",
        params: {
          click_id: click.clickId,
          link_code: link.code,
          campaign_id: campaign.id,
          campaign: "Black Friday",
          variant: "b",
          message_category: "marketing",
          source: "whatsapp",
          medium: "message",
          session_id: String(Math.floor(click.occurredAt / 1000)),
        },
        timestamp_micros: click.occurredAt * 1000,
      },
    ]);
    // Nothing personal: neither the phone number nor the wamid.
    expect(JSON.stringify(body)).not.toContain("912345678");
    expect(JSON.stringify(body)).not.toContain(messageId);
    expect(await status(key)).toEqual({ pending: 0, sent: 1, failed: 0, skipped: 0 });
  });

  it("a purchase with transaction id, value and currency, in the site's GA session, with its own consent", async () => {
    const { measurementId, key } = await ga4Workspace();
    const occurredAt = new Date(Date.now() - 2 * HOUR).toISOString();
    const created = await conversion(key, {
      event: "purchase",
      value: "49.90",
      currency: "EUR",
      orderId: "order-1001",
      gaClientId: "1234567890.1767225600",
      gaSessionId: "1767229200",
      consent: { adUserData: "granted", adPersonalization: "granted" },
      occurredAt,
    });
    await conversion(key, { event: "generate_lead", gaClientId: "1234567890.1767225600" });
    await conversion(key, { event: "newsletter_signup", value: 0, currency: "USD" });

    await forwardAndSend();
    const requests = await accepted(measurementId);
    expectWellFormed(requests);
    const byName = Object.fromEntries(requests.flatMap((r) => events([r]).map((e) => [e.name, { e, r }])));
    expect(byName.purchase.r.body).toMatchObject({
      client_id: "1234567890.1767225600",
      consent: { ad_user_data: "GRANTED", ad_personalization: "GRANTED" },
    });
    expect(byName.purchase.e).toEqual({
      name: "purchase",
      params: {
        transaction_id: "order-1001",
        conversion_id: created.id,
        value: 49.9,
        currency: "EUR",
        session_id: "1767229200",
      },
      timestamp_micros: Date.parse(occurredAt) * 1000,
    });
    // The lead joins the same GA4 user, with the workspace's consent.
    expect(byName.generate_lead.r.body).toMatchObject({
      client_id: "1234567890.1767225600",
      consent: { ad_user_data: "DENIED", ad_personalization: "DENIED" },
    });
    expect(byName.generate_lead.e.params).not.toHaveProperty("transaction_id");
    expect(byName.newsletter_signup.e.params).toMatchObject({ value: 0, currency: "USD" });
    expect(await status(key)).toEqual({ pending: 0, sent: 3, failed: 0, skipped: 0 });
  });

  it("a conversion without a _ga id joins the user of the click it is attributed to", async () => {
    const { measurementId, key } = await ga4Workspace({
      consent: { adUserData: "granted", adPersonalization: "denied" },
    });
    const link = await createLink(key, {});
    const click = await humanClick(link.code);
    await conversion(key, { event: "purchase", clickId: click.clickId, value: 10, currency: "BRL" });

    await forwardAndSend();
    const requests = await accepted(measurementId);
    expectWellFormed(requests);
    const clientId = await derivedClientId(click.clickId, click.occurredAt);
    expect(requests.map((r) => (r.body as Json).client_id)).toEqual([clientId]);
    expect(requests[0].body).toMatchObject({ consent: { ad_user_data: "GRANTED", ad_personalization: "DENIED" } });
    expect(events(requests).map((e) => e.name)).toEqual(["wa_link_click", "purchase"]);
    const purchase = events(requests)[1];
    expect(purchase.params).toMatchObject({
      click_id: click.clickId,
      link_code: link.code,
      session_id: String(Math.floor(click.occurredAt / 1000)),
    });
  });

  it("marks events for DebugView when the workspace asks for it", async () => {
    const { measurementId, key } = await ga4Workspace({ debugMode: true });
    await conversion(key, { event: "generate_lead" });
    await forwardAndSend();
    const [event] = events(await accepted(measurementId));
    expect(event.params).toMatchObject({ debug_mode: true, engagement_time_msec: 1 });
  });

  it("packs at most 25 events a request", async () => {
    const { measurementId, key } = await ga4Workspace();
    for (let i = 0; i < 30; i++) {
      await conversion(key, {
        event: "purchase",
        orderId: `o-${i}`,
        value: i + 1,
        currency: "EUR",
        gaClientId: "111.222",
      });
    }
    await forwardAndSend();
    const requests = await accepted(measurementId);
    expectWellFormed(requests);
    expect(requests.map((r) => (r.body as Json).events.length)).toEqual([25, 5]);
    expect(new Set(events(requests).map((e) => e.params.transaction_id)).size).toBe(30);
  });

  it("sends nothing for a workspace without GA4, and moves past its events", async () => {
    const { adminKey } = await createWorkspace();
    await conversion(adminKey, { event: "purchase", value: 1, currency: "EUR" });
    await forwardToGa4(env);
    const position = await env.DB.prepare(
      "SELECT (SELECT seq FROM pipeline_positions WHERE consumer = 'ga4') AS ga4, (SELECT MAX(seq) FROM outbox) AS last",
    ).first<{ ga4: number; last: number }>();
    expect(position!.ga4).toBe(position!.last);
    expect(await status(adminKey)).toEqual({ pending: 0, sent: 0, failed: 0, skipped: 0 });
  });
});

describe("names GA4 reserves", () => {
  it("refuses conversions named as GA4 reserves, with a 400 that writes nothing", async () => {
    const { key } = await ga4Workspace();
    for (const event of ["session_start", "first_visit", "firebase_signup", "ga_purchase", "google_lead"]) {
      const res = await callJson("/api/v1/conversions", { key, body: { event } });
      expect(res.status, event).toBe(400);
      expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    }
    const { n } = (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM conversions WHERE event IN ('session_start', 'first_visit')",
    ).first<{ n: number }>())!;
    expect(n).toBe(0);
  });
});

describe("too old for GA4", () => {
  it("counts an event more than 72 hours old when it could first be sent as skipped, and sends nothing", async () => {
    const { measurementId, key } = await ga4Workspace();
    await conversion(key, {
      event: "purchase",
      value: 5,
      currency: "EUR",
      occurredAt: new Date(Date.now() - 73 * HOUR).toISOString(),
    });
    await conversion(key, {
      event: "purchase",
      value: 6,
      currency: "EUR",
      occurredAt: new Date(Date.now() - 71 * HOUR).toISOString(),
    });
    await forwardAndSend();
    expect(events(await accepted(measurementId)).map((e) => e.params.value)).toEqual([6]);
    expect(await status(key)).toEqual({ pending: 0, sent: 1, failed: 0, skipped: 1 });
  });

  it("skips an event that grew too old while GA4 was down", async () => {
    const { measurementId, key } = await ga4Workspace();
    await failWith(measurementId, { status: 503 });
    await conversion(key, {
      event: "purchase",
      value: 5,
      currency: "EUR",
      occurredAt: new Date(Date.now() - 70 * HOUR).toISOString(),
    });
    const now = Date.now();
    expect(await forwardAndSend(now)).toMatchObject({ claimed: 1, retried: 1 });
    await recover(measurementId);
    // Three hours on, the retry is due, and the event is 73 hours old.
    expect(await sendGa4Turn(env, now + 3 * HOUR)).toMatchObject({ claimed: 1, skipped: 1, sent: 0 });
    expect(await accepted(measurementId)).toEqual([]);
    expect(await status(key)).toEqual({ pending: 0, sent: 0, failed: 0, skipped: 1 });
  });
});

describe("failures", () => {
  it("retries through an outage with back-off, and every event arrives once GA4 recovers", async () => {
    const { measurementId, key } = await ga4Workspace();
    const link = await createLink(key, {});
    const clicks = [await humanClick(link.code), await humanClick(link.code)];
    await conversion(key, {
      event: "purchase",
      orderId: "outage-1",
      value: 20,
      currency: "EUR",
      clickId: clicks[0].clickId,
    });
    await failWith(measurementId, { status: 503 });
    const now = Date.now();
    const first = await forwardAndSend(now);
    expect(first).toMatchObject({ claimed: 3, sent: 0 });
    expect(await status(key)).toEqual({ pending: 3, sent: 0, failed: 0, skipped: 0 });
    // Not due again before the first back-off has passed.
    expect(await sendGa4Turn(env, now + 1_000)).toMatchObject({ claimed: 0 });
    // Still down on the next tries (a dropped connection, then 429), then up again.
    await failWith(measurementId, { drop: true });
    expect(await sendGa4Turn(env, now + HOUR)).toMatchObject({ claimed: 3, sent: 0 });
    await failWith(measurementId, { status: 429 });
    expect(await sendGa4Turn(env, now + 2 * HOUR)).toMatchObject({ claimed: 3, sent: 0 });
    await recover(measurementId);
    expect(await sendGa4Turn(env, now + 3 * HOUR)).toMatchObject({ claimed: 3, sent: 3 });

    const all = await received(measurementId);
    expect(all.map((r) => r.answered).filter((a) => a !== 204)).toEqual(expect.arrayContaining([503, "dropped", 429]));
    const delivered = await accepted(measurementId);
    expectWellFormed(delivered);
    const ids = events(delivered).map((e) => e.params.click_id + "/" + (e.params.conversion_id ?? ""));
    expect(new Set(ids).size).toBe(3);
    expect(events(delivered)).toHaveLength(3);
    // Every attempt of an event carried the same body: the same client, ids and time.
    const attempts = new Map<string, string[]>();
    for (const request of all) {
      for (const e of events([request])) {
        const id = e.params.conversion_id ?? e.params.click_id;
        attempts.set(id, [...(attempts.get(id) ?? []), JSON.stringify({ c: (request.body as Json).client_id, e })]);
      }
    }
    for (const versions of attempts.values()) expect(new Set(versions).size).toBe(1);
    expect(await status(key)).toEqual({ pending: 0, sent: 3, failed: 0, skipped: 0 });
  });

  it("keeps one workspace's outage from holding up another's events", async () => {
    const down = await ga4Workspace();
    const up = await ga4Workspace();
    await failWith(down.measurementId, { status: 500 });
    await conversion(down.key, { event: "generate_lead" });
    await conversion(up.key, { event: "generate_lead" });
    await forwardAndSend();
    expect(events(await accepted(up.measurementId))).toHaveLength(1);
    expect(await status(up.key)).toMatchObject({ pending: 0, sent: 1 });
    expect(await status(down.key)).toMatchObject({ pending: 1, sent: 0 });
  });

  it("sends again what GA4 took when the record of it failed: the duplicate carries the same identifiers", async () => {
    const { measurementId, key } = await ga4Workspace();
    await conversion(key, { event: "purchase", orderId: "dup-1", value: 3, currency: "EUR" });
    await env.DB.exec(
      "CREATE TRIGGER refuse_ga4_totals BEFORE INSERT ON ga4_totals BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
    );
    const now = Date.now();
    try {
      await expect(forwardAndSend(now)).rejects.toThrow(/disk I\/O error/);
    } finally {
      await env.DB.exec("DROP TRIGGER refuse_ga4_totals;");
    }
    expect(await status(key)).toMatchObject({ pending: 1, sent: 0 });
    // Once the claim has lapsed, the event goes again.
    expect(await sendGa4Turn(env, now + 3 * 60_000)).toMatchObject({ sent: 1 });
    const delivered = await accepted(measurementId);
    expect(delivered).toHaveLength(2);
    expect(delivered[0].body).toEqual(delivered[1].body);
    expect(events(delivered)[0].params.transaction_id).toBe("dup-1");
    expect(await status(key)).toEqual({ pending: 0, sent: 1, failed: 0, skipped: 0 });
  });

  it("keeps what exhausts its retries as failed, lists it, and replays it", async () => {
    const { measurementId, key } = await ga4Workspace();
    await failWith(measurementId, { status: 502 });
    const first = await conversion(key, { event: "purchase", orderId: "dl-1", value: 7, currency: "EUR" });
    await conversion(key, { event: "generate_lead" });
    let now = Date.now();
    await forwardAndSend(now);
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      now += RETRY_DELAYS_S[Math.min(attempt - 1, RETRY_DELAYS_S.length) - 1] * 1000 * 1.25;
      expect(await sendGa4Turn(env, now)).toMatchObject({ claimed: 2 });
    }
    expect(await status(key)).toEqual({ pending: 0, sent: 0, failed: 2, skipped: 0 });
    expect(await sendGa4Turn(env, now + 24 * HOUR)).toMatchObject({ claimed: 0 });

    const reader = await createApiKey(key, ["reports:read"]);
    const failed = await callJson("/api/v1/ga4/failed?limit=1", { key: reader });
    expect(failed.status).toBe(200);
    expect(failed.body.events).toHaveLength(1);
    expect(failed.body.events[0]).toEqual({
      id: expect.stringMatching(/^ga4_/),
      kind: "conversion",
      subjectId: expect.stringMatching(/^cnv_/),
      name: expect.stringMatching(/^(purchase|generate_lead)$/),
      occurredAt: expect.any(String),
      attempts: MAX_ATTEMPTS,
      reason: `GA4 answered HTTP 502, ${MAX_ATTEMPTS} attempts`,
      failedAt: expect.any(String),
    });
    const rest = await callJson(`/api/v1/ga4/failed?limit=1&cursor=${failed.body.nextCursor}`, { key: reader });
    expect(rest.body.events).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();

    // Replay needs admin; the reader cannot.
    expect((await callJson("/api/v1/ga4/replay", { key: reader, method: "POST" })).status).toBe(403);
    await recover(measurementId);
    const one = await callJson("/api/v1/ga4/replay", { key, body: { ids: [failed.body.events[0].id] } });
    expect(one.body).toEqual({ replayed: 1 });
    const all = await callJson("/api/v1/ga4/replay", { key, method: "POST" });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ replayed: 1 });
    expect(await sendGa4Turn(env)).toMatchObject({ sent: 2 });
    expect(await status(key)).toEqual({ pending: 0, sent: 2, failed: 0, skipped: 0 });
    expect(events(await accepted(measurementId)).map((e) => e.params.conversion_id)).toContain(first.id);
    expect((await callJson("/api/v1/ga4/replay", { key, method: "POST" })).body).toEqual({ replayed: 0 });
  });

  it("gives up at once on a request GA4 refuses (4xx), without retrying", async () => {
    const { measurementId, key } = await ga4Workspace();
    await failWith(measurementId, { status: 403, times: 1 });
    await conversion(key, { event: "generate_lead" });
    expect(await forwardAndSend()).toMatchObject({ claimed: 1, failed: 1 });
    expect(await status(key)).toMatchObject({ pending: 0, failed: 1 });
    const failed = await callJson("/api/v1/ga4/failed", { key });
    expect(failed.body.events[0]).toMatchObject({ attempts: 1, reason: "GA4 answered HTTP 403" });
  });

  it("never sends an event that breaks GA4's rules: it is kept as failed with the rule it breaks", async () => {
    const { measurementId, key, workspace } = await ga4Workspace();
    const now = Date.now();
    // An event stored by an older version, with a parameter name GA4 reserves.
    await env.DB.prepare(
      `INSERT INTO ga4_events (id, workspace_id, kind, subject_id, client_id, consent, event, occurred_at, status,
         attempts, next_at, lease_until, created_at, updated_at)
       VALUES ('ga4_bad', ?1, 'conversion', 'cnv_old', '1.2', ?2, ?3, ?4, 'pending', 0, ?4, 0, ?4, ?4)`,
    )
      .bind(
        workspace.id,
        JSON.stringify({ ad_user_data: "DENIED", ad_personalization: "DENIED" }),
        JSON.stringify({ name: "purchase", params: { firebase_conversion: 1 }, timestamp_micros: now * 1000 }),
        now,
      )
      .run();
    expect(await sendGa4Turn(env, now)).toMatchObject({ claimed: 1, failed: 1 });
    expect(await received(measurementId)).toEqual([]);
    const failed = await callJson("/api/v1/ga4/failed", { key });
    expect(failed.body.events[0].reason).toContain("GA4-R02");
  });

  it("keeps events as failed when forwarding was turned off, and sends them once it is on again", async () => {
    const { measurementId, key } = await ga4Workspace();
    await conversion(key, { event: "generate_lead" });
    await forwardToGa4(env);
    await callJson("/api/v1/workspace", {
      key,
      method: "PATCH",
      body: { settings: { ga4: { apiSecret: undefined } } },
    });
    const off = await callJson("/api/v1/workspace", { key, method: "PATCH", body: { settings: { ga4: null } } });
    expect(off.body.settings.ga4.enabled).toBe(false);
    expect(await sendGa4Turn(env)).toMatchObject({ claimed: 1, failed: 1 });
    expect((await callJson("/api/v1/ga4/failed", { key })).body.events[0].reason).toMatch(/forwarding is off/);
    await callJson("/api/v1/workspace", {
      key,
      method: "PATCH",
      body: { settings: { ga4: { measurementId, apiSecret: "another-secret" } } },
    });
    expect((await callJson("/api/v1/ga4/replay", { key, method: "POST" })).body).toEqual({ replayed: 1 });
    expect(await sendGa4Turn(env)).toMatchObject({ sent: 1 });
    const [request] = await accepted(measurementId);
    expect(request.query.api_secret).toBe("another-secret");
  });
});

describe("the queue", () => {
  it("forwards a click end to end through the events and deliveries queues", async () => {
    vi.restoreAllMocks();
    const { measurementId, key } = await ga4Workspace();
    const link = await createLink(key, {});
    const click = await humanClick(link.code);
    await vi.waitFor(
      async () => {
        const delivered = await accepted(measurementId);
        expect(events(delivered).map((e) => e.params.click_id)).toEqual([click.clickId]);
      },
      { timeout: 20_000, interval: 250 },
    );
    await vi.waitFor(async () => expect(await status(key)).toMatchObject({ sent: 1, pending: 0 }), { timeout: 5_000 });
  });

  it("claims at most a turn's worth of events at a time", () => {
    expect(TURN_EVENTS).toBeGreaterThanOrEqual(25);
  });
});

describe("erasure", () => {
  it("takes the contact's events not sent yet out of the way to GA4", async () => {
    const { measurementId, key } = await ga4Workspace();
    await failWith(measurementId, { status: 503 });
    const link = await createLink(key, { contact: "+351911111111" });
    await humanClick(link.code);
    await conversion(key, { event: "purchase", contact: "+351911111111", value: 1, currency: "EUR" });
    await forwardAndSend();
    expect(await status(key)).toMatchObject({ pending: 2 });
    const erased = await callJson("/api/v1/contacts/erase", { key, body: { contact: "+351911111111" } });
    expect(erased.status).toBe(200);
    expect(erased.body.erased.ga4Events).toBe(2);
    expect(await status(key)).toMatchObject({ pending: 0 });
  });
});
