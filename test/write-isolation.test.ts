import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEAD_LETTER_AFTER_ATTEMPTS } from "../src/queue";
import type { StoredStatus } from "../src/db/messages";
import type { QueueMessage } from "../src/schemas/queue";
import { runQueue } from "./failures";
import { callJson, clickRecord, createApiKey, createLink, expectErrorEnvelope } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, getMessage, statusBody } from "./whatsapp-helpers";

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);

/** Pricing nested `depth` levels deep: about 3 KB at 1,500 levels, more than SQLite's JSON will read. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { category: "marketing" };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

async function storedIds(workspaceId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM messages WHERE workspace_id = ? ORDER BY id")
    .bind(workspaceId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** A stored status as the webhook route hands it to the queue, with the fields a test cares about. */
function queuedStatus(workspaceId: string, messageId: string, fields: Partial<StoredStatus> = {}): StoredStatus {
  return {
    workspaceId,
    messageId,
    status: "sent",
    at: T0,
    contactHash: null,
    country: null,
    bizOpaque: null,
    errors: null,
    pricing: null,
    aliasHash: null,
    isGroup: false,
    ...fields,
  };
}

const statusMessage = (...statuses: StoredStatus[]): QueueMessage => ({
  type: "whatsapp",
  events: { statuses, inbound: [], consents: [] },
});

async function deadLetters(key: string) {
  return callJson("/api/v1/dead-letters", { key });
}

/** A real database fault for one message id only: D1 refuses any batch that writes it. */
async function poison(messageId: string) {
  await env.DB.exec(
    `CREATE TRIGGER IF NOT EXISTS poison_message BEFORE INSERT ON messages WHEN NEW.id = '${messageId}' BEGIN SELECT RAISE(ABORT, 'malformed JSON'); END;`,
  );
}

/** Keeps what is sent to the events queue here, so that a test hands it to the consumer itself. */
async function holdQueue() {
  const queued: QueueMessage[] = [];
  vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages) => {
    queued.push(...[...messages].map((m) => m.body as QueueMessage));
    return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } } as QueueSendBatchResponse;
  });
  return queued;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await env.DB.exec("DROP TRIGGER IF EXISTS poison_message;");
});

describe("one tenant's bad event", () => {
  it("is skipped and counted, and another workspace's statuses sent at the same moment are all stored", async () => {
    const bad = await createWhatsAppWorkspace();
    const good = await createWhatsAppWorkspace();
    const goodIds = Array.from({ length: 40 }, (_, i) => `wamid.good-${String(i).padStart(2, "0")}`);

    const [badRes, ...goodRes] = await Promise.all([
      deliverWebhook(
        bad.workspaceId,
        statusBody(
          { id: "wamid.deep", status: "sent", at: T0, pricing: nested(1500) },
          { id: "wamid.fine", status: "sent", at: T0 },
        ),
      ),
      ...goodIds.map((id) => deliverWebhook(good.workspaceId, statusBody({ id, status: "read", at: T0 + MIN }))),
    ]);

    expect(badRes).toMatchObject({ status: 200, body: { statuses: 1, messages: 0, consents: 0, skipped: 1 } });
    for (const res of goodRes) expect(res).toMatchObject({ status: 200, body: { statuses: 1, skipped: 0 } });
    expect(await storedIds(good.workspaceId)).toEqual(goodIds);
    expect(await storedIds(bad.workspaceId)).toEqual(["wamid.fine"]);
  });

  it("stores pricing and errors nested as deep as Meta's own, and refuses a status nested deeper than 8 levels", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const errors = [{ code: 131049, title: "Limited", error_data: { details: "This message was not delivered" } }];
    const res = await deliverWebhook(
      workspaceId,
      statusBody(
        { id: "wamid.meta", status: "failed", at: T0, errors },
        { id: "wamid.eight", status: "sent", at: T0, pricing: nested(6) },
        { id: "wamid.nine", status: "sent", at: T0, pricing: nested(8) },
      ),
    );
    expect(res.body).toEqual({ statuses: 2, messages: 0, consents: 0, skipped: 1 });
    expect((await getMessage(adminKey, "wamid.meta")).body.errors).toEqual(errors);
    // Stored, and of its pricing only Meta's own fields are kept: here none.
    expect((await getMessage(adminKey, "wamid.eight")).body).toMatchObject({ status: "sent", pricing: null });
    expect((await getMessage(adminKey, "wamid.nine")).status).toBe(404);
  });

  it("that D1 refuses fails only its own request: concurrent webhooks of other workspaces are stored directly", async () => {
    const bad = await createWhatsAppWorkspace();
    const good = await createWhatsAppWorkspace();
    const queued = await holdQueue();
    await poison("wamid.poison");
    const goodIds = Array.from({ length: 20 }, (_, i) => `wamid.ok-${String(i).padStart(2, "0")}`);

    const responses = await Promise.all([
      deliverWebhook(
        bad.workspaceId,
        statusBody({ id: "wamid.poison", status: "sent", at: T0 }, { id: "wamid.sibling", status: "sent", at: T0 }),
      ),
      ...goodIds.map((id) => deliverWebhook(good.workspaceId, statusBody({ id, status: "delivered", at: T0 }))),
    ]);

    // Every webhook is acknowledged: the poisoned request's events are durable in the queue.
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    expect(await storedIds(good.workspaceId)).toEqual(goodIds);
    expect(await storedIds(bad.workspaceId)).toEqual([]);
    expect(queued).toEqual([
      {
        type: "whatsapp",
        events: {
          statuses: [
            expect.objectContaining({ workspaceId: bad.workspaceId, messageId: "wamid.poison" }),
            expect.objectContaining({ workspaceId: bad.workspaceId, messageId: "wamid.sibling" }),
          ],
          inbound: [],
          consents: [],
        },
      },
    ]);
  });
});

