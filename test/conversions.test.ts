import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashContact } from "../src/lib/contact";
import {
  callJson,
  callWorker,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
} from "./helpers";

const HUMAN_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const PREVIEW_UA = "WhatsApp/2.23.20.0 A";
const BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const DAY = 86_400_000;
const CONTACT = "+44 7700 900123";
const OTHER_CONTACT = "+44 7700 900456";

/** Follows a short link as the given user agent; returns the click id handed to the destination, if any. */
async function clickThrough(code: string, userAgent = HUMAN_UA): Promise<string | null> {
  const res = await callWorker(`/${code}`, { headers: { "user-agent": userAgent } });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location")!).searchParams.get("wa_cid");
}

async function setClickTime(clickId: string, ms: number) {
  await env.DB.prepare("UPDATE clicks SET occurred_at = ? WHERE id = ?").bind(ms, clickId).run();
}

/** Moves a recorded click (and every hit on a link) into the past. */
async function ageClick(clickId: string, days: number) {
  await env.DB.prepare("UPDATE clicks SET occurred_at = ? WHERE id = ?")
    .bind(Date.now() - days * DAY, clickId)
    .run();
}
async function ageHitsOfLink(linkId: string, days: number) {
  await env.DB.prepare("UPDATE clicks SET occurred_at = ? WHERE link_id = ?")
    .bind(Date.now() - days * DAY, linkId)
    .run();
}

function convert(key: string | undefined, body: unknown) {
  return callJson("/api/v1/conversions", { key, body });
}

async function counters(key: string, code: string) {
  const { body } = await callJson(`/api/v1/links/${code}`, { key });
  return { clicks: body.clicks, previews: body.previews, conversions: body.conversions, revenue: body.revenue };
}

function conversionRows(workspaceId: string) {
  return env.DB.prepare(
    `SELECT id, event, order_id, value, value_minor, currency, source, click_id, link_code, campaign_id, variant,
       message_id, contact_hash, ga_client_id, occurred_at
     FROM conversions WHERE workspace_id = ?1 ORDER BY received_at, id`,
  )
    .bind(workspaceId)
    .all()
    .then((r) => r.results);
}

function contactEventRows(workspaceId: string) {
  return env.DB.prepare(
    "SELECT type, contact_hash, campaign_id, value, occurred_at FROM contact_events WHERE workspace_id = ?1 ORDER BY type, value",
  )
    .bind(workspaceId)
    .all()
    .then((r) => r.results);
}

