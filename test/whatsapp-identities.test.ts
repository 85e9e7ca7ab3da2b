/// <reference types="vite/client" />
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashContact } from "../src/lib/contact";
import { snapshotRows } from "./db-snapshot";
import { ANDROID_CHROME, applied, callJson, callWorker, createCampaign, createLink, withoutAsOf } from "./helpers";
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

describe("an opt-out given under the user id before the pairing", () => {
  it("holds for the number once a webhook pairs them", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: SENT_AT - HOUR, userId: BSUID }));
    await deliverWebhook(workspaceId, withContacts);
    const res = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.to-number", contact: PHONE, category: "marketing" }] },
    });
    expect(res.status).toBe(409);
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

// A user who changed number: Meta's example numbers, and business-scoped user ids in Meta's format.
const OLD_NUMBER = "16505551234";
const NEW_NUMBER = "12195555358";
const OLD_USER_ID = "US.13491208655302741918";
const NEW_USER_ID = "US.80441733609125963370";

/**
 * A system message as Meta's system messages reference (updated Aug 11, 2026) shows it: no contacts
 * block; `from` is the user's old number, `system` names the new ids and the previous user id.
 */
function systemBody(at: number, system: Record<string, unknown>, from?: string) {
  return webhookBody({
    metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
    messages: [
      {
        ...(from === undefined ? {} : { from }),
        id: `wamid.system-${system.type}-${at}`,
        timestamp: String(Math.floor(at / 1000)),
        type: "system",
        system,
      },
    ],
  });
}

const changedNumber = (at: number) =>
  systemBody(
    at,
    {
      body: `User Sheena Nelson changed from ${OLD_NUMBER} to ${NEW_NUMBER}`,
      wa_id: NEW_NUMBER,
      user_id: NEW_USER_ID,
      previous_user_id: OLD_USER_ID,
      type: "user_changed_number",
    },
    OLD_NUMBER,
  );

const changedUserId = (at: number) =>
  systemBody(at, {
    body: "User Sheena Nelson changed their business-scoped user ID",
    user_id: NEW_USER_ID,
    previous_user_id: OLD_USER_ID,
    type: "user_changed_user_id",
  });

/** An inbound text named only by a user id, as Meta sends it for a user who hides the number. */
const textFromUserId = (userId: string, id: string, at: number) =>
  webhookBody({
    contacts: [{ profile: { name: "Sheena Nelson" }, wa_id: "", user_id: userId }],
    messages: [
      {
        from: "",
        from_user_id: userId,
        id,
        timestamp: String(Math.floor(at / 1000)),
        type: "text",
        text: { body: "Hi" },
      },
    ],
  });

async function inboundIds(workspaceId: string) {
  const { results } = await env.DB.prepare("SELECT id FROM inbound_messages WHERE workspace_id = ?1 ORDER BY id")
    .bind(workspaceId)
    .all<{ id: string }>();
  return results.map((row) => row.id);
}

