import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, callWorker, createCampaign, createLink, createWorkspace, expectErrorEnvelope } from "./helpers";

const ANDROID_CHROME =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36";
const IPHONE_SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const WHATSAPP_PREVIEW = "WhatsApp/2.23.20.0 A";

function visit(
  code: string,
  ua: string,
  init: { ip?: string; query?: string; headers?: Record<string, string>; method?: string; country?: string } = {},
) {
  return callWorker(`/${code}${init.query ?? ""}`, {
    method: init.method,
    headers: { "user-agent": ua, "cf-connecting-ip": init.ip ?? "203.0.113.7", ...init.headers },
    cf: { country: init.country ?? "BR" },
  });
}

async function counters(adminKey: string, code: string) {
  const { body } = await callJson(`/api/v1/links/${code}`, { key: adminKey });
  return { clicks: body.clicks, uniqueClicks: body.uniqueClicks, previews: body.previews, bots: body.bots };
}

function clickRows(linkId: string) {
  return env.DB.prepare("SELECT * FROM clicks WHERE link_id = ? ORDER BY occurred_at")
    .bind(linkId)
    .all<Record<string, unknown>>();
}

describe("GET /:code", () => {
  it("redirects a human with 302, the click id and UTM tags, and records one click", async () => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A"] });
    const link = await createLink(adminKey, {
      url: "https://shop.example.com/offer?sku=42",
      campaignId: campaign.id,
      variant: "A",
      messageId: "wamid.ABC",
      utm: { source: "whatsapp", medium: "message" },
    });
    const res = await visit(link.code, ANDROID_CHROME, { headers: { referer: "https://l.wl.co/l?u=x" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe("https://shop.example.com/offer");
    expect(location.searchParams.get("sku")).toBe("42");
    expect(location.searchParams.get("utm_source")).toBe("whatsapp");
    expect(location.searchParams.get("utm_medium")).toBe("message");
    const clickId = location.searchParams.get("wa_cid");
    expect(clickId).toMatch(/^[A-Za-z0-9]{16}$/);

    const { results } = await clickRows(link.id);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      id: clickId,
      kind: "click",
      is_unique: 1,
      campaign_id: campaign.id,
      variant: "A",
      message_id: "wamid.ABC",
      country: "BR",
      device_type: "mobile",
      os: "Android",
      browser: "Chrome",
      referrer_host: "l.wl.co",
    });
    expect(JSON.stringify(results[0])).not.toContain("203.0.113.7");
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 1, uniqueClicks: 1, previews: 0, bots: 0 });
  });

  it("forwards the visitor's query parameters but never lets them change scheme, host, path or existing parameters", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { url: "https://shop.example.com/offer?sku=42" });
    const res = await visit(link.code, IPHONE_SAFARI, {
      query: "?ref=story&sku=7&redir_url=https://evil.example/&url=https://evil.example/&wa_cid=forged&@evil.example",
    });
    const location = new URL(res.headers.get("location")!);
    expect(location.protocol).toBe("https:");
    expect(location.host).toBe("shop.example.com");
    expect(location.pathname).toBe("/offer");
    expect(location.searchParams.get("ref")).toBe("story");
    // The destination's own parameter stays as the link owner stored it.
    expect(location.searchParams.getAll("sku")).toEqual(["42"]);
    expect(location.searchParams.getAll("wa_cid")).toHaveLength(1);
    expect(location.searchParams.get("wa_cid")).not.toBe("forged");
  });

  it("never lets the visitor's parameters replace the link's UTM tags or the destination's own parameters", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { url: "https://shop.example.com/landing?x=1", utm: { source: "wa" } });
    const location = async (query: string) =>
      new URL((await visit(link.code, IPHONE_SAFARI, { query })).headers.get("location")!);
    expect((await location("?utm_source=evil")).searchParams.getAll("utm_source")).toEqual(["wa"]);
    const withX = await location("?x=2&y=3");
    expect(withX.searchParams.getAll("x")).toEqual(["1"]);
    expect(withX.searchParams.get("y")).toBe("3");
  });

  it("uses the workspace's click id parameter", async () => {
    const { adminKey } = await createWorkspace({ clickIdParam: "cfid" });
    const link = await createLink(adminKey, { url: "https://shop.example.com/" });
    const location = new URL((await visit(link.code, ANDROID_CHROME)).headers.get("location")!);
    expect(location.searchParams.get("cfid")).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(location.searchParams.has("wa_cid")).toBe(false);
  });

  it("uses a changed click id parameter at once, though the link itself is cached", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { url: "https://shop.example.com/" });
    const before = new URL((await visit(link.code, ANDROID_CHROME)).headers.get("location")!);
    expect(before.searchParams.has("wa_cid")).toBe(true);

    const patched = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { clickIdParam: "ref_id" } },
    });
    expect(patched.status).toBe(200);
    const after = new URL((await visit(link.code, ANDROID_CHROME)).headers.get("location")!);
    expect(after.searchParams.get("ref_id")).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(after.searchParams.has("wa_cid")).toBe(false);
  });

  it("counts a visitor's repeated clicks once as unique within the dedup window", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    await visit(link.code, ANDROID_CHROME, { ip: "198.51.100.1" });
    await visit(link.code, ANDROID_CHROME, { ip: "198.51.100.1" });
    await visit(link.code, ANDROID_CHROME, { ip: "198.51.100.2" });
    await visit(link.code, IPHONE_SAFARI, { ip: "198.51.100.1" });
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 4, uniqueClicks: 3, previews: 0, bots: 0 });
  });

  it("counts every click as unique when the dedup window is zero", async () => {
    const { adminKey } = await createWorkspace({ clickDedupSeconds: 0 });
    const link = await createLink(adminKey);
    await visit(link.code, ANDROID_CHROME);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await visit(link.code, ANDROID_CHROME);
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 2, uniqueClicks: 2, previews: 0, bots: 0 });
  });

  it.each([
    ["WhatsApp's preview fetcher", WHATSAPP_PREVIEW, {}, "preview"],
    ["facebookexternalhit", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", {}, "preview"],
    ["TelegramBot", "TelegramBot (like TwitterBot)", {}, "preview"],
    ["a browser prefetch", ANDROID_CHROME, { "sec-purpose": "prefetch" }, "preview"],
    ["curl", "curl/8.5.0", {}, "bot"],
    ["a request without a user agent", "", {}, "bot"],
  ])("redirects %s without a click id and records it as a %s, not a click", async (_, ua, headers, kind) => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { url: "https://shop.example.com/", utm: { source: "whatsapp" } });
    const res = await visit(link.code, ua, { headers });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.searchParams.has("wa_cid")).toBe(false);
    expect(location.searchParams.get("utm_source")).toBe("whatsapp");
    const { results } = await clickRows(link.id);
    expect(results.map((r) => r.kind)).toEqual([kind]);
    expect(await counters(adminKey, link.code)).toEqual({
      clicks: 0,
      uniqueClicks: 0,
      previews: kind === "preview" ? 1 : 0,
      bots: kind === "bot" ? 1 : 0,
    });
  });

  it("answers HEAD with the redirect and records nothing", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const res = await visit(link.code, ANDROID_CHROME, { method: "HEAD" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toContain("https://shop.example.com/offer");
    expect((await clickRows(link.id)).results).toHaveLength(0);
  });

  it("answers 404 for an unknown code, as JSON or as a page for browsers", async () => {
    const json = await callJson("/NoSuchCode1", { headers: { accept: "application/json" } });
    expect(json.status).toBe(404);
    expect(json.body).toEqual(expectErrorEnvelope("not_found"));
    const page = await callWorker("/NoSuchCode1", { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("Link not found");
  });

  it("answers 410 for a disabled or expired link and records nothing", async () => {
    const { adminKey } = await createWorkspace();
    const disabled = await createLink(adminKey);
    await callJson(`/api/v1/links/${disabled.code}`, { method: "DELETE", key: adminKey });
    const gone = await callJson(`/${disabled.code}`, {
      headers: { accept: "application/json", "user-agent": ANDROID_CHROME },
    });
    expect(gone.status).toBe(410);
    expect(gone.body).toEqual(expectErrorEnvelope("gone"));

    const expiring = await createLink(adminKey);
    // Expire it in place: expiry set through the API must lie in the future.
    await env.DB.prepare("UPDATE links SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, expiring.id)
      .run();
    await callJson(`/api/v1/links/${expiring.code}`, {
      method: "PATCH",
      key: adminKey,
      body: { messageId: "wamid.touch" },
    });
    const expired = await visit(expiring.code, IPHONE_SAFARI, { headers: { accept: "text/html" } });
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain("no longer active");
    expect((await clickRows(disabled.id)).results).toHaveLength(0);
    expect((await clickRows(expiring.id)).results).toHaveLength(0);
  });

  it("does not shadow the API: /api is not a link code", async () => {
    const res = await callJson("/api");
    expect(res.status).toBe(404);
  });
});