describe("POST /api/v1/conversions: attribution", () => {
  it("attributes a purchase to the click it followed, counts it on the link and marks the message converted", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["events:write"]);
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const messageId = "wamid.HBgLNDQ3NzAwOTAwMTIzFQIAERgSQzA1";
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B", contact: CONTACT, messageId });
    const registered = await callJson("/api/v1/messages", {
      key: adminKey,
      body: {
        messages: [{ id: messageId, contact: CONTACT, campaignId: campaign.id, variant: "B", linkCode: link.code }],
      },
    });
    expect(registered.status).toBe(200);
    const clickId = await clickThrough(link.code);
    expect(clickId).toMatch(/^[A-Za-z0-9]{16}$/);

    const occurredAt = new Date().toISOString();
    const res = await convert(key, {
      clickId,
      event: "purchase",
      value: 49.9,
      currency: "EUR",
      orderId: "A-1001",
      occurredAt,
      gaClientId: "1234567890.1700000000",
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cnv_/),
      duplicate: false,
      attributedTo: { clickId, linkCode: link.code, campaignId: campaign.id, variant: "B", messageId },
    });

    expect(await counters(adminKey, link.code)).toEqual({ clicks: 1, previews: 0, conversions: 1, revenue: 49.9 });
    expect(await conversionRows(workspace.id)).toEqual([
      {
        id: res.body.id,
        event: "purchase",
        order_id: "A-1001",
        value: 49.9,
        value_minor: 4990,
        currency: "EUR",
        source: "api",
        click_id: clickId,
        link_code: link.code,
        campaign_id: campaign.id,
        variant: "B",
        message_id: messageId,
        contact_hash: await hashContact(env.PII_PEPPER, "+447700900123"),
        ga_client_id: "1234567890.1700000000",
        occurred_at: Date.parse(occurredAt),
      },
    ]);
    const message = await callJson(`/api/v1/messages/${messageId}`, { key: adminKey });
    expect(message.status).toBe(200);
    expect(message.body).toMatchObject({ id: messageId, clickedAt: expect.any(String), convertedAt: occurredAt });
  });

  it("sums the revenue of several conversions on one link", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    for (const [orderId, value] of [
      ["o-1", "19.99"],
      ["o-2", "0.01"],
      ["o-3", 30],
    ]) {
      expect((await convert(adminKey, { clickId, event: "purchase", value, currency: "EUR", orderId })).status).toBe(
        201,
      );
    }
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 1, previews: 0, conversions: 3, revenue: 50 });
  });

  it("falls back to the contact's last human click when the given click id is outside the window", async () => {
    const { adminKey } = await createWorkspace();
    const old = await createLink(adminKey, { contact: CONTACT });
    const earlier = await createLink(adminKey, { contact: CONTACT });
    const latest = await createLink(adminKey, { contact: CONTACT });
    const oldClick = (await clickThrough(old.code))!;
    const earlierClick = (await clickThrough(earlier.code))!;
    const latestClick = (await clickThrough(latest.code))!;
    await ageClick(oldClick, 8);
    await ageClick(earlierClick, 3);
    await ageClick(latestClick, 2);

    // The same contact, written differently.
    const res = await convert(adminKey, { clickId: oldClick, contact: "0044 7700 900-123", event: "generate_lead" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cnv_/),
      duplicate: false,
      attributedTo: { clickId: latestClick, linkCode: latest.code, campaignId: null, variant: null, messageId: null },
    });
    expect((await counters(adminKey, old.code)).conversions).toBe(0);
    expect((await counters(adminKey, earlier.code)).conversions).toBe(0);
    expect((await counters(adminKey, latest.code)).conversions).toBe(1);
  });

  it("attributes by contact alone when no click id is given", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: CONTACT });
    const clickId = await clickThrough(link.code);
    const res = await convert(adminKey, { contact: "+447700900123", event: "sign_up" });
    expect(res.body.attributedTo).toEqual({
      clickId,
      linkCode: link.code,
      campaignId: null,
      variant: null,
      messageId: null,
    });
  });

  it("keeps a conversion unattributed when neither the click nor the contact's clicks lie within the window", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: CONTACT });
    const clickId = (await clickThrough(link.code))!;
    await ageClick(clickId, 8);

    const res = await convert(adminKey, {
      clickId,
      contact: CONTACT,
      event: "purchase",
      value: "12.50",
      currency: "USD",
      orderId: "late-1",
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^cnv_/), duplicate: false, attributedTo: null });
    expect(await conversionRows(workspace.id)).toEqual([
      expect.objectContaining({
        id: res.body.id,
        value_minor: 1250,
        currency: "USD",
        click_id: null,
        link_code: null,
        message_id: null,
        contact_hash: await hashContact(env.PII_PEPPER, "+447700900123"),
      }),
    ]);
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 1, previews: 0, conversions: 0, revenue: 0 });
  });

  it("keeps a conversion with an unknown click id and no contact, unattributed", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await convert(adminKey, { clickId: "NoSuchClick00000", event: "purchase" });
    expect(res.body).toEqual({ id: expect.stringMatching(/^cnv_/), duplicate: false, attributedTo: null });
    expect(await conversionRows(workspace.id)).toHaveLength(1);
  });

  it("uses the workspace's own attribution window, also after it is changed", async () => {
    const { adminKey } = await createWorkspace({ attributionWindowDays: 30 });
    const link = await createLink(adminKey);
    const clickId = (await clickThrough(link.code))!;
    await ageClick(clickId, 20);

    const within = await convert(adminKey, { clickId, event: "purchase", orderId: "w-1" });
    expect(within.body.attributedTo).toMatchObject({ clickId, linkCode: link.code });

    const patched = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { attributionWindowDays: 14 } },
    });
    expect(patched.status).toBe(200);
    const outside = await convert(adminKey, { clickId, event: "purchase", orderId: "w-2" });
    expect(outside.body.attributedTo).toBeNull();
    expect((await counters(adminKey, link.code)).conversions).toBe(1);
  });

  it.each([7, 3])(
    "takes a click exactly %i days (the window) before the conversion, and not one a millisecond older",
    async (days) => {
      const { adminKey } = await createWorkspace(days === 7 ? undefined : { attributionWindowDays: days });
      const at = Date.now() - DAY;
      const edge = at - days * DAY;
      const onEdge = await createLink(adminKey, { contact: CONTACT });
      const pastEdge = await createLink(adminKey, { contact: OTHER_CONTACT });
      const onEdgeClick = (await clickThrough(onEdge.code))!;
      const pastEdgeClick = (await clickThrough(pastEdge.code))!;
      await setClickTime(onEdgeClick, edge);
      await setClickTime(pastEdgeClick, edge - 1);
      const occurredAt = new Date(at).toISOString();

      const byClick = await convert(adminKey, { clickId: onEdgeClick, event: "purchase", occurredAt });
      expect(byClick.body.attributedTo).toMatchObject({ clickId: onEdgeClick, linkCode: onEdge.code });
      const byContact = await convert(adminKey, { contact: CONTACT, event: "sign_up", occurredAt });
      expect(byContact.body.attributedTo).toMatchObject({ clickId: onEdgeClick, linkCode: onEdge.code });

      const lateByClick = await convert(adminKey, { clickId: pastEdgeClick, event: "purchase", occurredAt });
      expect(lateByClick.body.attributedTo).toBeNull();
      const lateByContact = await convert(adminKey, { contact: OTHER_CONTACT, event: "sign_up", occurredAt });
      expect(lateByContact.body.attributedTo).toBeNull();
      expect((await counters(adminKey, onEdge.code)).conversions).toBe(2);
      expect((await counters(adminKey, pastEdge.code)).conversions).toBe(0);
    },
  );

  it("takes a conversion reported up to five minutes before its click, as clocks differ, and not earlier", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: CONTACT });
    const clickId = (await clickThrough(link.code))!;
    const clickAt = Date.now() - DAY;
    await setClickTime(clickId, clickAt);
    const at = (ms: number) => new Date(ms).toISOString();
    const skewed = await convert(adminKey, { clickId, event: "purchase", occurredAt: at(clickAt - 5 * 60_000) });
    expect(skewed.body.attributedTo).toMatchObject({ clickId });
    const before = await convert(adminKey, { clickId, event: "lead", occurredAt: at(clickAt - 5 * 60_000 - 1) });
    expect(before.body.attributedTo).toBeNull();
  });

  it("judges the window from the conversion's own time when occurredAt is given", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const clickId = (await clickThrough(link.code))!;
    await ageClick(clickId, 10);
    // Reported late: it happened 5 days ago, 5 days after the click.
    const res = await convert(adminKey, {
      clickId,
      event: "purchase",
      occurredAt: new Date(Date.now() - 5 * DAY).toISOString(),
    });
    expect(res.body.attributedTo).toMatchObject({ clickId });
    // A conversion from before the click (beyond clock skew) cannot have followed it.
    const before = await convert(adminKey, {
      clickId,
      event: "purchase",
      occurredAt: new Date(Date.now() - 11 * DAY).toISOString(),
    });
    expect(before.body.attributedTo).toBeNull();
  });

  it("never uses a click or a contact's clicks from another workspace", async () => {
    const other = await createWorkspace();
    const otherLink = await createLink(other.adminKey, { contact: CONTACT });
    const foreignClick = await clickThrough(otherLink.code);
    expect(foreignClick).not.toBeNull();

    const { workspace, adminKey } = await createWorkspace();
    const byClick = await convert(adminKey, { clickId: foreignClick, event: "purchase", orderId: "x-1" });
    const byContact = await convert(adminKey, { contact: CONTACT, event: "purchase", orderId: "x-2" });
    expect(byClick.body).toEqual({ id: expect.any(String), duplicate: false, attributedTo: null });
    expect(byContact.body).toEqual({ id: expect.any(String), duplicate: false, attributedTo: null });
    expect(await conversionRows(workspace.id)).toHaveLength(2);
    expect(await conversionRows(other.workspace.id)).toEqual([]);
    expect((await counters(other.adminKey, otherLink.code)).conversions).toBe(0);
  });

  it("never attributes a conversion to a link preview or a bot", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: CONTACT });
    // WhatsApp's preview fetcher and crawlers get the redirect without a click id.
    expect(await clickThrough(link.code, PREVIEW_UA)).toBeNull();
    expect(await clickThrough(link.code, BOT_UA)).toBeNull();
    const hits = await env.DB.prepare("SELECT id, kind FROM clicks WHERE link_id = ? ORDER BY kind")
      .bind(link.id)
      .all<{ id: string; kind: string }>();
    expect(hits.results.map((h) => h.kind)).toEqual(["bot", "preview"]);

    const byContact = await convert(adminKey, { contact: CONTACT, event: "purchase", orderId: "p-1" });
    expect(byContact.body.attributedTo).toBeNull();
    // Even with the id of a preview hit in hand.
    const byPreviewId = await convert(adminKey, { clickId: hits.results[1].id, event: "purchase", orderId: "p-2" });
    expect(byPreviewId.body.attributedTo).toBeNull();
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 0, previews: 1, conversions: 0, revenue: 0 });
  });

  it("falls back past a contact's recent preview hits to their last human click", async () => {
    const { adminKey } = await createWorkspace();
    const clicked = await createLink(adminKey, { contact: CONTACT });
    const previewed = await createLink(adminKey, { contact: CONTACT });
    const clickId = (await clickThrough(clicked.code))!;
    await ageClick(clickId, 1);
    await clickThrough(previewed.code, PREVIEW_UA);
    const res = await convert(adminKey, { contact: CONTACT, event: "purchase" });
    expect(res.body.attributedTo).toMatchObject({ clickId, linkCode: clicked.code });
  });

  it("does not attribute to a contact's human click that lies outside the window, even with fresher previews", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: CONTACT });
    await clickThrough(link.code);
    await ageHitsOfLink(link.id, 9);
    await clickThrough(link.code, PREVIEW_UA);
    const res = await convert(adminKey, { contact: CONTACT, event: "purchase" });
    expect(res.body.attributedTo).toBeNull();
  });

  // Clicks and conversions join a message the same ways: by message id, or through the message's
  // linkCode when that link is the recipient's own (same contact), even if it was created without messageId.
  it("marks a message converted when the conversion came through the recipient's own link, as it marks it clicked", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: CONTACT });
    const messageId = "wamid.own-link-no-message-id";
    await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: messageId, contact: CONTACT, linkCode: link.code }] },
    });
    const clickId = await clickThrough(link.code);
    const occurredAt = new Date().toISOString();
    const res = await convert(adminKey, { clickId, event: "purchase", occurredAt });
    expect(res.body.attributedTo).toMatchObject({ clickId, linkCode: link.code });
    const message = await callJson(`/api/v1/messages/${messageId}`, { key: adminKey });
    expect(message.body.clickedAt).toEqual(expect.any(String));
    expect(message.body.convertedAt).toBe(occurredAt);
  });
});

