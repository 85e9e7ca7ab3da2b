/// <reference types="vite/client" />
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { hashContact } from "../src/lib/contact";
import { callJson, callWorker, createLink, createWorkspace, expectErrorEnvelope, ORIGIN, type Json } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, expectedMessage, getMessage } from "./whatsapp-helpers";
import vectorsJson from "./fixtures/whatsapp/signed/SIGNATURE_VECTORS.json?raw";
import handshakeJson from "./fixtures/whatsapp/verification/GET_HANDSHAKE_CASES.json?raw";

// Real webhook bodies published by Meta's documentation and by three SDKs' test suites (see
// test/fixtures/whatsapp/README.md), delivered exactly as they are stored.
const corpus = Object.fromEntries(
  Object.entries(
    import.meta.glob<string>(
      [
        "./fixtures/whatsapp/meta_docs/*.json",
        "./fixtures/whatsapp/pywa/*.json",
        "./fixtures/whatsapp/whatsapp_business_java_api/*.json",
      ],
      { query: "?raw", import: "default", eager: true },
    ),
  ).map(([path, text]) => [path.replace("./fixtures/whatsapp/", ""), text]),
);
const signedBodies = import.meta.glob<string>("./fixtures/whatsapp/signed/*.body", {
  query: "?raw",
  import: "default",
  eager: true,
});

type SignatureVector = {
  id: string;
  body_file: string;
  body_bytes?: number;
  escaped_body_file?: string;
  mutation?: string;
  app_secret: string;
  x_hub_signature_256: string;
  expect: string;
};
const vectors = (JSON.parse(vectorsJson) as { vectors: SignatureVector[] }).vectors;

type HandshakeCase = { id: string; query: string; expect_status: number | string; expect_body?: string };
const handshake = JSON.parse(handshakeJson) as { configured_verify_token: string; cases: HandshakeCase[] };

// Pricing as GET /api/v1/messages/:id answers it (CBP pricing had no type).
const PMP_MARKETING = { pricingModel: "PMP", type: "regular", category: "marketing" };
const CBP_SERVICE = { pricingModel: "CBP", type: null, category: "service" };
const CBP_BUSINESS_INITIATED = { pricingModel: "CBP", type: null, category: "business_initiated" };

const META_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
const JAVA_WAMID = "wamid.nBgN6TUyN2k5NzAzM5kzNhUCABI8FDNFQjAxQkE5REI4NEUzQ5Y5QTNgAA==";
const META_BSUID = "user.9373795779eb6441c8adb2eaee5b848e7dd174ddd302d7db62142f4722d574b6";

type StatusCase = {
  kind: "status";
  /** The id the recipient is identified by: "+" + digits for a phone number, else the BSUID; null for a group. */
  contact: string | null;
  message: ReturnType<typeof expectedMessage>;
};
type InboundCase = {
  kind: "inbound";
  contact: string;
  row: { id: string; type: string; context_id: string | null; occurred_at: number };
};

const S = (seconds: number) => seconds * 1000;

