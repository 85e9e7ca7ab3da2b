import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deriveMessageState, type MessageState, type ObservedSteps } from "../src/whatsapp/message-state";
import { callJson, callWorker, createCampaign, createLink } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, expectedMessage, getMessage, statusBody } from "./whatsapp-helpers";

// Times in the past, so that a registration (dated now) or a click (now) always comes after them.
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const BROWSER_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

const PRICING = { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" };
/** PRICING as GET /api/v1/messages/:id answers it. */
const PRICING_ANSWER = { pricingModel: "PMP", type: "regular", category: "marketing" };
const ERRORS = [
  {
    code: 131049,
    title: "This message was not delivered to maintain healthy ecosystem engagement.",
    message: "This message was not delivered to maintain healthy ecosystem engagement.",
    error_data: { details: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered." },
  },
];

type Status = Parameters<typeof statusBody>[0];

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** Delivers each status as its own signed webhook, in the given order. */
async function deliverEach(workspaceId: string, statuses: Status[]) {
  for (const status of statuses) {
    const res = await deliverWebhook(workspaceId, statusBody(status));
    expect(res).toMatchObject({ status: 200, body: { statuses: 1, messages: 0, consents: 0, skipped: 0 } });
  }
}

const ID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
const SENT: Status = { id: ID, status: "sent", at: T0, pricing: PRICING };
const DELIVERED: Status = { id: ID, status: "delivered", at: T0 + 1 * MIN, pricing: PRICING };
const READ: Status = { id: ID, status: "read", at: T0 + 2 * MIN };
const FAILED: Status = { id: ID, status: "failed", at: T0 + 1 * MIN, errors: ERRORS };
const DELIVERED_AFTER_FAILURE: Status = { id: ID, status: "delivered", at: T0 + 2 * MIN, pricing: PRICING };

const READ_STATE = expectedMessage({
  id: ID,
  status: "read",
  sentAt: iso(T0),
  deliveredAt: iso(T0 + 1 * MIN),
  readAt: iso(T0 + 2 * MIN),
  pricing: PRICING_ANSWER,
});

const DELIVERED_AFTER_FAILURE_STATE = expectedMessage({
  id: ID,
  status: "delivered",
  sentAt: iso(T0),
  deliveredAt: iso(T0 + 2 * MIN),
  failedAt: iso(T0 + 1 * MIN),
  errors: ERRORS,
  pricing: PRICING_ANSWER,
});

const names = (statuses: Status[]) => statuses.map((s) => s.status).join(" → ");

describe("message state through the webhook", () => {
  it.each(permutations([SENT, DELIVERED, READ]).map((order) => [names(order), order] as const))(
    "gives the same read state whatever order sent, delivered and read arrive in (%s)",
    async (_, order) => {
      const { workspaceId, adminKey } = await createWhatsAppWorkspace();
      await deliverEach(workspaceId, order);
      expect(await getMessage(adminKey, ID)).toMatchObject({ status: 200, body: READ_STATE });
      expect((await getMessage(adminKey, ID)).body).toEqual(READ_STATE);
    },
  );

  it.each(permutations([SENT, FAILED, DELIVERED_AFTER_FAILURE]).map((order) => [names(order), order] as const))(
    "counts a failed message that was later delivered as delivered, whatever the order (%s)",
    async (_, order) => {
      const { workspaceId, adminKey } = await createWhatsAppWorkspace();
      await deliverEach(workspaceId, order);
      expect((await getMessage(adminKey, ID)).body).toEqual(DELIVERED_AFTER_FAILURE_STATE);
    },
  );

  it("changes nothing when every webhook is delivered twice", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [SENT, DELIVERED, READ, SENT, DELIVERED, READ]);
    expect((await getMessage(adminKey, ID)).body).toEqual(READ_STATE);

    const failedThenDelivered = await createWhatsAppWorkspace();
    await deliverEach(failedThenDelivered.workspaceId, [FAILED, DELIVERED_AFTER_FAILURE, FAILED, SENT, SENT]);
    await deliverEach(failedThenDelivered.workspaceId, [DELIVERED_AFTER_FAILURE]);
    expect((await getMessage(failedThenDelivered.adminKey, ID)).body).toEqual(DELIVERED_AFTER_FAILURE_STATE);
  });

  it("gives the same state when the statuses arrive together in one webhook", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const res = await deliverWebhook(workspaceId, statusBody(READ, SENT, DELIVERED));
    expect(res.body).toEqual({ statuses: 3, messages: 0, consents: 0, skipped: 0 });
    expect((await getMessage(adminKey, ID)).body).toEqual(READ_STATE);
  });

  it("gives the same state when the three webhooks arrive at the same moment", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const responses = await Promise.all(
      [READ, DELIVERED, SENT, READ].map((status) => deliverWebhook(workspaceId, statusBody(status))),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await getMessage(adminKey, ID)).body).toEqual(READ_STATE);
  });

  it.each([
    ["earlier first", [T0 + 1 * MIN, T0 + 5 * MIN]],
    ["later first", [T0 + 5 * MIN, T0 + 1 * MIN]],
  ])("keeps the earliest delivery time whatever order two deliveries arrive in (%s)", async (_, times) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [SENT, ...times.map((at) => ({ id: ID, status: "delivered", at }))]);
    expect((await getMessage(adminKey, ID)).body).toMatchObject({
      status: "delivered",
      deliveredAt: iso(T0 + 1 * MIN),
      inferred: [],
    });
  });

  it("infers delivered, dated when it was read, for a message read without a delivered status", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [SENT, READ]);
    expect((await getMessage(adminKey, ID)).body).toEqual(
      expectedMessage({
        id: ID,
        status: "read",
        sentAt: iso(T0),
        deliveredAt: iso(T0 + 2 * MIN),
        readAt: iso(T0 + 2 * MIN),
        inferred: ["delivered"],
        pricing: PRICING_ANSWER,
      }),
    );
  });

  it("counts a played voice message as read", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [SENT, DELIVERED, { id: ID, status: "played", at: T0 + 2 * MIN }]);
    expect((await getMessage(adminKey, ID)).body).toEqual(READ_STATE);
  });

  it("keeps a failed message failed, with its errors, while nothing shows it was delivered", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [FAILED, SENT]);
    expect((await getMessage(adminKey, ID)).body).toEqual(
      expectedMessage({
        id: ID,
        status: "failed",
        sentAt: iso(T0),
        failedAt: iso(T0 + 1 * MIN),
        errors: ERRORS,
        pricing: PRICING_ANSWER,
      }),
    );
  });

  it("counts a human click on the message's link as reading it, inferring delivered and read", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const link = await createLink(adminKey, { messageId: "wamid.clicked" });
    const sentAt = Math.floor((Date.now() - 60 * MIN) / 1000) * 1000;
    await deliverEach(workspaceId, [{ id: "wamid.clicked", status: "sent", at: sentAt }]);
    const click = await callWorker(`/${link.code}`, { headers: { "user-agent": BROWSER_UA } });
    expect(click.status).toBe(302);

    const { body } = await getMessage(adminKey, "wamid.clicked");
    expect(body.clickedAt).toEqual(expect.any(String));
    expect(Date.parse(body.clickedAt)).toBeGreaterThan(sentAt);
    expect(body).toEqual(
      expectedMessage({
        id: "wamid.clicked",
        status: "read",
        sentAt: iso(sentAt),
        deliveredAt: body.clickedAt,
        readAt: body.clickedAt,
        clickedAt: body.clickedAt,
        inferred: ["delivered", "read"],
      }),
    );
  });

  it("counts a click on a recipient's own link, registered as the message's link, as reading that message", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A"] });
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "A", contact: "+16505551234" });
    await callJson("/api/v1/messages", {
      key: adminKey,
      body: { messages: [{ id: ID, contact: "+16505551234", linkCode: link.code, sentAt: iso(T0) }] },
    });
    await deliverEach(workspaceId, [DELIVERED]);
    await callWorker(`/${link.code}`, { headers: { "user-agent": BROWSER_UA } });
    const { body } = await getMessage(adminKey, ID);
    expect(body).toMatchObject({ status: "read", inferred: ["read"], clickedAt: expect.any(String) });
    expect(body.readAt).toBe(body.clickedAt);
  });

  it("does not mark every message that shares one campaign link as read when one person clicks it", async () => {
    // One link per campaign, put into a broadcast to two recipients: a click on it says that
    // someone read the message, not that both recipients did.
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A"] });
    const shared = await createLink(adminKey, { campaignId: campaign.id, variant: "A" });
    await callJson("/api/v1/messages", {
      key: adminKey,
      body: {
        messages: [
          { id: "wamid.first", contact: "+16505551234", linkCode: shared.code, sentAt: iso(T0) },
          { id: "wamid.second", contact: "+16505554321", linkCode: shared.code, sentAt: iso(T0) },
        ],
      },
    });
    await deliverEach(workspaceId, [
      { id: "wamid.first", status: "delivered", at: T0 + MIN },
      { id: "wamid.second", status: "delivered", at: T0 + MIN, recipient: "16505554321" },
    ]);
    await callWorker(`/${shared.code}`, { headers: { "user-agent": BROWSER_UA } });

    const states = await Promise.all(["wamid.first", "wamid.second"].map((id) => getMessage(adminKey, id)));
    const clicked = states.filter((s) => s.body.clickedAt !== null);
    expect(clicked.length).toBeLessThanOrEqual(1);
  });

  it("does not count a link-preview fetch of the message's link as reading it", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const link = await createLink(adminKey, { messageId: "wamid.previewed" });
    await deliverEach(workspaceId, [{ id: "wamid.previewed", status: "sent", at: T0 }]);
    await callWorker(`/${link.code}`, { headers: { "user-agent": "WhatsApp/2.23.20.0" } });
    expect((await getMessage(adminKey, "wamid.previewed")).body).toEqual(
      expectedMessage({ id: "wamid.previewed", status: "sent", sentAt: iso(T0) }),
    );
  });

  it("joins statuses that arrived before registration to the registered campaign, variant and link, keeping their times", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B" });
    await deliverEach(workspaceId, [SENT, DELIVERED]);

    const res = await callJson("/api/v1/messages", {
      key: adminKey,
      body: {
        messages: [
          {
            id: ID,
            contact: "+16505551234",
            campaignId: campaign.id,
            variant: "B",
            linkCode: link.code,
            category: "marketing",
            sentAt: iso(T0 + 30_000),
          },
        ],
      },
    });
    expect(res).toMatchObject({ status: 200, body: { registered: 1 } });
    expect((await getMessage(adminKey, ID)).body).toEqual(
      expectedMessage({
        id: ID,
        campaignId: campaign.id,
        variant: "B",
        linkCode: link.code,
        category: "marketing",
        registered: true,
        status: "delivered",
        sentAt: iso(T0),
        deliveredAt: iso(T0 + 1 * MIN),
        pricing: PRICING_ANSWER,
      }),
    );
  });

  it("gives the same state whether a message is registered before or after its statuses", async () => {
    const registration = (campaignId: string) => ({
      messages: [{ id: ID, contact: "+16505551234", campaignId, variant: "A" }],
    });
    const before = await createWhatsAppWorkspace();
    const beforeCampaign = await createCampaign(before.adminKey, { variants: ["A"] });
    await callJson("/api/v1/messages", { key: before.adminKey, body: registration(beforeCampaign.id) });
    await deliverEach(before.workspaceId, [DELIVERED, SENT, READ]);

    const after = await createWhatsAppWorkspace();
    const afterCampaign = await createCampaign(after.adminKey, { variants: ["A"] });
    await deliverEach(after.workspaceId, [DELIVERED, SENT, READ]);
    await callJson("/api/v1/messages", { key: after.adminKey, body: registration(afterCampaign.id) });

    const expected = { ...READ_STATE, variant: "A", registered: true };
    expect((await getMessage(before.adminKey, ID)).body).toEqual({ ...expected, campaignId: beforeCampaign.id });
    expect((await getMessage(after.adminKey, ID)).body).toEqual({ ...expected, campaignId: afterCampaign.id });
  });

  it("keeps the first registration when a message is registered again with different data", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const first = await createCampaign(adminKey, { name: "First", variants: ["A"] });
    const second = await createCampaign(adminKey, { name: "Second", variants: ["B"] });
    const firstLink = await createLink(adminKey, { campaignId: first.id, variant: "A" });
    const secondLink = await createLink(adminKey, { campaignId: second.id, variant: "B" });
    const register = (m: Record<string, unknown>) =>
      callJson("/api/v1/messages", { key: adminKey, body: { messages: [{ id: ID, ...m }] } });

    expect(
      (
        await register({
          contact: "+16505551234",
          campaignId: first.id,
          variant: "A",
          linkCode: firstLink.code,
          category: "marketing",
          externalId: "crm-1",
          sentAt: iso(T0),
        })
      ).status,
    ).toBe(200);
    const contactAfterFirst = await contactHashOf(workspaceId, ID);
    expect(
      (
        await register({
          contact: "+447946000111",
          campaignId: second.id,
          variant: "B",
          linkCode: secondLink.code,
          category: "utility",
          externalId: "crm-2",
          sentAt: iso(T0 - 60 * MIN),
        })
      ).body,
    ).toEqual({ registered: 1 });

    expect((await getMessage(adminKey, ID)).body).toEqual(
      expectedMessage({
        id: ID,
        campaignId: first.id,
        variant: "A",
        linkCode: firstLink.code,
        category: "marketing",
        externalId: "crm-1",
        registered: true,
        status: "sent",
        sentAt: iso(T0),
      }),
    );
    expect(await contactHashOf(workspaceId, ID)).toBe(contactAfterFirst);
  });

  it("joins an unregistered message to the link named by biz_opaque_callback_data, with its campaign and variant", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B" });
    await deliverEach(workspaceId, [
      { ...DELIVERED, biz: link.code },
      { ...SENT, biz: link.code },
    ]);
    expect((await getMessage(adminKey, ID)).body).toEqual(
      expectedMessage({
        id: ID,
        campaignId: campaign.id,
        variant: "B",
        linkCode: link.code,
        status: "delivered",
        sentAt: iso(T0),
        deliveredAt: iso(T0 + 1 * MIN),
        pricing: PRICING_ANSWER,
      }),
    );
  });

  it("does not join a message to another workspace's link named by biz_opaque_callback_data", async () => {
    const other = await createWhatsAppWorkspace();
    const otherLink = await createLink(other.adminKey, { campaignId: (await createCampaign(other.adminKey)).id });
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [{ ...SENT, biz: otherLink.code }]);
    expect((await getMessage(adminKey, ID)).body).toEqual(
      expectedMessage({ id: ID, status: "sent", sentAt: iso(T0), pricing: PRICING_ANSWER }),
    );
  });
});