describe("POST /api/v1/conversions: idempotency", () => {
  it("answers a repeated (event, orderId) with the first conversion, and counts it once", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const body = { clickId, event: "purchase", value: "99.00", currency: "EUR", orderId: "ORD-77" };

    const first = await convert(adminKey, body);
    const again = await convert(adminKey, body);
    // A retry with different details still changes nothing.
    const changed = await convert(adminKey, { ...body, value: "1.00", clickId: undefined });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    expect(changed.body).toEqual({ ...first.body, duplicate: true });
    expect(first.body.attributedTo).toMatchObject({ clickId, linkCode: link.code });

    const rows = await conversionRows(workspace.id);
    expect(rows).toEqual([expect.objectContaining({ id: first.body.id, value: 99, value_minor: 9900 })]);
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 1, previews: 0, conversions: 1, revenue: 99 });
  });

  it("records a different event with the same orderId as a new conversion", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const purchase = await convert(adminKey, { clickId, event: "purchase", orderId: "ORD-8" });
    const shipped = await convert(adminKey, { clickId, event: "order_shipped", orderId: "ORD-8" });
    expect(shipped.body).toEqual({ ...purchase.body, id: expect.stringMatching(/^cnv_/), duplicate: false });
    expect(shipped.body.id).not.toBe(purchase.body.id);
    expect(await conversionRows(workspace.id)).toHaveLength(2);
    expect((await counters(adminKey, link.code)).conversions).toBe(2);
  });

  it("keeps the same orderId apart between workspaces", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const inA = await convert(a.adminKey, { event: "purchase", orderId: "ORD-1" });
    const inB = await convert(b.adminKey, { event: "purchase", orderId: "ORD-1" });
    expect(inA.body.duplicate).toBe(false);
    expect(inB.body.duplicate).toBe(false);
    expect(inB.body.id).not.toBe(inA.body.id);
  });

  it("records each conversion without an orderId", async () => {
    const { workspace, adminKey } = await createWorkspace();
    await convert(adminKey, { event: "page_view_pricing" });
    await convert(adminKey, { event: "page_view_pricing" });
    expect(await conversionRows(workspace.id)).toHaveLength(2);
  });

  it("stores ten identical concurrent requests exactly once", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const clickId = await clickThrough(link.code);
    const body = { clickId, event: "purchase", value: 25, currency: "GBP", orderId: "race-1" };

    const results = await Promise.all(Array.from({ length: 10 }, () => convert(adminKey, body)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(results.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await conversionRows(workspace.id)).toHaveLength(1);
    expect(await counters(adminKey, link.code)).toEqual({ clicks: 1, previews: 0, conversions: 1, revenue: 25 });
  });
});

