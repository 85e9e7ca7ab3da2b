import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, createCampaign, createWorkspace, expectErrorEnvelope, issuePaths } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, getMessage, preferencesBody } from "./whatsapp-helpers";

// Links and message registrations for contacts whose latest consent record is an opt-out.

const DESTINATION = "https://shop.example.com/offer";
const API_OUT = "+351912345678"; // opted out through the API: of everything
const WA_OUT = "+16505551234"; // stopped marketing messages on WhatsApp (wa_id 16505551234)
const FREE = "+447700900123";

async function optOut(workspaceId: string, key: string) {
  const res = await callJson("/api/v1/contacts/consent", {
    key,
    body: { contact: API_OUT, optedIn: false, source: "api" },
  });
  expect(res.status).toBe(201);
  const at = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  expect((await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at }))).body.consents).toBe(1);
}

async function count(table: "links" | "messages", workspaceId: string) {
  return env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workspace_id = ?1`).bind(workspaceId).first("n");
}

const register = (key: string, messages: Record<string, unknown>[]) =>
  callJson("/api/v1/messages", { key, body: { messages } });

describe("POST /api/v1/links for a contact who opted out", () => {
  it("is refused with 409 opted_out whatever the opt-out's source, and writes nothing", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    for (const contact of [API_OUT, WA_OUT]) {
      const res = await callJson("/api/v1/links", { key: adminKey, body: { url: DESTINATION, contact } });
      expect(res).toMatchObject({ status: 409, body: expectErrorEnvelope("opted_out") });
      expect(issuePaths(res.body)).toEqual([["contact"]]);
      expect(JSON.stringify(res.body)).not.toContain(contact.slice(1));
    }
    expect(await count("links", workspaceId)).toBe(0);
    expect((await callJson("/api/v1/links", { key: adminKey, body: { url: DESTINATION, contact: FREE } })).status).toBe(
      201,
    );
    expect((await callJson("/api/v1/links", { key: adminKey, body: { url: DESTINATION } })).status).toBe(201);
  });

  it("is accepted again once an opt-in is recorded after the opt-out", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    const optIn = await callJson("/api/v1/contacts/consent", {
      key: adminKey,
      body: { contact: API_OUT, optedIn: true, source: "website" },
    });
    expect(optIn.status).toBe(201);
    expect(
      (await callJson("/api/v1/links", { key: adminKey, body: { url: DESTINATION, contact: API_OUT } })).status,
    ).toBe(201);
  });
});

describe("POST /api/v1/links/bulk with recipients who opted out", () => {
  it("is refused whole with each of their indexes in issues", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    const campaign = await createCampaign(adminKey);
    const recipients = [FREE, API_OUT, "+447700900124", WA_OUT].map((contact) => ({ contact }));
    const res = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: { url: DESTINATION, campaignId: campaign.id, recipients },
    });
    expect(res).toMatchObject({ status: 409, body: expectErrorEnvelope("opted_out") });
    expect(issuePaths(res.body)).toEqual([
      ["recipients", 1, "contact"],
      ["recipients", 3, "contact"],
    ]);
    expect(await count("links", workspaceId)).toBe(0);
  });

  it("finds one opted-out recipient among 10,000", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    const campaign = await createCampaign(adminKey);
    const recipients = Array.from({ length: 10_000 }, (_, i) => ({
      contact: i === 9_999 ? API_OUT : `+4477009${String(i).padStart(5, "0")}`,
    }));
    const res = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: { url: DESTINATION, campaignId: campaign.id, recipients },
    });
    expect(res.status).toBe(409);
    expect(issuePaths(res.body)).toEqual([["recipients", 9_999, "contact"]]);
    expect(await count("links", workspaceId)).toBe(0);
  });
});

describe("POST /api/v1/messages for a contact who opted out", () => {
  const message = (id: string, contact: string, category?: string) => ({
    id,
    contact,
    ...(category === undefined ? {} : { category }),
  });

  it("refuses marketing (and uncategorised) messages after a WhatsApp stop, and accepts utility ones", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    for (const category of ["marketing", "marketing_lite", "MARKETING", undefined]) {
      const res = await register(adminKey, [message("wamid.m", WA_OUT, category)]);
      expect(res, String(category)).toMatchObject({ status: 409, body: expectErrorEnvelope("opted_out") });
      expect(issuePaths(res.body)).toEqual([["messages", 0, "contact"]]);
    }
    expect(await count("messages", workspaceId)).toBe(0);
    expect((await register(adminKey, [message("wamid.u", WA_OUT, "utility")])).status).toBe(200);
  });

  it("refuses messages of every category after an opt-out through the API", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    for (const category of ["utility", "authentication", "service", "marketing"]) {
      const res = await register(adminKey, [message(`wamid.${category}`, API_OUT, category)]);
      expect(res.status, category).toBe(409);
    }
    expect(await count("messages", workspaceId)).toBe(0);
  });

  it("registers nothing of a request in which one message is refused", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    const res = await register(adminKey, [
      message("wamid.a", WA_OUT, "utility"),
      message("wamid.b", FREE, "marketing"),
      message("wamid.c", WA_OUT, "marketing"),
      message("wamid.d", API_OUT, "utility"),
    ]);
    expect(res).toMatchObject({ status: 409, body: expectErrorEnvelope("opted_out") });
    expect(issuePaths(res.body)).toEqual([
      ["messages", 2, "contact"],
      ["messages", 3, "contact"],
    ]);
    expect((await getMessage(adminKey, "wamid.a")).status).toBe(404);
    expect(await count("messages", workspaceId)).toBe(0);
  });

  it("keeps an opt-out of everything when WhatsApp later reports a stop of marketing", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await callJson("/api/v1/contacts/consent", {
      key: adminKey,
      body: { contact: WA_OUT, optedIn: false, source: "api" },
    });
    const later = Math.ceil((Date.now() + 5_000) / 1000) * 1000;
    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: later }));
    expect((await register(adminKey, [message("wamid.u", WA_OUT, "utility")])).status).toBe(409);
  });

  it("accepts marketing messages again after WhatsApp reports a resume", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await optOut(workspaceId, adminKey);
    await deliverWebhook(workspaceId, preferencesBody({ value: "resume", at: Math.floor(Date.now() / 1000) * 1000 }));
    expect((await register(adminKey, [message("wamid.m", WA_OUT, "marketing")])).status).toBe(200);
  });

  it("ignores another workspace's opt-outs", async () => {
    const mine = await createWhatsAppWorkspace();
    await optOut(mine.workspaceId, mine.adminKey);
    const { adminKey } = await createWorkspace();
    const res = await register(adminKey, [message("wamid.a", API_OUT, "utility"), message("wamid.b", WA_OUT)]);
    expect(res).toMatchObject({ status: 200, body: { registered: 2 } });
  });
});
