/// <reference types="vite/client" />
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashContact } from "../src/lib/contact";
import { applied, callJson, createCampaign, withoutAsOf } from "./helpers";
import {
  createWhatsAppWorkspace,
  deliverWebhook,
  getMessage,
  preferencesBody,
  statusBody,
  webhookBody,
} from "./whatsapp-helpers";
import withContacts from "./fixtures/whatsapp/meta_docs/status_delivered_pmp_with_username_contacts.json?raw";
import toBsuid from "./fixtures/whatsapp/meta_docs/status_delivered_pmp_to_bsuid_empty_recipient_id.json?raw";
import groupRead from "./fixtures/whatsapp/pywa/status_read_group_recipient.json?raw";

// Meta's user (Pablo M.): the same person by phone number and by business-scoped user id.
const PHONE = "+16505551234";
const BSUID = "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6";
const META_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
// Both corpus bodies are of 2025-06-15T23:27:53Z.
const SENT_AT = 1750030073_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TEN_YEARS = { retentionDays: 3650 };

const hash = (id: string) => hashContact(env.PII_PEPPER, id);

/** An inbound text from the user, named only by its user id (the number hidden), as Meta sends it. */
const replyFromBsuid = (id: string, at: number, contextId?: string) =>
  webhookBody({
    contacts: [{ profile: { name: "Pablo M." }, wa_id: "", user_id: BSUID }],
    messages: [
      {
        from: "",
        from_user_id: BSUID,
        id,
        timestamp: String(Math.floor(at / 1000)),
        type: "text",
        text: { body: "Does it come in blue?" },
        ...(contextId ? { context: { id: contextId } } : {}),
      },
    ],
  });

async function storedContact(table: "messages" | "inbound_messages", workspaceId: string, id: string) {
  return env.DB.prepare(`SELECT contact_hash FROM ${table} WHERE workspace_id = ?1 AND id = ?2`)
    .bind(workspaceId, id)
    .first<string>("contact_hash");
}

async function retentionByReply(adminKey: string) {
  const res = await callJson(
    "/api/v1/reports/retention?period=day&periods=3&from=2025-06-15&to=2025-06-17&returnOn=reply",
    { key: adminKey },
  );
  expect(res.status).toBe(200);
  return withoutAsOf(res.body);
}

describe("a contact named by a phone number and a business-scoped user id", () => {
  it("is one contact: a later reply that names only the user id joins the phone number's contact", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    // The status names the number; its contacts block pairs the number with the user id.
    expect((await deliverWebhook(workspaceId, withContacts)).status).toBe(200);
    expect((await deliverWebhook(workspaceId, replyFromBsuid("wamid.reply", SENT_AT + DAY, META_WAMID))).status).toBe(
      200,
    );

    expect(await storedContact("messages", workspaceId, META_WAMID)).toBe(await hash(PHONE));
    expect(await storedContact("inbound_messages", workspaceId, "wamid.reply")).toBe(await hash(PHONE));
    // One cohort of one contact, who returned by replying the next day.
    const body = await retentionByReply(adminKey);
    expect(body.cohorts).toHaveLength(1);
    expect(body.cohorts[0]).toMatchObject({ start: "2025-06-15T00:00:00.000Z", size: 1 });
    expect(body.cohorts[0].values[1]).toMatchObject({ period: 1, count: 1 });
  });

  it("moves a message written under the user id to the phone number's contact once a webhook pairs them", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    expect((await deliverWebhook(workspaceId, toBsuid)).status).toBe(200);
    expect(await storedContact("messages", workspaceId, META_WAMID)).toBe(await hash(BSUID));
    // The rollups have placed the message among the user id's messages by now.
    await applied();

    // A reply that names both, a day later, about another message: no status of the first one follows.
    const paired = webhookBody({
      messages: [
        {
          from: PHONE.slice(1),
          from_user_id: BSUID,
          id: "wamid.reply",
          timestamp: String(Math.floor((SENT_AT + DAY) / 1000)),
          type: "text",
        },
      ],
    });
    expect((await deliverWebhook(workspaceId, paired)).status).toBe(200);

    expect(await storedContact("messages", workspaceId, META_WAMID)).toBe(await hash(PHONE));
    const places = await (
      await applied()
    )
      .prepare("SELECT contact_hash FROM message_contacts WHERE workspace_id = ?1")
      .bind(workspaceId)
      .all<{ contact_hash: string }>();
    expect(places.results).toEqual([{ contact_hash: await hash(PHONE) }]);
    const body = await retentionByReply(adminKey);
    expect(body.cohorts).toHaveLength(1);
    expect(body.cohorts[0]).toMatchObject({ size: 1 });
    expect(body.cohorts[0].values[1]).toMatchObject({ period: 1, count: 1 });
  });

  it("gives later statuses and registrations that name only the user id the phone number's contact", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(workspaceId, withContacts);
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.next", status: "sent", at: SENT_AT + HOUR, recipient: "", recipientUserId: BSUID }),
    );
    const registered = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.registered", contact: BSUID }] },
    });
    expect(registered.status).toBe(200);
    expect(await storedContact("messages", workspaceId, "wamid.next")).toBe(await hash(PHONE));
    expect(await storedContact("messages", workspaceId, "wamid.registered")).toBe(await hash(PHONE));
  });

  it("pairs them from a status's own recipient_id and recipient_user_id, and gives the same answer twice", async () => {
    const { workspaceId } = await createWhatsAppWorkspace(TEN_YEARS);
    const both = statusBody({
      id: "wamid.both",
      status: "sent",
      at: SENT_AT,
      recipient: PHONE.slice(1),
      recipientUserId: BSUID,
    });
    await deliverWebhook(workspaceId, both);
    await deliverWebhook(workspaceId, both);
    await deliverWebhook(workspaceId, replyFromBsuid("wamid.reply", SENT_AT + HOUR));
    expect(await storedContact("inbound_messages", workspaceId, "wamid.reply")).toBe(await hash(PHONE));
  });

  it("keeps only hashes of the pair, and forgets it when the contact is erased", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(workspaceId, withContacts);
    const pairs = await env.DB.prepare("SELECT alias_hash, contact_hash FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .all();
    expect(pairs.results).toEqual([{ alias_hash: await hash(BSUID), contact_hash: await hash(PHONE) }]);

    const erased = await callJson("/api/v1/contacts/erase", { key: adminKey, body: { contact: PHONE } });
    expect(erased.status).toBe(200);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .first<number>("n");
    expect(left).toBe(0);
  });
});