describe("POST /api/v1/conversions: money", () => {
  it.each([
    ["whole yen", "JPY", "1500", 1500, 1500],
    ["yen as a number", "JPY", 98000, 98000, 98000],
    ["Bahraini dinar with 3 decimals", "BHD", "12.345", 12.345, 12345],
    ["euros with trailing zeros", "EUR", "49.90", 49.9, 4990],
    ["euros as a binary-unfriendly number", "EUR", 19.99, 19.99, 1999],
    ["a zero amount", "USD", 0, 0, 0],
  ])("accepts %s and stores the exact minor units", async (_, currency, value, decimal, minor) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await convert(adminKey, { event: "purchase", value, currency });
    expect(res.status).toBe(201);
    expect(await conversionRows(workspace.id)).toEqual([
      expect.objectContaining({ value: decimal, value_minor: minor, currency }),
    ]);
  });

  // Minor units follow ISO 4217 (the contract's money), not Intl's CLDR cash digits, which give 0 for
  // HUF, COP and IQD where ISO 4217 gives 2, 2 and 3.
  it.each([
    ["forints with fillér", "HUF", "1990.50", 199050],
    ["Colombian pesos with centavos", "COP", "15000.25", 1500025],
    ["Iraqi dinar with 3 decimals", "IQD", "1.250", 1250],
  ])("accepts %s, as ISO 4217 defines the currency", async (_, currency, value, minor) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await convert(adminKey, { event: "purchase", value, currency });
    expect(res.status).toBe(201);
    expect(await conversionRows(workspace.id)).toEqual([expect.objectContaining({ value_minor: minor, currency })]);
  });
});

