import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, createApiKey, createWorkspace, expectErrorEnvelope } from "./helpers";

async function sha256Hex(value: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("POST /api/v1/api-keys", () => {
  it("shows a new key once and stores only its SHA-256 hash", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/api-keys", {
      key: adminKey,
      body: { name: "CRM sync", scopes: ["links:write", "links:write"] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^key_/),
      name: "CRM sync",
      scopes: ["links:write"],
      key: expect.stringMatching(/^cf_sk_/),
    });
    expect(res.body.hint).toBe(`cf_sk_…${res.body.key.slice(-4)}`);

    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(res.body.id).first();
    expect(row!.key_hash).toBe(await sha256Hex(res.body.key));
    expect(JSON.stringify(row)).not.toContain(res.body.key);

    const list = await callJson("/api/v1/api-keys", { key: adminKey });
    expect(list.status).toBe(200);
    expect(list.body.nextCursor).toBeNull();
    expect(list.body.apiKeys.map((k: { id: string }) => k.id)).toContain(res.body.id);
    expect(JSON.stringify(list.body)).not.toContain(res.body.key);
    expect(list.body.apiKeys.find((k: { id: string }) => k.id === res.body.id)).not.toHaveProperty("key");
  });

  it.each([
    ["no scopes", { name: "x", scopes: [] }],
    ["an unknown scope", { name: "x", scopes: ["links:delete"] }],
    ["no name", { scopes: ["admin"] }],
  ])("answers 400 for %s", async (_, body) => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/api-keys", { key: adminKey, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
  });

  it("needs the admin scope", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["links:write"]);
    const res = await callJson("/api/v1/api-keys", { key, body: { name: "escalate", scopes: ["admin"] } });
    expect(res.status).toBe(403);
  });
});

describe("authentication", () => {
  it.each([
    ["no Authorization header", undefined],
    ["a malformed key", "nope"],
    ["an unknown key", "cf_sk_00000000000000000000000000000000"],
  ])("answers 401 for %s", async (_, key) => {
    const res = await callJson("/api/v1/links", { key });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(expectErrorEnvelope("unauthorized"));
  });

  it("records when a key was last used", async () => {
    const { adminKey } = await createWorkspace();
    await callJson("/api/v1/workspace", { key: adminKey });
    const row = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE key_hash = ?")
      .bind(await sha256Hex(adminKey))
      .first<number>("last_used_at");
    expect(row).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("DELETE /api/v1/api-keys/:id", () => {
  it("revokes a key so that it stops working at once", async () => {
    const { adminKey } = await createWorkspace();
    const created = await callJson("/api/v1/api-keys", {
      key: adminKey,
      body: { name: "temp", scopes: ["reports:read"] },
    });
    expect((await callJson("/api/v1/links", { key: created.body.key })).status).toBe(200);

    const res = await callJson(`/api/v1/api-keys/${created.body.id}`, { method: "DELETE", key: adminKey });
    expect(res.status).toBe(204);
    expect((await callJson("/api/v1/links", { key: created.body.key })).status).toBe(401);
    const list = await callJson("/api/v1/api-keys", { key: adminKey });
    expect(list.body.apiKeys.map((k: { id: string }) => k.id)).not.toContain(created.body.id);
    expect((await callJson(`/api/v1/api-keys/${created.body.id}`, { method: "DELETE", key: adminKey })).status).toBe(
      404,
    );
  });

  it("cannot revoke another workspace's key", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const created = await callJson("/api/v1/api-keys", {
      key: a.adminKey,
      body: { name: "a's", scopes: ["reports:read"] },
    });
    const res = await callJson(`/api/v1/api-keys/${created.body.id}`, { method: "DELETE", key: b.adminKey });
    expect(res.status).toBe(404);
    expect((await callJson("/api/v1/links", { key: created.body.key })).status).toBe(200);
  });
});