function contactHashOf(workspaceId: string, id: string) {
  return env.DB.prepare("SELECT contact_hash FROM messages WHERE workspace_id = ?1 AND id = ?2")
    .bind(workspaceId, id)
    .first<string>("contact_hash");
}

describe("deriveMessageState", () => {
  const none: ObservedSteps = { sentAt: null, deliveredAt: null, readAt: null, failedAt: null, clickedAt: null };
  const t = (minutes: number) => T0 + minutes * MIN;

  const cases: [string, Partial<ObservedSteps>, Omit<MessageState, "failedAt" | "clickedAt">][] = [
    [
      "nothing observed yet is sent, with nothing inferred",
      {},
      { status: "sent", sentAt: null, deliveredAt: null, readAt: null, inferred: [] },
    ],
    [
      "sent alone is sent",
      { sentAt: t(0) },
      { status: "sent", sentAt: t(0), deliveredAt: null, readAt: null, inferred: [] },
    ],
    [
      "delivered alone implies sent, dated at delivery",
      { deliveredAt: t(1) },
      { status: "delivered", sentAt: t(1), deliveredAt: t(1), readAt: null, inferred: ["sent"] },
    ],
    [
      "read alone implies delivered and sent",
      { readAt: t(2) },
      { status: "read", sentAt: t(2), deliveredAt: t(2), readAt: t(2), inferred: ["sent", "delivered"] },
    ],
    [
      "sent and read imply delivered, dated at reading",
      { sentAt: t(0), readAt: t(2) },
      { status: "read", sentAt: t(0), deliveredAt: t(2), readAt: t(2), inferred: ["delivered"] },
    ],
    [
      "sent, delivered and read infer nothing",
      { sentAt: t(0), deliveredAt: t(1), readAt: t(2) },
      { status: "read", sentAt: t(0), deliveredAt: t(1), readAt: t(2), inferred: [] },
    ],
    [
      "a click after sent implies read and delivered, dated at the click",
      { sentAt: t(0), clickedAt: t(3) },
      { status: "read", sentAt: t(0), deliveredAt: t(3), readAt: t(3), inferred: ["delivered", "read"] },
    ],
    [
      "a click before the read receipt dates reading at the click",
      { sentAt: t(0), deliveredAt: t(1), readAt: t(5), clickedAt: t(3) },
      { status: "read", sentAt: t(0), deliveredAt: t(1), readAt: t(3), inferred: [] },
    ],
    [
      "a click alone implies every step",
      { clickedAt: t(3) },
      { status: "read", sentAt: t(3), deliveredAt: t(3), readAt: t(3), inferred: ["sent", "delivered", "read"] },
    ],
    [
      "failed alone is failed",
      { failedAt: t(1) },
      { status: "failed", sentAt: null, deliveredAt: null, readAt: null, inferred: [] },
    ],
    [
      "sent then failed is failed",
      { sentAt: t(0), failedAt: t(1) },
      { status: "failed", sentAt: t(0), deliveredAt: null, readAt: null, inferred: [] },
    ],
    [
      "failed then delivered is delivered",
      { sentAt: t(0), failedAt: t(1), deliveredAt: t(2) },
      { status: "delivered", sentAt: t(0), deliveredAt: t(2), readAt: null, inferred: [] },
    ],
    [
      "failed then read is read, with delivered inferred",
      { failedAt: t(1), readAt: t(2) },
      { status: "read", sentAt: t(2), deliveredAt: t(2), readAt: t(2), inferred: ["sent", "delivered"] },
    ],
    [
      "failed then clicked is read",
      { sentAt: t(0), failedAt: t(1), clickedAt: t(4) },
      { status: "read", sentAt: t(0), deliveredAt: t(4), readAt: t(4), inferred: ["delivered", "read"] },
    ],
    [
      "a sent receipt dated after delivery is moved back to the delivery, not flagged as inferred",
      { sentAt: t(5), deliveredAt: t(1) },
      { status: "delivered", sentAt: t(1), deliveredAt: t(1), readAt: null, inferred: [] },
    ],
  ];

  it.each(cases)("%s", (_, observed, expected) => {
    const input = { ...none, ...observed };
    expect(deriveMessageState(input)).toEqual({
      ...expected,
      failedAt: input.failedAt,
      clickedAt: input.clickedAt,
    });
  });

  it("does not depend on anything but the observed times (same input, same state)", () => {
    const observed = { ...none, sentAt: t(0), readAt: t(2), clickedAt: t(1) };
    expect(deriveMessageState(observed)).toEqual(deriveMessageState({ ...observed }));
    expect(observed).toEqual({ ...none, sentAt: t(0), readAt: t(2), clickedAt: t(1) });
  });
});