describe("POST /api/v1/conversions: validation and access", () => {
  it.each([
    ["no event", { value: 10, currency: "EUR" }, ["event"]],
    ["an event name GA4 would refuse", { event: "buy-now" }, ["event"]],
    ["a value without a currency", { event: "purchase", value: 10 }, ["currency"]],
    ["a currency without a value", { event: "purchase", currency: "EUR" }, ["value"]],
    ["an unknown currency", { event: "purchase", value: 10, currency: "XYZ" }, ["currency"]],
    ["a lowercase currency", { event: "purchase", value: 10, currency: "eur" }, ["currency"]],
    ["decimals on yen", { event: "purchase", value: "1.5", currency: "JPY" }, ["value"]],
    ["three decimals on euros", { event: "purchase", value: "1.234", currency: "EUR" }, ["value"]],
    ["a negative value", { event: "purchase", value: -5, currency: "EUR" }, ["value"]],
    ["a value that is not a number", { event: "purchase", value: "ten", currency: "EUR" }, ["value"]],
    [
      "a time in the future",
      { event: "purchase", occurredAt: new Date(Date.now() + DAY).toISOString() },
      ["occurredAt"],
    ],
    ["a time that is not ISO 8601", { event: "purchase", occurredAt: "yesterday" }, ["occurredAt"]],
    ["a malformed GA client id", { event: "purchase", gaClientId: "GA1.1.123" }, ["gaClientId"]],
    ["a contact that is not a phone number", { event: "purchase", contact: "hello" }, ["contact"]],
    ["an unknown field", { event: "purchase", coupon: "SPRING" }, []],
  ])("refuses %s with 400 naming the field, and records nothing", async (_, body, path) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await convert(adminKey, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toContainEqual(path);
    expect(await conversionRows(workspace.id)).toEqual([]);
  });

  it("names the unknown field in its issue", async () => {
    const { adminKey } = await createWorkspace();
    const res = await convert(adminKey, { event: "purchase", coupon: "SPRING" });
    expect(res.body.error.issues).toEqual([
      expect.objectContaining({ path: [], code: "unrecognized_keys", message: expect.stringContaining("coupon") }),
    ]);
  });

  it("answers 400 invalid_json for a body that is not JSON", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await convert(adminKey, "{event: purchase");
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_json"));
    expect(await conversionRows(workspace.id)).toEqual([]);
  });

  it("takes conversions from an events:write key", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["events:write"]);
    expect((await convert(key, { event: "purchase" })).status).toBe(201);
  });

  it("refuses a reports:read key with 403 and no key with 401", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const reader = await createApiKey(adminKey, ["reports:read"]);
    const forbidden = await convert(reader, { event: "purchase" });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual(expectErrorEnvelope("forbidden"));
    const anonymous = await convert(undefined, { event: "purchase" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual(expectErrorEnvelope("unauthorized"));
    expect(await conversionRows(workspace.id)).toEqual([]);
  });
});