/** Every body of the corpus and what it must produce. */
const expectations: Record<string, StatusCase | InboundCase> = {
  // --- statuses ---
  "meta_docs/status_sent_pmp_marketing.json": {
    kind: "status",
    contact: "+16505551234",
    message: expectedMessage({
      id: META_WAMID,
      status: "sent",
      sentAt: "2025-06-15T23:27:53.000Z",
      pricing: PMP_MARKETING,
    }),
  },
  // Meta's prose calls this a "read" example; its JSON says "sent", which is what is delivered.
  "meta_docs/status_v24_without_conversation_or_pricing.json": {
    kind: "status",
    contact: "+16505551234",
    message: expectedMessage({ id: META_WAMID, status: "sent", sentAt: "2025-06-15T23:27:53.000Z" }),
  },
  "meta_docs/status_delivered_pmp_with_username_contacts.json": {
    kind: "status",
    contact: "+16505551234",
    message: expectedMessage({
      id: META_WAMID,
      status: "delivered",
      sentAt: "2025-06-15T23:27:53.000Z",
      deliveredAt: "2025-06-15T23:27:53.000Z",
      inferred: ["sent"],
      pricing: PMP_MARKETING,
    }),
  },
  "meta_docs/status_delivered_pmp_to_bsuid_empty_recipient_id.json": {
    kind: "status",
    contact: META_BSUID,
    message: expectedMessage({
      id: META_WAMID,
      status: "delivered",
      sentAt: "2025-06-15T23:27:53.000Z",
      deliveredAt: "2025-06-15T23:27:53.000Z",
      inferred: ["sent"],
      pricing: PMP_MARKETING,
    }),
  },
  "meta_docs/status_failed_131049.json": {
    kind: "status",
    contact: "+16505551234",
    message: expectedMessage({
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA",
      status: "failed",
      failedAt: "2025-06-28T20:34:48.000Z",
      errors: [
        {
          code: 131049,
          title: "This message was not delivered to maintain healthy ecosystem engagement.",
          message: "This message was not delivered to maintain healthy ecosystem engagement.",
          error_data: {
            details: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
          },
          href: "/documentation/business-messaging/whatsapp/support/error-codes",
        },
      ],
    }),
  },
  "pywa/status_sent_cbp_service.json": {
    kind: "status",
    contact: "+972987654321",
    message: expectedMessage({
      id: "wamid.xyzxyz",
      status: "sent",
      sentAt: "2023-10-25T20:49:05.000Z",
      pricing: CBP_SERVICE,
    }),
  },
  "pywa/status_sent_with_biz_opaque_callback_data.json": {
    kind: "status",
    contact: "+972987654321",
    // "some data" is no link code of the workspace, so nothing joins.
    message: expectedMessage({
      id: "wamid.xyzxyz",
      status: "sent",
      sentAt: "2023-10-25T20:49:05.000Z",
      pricing: CBP_SERVICE,
    }),
  },
  "pywa/status_delivered_cbp_service.json": {
    kind: "status",
    contact: "+972987654321",
    message: expectedMessage({
      id: "wamid.xyzxyz",
      status: "delivered",
      sentAt: "2023-10-25T20:49:05.000Z",
      deliveredAt: "2023-10-25T20:49:05.000Z",
      inferred: ["sent"],
      pricing: CBP_SERVICE,
    }),
  },
  "pywa/status_read_cbp_service.json": {
    kind: "status",
    contact: "+972987654321",
    message: expectedMessage({
      id: "wamid.xyzxyz",
      status: "read",
      sentAt: "2023-07-15T00:20:58.000Z",
      deliveredAt: "2023-07-15T00:20:58.000Z",
      readAt: "2023-07-15T00:20:58.000Z",
      inferred: ["sent", "delivered"],
      pricing: CBP_SERVICE,
    }),
  },
  // A voice message was played: that says at least as much as read.
  "pywa/status_played.json": {
    kind: "status",
    contact: "+972987654321",
    message: expectedMessage({
      id: "wamid.xyzxyz",
      status: "read",
      sentAt: "2023-07-15T00:20:58.000Z",
      deliveredAt: "2023-07-15T00:20:58.000Z",
      readAt: "2023-07-15T00:20:58.000Z",
      inferred: ["sent", "delivered"],
      pricing: CBP_SERVICE,
    }),
  },
  "pywa/status_failed_130472.json": {
    kind: "status",
    contact: "+972987654321",
    message: expectedMessage({
      id: "wamid.xyzxyz",
      status: "failed",
      failedAt: "2023-07-15T00:20:58.000Z",
      errors: [
        {
          code: 130472,
          title: "User's number is part of an experiment",
          message: "User's number is part of an experiment",
          error_data: { details: "Failed to send message because this user's phone number is part of an experiment" },
          href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        },
      ],
    }),
  },
  // A group message: recipient_id names the group, not a person, so no contact is derived from it.
  "pywa/status_read_group_recipient.json": {
    kind: "status",
    contact: null,
    message: expectedMessage({
      id: "<WHATSAPP_MESSAGE_ID>",
      status: "read",
      sentAt: "2023-10-25T20:49:05.000Z",
      deliveredAt: "2023-10-25T20:49:05.000Z",
      readAt: "2023-10-25T20:49:05.000Z",
      inferred: ["sent", "delivered"],
    }),
  },
  "whatsapp_business_java_api/status_sent_cbp_business_initiated.json": {
    kind: "status",
    contact: "+1111111111111",
    message: expectedMessage({
      id: JAVA_WAMID,
      status: "sent",
      sentAt: "2023-01-06T15:51:57.000Z",
      pricing: CBP_BUSINESS_INITIATED,
    }),
  },
  "whatsapp_business_java_api/status_delivered_cbp_business_initiated.json": {
    kind: "status",
    contact: "+1111111111111",
    message: expectedMessage({
      id: JAVA_WAMID,
      status: "delivered",
      sentAt: "2023-01-06T15:51:57.000Z",
      deliveredAt: "2023-01-06T15:51:57.000Z",
      inferred: ["sent"],
      pricing: CBP_BUSINESS_INITIATED,
    }),
  },
  "whatsapp_business_java_api/status_read_no_pricing.json": {
    kind: "status",
    contact: "+1111111111111",
    message: expectedMessage({
      id: JAVA_WAMID,
      status: "read",
      sentAt: "2023-01-06T15:51:57.000Z",
      deliveredAt: "2023-01-06T15:51:57.000Z",
      readAt: "2023-01-06T15:51:57.000Z",
      inferred: ["sent", "delivered"],
    }),
  },
  "whatsapp_business_java_api/status_failed_131047_reengagement.json": {
    kind: "status",
    contact: "+5511111111111",
    message: expectedMessage({
      id: "wamid.HBgNN5NzAzMDkTUyNzkzNhUEjA1MjUwNCAUIyNEYUQ0OTVGNTY0MwA=",
      status: "failed",
      failedAt: "2023-04-28T03:18:07.000Z",
      errors: [
        {
          code: 131047,
          title: "Re-engagement message",
          message: "Re-engagement message",
          error_data: {
            details:
              "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
          },
          href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        },
      ],
    }),
  },

  // --- inbound messages ---
  "meta_docs/inbound_text.json": {
    kind: "inbound",
    contact: "+16505551234",
    row: {
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
      type: "text",
      context_id: null,
      occurred_at: S(1749416383),
    },
  },
  "meta_docs/inbound_text_click_to_whatsapp_ad_referral.json": {
    kind: "inbound",
    contact: "+16505551234",
    row: {
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ0N0VFMDA2MTQ0RkJFNkNDNAA=",
      type: "text",
      context_id: null,
      occurred_at: S(1750275992),
    },
  },
  "meta_docs/inbound_text_message_business_button_referred_product.json": {
    kind: "inbound",
    contact: "+16505551234",
    row: {
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTA2NTUwRkNEMDdFQjJCRUU0NQA=",
      type: "text",
      context_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA",
      occurred_at: S(1750016800),
    },
  },
  "meta_docs/inbound_text_username_user_empty_from.json": {
    kind: "inbound",
    contact: "user.93737...",
    row: {
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
      type: "text",
      context_id: null,
      occurred_at: S(1749416383),
    },
  },
  "meta_docs/inbound_button_quick_reply.json": {
    kind: "inbound",
    contact: "+16505551234",
    row: {
      id: META_WAMID,
      type: "button",
      context_id: "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
      occurred_at: S(1750091045),
    },
  },
  "meta_docs/inbound_interactive_button_reply.json": {
    kind: "inbound",
    contact: "+16505551234",
    row: {
      id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=",
      type: "interactive",
      context_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA",
      occurred_at: S(1750025136),
    },
  },
  "meta_docs/inbound_interactive_list_reply.json": {
    kind: "inbound",
    contact: "+16505551234",
    row: {
      id: META_WAMID,
      type: "interactive",
      context_id: "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
      occurred_at: S(1749854575),
    },
  },
  "pywa/inbound_text.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.xyzxyz", type: "text", context_id: null, occurred_at: S(1697043223) },
  },
  "pywa/inbound_text_reply_with_context.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.xyzxyz", type: "text", context_id: "wamid.xyzxyz==", occurred_at: S(1697044746) },
  },
  "pywa/inbound_text_with_referral.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.ID", type: "text", context_id: null, occurred_at: S(1697045000) },
  },
  "pywa/inbound_reaction.json": {
    kind: "inbound",
    contact: "+972987654321",
    // A reaction names the message it reacts to, like a reply's context.id.
    row: { id: "wamid.xyzxyz", type: "reaction", context_id: "wamid.yzxyzx=", occurred_at: S(1697044456) },
  },
  "pywa/inbound_button_quick_reply.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.xsidjw", type: "button", context_id: "wamid.xyzxyz==", occurred_at: S(1698269027) },
  },
  // Both a phone number and a BSUID: the phone number identifies the contact.
  "pywa/inbound_button_quick_reply_without_context.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.xsidjx", type: "button", context_id: null, occurred_at: S(1698269027) },
  },
  "pywa/inbound_interactive_button_reply.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.xyzxyz", type: "interactive", context_id: "wamid.xyzxyz", occurred_at: S(1698266730) },
  },
  "pywa/inbound_interactive_list_reply.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.zyzxyz", type: "interactive", context_id: "wamid.xyzxyz", occurred_at: S(1698266905) },
  },
  "pywa/inbound_interactive_list_reply_with_description.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: { id: "wamid.zyzxyz", type: "interactive", context_id: "wamid.xyzxyz", occurred_at: S(1698266905) },
  },
  // A value-level errors[] (131000 "Unsupported webhook payload") next to an interactive message
  // that has no `interactive` object: still a message from the contact, replying to a business message.
  "pywa/inbound_interactive_with_errors_unsupported.json": {
    kind: "inbound",
    contact: "+972987654321",
    row: {
      id: "wamid.wegrchytvwcggt=",
      type: "interactive",
      context_id: "wamid.gvwegfretge==",
      occurred_at: S(1700505494),
    },
  },
  // In this fixture the reply's context.id is the message's own id.
  "whatsapp_business_java_api/inbound_button_quick_reply.json": {
    kind: "inbound",
    contact: "+1111111111111",
    row: { id: JAVA_WAMID, type: "button", context_id: JAVA_WAMID, occurred_at: S(1673023653) },
  },
};