describe("erasure and opt-outs of a paired contact", () => {
  it("erases what was written under the user id before the pairing when the number is erased, and the reverse", async () => {
    for (const [erasedId] of [[PHONE], [BSUID]]) {
      const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
      await deliverWebhook(workspaceId, replyFromBsuid("wamid.early", SENT_AT - HOUR));
      await deliverWebhook(workspaceId, withContacts);
      const erased = await callJson("/api/v1/contacts/erase", { key: adminKey, body: { contact: erasedId } });
      expect(erased.status).toBe(200);
      expect(erased.body.erased).toMatchObject({ messages: 1, inboundMessages: 1 });
      expect(await storedContact("inbound_messages", workspaceId, "wamid.early")).toBeNull();
      expect(await storedContact("messages", workspaceId, META_WAMID)).toBeNull();
    }
  });

  it("refuses a registration by either id once the user stopped marketing messages under the other", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(workspaceId, withContacts);
    const stop = preferencesBody({ value: "stop", at: SENT_AT + HOUR, userId: BSUID });
    expect((await deliverWebhook(workspaceId, stop)).body).toMatchObject({ consents: 1 });
    for (const contact of [PHONE, BSUID]) {
      const res = await callJson("/api/v1/messages", {
        key: adminKey,
        body: { messages: [{ id: `wamid.to-${contact}`, contact, category: "marketing" }] },
      });
      expect(res.status).toBe(409);
    }
  });
});

describe("a failed status that names no recipient", () => {
  it("joins its registered message by wamid, keeping the message's contact and campaign", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    const campaign = await createCampaign(adminKey);
    const sentAt = new Date(SENT_AT).toISOString();
    const res = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.failing", contact: PHONE, campaignId: campaign.id, sentAt }] },
    });
    expect(res.status).toBe(200);
    const failed = webhookBody({
      statuses: [
        {
          id: "wamid.failing",
          status: "failed",
          timestamp: String(Math.floor((SENT_AT + HOUR) / 1000)),
          errors: [{ code: 131026, title: "Message undeliverable" }],
        },
      ],
    });
    expect((await deliverWebhook(workspaceId, failed)).body).toMatchObject({ statuses: 1, skipped: 0 });
    expect((await getMessage(adminKey, "wamid.failing")).body).toMatchObject({
      campaignId: campaign.id,
      status: "failed",
      failedAt: new Date(SENT_AT + HOUR).toISOString(),
    });
    expect(await storedContact("messages", workspaceId, "wamid.failing")).toBe(await hash(PHONE));
  });
});

