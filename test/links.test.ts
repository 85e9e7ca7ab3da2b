import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  callJson,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
  ORIGIN,
} from "./helpers";

describe("POST /api/v1/links", () => {
  it("creates a link with a generated code, a short URL and zeroed live counters", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["links:write"]);
    const campaign = await createCampaign(key, { variants: ["A", "B"] });
    const res = await callJson("/api/v1/links", {
      key,
      body: {
        url: "HTTPS://Shop.Example.COM/a/../offer?sku=42#top",
        campaignId: campaign.id,
        variant: "B",
        contact: "+44 7700 900123",
        messageId: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
        externalId: "crm-991",
        utm: { source: "whatsapp", campaign: "spring" },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^lnk_/),
      code: expect.stringMatching(/^[2-9A-HJ-NP-Za-km-z]{7}$/),
      url: "https://shop.example.com/offer?sku=42#top",
      campaignId: campaign.id,
      variant: "B",
      externalId: "crm-991",
      disabled: false,
      expiresAt: null,
      clicks: 0,
      uniqueClicks: 0,
      previews: 0,
      bots: 0,
      conversions: 0,
      revenue: 0,
    });
    expect(res.body.shortUrl).toBe(`${ORIGIN}/${res.body.code}`);
    const row = await env.DB.prepare("SELECT contact_hash FROM links WHERE id = ?")
      .bind(res.body.id)
      .first<string>("contact_hash");
    expect(row).toMatch(/^[0-9a-f]{64}$/);
  });

  it("hashes a contact to the same id whatever format the number is written in", async () => {
    const { adminKey } = await createWorkspace();
    const formats = ["+44 7700 900123", "0044 7700 900123", "447700900123", "+44 (7700) 900-123"];
    const hashes = new Set<string>();
    for (const contact of formats) {
      const link = await createLink(adminKey, { contact });
      hashes.add(
        (await env.DB.prepare("SELECT contact_hash FROM links WHERE id = ?")
          .bind(link.id)
          .first<string>("contact_hash"))!,
      );
    }
    expect(hashes.size).toBe(1);
  });

  it("takes a custom code and answers 409 when it is taken, even by another workspace", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const code = `promo-${crypto.randomUUID().slice(0, 8)}`;
    expect(
      (await callJson("/api/v1/links", { key: a.adminKey, body: { url: "https://a.example/", code } })).status,
    ).toBe(201);
    const res = await callJson("/api/v1/links", { key: b.adminKey, body: { url: "https://b.example/", code } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual(expectErrorEnvelope("conflict"));
    const rows = await env.DB.prepare("SELECT url FROM links WHERE code = ?").bind(code).all();
    expect(rows.results).toEqual([{ url: "https://a.example/" }]);
  });

  it.each([
    ["a javascript: URL", { url: "javascript:alert(1)" }, ["url"]],
    ["an ftp URL", { url: "ftp://files.example.com/x" }, ["url"]],
    ["a relative URL", { url: "/offer" }, ["url"]],
    ["a URL with credentials", { url: "https://user:pass@shop.example.com/" }, ["url"]],
    ["a URL over 2,048 characters", { url: `https://shop.example.com/?q=${"x".repeat(2048)}` }, ["url"]],
    ["a missing URL", {}, ["url"]],
    ["a code that is too short", { url: "https://a.example/", code: "ab" }, ["code"]],
    ["a code with a slash", { url: "https://a.example/", code: "ab/cd" }, ["code"]],
    ["a reserved code", { url: "https://a.example/", code: "api" }, ["code"]],
    ["a contact that is not a phone number", { url: "https://a.example/", contact: "john" }, ["contact"]],
    ["a phone number without country code digits enough", { url: "https://a.example/", contact: "+1 23" }, ["contact"]],
    ["an expiry in the past", { url: "https://a.example/", expiresAt: "2020-01-01T00:00:00Z" }, ["expiresAt"]],
    ["an expiry that is not a date", { url: "https://a.example/", expiresAt: "tomorrow" }, ["expiresAt"]],
    ["a variant without a campaign", { url: "https://a.example/", variant: "A" }, ["variant"]],
    ["an unknown campaign", { url: "https://a.example/", campaignId: "cmp_nope" }, ["campaignId"]],
    ["an unknown UTM field", { url: "https://a.example/", utm: { sauce: "x" } }, ["utm"]],
  ])("answers 400 for %s and writes nothing", async (_, body, path) => {
    const { adminKey } = await createWorkspace();
    const before = await env.DB.prepare("SELECT count(*) AS n FROM links").first<number>("n");
    const res = await callJson("/api/v1/links", { key: adminKey, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues.map((i: { path: unknown[] }) => i.path)).toContainEqual(path);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM links").first<number>("n")).toBe(before);
  });

  it("refuses a variant the campaign does not have, and another workspace's campaign", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const campaign = await createCampaign(a.adminKey, { variants: ["A", "B"] });
    const wrongVariant = await callJson("/api/v1/links", {
      key: a.adminKey,
      body: { url: "https://a.example/", campaignId: campaign.id, variant: "C" },
    });
    expect(wrongVariant.status).toBe(400);
    expect(wrongVariant.body.error.issues[0].path).toEqual(["variant"]);
    const foreign = await callJson("/api/v1/links", {
      key: b.adminKey,
      body: { url: "https://a.example/", campaignId: campaign.id },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.issues[0].path).toEqual(["campaignId"]);
  });

  it("needs the links:write scope", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["reports:read", "events:write"]);
    const res = await callJson("/api/v1/links", { key, body: { url: "https://a.example/" } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(expectErrorEnvelope("forbidden"));
  });
});