const statusCases = Object.entries(expectations).filter(
  (entry): entry is [string, StatusCase] => entry[1].kind === "status",
);
const inboundCases = Object.entries(expectations).filter(
  (entry): entry is [string, InboundCase] => entry[1].kind === "inbound",
);

function storedMessage(workspaceId: string, id: string) {
  return env.DB.prepare("SELECT contact_hash, biz_opaque FROM messages WHERE workspace_id = ?1 AND id = ?2")
    .bind(workspaceId, id)
    .first<{ contact_hash: string | null; biz_opaque: string | null }>();
}

function storedInbound(workspaceId: string, id: string) {
  return env.DB.prepare(
    "SELECT id, type, context_id, occurred_at, contact_hash FROM inbound_messages WHERE workspace_id = ?1 AND id = ?2",
  )
    .bind(workspaceId, id)
    .first<{ id: string; type: string; context_id: string | null; occurred_at: number; contact_hash: string | null }>();
}

function expectedHash(contact: string | null) {
  return contact === null ? null : hashContact(env.PII_PEPPER, contact);
}

/** The contact hash the API stores for a contact given to it (here, through a link). */
async function hashViaApi(adminKey: string, contact: string): Promise<string> {
  const link = await createLink(adminKey, { contact });
  const row = await env.DB.prepare("SELECT contact_hash FROM links WHERE id = ?1")
    .bind(link.id)
    .first<string>("contact_hash");
  return row!;
}