describe("the events queue consumer", () => {
  it("retries a message that fails alone, without holding back the rest of its batch", async () => {
    const bad = await createWhatsAppWorkspace();
    const good = await createWhatsAppWorkspace();
    await poison("wamid.poison");
    const result = await runQueue([
      statusMessage(queuedStatus(bad.workspaceId, "wamid.poison")),
      statusMessage(queuedStatus(good.workspaceId, "wamid.other")),
    ]);
    expect(result.explicitAcks).toEqual(["msg-1"]);
    expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: "msg-0" })]);
    expect(await storedIds(good.workspaceId)).toEqual(["wamid.other"]);
  });

  it(`keeps what still fails after ${DEAD_LETTER_AFTER_ATTEMPTS} attempts as a dead letter, event by event, readable by its own workspace only`, async () => {
    const bad = await createWhatsAppWorkspace();
    const other = await createWhatsAppWorkspace();
    await poison("wamid.poison");
    const status = (messageId: string) =>
      queuedStatus(bad.workspaceId, messageId, {
        contactHash: "ab".repeat(32),
        country: "PT",
        pricing: { category: "marketing" },
      });

    const result = await runQueue(
      [statusMessage(status("wamid.poison"), status("wamid.sibling"))],
      DEAD_LETTER_AFTER_ATTEMPTS,
    );
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(result.retryMessages).toEqual([]);
    // The sibling of the bad event is stored; only the bad event itself is set aside.
    expect(await storedIds(bad.workspaceId)).toEqual(["wamid.sibling"]);

    const listed = await deadLetters(bad.adminKey);
    expect(listed).toMatchObject({ status: 200 });
    expect(listed.body).toEqual({
      deadLetters: [
        {
          id: expect.stringMatching(/^dlq_/),
          kind: "status",
          reason: expect.stringContaining("malformed JSON"),
          event: status("wamid.poison"),
          createdAt: expect.any(String),
        },
      ],
      nextCursor: null,
    });
    expect((await deadLetters(other.adminKey)).body).toEqual({ deadLetters: [], nextCursor: null });
  });

  it("keeps a message that fails validation as a dead letter at once, and acknowledges it", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const link = await createLink(adminKey);
    const click = clickRecord(workspaceId, link.id, { occurredAt: 9007199254740991 });
    const result = await runQueue([{ type: "click", click }, { type: "nonsense" } as unknown as QueueMessage]);
    expect(result.explicitAcks.sort()).toEqual(["msg-0", "msg-1"]);

    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM clicks WHERE workspace_id = ?")
      .bind(workspaceId)
      .all<{ n: number }>();
    expect(results[0].n).toBe(0);
    const listed = await deadLetters(adminKey);
    expect(listed.body.deadLetters).toEqual([
      expect.objectContaining({
        kind: "queue_message",
        reason: expect.stringMatching(/^Not a valid queue message \(click\.occurredAt: /),
        event: { type: "click", click },
      }),
    ]);
  });

  it("writes the valid events of a WhatsApp message and keeps each invalid one as its own dead letter", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const status = (messageId: string, at: number) => queuedStatus(workspaceId, messageId, { status: "delivered", at });
    const result = await runQueue([statusMessage(status("wamid.good", T0), status("wamid.zero", 0))]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await storedIds(workspaceId)).toEqual(["wamid.good"]);
    expect((await deadLetters(adminKey)).body.deadLetters).toEqual([
      expect.objectContaining({
        kind: "status",
        reason: expect.stringMatching(/^Not a valid status \(at: /),
        event: status("wamid.zero", 0),
      }),
    ]);
  });

  it("retries, rather than dead-letters, while D1 cannot even take the dead letter", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    await poison("wamid.poison");
    await env.DB.exec(
      "CREATE TRIGGER refuse_dead_letters BEFORE INSERT ON dead_letters BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
    );
    try {
      const result = await runQueue(
        [statusMessage(queuedStatus(workspaceId, "wamid.poison"))],
        DEAD_LETTER_AFTER_ATTEMPTS,
      );
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: "msg-0" })]);
    } finally {
      await env.DB.exec("DROP TRIGGER refuse_dead_letters;");
    }
  });
});

describe("GET /api/v1/dead-letters", () => {
  it("needs an admin key", async () => {
    const { adminKey } = await createWhatsAppWorkspace();
    const reader = await createApiKey(adminKey, ["reports:read"]);
    expect(await deadLetters(reader)).toMatchObject({ status: 403, body: expectErrorEnvelope("forbidden") });
    expect(await callJson("/api/v1/dead-letters")).toMatchObject({
      status: 401,
      body: expectErrorEnvelope("unauthorized"),
    });
  });
});