describe("POST /api/v1/events", () => {
  function postEvents(key: string | undefined, events: unknown[]) {
    return callJson("/api/v1/events", { key, body: { events } });
  }

  it("records CSAT answers from 1 to 5 under the contact's hash", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["events:write"]);
    const at = Date.now() - 3_600_000;
    const res = await postEvents(
      key,
      [1, 2, 3, 4, 5].map((value) => ({
        type: "csat",
        contact: "+44 7700 900123",
        value,
        occurredAt: new Date(at).toISOString(),
      })),
    );
    expect(res).toMatchObject({ status: 201, body: { accepted: 5 } });
    const contactHash = await hashContact(env.PII_PEPPER, "+447700900123");
    expect(await contactEventRows(workspace.id)).toEqual(
      [1, 2, 3, 4, 5].map((value) => ({
        type: "csat",
        contact_hash: contactHash,
        campaign_id: null,
        value,
        occurred_at: at,
      })),
    );
    // The clear number is stored nowhere.
    const raw = await env.DB.prepare("SELECT * FROM contact_events WHERE workspace_id = ?").bind(workspace.id).all();
    expect(JSON.stringify(raw.results)).not.toContain("7700900123");
  });

  it("records chatbot outcomes and custom events, with their campaign", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey);
    const before = Date.now();
    const res = await postEvents(adminKey, [
      { type: "bot_resolved", contact: "+14155550123", campaignId: campaign.id },
      { type: "escalated", contact: "+14155550124", campaignId: campaign.id },
      { type: "agent_resolved", contact: "+14155550124" },
      { type: "coupon_copied", contact: "user.AbC123", value: 2.5 },
    ]);
    expect(res).toMatchObject({ status: 201, body: { accepted: 4 } });
    const rows = await contactEventRows(workspace.id);
    expect(rows).toEqual([
      {
        type: "agent_resolved",
        contact_hash: await hashContact(env.PII_PEPPER, "+14155550124"),
        campaign_id: null,
        value: null,
        occurred_at: expect.any(Number),
      },
      {
        type: "bot_resolved",
        contact_hash: await hashContact(env.PII_PEPPER, "+14155550123"),
        campaign_id: campaign.id,
        value: null,
        occurred_at: expect.any(Number),
      },
      {
        type: "coupon_copied",
        contact_hash: await hashContact(env.PII_PEPPER, "user.AbC123"),
        campaign_id: null,
        value: 2.5,
        occurred_at: expect.any(Number),
      },
      {
        type: "escalated",
        contact_hash: await hashContact(env.PII_PEPPER, "+14155550124"),
        campaign_id: campaign.id,
        value: null,
        occurred_at: expect.any(Number),
      },
    ]);
    for (const row of rows) expect(row.occurred_at).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ["a CSAT of 6", [{ type: "csat", contact: CONTACT, value: 6 }], ["events", 0, "value"]],
    ["a CSAT of 0", [{ type: "csat", contact: CONTACT, value: 0 }], ["events", 0, "value"]],
    ["a CSAT of 4.5", [{ type: "csat", contact: CONTACT, value: 4.5 }], ["events", 0, "value"]],
    ["a CSAT without a value", [{ type: "csat", contact: CONTACT }], ["events", 0, "value"]],
    ["a type that is not a name", [{ type: "buy-now", contact: CONTACT }], ["events", 0, "type"]],
    ["no contact", [{ type: "escalated" }], ["events", 0, "contact"]],
    [
      "a bad second event",
      [
        { type: "escalated", contact: CONTACT },
        { type: "csat", contact: CONTACT, value: 9 },
      ],
      ["events", 1, "value"],
    ],
    ["no events", [], ["events"]],
  ])("refuses %s with 400 naming the field, and records nothing", async (_, events, path) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await postEvents(adminKey, events);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toContainEqual(path);
    expect(await contactEventRows(workspace.id)).toEqual([]);
  });

  it("refuses a campaign that is not the workspace's, recording none of the events", async () => {
    const other = await createWorkspace();
    const foreign = await createCampaign(other.adminKey);
    const { workspace, adminKey } = await createWorkspace();
    const own = await createCampaign(adminKey);
    const res = await postEvents(adminKey, [
      { type: "bot_resolved", contact: CONTACT, campaignId: own.id },
      { type: "escalated", contact: CONTACT, campaignId: "cmp_doesnotexist00" },
      { type: "escalated", contact: CONTACT, campaignId: foreign.id },
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([
      ["events", 1, "campaignId"],
      ["events", 2, "campaignId"],
    ]);
    expect(await contactEventRows(workspace.id)).toEqual([]);
  });

  it("refuses a reports:read key with 403 and no key with 401", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const reader = await createApiKey(adminKey, ["reports:read"]);
    const events = [{ type: "escalated", contact: CONTACT }];
    expect((await postEvents(reader, events)).body).toEqual(expectErrorEnvelope("forbidden"));
    expect((await postEvents(undefined, events)).body).toEqual(expectErrorEnvelope("unauthorized"));
    expect(await contactEventRows(workspace.id)).toEqual([]);
  });
});
