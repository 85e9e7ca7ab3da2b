import { env } from "cloudflare:test";
import { breakWrites, repairWrites, runQueue } from "./failures";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueueMessage } from "../src/schemas/queue";
import { callJson, callWorker, createLink, createWorkspace, expectErrorEnvelope } from "./helpers";

const HUMAN_UA =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";
const SHOP = "https://shop.example.com";
const ELSEWHERE = "https://evil.example.net";
// The transparent 1×1 GIF89a the pixel answers with.
const GIF = Uint8Array.from(atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), (ch) => ch.charCodeAt(0));

async function shopWorkspace() {
  const created = await createWorkspace({ allowedOrigins: [SHOP] });
  return { ...created, workspaceId: created.workspace.id as string, pk: created.workspace.publishableKey as string };
}

async function clickThrough(code: string): Promise<string> {
  const res = await callWorker(`/${code}`, { headers: { "user-agent": HUMAN_UA } });
  return new URL(res.headers.get("location")!).searchParams.get("wa_cid")!;
}

function beacon(
  pk: string,
  body: unknown,
  { origin = SHOP as string | null, contentType = "text/plain;charset=UTF-8" } = {},
) {
  const headers: Record<string, string> = { "content-type": contentType };
  if (origin) headers.origin = origin;
  return callWorker(`/t/collect?k=${encodeURIComponent(pk)}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers,
  });
}

async function errorOf(res: Response) {
  return JSON.parse(await res.text());
}

function conversionRows(workspaceId: string) {
  return env.DB.prepare(
    `SELECT event, order_id, value, value_minor, currency, source, click_id, link_code, ga_client_id, occurred_at
     FROM conversions WHERE workspace_id = ?1 ORDER BY received_at`,
  )
    .bind(workspaceId)
    .all()
    .then((r) => r.results);
}

async function linkConversions(key: string, code: string) {
  const { body } = await callJson(`/api/v1/links/${code}`, { key });
  return { conversions: body.conversions, revenue: body.revenue };
}

async function gzippedSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

describe("GET /t/s.js", () => {
  it("serves the snippet as cacheable JavaScript with an ETag, small enough to gzip under 2 KB", async () => {
    const res = await callWorker("/t/s.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^(application|text)\/javascript\b/);
    const maxAge = Number(res.headers.get("cache-control")?.match(/max-age=(\d+)/)?.[1]);
    expect(res.headers.get("cache-control")).toMatch(/\bpublic\b/);
    expect(maxAge).toBeGreaterThanOrEqual(86_400);
    expect(res.headers.get("etag")).toMatch(/^"[^"]+"$/);

    const source = await res.text();
    expect(source).toContain("/t/collect?k=");
    expect(source).toContain("sendBeacon");
    const size = await gzippedSize(source);
    console.log(`GET /t/s.js: ${new TextEncoder().encode(source).byteLength} bytes, ${size} bytes gzipped`);
    expect(size).toBeLessThan(2048);
  });

  it("answers 304 without a body when the browser already has this version", async () => {
    const first = await callWorker("/t/s.js");
    const etag = first.headers.get("etag")!;
    const again = await callWorker("/t/s.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");

    const stale = await callWorker("/t/s.js", { headers: { "if-none-match": '"an-older-version"' } });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(await first.text());
  });

  // RFC 9110 §13.1.2 asks for the weak comparison and allows a list; Cloudflare's edge also turns a strong
  // ETag into W/"…" when it compresses the response, which is what browsers then send back.
  it("answers 304 to a weak or listed If-None-Match of the same version", async () => {
    const etag = (await callWorker("/t/s.js")).headers.get("etag")!;
    for (const header of [`W/${etag}`, `"an-older-version", ${etag}`, "*"]) {
      const res = await callWorker("/t/s.js", { headers: { "if-none-match": header } });
      expect({ header, status: res.status }).toEqual({ header, status: 304 });
    }
  });
});

describe("POST /t/collect", () => {
  it("takes a text/plain beacon from an allowed origin and attributes it to the click in the body", async () => {
    const { workspaceId, adminKey, pk } = await shopWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);

    const res = await beacon(pk, {
      clickId,
      event: "purchase",
      value: 49.9,
      currency: "EUR",
      orderId: "B-1",
      gaClientId: "1234567890.1700000000",
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("vary")).toMatch(/origin/i);
    expect(await res.text()).toBe("");
    expect(await conversionRows(workspaceId)).toEqual([
      {
        event: "purchase",
        order_id: "B-1",
        value: 49.9,
        value_minor: 4990,
        currency: "EUR",
        source: "beacon",
        click_id: clickId,
        link_code: link.code,
        ga_client_id: "1234567890.1700000000",
        occurred_at: expect.any(Number),
      },
    ]);
    expect(await linkConversions(adminKey, link.code)).toEqual({ conversions: 1, revenue: 49.9 });
  });

  it("takes an application/json beacon as well", async () => {
    const { workspaceId, adminKey, pk } = await shopWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const res = await beacon(pk, { clickId, event: "generate_lead" }, { contentType: "application/json" });
    expect(res.status).toBe(202);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(await conversionRows(workspaceId)).toEqual([
      expect.objectContaining({ event: "generate_lead", source: "beacon", click_id: clickId, link_code: link.code }),
    ]);
  });

  it("counts a repeated beacon of the same order once", async () => {
    const { workspaceId, adminKey, pk } = await shopWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const body = { clickId, event: "purchase", value: "10.00", currency: "USD", orderId: "B-2" };
    expect((await beacon(pk, body)).status).toBe(202);
    expect((await beacon(pk, body)).status).toBe(202);
    expect(await conversionRows(workspaceId)).toHaveLength(1);
    expect(await linkConversions(adminKey, link.code)).toEqual({ conversions: 1, revenue: 10 });
  });

  // A visitor who came without a click id, on a site without GA: older snippets send those fields as null.
  it("takes the beacon exactly as the snippet sends it for a visitor without click id or _ga cookie", async () => {
    const { workspaceId, pk } = await shopWorkspace();
    // JSON.stringify({ clickId: null, event, value: undefined, currency: undefined, orderId: undefined, gaClientId: null })
    const res = await beacon(pk, '{"clickId":null,"event":"sign_up","gaClientId":null}');
    expect(res.status).toBe(202);
    expect(await conversionRows(workspaceId)).toEqual([
      expect.objectContaining({ event: "sign_up", source: "beacon", click_id: null }),
    ]);
  });

  it.each([
    ["an origin that is not allowed", ELSEWHERE],
    ["the allowed host over plain http", "http://shop.example.com"],
    ["a sandboxed page", "null"],
  ])("refuses %s with 403 and stores nothing", async (_, origin) => {
    const { workspaceId, pk } = await shopWorkspace();
    const res = await beacon(pk, { event: "purchase" }, { origin });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await errorOf(res)).toEqual(expectErrorEnvelope("forbidden"));
    expect(await conversionRows(workspaceId)).toEqual([]);
  });

  it("refuses every origin for a workspace that allows none", async () => {
    const { workspace } = await createWorkspace();
    const res = await beacon(workspace.publishableKey, { event: "purchase" });
    expect(res.status).toBe(403);
    expect(await conversionRows(workspace.id)).toEqual([]);
  });

  it("answers a preflight from an allowed origin with 204 and the CORS headers", async () => {
    const { pk } = await shopWorkspace();
    const res = await callWorker(`/t/collect?k=${pk}`, {
      method: "OPTIONS",
      headers: {
        origin: SHOP,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(Object.fromEntries(res.headers)).toMatchObject({
      "access-control-allow-origin": SHOP,
      "access-control-allow-methods": expect.stringContaining("POST"),
      "access-control-allow-headers": expect.stringMatching(/content-type/i),
      "access-control-max-age": expect.stringMatching(/^\d+$/),
      vary: expect.stringMatching(/origin/i),
    });
  });

  it("refuses a preflight from an origin that is not allowed with 403", async () => {
    const { pk } = await shopWorkspace();
    const res = await callWorker(`/t/collect?k=${pk}`, {
      method: "OPTIONS",
      headers: { origin: ELSEWHERE, "access-control-request-method": "POST" },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it.each([
    ["an unknown publishable key", "cf_pk_unknownunknownunknown00"],
    ["an API key in place of the publishable key", null],
  ])("refuses %s with 401", async (_, key) => {
    const { workspaceId, adminKey } = await shopWorkspace();
    const res = await beacon(key ?? adminKey, { event: "purchase" });
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toEqual(expectErrorEnvelope("unauthorized"));
    expect(await conversionRows(workspaceId)).toEqual([]);
  });

  it("refuses a beacon without a key with 401", async () => {
    const res = await callWorker("/t/collect", {
      method: "POST",
      body: '{"event":"purchase"}',
      headers: { origin: SHOP, "content-type": "text/plain" },
    });
    expect(res.status).toBe(401);
  });

  it.each([
    ["a value without a currency", { event: "purchase", value: 10 }, ["currency"]],
    ["a bad event name", { event: "buy now" }, ["event"]],
    ["decimals on yen", { event: "purchase", value: "9.5", currency: "JPY" }, ["value"]],
    ["an unknown field", { event: "purchase", email: "a@b.c" }, []],
  ])("refuses %s with 400 naming the field, and stores nothing", async (_, body, path) => {
    const { workspaceId, pk } = await shopWorkspace();
    const res = await beacon(pk, body);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error).toEqual(expectErrorEnvelope("invalid_request"));
    expect(error.error.issues.map((i: { path: unknown }) => i.path)).toContainEqual(path);
    expect(await conversionRows(workspaceId)).toEqual([]);
  });

  it("refuses a body that is not JSON with 400 invalid_json", async () => {
    const { workspaceId, pk } = await shopWorkspace();
    const res = await beacon(pk, "event=purchase");
    expect(res.status).toBe(400);
    // The page's own origin may read why, so that the site's console shows it.
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(await errorOf(res)).toEqual(expectErrorEnvelope("invalid_json"));
    expect(await conversionRows(workspaceId)).toEqual([]);
  });

  it("refuses a form-encoded beacon with 415", async () => {
    const { workspaceId, pk } = await shopWorkspace();
    const res = await beacon(pk, "event=purchase", { contentType: "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(await errorOf(res)).toEqual(expectErrorEnvelope("unsupported_media_type"));
    expect(await conversionRows(workspaceId)).toEqual([]);
  });

  it("refuses a beacon over 16 KB with 413", async () => {
    const { workspaceId, pk } = await shopWorkspace();
    const res = await beacon(pk, JSON.stringify({ event: "purchase", orderId: "x".repeat(17_000) }));
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toEqual(expectErrorEnvelope("payload_too_large"));
    expect(await conversionRows(workspaceId)).toEqual([]);
  });
});

describe("GET /t/p.gif", () => {
  async function pixel(query: Record<string, string | null>) {
    const params = Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== null);
    const res = await callWorker(`/t/p.gif?${new URLSearchParams(params)}`);
    return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
  }

  function expectGif(res: Awaited<ReturnType<typeof pixel>>) {
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.bytes).toEqual(GIF);
  }

  it("answers a transparent 1×1 GIF and records the conversion with source pixel", async () => {
    const { workspaceId, adminKey, pk } = await shopWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const res = await pixel({ k: pk, cid: clickId, e: "purchase", v: "19.90", c: "EUR", o: "P-1" });
    expectGif(res);
    // GIF89a, 1×1.
    expect(new TextDecoder().decode(res.bytes.slice(0, 6))).toBe("GIF89a");
    expect([...res.bytes.slice(6, 10)]).toEqual([1, 0, 1, 0]);
    expect(res.bytes.byteLength).toBe(42);
    expect(await conversionRows(workspaceId)).toEqual([
      {
        event: "purchase",
        order_id: "P-1",
        value: 19.9,
        value_minor: 1990,
        currency: "EUR",
        source: "pixel",
        click_id: clickId,
        link_code: link.code,
        ga_client_id: null,
        occurred_at: expect.any(Number),
      },
    ]);
    expect(await linkConversions(adminKey, link.code)).toEqual({ conversions: 1, revenue: 19.9 });
  });

  it.each([
    ["no key", { k: null, e: "purchase" }],
    ["an unknown key", { k: "cf_pk_unknownunknownunknown00", e: "purchase" }],
    ["an unknown currency", { e: "purchase", v: "10", c: "XYZ" }],
    ["a value without a currency", { e: "purchase", v: "10" }],
    ["no event", { v: "10", c: "EUR" }],
    ["a bad event name", { e: "buy now" }],
  ])("still answers the GIF for %s, and records nothing", async (_, query) => {
    const { workspaceId, pk } = await shopWorkspace();
    const res = await pixel({ k: pk, ...query });
    expectGif(res);
    expect(await conversionRows(workspaceId)).toEqual([]);
  });
});

/** Records what goes to the events queue; `callThrough` also hands it to the real queue. */
function spyOnQueue(callThrough: boolean) {
  const sent: QueueMessage[] = [];
  const sendBatch = env.EVENTS.sendBatch.bind(env.EVENTS);
  const spy = vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages, options) => {
    sent.push(...[...messages].map((m) => m.body as QueueMessage));
    if (callThrough) return sendBatch(messages, options);
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  });
  return { sent, restore: () => spy.mockRestore() };
}

describe("beacon and pixel when D1 fails", () => {
  afterEach(() => repairWrites("conversions"));

  it("answers the beacon with 202, queues the conversion, and the queue stores it exactly once", async () => {
    const { workspaceId, adminKey, pk } = await shopWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const queue = spyOnQueue(true);
    await breakWrites("conversions");

    const body = { clickId, event: "purchase", value: "30.00", currency: "EUR", orderId: "Q-1" };
    const res = await beacon(pk, body);
    queue.restore();
    expect(res.status).toBe(202);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(await conversionRows(workspaceId)).toEqual([]);
    expect(queue.sent).toEqual([
      {
        type: "conversion",
        workspaceId,
        source: "beacon",
        request: expect.objectContaining({ clickId, event: "purchase", value: 30, valueMinor: 3000, currency: "EUR" }),
      },
    ]);

    // While D1 still fails the consumer asks for a retry rather than dropping it.
    const failed = await runQueue(queue.sent);
    expect(failed.retryMessages).toEqual([expect.objectContaining({ msgId: "msg-0" })]);
    expect(failed.explicitAcks).toEqual([]);

    await repairWrites("conversions");
    const landed = await runQueue(queue.sent, 2);
    expect(landed.explicitAcks).toEqual(["msg-0"]);
    const replayed = await runQueue(queue.sent, 3);
    expect(replayed.explicitAcks).toEqual(["msg-0"]);

    expect(await conversionRows(workspaceId)).toEqual([
      expect.objectContaining({ order_id: "Q-1", source: "beacon", click_id: clickId, value_minor: 3000 }),
    ]);
    expect(await linkConversions(adminKey, link.code)).toEqual({ conversions: 1, revenue: 30 });
  });

  it("logs the failed write without the query's parameters", async () => {
    const { pk } = await shopWorkspace();
    const queue = spyOnQueue(false);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await breakWrites("conversions");
    const res = await callWorker(`/t/p.gif?k=${pk}&e=purchase&o=Q-order-4711`);
    await repairWrites("conversions");
    queue.restore();
    const lines = warn.mock.calls.map((args) => String(args[0]));
    warn.mockRestore();
    expect(res.status).toBe(200);
    const failed = lines.find((line) => line.includes("write_failed_queued"));
    // The log says which statement failed, and why, but not with what.
    expect(failed).toContain("Failed query: insert into");
    expect(failed).toContain("params: (left out)");
    expect(failed).not.toContain("Q-order-4711");
  });

  it("still answers the pixel's GIF and queues its conversion", async () => {
    const { workspaceId, pk } = await shopWorkspace();
    const queue = spyOnQueue(false);
    await breakWrites("conversions");
    const res = await callWorker(`/t/p.gif?k=${pk}&e=purchase&o=Q-2`);
    queue.restore();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(queue.sent).toEqual([
      { type: "conversion", workspaceId, source: "pixel", request: expect.objectContaining({ orderId: "Q-2" }) },
    ]);
    await repairWrites("conversions");
    await runQueue(queue.sent);
    expect(await conversionRows(workspaceId)).toEqual([expect.objectContaining({ order_id: "Q-2", source: "pixel" })]);
  });

  // A conversion stored from the queue must keep the time it happened: the attribution window is
  // measured from it, and back-off can delay the write by hours.
  it("keeps the time a queued conversion happened, not the time the queue stored it", async () => {
    const { workspaceId, adminKey, pk } = await shopWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const queue = spyOnQueue(false);
    await breakWrites("conversions");
    const sentAt = Date.now();
    expect((await beacon(pk, { clickId, event: "purchase", orderId: "Q-3" })).status).toBe(202);
    const answeredAt = Date.now();
    queue.restore();

    await new Promise((resolve) => setTimeout(resolve, 50));
    await repairWrites("conversions");
    await runQueue(queue.sent, 2);
    const [row] = await conversionRows(workspaceId);
    expect(row.occurred_at).toBeGreaterThanOrEqual(sentAt);
    expect(row.occurred_at).toBeLessThanOrEqual(answeredAt);
  });
});