// The bodies carry the times they were captured at (2025 and earlier): the workspaces keep ten years, so
// that none lies before their retention period.
const KEEPS_TEN_YEARS = { retentionDays: 3650 };

describe("the webhook corpus", () => {
  it("has an expectation for every body in the corpus, and no expectation without a body", () => {
    expect(Object.keys(corpus).sort()).toEqual(Object.keys(expectations).sort());
    expect(Object.keys(corpus)).toHaveLength(34);
  });

  it.each(statusCases)("records %s as the message state it describes", async (file, expected) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    const res = await deliverWebhook(workspaceId, corpus[file]);
    expect(res).toMatchObject({ status: 200, body: { statuses: 1, messages: 0, consents: 0, skipped: 0 } });

    const message = await getMessage(adminKey, expected.message.id);
    expect(message.status).toBe(200);
    expect(message.body).toEqual(expected.message);
    expect((await storedMessage(workspaceId, expected.message.id))?.contact_hash).toBe(
      await expectedHash(expected.contact),
    );
  });

  it.each(inboundCases)("stores %s as an inbound message with its type and reply context", async (file, expected) => {
    const { workspaceId } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    const res = await deliverWebhook(workspaceId, corpus[file]);
    expect(res).toMatchObject({ status: 200, body: { statuses: 0, messages: 1, consents: 0, skipped: 0 } });

    expect(await storedInbound(workspaceId, expected.row.id)).toEqual({
      ...expected.row,
      contact_hash: await expectedHash(expected.contact),
    });
    // An inbound message is not a sent message: no message state appears for it.
    const count = await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE workspace_id = ?1")
      .bind(workspaceId)
      .first<number>("n");
    expect(count).toBe(0);
  });

  it("accepts every corpus body a second time without changing what it recorded", async () => {
    const { workspaceId } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    for (const file of Object.keys(expectations)) await deliverWebhook(workspaceId, corpus[file]);
    const snapshot = async () => ({
      messages: (
        await env.DB.prepare("SELECT * FROM messages WHERE workspace_id = ?1 ORDER BY id").bind(workspaceId).all()
      ).results,
      inbound: (
        await env.DB.prepare(
          "SELECT id, contact_hash, context_id, type, occurred_at FROM inbound_messages WHERE workspace_id = ?1 ORDER BY id",
        )
          .bind(workspaceId)
          .all()
      ).results,
    });
    const before = await snapshot();
    for (const file of Object.keys(expectations)) {
      const res = await deliverWebhook(workspaceId, corpus[file]);
      expect(res.status).toBe(200);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("combines the Java SDK's sent, delivered and read statuses of one message into read with nothing inferred", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    for (const name of ["sent_cbp_business_initiated", "delivered_cbp_business_initiated", "read_no_pricing"]) {
      await deliverWebhook(workspaceId, corpus[`whatsapp_business_java_api/status_${name}.json`]);
    }
    expect((await getMessage(adminKey, JAVA_WAMID)).body).toEqual(
      expectedMessage({
        id: JAVA_WAMID,
        status: "read",
        sentAt: "2023-01-06T15:51:57.000Z",
        deliveredAt: "2023-01-06T15:51:57.000Z",
        readAt: "2023-01-06T15:51:57.000Z",
        pricing: CBP_BUSINESS_INITIATED,
      }),
    );
  });

  it("keeps the earliest time of each step when pywa's statuses of one message disagree about their order", async () => {
    // pywa's fixtures date read/played/failed (2023-07-15) before sent/delivered (2023-10-25).
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    for (const name of ["sent_cbp_service", "delivered_cbp_service", "read_cbp_service", "played", "failed_130472"]) {
      await deliverWebhook(workspaceId, corpus[`pywa/status_${name}.json`]);
    }
    const body = (await getMessage(adminKey, "wamid.xyzxyz")).body;
    expect(body).toEqual(
      expectedMessage({
        id: "wamid.xyzxyz",
        status: "read",
        sentAt: "2023-07-15T00:20:58.000Z",
        deliveredAt: "2023-07-15T00:20:58.000Z",
        readAt: "2023-07-15T00:20:58.000Z",
        failedAt: "2023-07-15T00:20:58.000Z",
        errors: [expect.objectContaining({ code: 130472 })],
        pricing: CBP_SERVICE,
      }),
    );
  });

  it("keeps biz_opaque_callback_data that names no link without joining the message to anything", async () => {
    const { workspaceId } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    await deliverWebhook(workspaceId, corpus["pywa/status_sent_with_biz_opaque_callback_data.json"]);
    expect(await storedMessage(workspaceId, "wamid.xyzxyz")).toEqual({
      contact_hash: await hashContact(env.PII_PEPPER, "+972987654321"),
      biz_opaque: "some data",
    });
  });
});

describe("contacts known only by their business-scoped user id", () => {
  it("accepts a status sent to a BSUID with an empty recipient_id and files it under the BSUID's contact", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    const res = await deliverWebhook(
      workspaceId,
      corpus["meta_docs/status_delivered_pmp_to_bsuid_empty_recipient_id.json"],
    );
    expect(res.body).toEqual({ statuses: 1, messages: 0, consents: 0, skipped: 0 });
    const stored = await storedMessage(workspaceId, META_WAMID);
    expect(stored?.contact_hash).toBe(await hashViaApi(adminKey, META_BSUID));
  });

  it("accepts an inbound message with an empty from and files it under the sender's BSUID", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    const res = await deliverWebhook(workspaceId, corpus["meta_docs/inbound_text_username_user_empty_from.json"]);
    expect(res.body).toEqual({ statuses: 0, messages: 1, consents: 0, skipped: 0 });
    const stored = await storedInbound(workspaceId, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    expect(stored?.contact_hash).toBe(await hashViaApi(adminKey, "user.93737..."));
  });

  it("identifies a contact sending both a phone number and a US.… BSUID by the phone number", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    // Hashed before the delivery pairs them: a link made afterwards for either id is the number's.
    const phone = await hashViaApi(adminKey, "+972987654321");
    const bsuid = await hashViaApi(adminKey, "US.13491208655302741918");
    await deliverWebhook(workspaceId, corpus["pywa/inbound_button_quick_reply_without_context.json"]);
    const stored = await storedInbound(workspaceId, "wamid.xsidjx");
    expect(stored?.contact_hash).toBe(phone);
    expect(stored?.contact_hash).not.toBe(bsuid);
  });

  it("hashes a webhook phone number the same as the API hashes that number in any format", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    await deliverWebhook(workspaceId, corpus["meta_docs/status_sent_pmp_marketing.json"]);
    const stored = await storedMessage(workspaceId, META_WAMID);
    expect(stored?.contact_hash).toBe(await hashViaApi(adminKey, "+1 (650) 555-1234"));
  });

  it("gives the same contact to a status and a reply that name the same BSUID in two deliveries", async () => {
    const { workspaceId } = await createWhatsAppWorkspace(KEEPS_TEN_YEARS);
    const bsuid = "user.a1b2c3d4e5f6";
    const status = {
      object: "whatsapp_business_account",
      entry: [
        {
          id: "1",
          changes: [
            {
              field: "messages",
              value: {
                statuses: [
                  {
                    id: "wamid.bsuid",
                    status: "sent",
                    timestamp: "1750030073",
                    recipient_id: "",
                    recipient_user_id: bsuid,
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    const reply = {
      object: "whatsapp_business_account",
      entry: [
        {
          id: "1",
          changes: [
            {
              field: "messages",
              value: {
                messages: [
                  {
                    from: "",
                    from_user_id: bsuid,
                    id: "wamid.reply",
                    timestamp: "1750030100",
                    type: "text",
                    context: { id: "wamid.bsuid" },
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    expect((await deliverWebhook(workspaceId, status)).status).toBe(200);
    expect((await deliverWebhook(workspaceId, reply)).status).toBe(200);
    const sent = await storedMessage(workspaceId, "wamid.bsuid");
    const received = await storedInbound(workspaceId, "wamid.reply");
    expect(sent?.contact_hash).toEqual(expect.any(String));
    expect(received?.contact_hash).toBe(sent?.contact_hash);
    expect(received?.context_id).toBe("wamid.bsuid");
  });
});

/** Posts exact bytes to the webhook, as Meta would. */
async function postBytes(workspaceId: string, bytes: Uint8Array, signature: string) {
  const request = new Request(`${ORIGIN}/webhooks/whatsapp/${workspaceId}`, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "application/json", "x-hub-signature-256": signature },
  });
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: response.status, body };
}

async function workspaceWithAppSecret(appSecret: string) {
  const { workspace, adminKey } = await createWorkspace(KEEPS_TEN_YEARS);
  const res = await callJson("/api/v1/workspace", {
    method: "PATCH",
    key: adminKey,
    body: { settings: { whatsapp: { appSecret, verifyToken: "corpus-verify-token" } } },
  });
  expect(res.status).toBe(200);
  expect(res.body.settings.whatsapp).toEqual({ appSecretSet: true, verifyTokenSet: true });
  return { workspaceId: workspace.id as string, adminKey };
}

const bodyFile = (name: string) => signedBodies[`./fixtures/whatsapp/signed/${name}`];
const bytesOf = (text: string) => new TextEncoder().encode(text);

describe("X-Hub-Signature-256 vectors", () => {
  it("covers every vector of SIGNATURE_VECTORS.json", () => {
    expect(vectors.map((v) => v.id)).toEqual([
      "pywa_inbound_text",
      "pywa_inbound_text_tampered",
      "pywa_inbound_text_wrong_secret",
      "whatsapp_api_js_unicode",
    ]);
    expect(bytesOf(bodyFile("pywa_inbound_text.body")).byteLength).toBe(511);
    expect(bytesOf(bodyFile("whatsapp_api_js_unicode.body")).byteLength).toBe(136);
    expect(bytesOf(bodyFile("whatsapp_api_js_unicode.escaped.body")).byteLength).toBe(159);
  });

  it("accepts a real Meta-signed delivery (pywa_inbound_text) and stores its message", async () => {
    const vector = vectors.find((v) => v.id === "pywa_inbound_text")!;
    expect(vector.expect).toBe("valid");
    const { workspaceId } = await workspaceWithAppSecret(vector.app_secret);
    const bytes = bytesOf(bodyFile(vector.body_file));
    expect(bytes.byteLength).toBe(vector.body_bytes);
    const res = await postBytes(workspaceId, bytes, vector.x_hub_signature_256);
    expect(res).toEqual({ status: 200, body: { statuses: 0, messages: 1, consents: 0, skipped: 0 } });
    expect(
      await storedInbound(
        workspaceId,
        "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA",
      ),
    ).toEqual({
      id: "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA",
      type: "text",
      context_id: null,
      occurred_at: S(1730231903),
      contact_hash: await hashContact(env.PII_PEPPER, "+972544401243"),
    });
  });

  it("refuses the same delivery with one space appended (pywa_inbound_text_tampered) and stores nothing", async () => {
    const vector = vectors.find((v) => v.id === "pywa_inbound_text_tampered")!;
    expect(vector.expect).toBe("invalid");
    expect(vector.mutation).toMatch(/append one space/);
    const { workspaceId } = await workspaceWithAppSecret(vector.app_secret);
    const res = await postBytes(workspaceId, bytesOf(bodyFile(vector.body_file) + " "), vector.x_hub_signature_256);
    expect(res).toEqual({ status: 401, body: expectErrorEnvelope("unauthorized") });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM inbound_messages WHERE workspace_id = ?1")
      .bind(workspaceId)
      .first<number>("n");
    expect(count).toBe(0);
  });

  it("refuses the delivery when the workspace's app secret is another one (pywa_inbound_text_wrong_secret)", async () => {
    const vector = vectors.find((v) => v.id === "pywa_inbound_text_wrong_secret")!;
    expect(vector.expect).toBe("invalid");
    const { workspaceId } = await workspaceWithAppSecret(vector.app_secret);
    const res = await postBytes(workspaceId, bytesOf(bodyFile(vector.body_file)), vector.x_hub_signature_256);
    expect(res).toEqual({ status: 401, body: expectErrorEnvelope("unauthorized") });
  });

  it("verifies the \\u-escaped wire form of a non-ASCII body (whatsapp_api_js_unicode) and only then finds it is not JSON", async () => {
    const vector = vectors.find((v) => v.id === "whatsapp_api_js_unicode")!;
    const { workspaceId } = await workspaceWithAppSecret(vector.app_secret);
    const res = await postBytes(workspaceId, bytesOf(bodyFile(vector.escaped_body_file!)), vector.x_hub_signature_256);
    // The signature passed (not 401); the body is a plain sentence, so it is refused as JSON.
    expect(res.status).not.toBe(401);
    expect(res).toEqual({ status: 400, body: expectErrorEnvelope("invalid_json") });
  });

  it("refuses the raw UTF-8 form of that body under the signature of its escaped form", async () => {
    const vector = vectors.find((v) => v.id === "whatsapp_api_js_unicode")!;
    const { workspaceId } = await workspaceWithAppSecret(vector.app_secret);
    const res = await postBytes(workspaceId, bytesOf(bodyFile(vector.body_file)), vector.x_hub_signature_256);
    expect(res).toEqual({ status: 401, body: expectErrorEnvelope("unauthorized") });
  });

  it("accepts the signature of a workspace whose app secret was changed after it was first used", async () => {
    const vector = vectors.find((v) => v.id === "pywa_inbound_text")!;
    const { workspaceId, adminKey } = await workspaceWithAppSecret("an-old-secret");
    const bytes = bytesOf(bodyFile(vector.body_file));
    expect((await postBytes(workspaceId, bytes, vector.x_hub_signature_256)).status).toBe(401);
    await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { whatsapp: { appSecret: vector.app_secret } } },
    });
    expect((await postBytes(workspaceId, bytes, vector.x_hub_signature_256)).status).toBe(200);
  });
});

describe("GET handshake cases", () => {
  it("is configured with Meta's sample verify token", () => {
    expect(handshake.configured_verify_token).toBe("meatyhamhock");
    expect(handshake.cases).toHaveLength(7);
  });

  it.each(handshake.cases.map((c) => [c.id, c] as const))(
    "answers the %s handshake as Meta expects",
    async (_, testCase) => {
      const { workspace, adminKey } = await createWorkspace();
      await callJson("/api/v1/workspace", {
        method: "PATCH",
        key: adminKey,
        body: { settings: { whatsapp: { appSecret: "s", verifyToken: handshake.configured_verify_token } } },
      });
      const res = await callWorker(`/webhooks/whatsapp/${workspace.id}?${testCase.query}`);
      const text = await res.text();
      if (testCase.expect_status === 200) {
        expect(res.status).toBe(200);
        expect(text).toBe(testCase.expect_body);
        expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      } else {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(text).not.toBe("1158201444");
        expect(JSON.parse(text)).toEqual(expectErrorEnvelope("forbidden"));
      }
    },
  );
});
