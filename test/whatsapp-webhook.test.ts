import { createExecutionContext, env } from "cloudflare:test";
import worker from "../src/index";
import { describe, expect, it } from "vitest";
import { callJson, callWorker, createCampaign, createLink, expectErrorEnvelope, ORIGIN } from "./helpers";
import {
  APP_SECRET,
  createWhatsAppWorkspace,
  deliverWebhook,
  getMessage,
  sign,
  statusBody,
  VERIFY_TOKEN,
} from "./whatsapp-helpers";

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);

describe("GET /webhooks/whatsapp/:workspaceId", () => {
  it("answers Meta's handshake with the challenge, as text", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const res = await callWorker(
      `/webhooks/whatsapp/${workspaceId}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${VERIFY_TOKEN}`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1158201444");
  });

  it.each([
    ["a wrong token", `hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope`],
    ["no token", `hub.mode=subscribe&hub.challenge=1`],
    ["another mode", `hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=${VERIFY_TOKEN}`],
    ["no challenge", `hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}`],
  ])("refuses %s with 403", async (_, query) => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const res = await callJson(`/webhooks/whatsapp/${workspaceId}?${query}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(expectErrorEnvelope("forbidden"));
  });
});

describe("POST /webhooks/whatsapp/:workspaceId", () => {
  it.each(["constructor", "toString", "__proto__", "deleted"])(
    "skips a status named %s, which is no status",
    async (name) => {
      const { workspaceId, adminKey } = await createWhatsAppWorkspace();
      const res = await deliverWebhook(
        workspaceId,
        statusBody({ id: "wamid.odd", status: name, at: T0 }, { id: "wamid.ok", status: "sent", at: T0 }),
      );
      expect(res.body).toEqual({ statuses: 1, messages: 0, consents: 0, skipped: 1 });
      expect((await getMessage(adminKey, "wamid.odd")).status).toBe(404);
      expect((await getMessage(adminKey, "wamid.ok")).status).toBe(200);
    },
  );

  it("accepts a signed status and records the message's state", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const res = await deliverWebhook(workspaceId, statusBody({ id: "wamid.A", status: "delivered", at: T0 }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ statuses: 1, messages: 0, consents: 0, skipped: 0 });
    const message = await getMessage(adminKey, "wamid.A");
    expect(message.body).toMatchObject({
      id: "wamid.A",
      registered: false,
      status: "delivered",
      sentAt: new Date(T0).toISOString(),
      deliveredAt: new Date(T0).toISOString(),
      readAt: null,
      inferred: ["sent"],
    });
  });

  it.each([
    ["no signature", {}],
    ["a signature made with another secret", { sign: "other-secret" }],
    ["a malformed signature", { header: "sha1=abc" }],
  ])("refuses %s with 401 and stores nothing", async (_, how: { sign?: string; header?: string }) => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const text = JSON.stringify(statusBody({ id: "wamid.unsigned", status: "sent", at: T0 }));
    const headers: Record<string, string> = {};
    if (how.sign) headers["x-hub-signature-256"] = await sign(how.sign, text);
    if (how.header) headers["x-hub-signature-256"] = how.header;
    const res = await callJson(`/webhooks/whatsapp/${workspaceId}`, { method: "POST", body: text, headers });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(expectErrorEnvelope("unauthorized"));
    const row = await env.DB.prepare("SELECT id FROM messages WHERE id = 'wamid.unsigned'").first();
    expect(row).toBeNull();
  });

  it("refuses a body over 3 MB with 413", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const res = await deliverWebhook(workspaceId, JSON.stringify({ object: "x", pad: "x".repeat(3 * 1024 * 1024) }));
    expect(res.status).toBe(413);
  });

  it("counts a body sent without Content-Length as it streams: refuses it past 3 MB, takes it below", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const stream = (text: string, chunk = 64 * 1024) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
          controller.close();
        },
      });
    const post = async (text: string) => {
      const request = new Request(`${ORIGIN}/webhooks/whatsapp/${workspaceId}`, {
        method: "POST",
        body: stream(text),
        headers: { "content-type": "application/json", "x-hub-signature-256": await sign(APP_SECRET, text) },
        duplex: "half",
      } as RequestInit);
      expect(request.headers.has("content-length")).toBe(false);
      return worker.fetch(request, env, createExecutionContext());
    };
    const huge = JSON.stringify({ object: "x", pad: "x".repeat(3 * 1024 * 1024) });
    expect((await post(huge)).status).toBe(413);
    const ok = await post(JSON.stringify(statusBody({ id: "wamid.streamed", status: "read", at: T0 })));
    expect(ok.status).toBe(200);
    expect((await getMessage(adminKey, "wamid.streamed")).body.status).toBe("read");
  });

  it("answers 400 for a signed body that is not JSON or not a webhook", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    expect((await deliverWebhook(workspaceId, "{nope")).status).toBe(400);
    expect((await deliverWebhook(workspaceId, { hello: "world" })).status).toBe(400);
  });

  it("joins statuses to a link through biz_opaque_callback_data and counts the click as reading", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    // The recipient's own link, whose code the business put in biz_opaque_callback_data when sending.
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B", contact: "+16505551234" });
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.B", status: "sent", at: T0, biz: link.code }));
    await callWorker(`/${link.code}`, {
      headers: {
        "user-agent":
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      },
    });
    const message = await getMessage(adminKey, "wamid.B");
    expect(message.body).toMatchObject({
      campaignId: campaign.id,
      variant: "B",
      linkCode: link.code,
      status: "read",
      inferred: ["delivered", "read"],
    });
    expect(message.body.clickedAt).not.toBeNull();
  });
});