describe("GET /api/v1/links", () => {
  it("refuses an empty campaignId filter with 400 instead of listing every link", async () => {
    const { adminKey } = await createWorkspace();
    await createLink(adminKey);
    const res = await callJson("/api/v1/links?campaignId=", { key: adminKey });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([["campaignId"]]);
  });

  it("pages through a workspace's links newest first with a cursor, filtered by campaign", async () => {
    const { adminKey } = await createWorkspace();
    const other = await createWorkspace();
    await createLink(other.adminKey);
    const campaign = await createCampaign(adminKey);
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push((await createLink(adminKey, { campaignId: campaign.id })).code);
    await createLink(adminKey);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `campaignId=${campaign.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await callJson(`/api/v1/links?${query}`, { key: adminKey });
      expect(page.status).toBe(200);
      expect(page.body.links.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.links.map((l: { code: string }) => l.code));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...codes].reverse());

    const all = await callJson("/api/v1/links", { key: adminKey });
    expect(all.body.links).toHaveLength(6);
    expect(all.body.nextCursor).toBeNull();
  });

  it("answers 400 for a cursor it did not issue", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/links?cursor=bogus", { key: adminKey });
    expect(res.status).toBe(400);
    expect(res.body.error.issues[0].path).toEqual(["cursor"]);
  });
});

describe("GET/PATCH/DELETE /api/v1/links/:code", () => {
  it("reads a link but never another workspace's", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const link = await createLink(a.adminKey);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: a.adminKey })).body.id).toBe(link.id);
    const res = await callJson(`/api/v1/links/${link.code}`, { key: b.adminKey });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(expectErrorEnvelope("not_found"));
    const patch = await callJson(`/api/v1/links/${link.code}`, {
      method: "PATCH",
      key: b.adminKey,
      body: { url: "https://evil.example/" },
    });
    expect(patch.status).toBe(404);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: a.adminKey })).body.url).toBe(
      "https://shop.example.com/offer",
    );
  });

  it("changes the destination, expiry and message id", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await callJson(`/api/v1/links/${link.code}`, {
      method: "PATCH",
      key: adminKey,
      body: { url: "https://shop.example.com/new", expiresAt, messageId: "wamid.X" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ url: "https://shop.example.com/new", expiresAt, messageId: "wamid.X" });
    const cleared = await callJson(`/api/v1/links/${link.code}`, {
      method: "PATCH",
      key: adminKey,
      body: { expiresAt: null },
    });
    expect(cleared.body.expiresAt).toBeNull();
    const bad = await callJson(`/api/v1/links/${link.code}`, {
      method: "PATCH",
      key: adminKey,
      body: { url: "data:text/html,hi" },
    });
    expect(bad.status).toBe(400);
  });

  it("refuses a PATCH that changes nothing with 400, leaving updatedAt as it was", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const empty = await callJson(`/api/v1/links/${link.code}`, { method: "PATCH", key: adminKey, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual(expectErrorEnvelope("invalid_request"));
    const noBody = await callJson(`/api/v1/links/${link.code}`, { method: "PATCH", key: adminKey });
    expect(noBody.status).toBe(400);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body.updatedAt).toBe(link.updatedAt);
  });

  it("documents that a null expiresAt removes the expiry", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    const expiresAt = body.components.schemas.UpdateLink.properties.expiresAt;
    expect(expiresAt.type).toEqual(["string", "null"]);
    expect(expiresAt.description).toMatch(/null/);
  });

  it("disables with DELETE and re-enables with PATCH", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const deleted = await callJson(`/api/v1/links/${link.code}`, { method: "DELETE", key: adminKey });
    expect(deleted.status).toBe(200);
    expect(deleted.body.disabled).toBe(true);
    expect((await callJson(`/${link.code}`)).status).toBe(410);
    const enabled = await callJson(`/api/v1/links/${link.code}`, {
      method: "PATCH",
      key: adminKey,
      body: { disabled: false },
    });
    expect(enabled.body.disabled).toBe(false);
    expect((await callJson(`/${link.code}`)).status).toBe(302);
  });
});
