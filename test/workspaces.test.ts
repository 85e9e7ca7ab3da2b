import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, createApiKey, createWorkspace, expectErrorEnvelope } from "./helpers";

describe("POST /api/v1/workspaces", () => {
  it("creates a workspace with default settings, an admin key and a publishable key", async () => {
    const res = await callJson("/api/v1/workspaces", { key: env.ADMIN_TOKEN, body: { name: "Acme" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^ws_/),
      name: "Acme",
      apiKey: expect.stringMatching(/^cf_sk_[A-Za-z0-9]{32}$/),
      publishableKey: expect.stringMatching(/^cf_pk_/),
      settings: {
        clickIdParam: "wa_cid",
        attributionWindowDays: 7,
        clickDedupSeconds: 3600,
        allowedOrigins: [],
        retentionDays: 400,
        whatsapp: { appSecretSet: false, verifyTokenSet: false },
        ga4: { measurementId: null, apiSecretSet: false, enabled: false },
      },
    });
    const me = await callJson("/api/v1/workspace", { key: res.body.apiKey });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(res.body.id);
  });

  it.each([
    ["no token", undefined],
    ["a wrong token", "not-the-admin-token"],
  ])("refuses %s with 401", async (_, key) => {
    const res = await callJson("/api/v1/workspaces", { key, body: { name: "Intruder" } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(expectErrorEnvelope("unauthorized"));
    const { results } = await env.DB.prepare("SELECT id FROM workspaces WHERE name = 'Intruder'").all();
    expect(results).toHaveLength(0);
  });

  it("refuses an API key in place of the admin token", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/workspaces", { key: adminKey, body: { name: "Other" } });
    expect(res.status).toBe(401);
  });

  it.each([
    ["an empty name", { name: "" }, ["name"]],
    ["an unknown field", { name: "x", plan: "pro" }, []],
    ["a bad clickIdParam", { name: "x", settings: { clickIdParam: "has space" } }, ["settings", "clickIdParam"]],
    [
      "a non-origin in allowedOrigins",
      { name: "x", settings: { allowedOrigins: ["https://a.com/path"] } },
      ["settings", "allowedOrigins", 0],
    ],
    [
      "a bad GA4 measurement id",
      { name: "x", settings: { ga4: { measurementId: "UA-1234" } } },
      ["settings", "ga4", "measurementId"],
    ],
  ])("answers 400 with the field's issue for %s and writes nothing", async (_, body, path) => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM workspaces").first<number>("n");
    const res = await callJson("/api/v1/workspaces", { key: env.ADMIN_TOKEN, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect(await env.DB.prepare("SELECT count(*) AS n FROM workspaces").first<number>("n")).toBe(before);
  });

  it("answers 400 invalid_json for a body that is not JSON", async () => {
    const res = await callJson("/api/v1/workspaces", { key: env.ADMIN_TOKEN, body: "{name: nope" });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_json"));
  });

  it("answers 415 for a body that is not sent as JSON", async () => {
    const res = await callJson("/api/v1/workspaces", {
      key: env.ADMIN_TOKEN,
      body: "name=Acme",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(415);
    expect(res.body).toEqual(expectErrorEnvelope("unsupported_media_type"));
  });
});

describe("PATCH /api/v1/workspace", () => {
  it("refuses a PATCH that changes nothing with 400", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/workspace", { method: "PATCH", key: adminKey, body: {} });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
  });

  it("stores WhatsApp and GA4 secrets encrypted and only says that they are set", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: {
        settings: {
          whatsapp: { appSecret: "meta-app-secret-123", verifyToken: "verify-me-456" },
          ga4: { measurementId: "G-ABC123XYZ", apiSecret: "ga4-secret-789" },
          attributionWindowDays: 14,
          allowedOrigins: ["https://shop.example.com/"],
        },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.settings).toMatchObject({
      whatsapp: { appSecretSet: true, verifyTokenSet: true },
      ga4: { measurementId: "G-ABC123XYZ", apiSecretSet: true, enabled: true },
      attributionWindowDays: 14,
      clickDedupSeconds: 3600,
      allowedOrigins: ["https://shop.example.com"],
    });
    const text = JSON.stringify(res.body);
    for (const secret of ["meta-app-secret-123", "verify-me-456", "ga4-secret-789"]) {
      expect(text).not.toContain(secret);
    }
    const row = await env.DB.prepare("SELECT * FROM workspaces WHERE id = ?").bind(workspace.id).first();
    const stored = JSON.stringify(row);
    for (const secret of ["meta-app-secret-123", "verify-me-456", "ga4-secret-789"]) {
      expect(stored).not.toContain(secret);
    }
    expect(row!.secrets).toMatch(/^v1\./);

    const cleared = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { ga4: null }, name: "Acme 2" },
    });
    expect(cleared.body.name).toBe("Acme 2");
    expect(cleared.body.settings.ga4).toEqual({
      measurementId: null,
      apiSecretSet: false,
      enabled: false,
      consent: { adUserData: "denied", adPersonalization: "denied" },
      debugMode: false,
    });
    expect(cleared.body.settings.whatsapp).toEqual({ appSecretSet: true, verifyTokenSet: true });
  });

  it("needs the admin scope", async () => {
    const { adminKey } = await createWorkspace();
    const linksKey = await createApiKey(adminKey, ["links:write", "reports:read"]);
    const res = await callJson("/api/v1/workspace", { method: "PATCH", key: linksKey, body: { name: "Hijack" } });
    expect(res.status).toBe(403);
    expect(res.body).toEqual(expectErrorEnvelope("forbidden"));
    const read = await callJson("/api/v1/workspace", { key: linksKey });
    expect(read.status).toBe(403);
  });
});