describe("a user whose number or user id changed (system messages)", () => {
  it("joins the new user id to the old one's contact: a later reply under the new id is the same contact's", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    const sent = statusBody(
      { id: "wamid.to-old", status: "sent", at: SENT_AT, recipient: "", recipientUserId: OLD_USER_ID },
      { id: "wamid.to-old", status: "delivered", at: SENT_AT + 1000, recipient: "", recipientUserId: OLD_USER_ID },
    );
    expect((await deliverWebhook(workspaceId, sent)).status).toBe(200);
    await applied();
    const change = await deliverWebhook(workspaceId, changedUserId(SENT_AT + HOUR));
    expect(change.status).toBe(200);
    expect(change.body).toEqual({ statuses: 0, messages: 1, consents: 0, skipped: 0 });
    await deliverWebhook(workspaceId, textFromUserId(NEW_USER_ID, "wamid.reply", SENT_AT + DAY));

    expect(await inboundIds(workspaceId)).toEqual(["wamid.reply"]);
    expect(await storedContact("inbound_messages", workspaceId, "wamid.reply")).toBe(await hash(OLD_USER_ID));
    const body = await retentionByReply(adminKey);
    expect(body.cohorts).toHaveLength(1);
    expect(body.cohorts[0]).toMatchObject({ start: "2025-06-15T00:00:00.000Z", size: 1 });
    expect(body.cohorts[0].values[1]).toMatchObject({ period: 1, count: 1 });
  });

  it("is no reply: the response rate and the returns stay as they were, and the delivery is answered 200", async () => {
    const { workspaceId, adminKey: key } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(
      workspaceId,
      statusBody(
        { id: "wamid.to-old", status: "sent", at: SENT_AT, recipient: OLD_NUMBER },
        { id: "wamid.to-old", status: "delivered", at: SENT_AT + 1000, recipient: OLD_NUMBER },
      ),
    );
    await applied();
    const range = "from=2025-06-14&to=2025-06-17";
    const before = await callJson(`/api/v1/reports/metrics?${range}`, { key });
    expect(before.status).toBe(200);
    expect(before.body.responseRate).toBe(0);

    for (const body of [changedNumber(SENT_AT + HOUR), changedUserId(SENT_AT + 2 * HOUR)]) {
      expect(await deliverWebhook(workspaceId, body)).toMatchObject({ status: 200, body: { messages: 1, skipped: 0 } });
    }
    expect(await inboundIds(workspaceId)).toEqual([]);
    const after = await callJson(`/api/v1/reports/metrics?${range}`, { key });
    expect(withoutAsOf(after.body)).toEqual(withoutAsOf(before.body));
    const retention = await retentionByReply(key);
    expect(retention.cohorts).toHaveLength(1);
    expect(retention.cohorts[0].values.slice(1).map((v: { count: number }) => v.count)).toEqual([0, 0]);
  });

  it("joins the new number and user id to the old number's contact: statuses, registrations and opt-outs", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.to-old", status: "sent", at: SENT_AT, recipient: OLD_NUMBER }),
    );
    await deliverWebhook(workspaceId, changedNumber(SENT_AT + HOUR));
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.to-new", status: "sent", at: SENT_AT + DAY, recipient: NEW_NUMBER }),
    );
    const registered = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.to-new-user-id", contact: NEW_USER_ID }] },
    });
    expect(registered.status).toBe(200);
    const old = await hash(`+${OLD_NUMBER}`);
    for (const id of ["wamid.to-old", "wamid.to-new", "wamid.to-new-user-id"]) {
      expect(await storedContact("messages", workspaceId, id)).toBe(old);
    }
    // Every id of the user points at the old number's contact, in one step.
    const pairs = await env.DB.prepare("SELECT alias_hash, contact_hash FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .all<{ alias_hash: string; contact_hash: string }>();
    const expected = await Promise.all([`+${NEW_NUMBER}`, NEW_USER_ID, OLD_USER_ID].map(hash));
    expect(pairs.results.map((p) => p.alias_hash).sort()).toEqual([...expected].sort());
    expect(new Set(pairs.results.map((p) => p.contact_hash))).toEqual(new Set([old]));

    // The user stops marketing under the new number: the old number is refused marketing too.
    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: SENT_AT + DAY, waId: NEW_NUMBER }));
    const refused = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.again", contact: `+${OLD_NUMBER}`, category: "marketing" }] },
    });
    expect(refused.status).toBe(409);
  });

  it("moves what was written under the new id before the news, and keeps every pair one step from its contact", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.to-old", status: "sent", at: SENT_AT, recipient: "", recipientUserId: OLD_USER_ID }),
    );
    // The new number and user id arrive first, paired with each other, on a message of their own.
    await deliverWebhook(
      workspaceId,
      statusBody({
        id: "wamid.to-new",
        status: "sent",
        at: SENT_AT + HOUR,
        recipient: NEW_NUMBER,
        recipientUserId: NEW_USER_ID,
      }),
    );
    // The user stops marketing messages under the new user id, before the news of the change.
    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: SENT_AT + 2 * HOUR, userId: NEW_USER_ID }));
    await applied();
    await deliverWebhook(workspaceId, changedUserId(SENT_AT + DAY));

    const old = await hash(OLD_USER_ID);
    expect(await storedContact("messages", workspaceId, "wamid.to-new")).toBe(old);
    const pairs = await env.DB.prepare("SELECT alias_hash, contact_hash FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .all<{ alias_hash: string; contact_hash: string }>();
    expect(pairs.results.map((p) => p.alias_hash).sort()).toEqual(
      (await Promise.all([NEW_USER_ID, `+${NEW_NUMBER}`].map(hash))).sort(),
    );
    expect(new Set(pairs.results.map((p) => p.contact_hash))).toEqual(new Set([old]));
    // One cohort of one contact, who started with the message to the old user id.
    const body = await retentionByReply(adminKey);
    expect(body.cohorts).toHaveLength(1);
    expect(body.cohorts[0]).toMatchObject({ start: "2025-06-15T00:00:00.000Z", size: 1 });
    const refused = await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: "wamid.again", contact: OLD_USER_ID, category: "marketing" }] },
    });
    expect(refused.status).toBe(409);
  });

  it("puts a message to the new id in the campaign's audiences as the old id's contact: its click, and an opt-out under the old id", async () => {
    const { workspaceId, adminKey: key } = await createWhatsAppWorkspace(TEN_YEARS);
    const campaign = await createCampaign(key);
    await deliverWebhook(workspaceId, changedUserId(Date.now() - HOUR));
    const link = await createLink(key, {
      url: "https://shop.example.com/deals",
      campaignId: campaign.id,
      contact: NEW_USER_ID,
    });
    const registered = await callJson("/api/v1/messages", {
      key,
      body: { messages: [{ id: "wamid.to-new", contact: NEW_USER_ID, campaignId: campaign.id, linkCode: link.code }] },
    });
    expect(registered.status).toBe(200);
    const res = await callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } });
    expect(res.status).toBe(302);

    const audience = async () => {
      const page = await callJson(`/api/v1/audiences?campaignId=${campaign.id}&stage=clicked_not_converted`, { key });
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      return page.body.messages.map((m: { messageId: string }) => m.messageId);
    };
    expect(await audience()).toEqual(["wamid.to-new"]);
    const clicks = await env.DB.prepare("SELECT contact_hash FROM clicks WHERE workspace_id = ?1")
      .bind(workspaceId)
      .all();
    expect(clicks.results).toEqual([{ contact_hash: await hash(OLD_USER_ID) }]);

    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: Date.now() - 1000, userId: OLD_USER_ID }));
    expect(await audience()).toEqual([]);
  });

  it("erases the whole contact, old ids and new, when the new number is erased", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.to-old", status: "sent", at: SENT_AT, recipient: OLD_NUMBER }),
    );
    await deliverWebhook(workspaceId, changedNumber(SENT_AT + HOUR));
    await deliverWebhook(workspaceId, textFromUserId(NEW_USER_ID, "wamid.reply", SENT_AT + DAY));
    const erased = await callJson("/api/v1/contacts/erase", { key: adminKey, body: { contact: `+${NEW_NUMBER}` } });
    expect(erased.status).toBe(200);
    expect(erased.body.erased).toMatchObject({ messages: 1, inboundMessages: 1 });
    const pairs = await env.DB.prepare("SELECT count(*) AS n FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .first<number>("n");
    expect(pairs).toBe(0);
  });

  it("keeps no number or user id in clear in any table", async () => {
    const { workspaceId } = await createWhatsAppWorkspace(TEN_YEARS);
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.to-old", status: "sent", at: SENT_AT, recipient: OLD_NUMBER }),
    );
    await deliverWebhook(workspaceId, changedNumber(SENT_AT + HOUR));
    await deliverWebhook(workspaceId, changedUserId(SENT_AT + 2 * HOUR));
    await deliverWebhook(workspaceId, textFromUserId(NEW_USER_ID, "wamid.reply", SENT_AT + DAY));
    const stored = JSON.stringify(await snapshotRows(workspaceId));
    expect(stored).toContain(await hash(`+${OLD_NUMBER}`));
    for (const clear of [OLD_NUMBER, NEW_NUMBER, OLD_USER_ID, NEW_USER_ID, "Sheena"]) {
      expect(stored).not.toContain(clear);
    }
  });

  it.each([
    ["no system block", undefined],
    ["a system block that is no object", "user_changed_number"],
    ["another kind of change", { type: "customer_identity_changed", wa_id: NEW_NUMBER }],
    ["a number change without the new number or user id", { type: "user_changed_number" }],
    ["a user id change without the previous user id", { type: "user_changed_user_id", user_id: NEW_USER_ID }],
    ["a user id change without the new user id", { type: "user_changed_user_id", previous_user_id: OLD_USER_ID }],
    [
      "an overlong user id",
      { type: "user_changed_user_id", user_id: `US.${"1".repeat(300)}`, previous_user_id: OLD_USER_ID },
    ],
    ["an overlong change type", { type: "x".repeat(100), user_id: NEW_USER_ID, previous_user_id: OLD_USER_ID }],
    ["ids that are no strings", { type: "user_changed_user_id", user_id: 7, previous_user_id: [OLD_USER_ID] }],
  ])("skips a system message with %s, stores nothing of it, and answers 200", async (_case, system) => {
    const { workspaceId } = await createWhatsAppWorkspace(TEN_YEARS);
    const body = webhookBody({
      messages: [
        {
          id: "wamid.system",
          timestamp: String(Math.floor(SENT_AT / 1000)),
          type: "system",
          ...(system === undefined ? {} : { system }),
        },
      ],
    });
    const res = await deliverWebhook(workspaceId, body);
    expect(res).toMatchObject({ status: 200, body: { messages: 0, skipped: 1 } });
    expect(await inboundIds(workspaceId)).toEqual([]);
    const pairs = await env.DB.prepare("SELECT count(*) AS n FROM contact_aliases WHERE workspace_id = ?1")
      .bind(workspaceId)
      .first<number>("n");
    expect(pairs).toBe(0);
  });
});