describe("group messages", () => {
  it("are stored as group messages with their group category, and with no recipient contact", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    // pywa's group read (no pricing) and a sent status of the same message priced as Meta prices groups.
    expect((await deliverWebhook(workspaceId, groupRead)).status).toBe(200);
    const sent = webhookBody({
      statuses: [
        {
          id: "<WHATSAPP_MESSAGE_ID>",
          status: "sent",
          timestamp: "1698266940",
          recipient_id: "fowefinoewcnw",
          recipient_type: "group",
          recipient_participant_id: "16505551234",
          pricing: { pricing_model: "PMP", type: "regular", category: "group_marketing" },
        },
      ],
    });
    expect((await deliverWebhook(workspaceId, sent)).status).toBe(200);
    const row = await env.DB.prepare(
      "SELECT is_group, contact_hash, json_extract(pricing, '$.category') AS category FROM messages WHERE workspace_id = ?1",
    )
      .bind(workspaceId)
      .all();
    expect(row.results).toEqual([{ is_group: 1, contact_hash: null, category: "group_marketing" }]);
    expect((await getMessage(adminKey, "<WHATSAPP_MESSAGE_ID>")).body).toMatchObject({
      status: "read",
      pricing: { pricingModel: "PMP", type: "regular", category: "group_marketing" },
    });
    // The participant's number pairs with no one: nothing is learnt of a group's members.
    const pairs = await env.DB.prepare("SELECT count(*) AS n FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .first<number>("n");
    expect(pairs).toBe(0);
  });

  it("marks a message once a group status arrives, whatever came first", async () => {
    const { workspaceId } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.g", status: "sent", at: SENT_AT }));
    await deliverWebhook(
      workspaceId,
      webhookBody({
        statuses: [{ id: "wamid.g", status: "read", timestamp: "1750030080", recipient_type: "group" }],
      }),
    );
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.g", status: "delivered", at: SENT_AT + 1000 }));
    const isGroup = await env.DB.prepare("SELECT is_group FROM messages WHERE workspace_id = ?1 AND id = 'wamid.g'")
      .bind(workspaceId)
      .first<number>("is_group");
    expect(isGroup).toBe(1);
  });

  it("stay out of the per-recipient funnel, metrics and time series; a funnel by category shows them", async () => {
    const { workspaceId, adminKey: key } = await createWhatsAppWorkspace(TEN_YEARS);
    const priced = (category: string) => ({ pricing_model: "PMP", type: "regular", category });
    await deliverWebhook(
      workspaceId,
      webhookBody({
        statuses: [
          // One recipient's message, sent and delivered.
          {
            id: "wamid.one",
            status: "sent",
            timestamp: "1750030073",
            recipient_id: "16505551234",
            pricing: priced("marketing"),
          },
          { id: "wamid.one", status: "delivered", timestamp: "1750030080", recipient_id: "16505551234" },
          // A group's message, sent and read.
          {
            id: "wamid.group",
            status: "sent",
            timestamp: "1750030075",
            recipient_id: "120363040000000000",
            recipient_type: "group",
            pricing: priced("group_marketing"),
          },
          {
            id: "wamid.group",
            status: "read",
            timestamp: "1750030090",
            recipient_id: "120363040000000000",
            recipient_type: "group",
          },
        ],
      }),
    );
    await applied();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const range = `from=${day(SENT_AT - DAY)}&to=${day(SENT_AT + DAY)}`;
    const funnel = await callJson(`/api/v1/reports/funnel?${range}`, { key });
    expect(funnel.status, JSON.stringify(funnel.body)).toBe(200);
    const counts = (steps: { name: string; count: number }[]) =>
      Object.fromEntries(steps.map((s) => [s.name, s.count]));
    expect(counts(funnel.body.steps)).toMatchObject({ sent: 1, delivered: 1, read: 0 });
    const metrics = await callJson(`/api/v1/reports/metrics?${range}`, { key });
    expect(metrics.body.messages).toMatchObject({ sent: 1, delivered: 1, read: 0 });
    const series = await callJson(`/api/v1/reports/timeseries?${range}&metric=sent&interval=day`, { key });
    expect(series.status).toBe(200);
    expect(JSON.stringify(series.body)).not.toMatch(/"value":2/);
    const byCategory = await callJson(`/api/v1/reports/funnel?${range}&groupBy=category`, { key });
    const groups = Object.fromEntries(
      (byCategory.body.groups as { key: string; steps: { name: string; count: number }[] }[]).map((g) => [
        g.key,
        counts(g.steps),
      ]),
    );
    expect(groups).toMatchObject({
      marketing: { sent: 1, delivered: 1, read: 0 },
      group_marketing: { sent: 1, delivered: 1, read: 1 },
    });
  });

  it("tells the rollups when a status changes nothing of a registered message but that it went to a group", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    const sentAt = new Date(SENT_AT).toISOString();
    await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.g", contact: PHONE, sentAt }] },
    });
    const changes = () =>
      env.DB.prepare(
        "SELECT count(*) AS n FROM outbox WHERE workspace_id = ?1 AND type = 'message.changed' AND subject_id = 'wamid.g'",
      )
        .bind(workspaceId)
        .first<number>("n");
    const before = await changes();
    const later = String(Math.floor((SENT_AT + HOUR) / 1000));
    await deliverWebhook(
      workspaceId,
      webhookBody({ statuses: [{ id: "wamid.g", status: "sent", timestamp: later, recipient_type: "group" }] }),
    );
    expect(await changes()).toBe((before ?? 0) + 1);
  });
});
