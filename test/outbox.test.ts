import { createScheduledController, env } from "cloudflare:test";
import { outboxEventTypes } from "../src/db/schema";
import { drainOutbox } from "../src/events/pipeline";
import worker from "../src/index";
import { describe, expect, it } from "vitest";
import { ANDROID_CHROME, callJson, callWorker, createLink } from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, statusBody, webhookBody } from "./whatsapp-helpers";

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);

type Entry = { type: string; subject: string; at: number };

/** The public entries of the workspace, once the rollup consumer has applied what is pending. */
async function outbox(workspaceId: string): Promise<Entry[]> {
  await drainOutbox(env.DB);
  const { results } = await env.DB.prepare(
    `SELECT type, subject_id AS subject, occurred_at AS at FROM outbox
     WHERE workspace_id = ? AND type IN (SELECT value FROM json_each(?)) ORDER BY seq`,
  )
    .bind(workspaceId, JSON.stringify(outboxEventTypes))
    .all<Entry>();
  return results;
}

/** The outbox as a set: which change, about what, once each (the order of arrival may differ). */
const sorted = (entries: Entry[]) =>
  [...entries].sort((a, b) => a.type.localeCompare(b.type) || a.subject.localeCompare(b.subject));

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

function reply(id: string, contextId: string, at: number) {
  return webhookBody({
    messages: [{ id, from: "16505551234", timestamp: String(at / 1000), type: "text", context: { id: contextId } }],
  });
}

const statuses = [
  { status: "sent", at: T0 },
  { status: "delivered", at: T0 + MIN },
  { status: "read", at: T0 + 2 * MIN },
];

describe("the outbox", () => {
  it.each(permutations(statuses).map((order) => [order.map((s) => s.status).join(", "), order] as const))(
    "records delivered and read once each when statuses arrive as %s, each twice",
    async (_name, order) => {
      const { workspaceId } = await createWhatsAppWorkspace();
      for (const s of [...order, ...order]) {
        expect((await deliverWebhook(workspaceId, statusBody({ id: "wamid.m", ...s }))).status).toBe(200);
      }
      expect(sorted(await outbox(workspaceId))).toEqual([
        { type: "message.delivered", subject: "wamid.m", at: expect.any(Number) },
        { type: "message.read", subject: "wamid.m", at: T0 + 2 * MIN },
      ]);
    },
  );

  it("infers delivered from a read that came alone, once", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.r", status: "read", at: T0 + 2 * MIN }));
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.r", status: "delivered", at: T0 + MIN }));
    expect(await outbox(workspaceId)).toEqual([
      { type: "message.delivered", subject: "wamid.r", at: T0 + 2 * MIN },
      { type: "message.read", subject: "wamid.r", at: T0 + 2 * MIN },
    ]);
  });

  it("records a failure, and a later delivery as well, once each", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const body = statusBody(
      { id: "wamid.f", status: "failed", at: T0, errors: [{ code: 131026 }] },
      { id: "wamid.f", status: "delivered", at: T0 + MIN },
    );
    await deliverWebhook(workspaceId, body);
    await deliverWebhook(workspaceId, body);
    expect(sorted(await outbox(workspaceId))).toEqual([
      { type: "message.delivered", subject: "wamid.f", at: T0 + MIN },
      { type: "message.failed", subject: "wamid.f", at: T0 },
    ]);
  });

  it("records a reply to the message once, however often it is delivered", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.q", status: "sent", at: T0 }));
    await deliverWebhook(workspaceId, reply("wamid.answer", "wamid.q", T0 + 5 * MIN));
    await deliverWebhook(workspaceId, reply("wamid.answer", "wamid.q", T0 + 5 * MIN));
    expect(await outbox(workspaceId)).toEqual([{ type: "message.replied", subject: "wamid.q", at: T0 + 5 * MIN }]);
  });

  it("records a human click, and the message it belongs to reaching clicked, read and delivered, once", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const link = await createLink(adminKey, { messageId: "wamid.c" });
    const sentAt = Math.floor((Date.now() - 60 * MIN) / 1000) * 1000;
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.c", status: "sent", at: sentAt }));
    const human = () => callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } });
    expect((await human()).status).toBe(302);
    expect((await human()).status).toBe(302);
    // A link-preview fetch is never a click.
    await callWorker(`/${link.code}`, { headers: { "user-agent": "WhatsApp/2.23.20.0 A" } });

    const entries = await outbox(workspaceId);
    const clicks = entries.filter((e) => e.type === "link.clicked");
    expect(clicks).toHaveLength(2);
    const firstClick = Math.min(...clicks.map((c) => c.at));
    expect(sorted(entries.filter((e) => e.type !== "link.clicked"))).toEqual([
      { type: "message.clicked", subject: "wamid.c", at: firstClick },
      { type: "message.delivered", subject: "wamid.c", at: firstClick },
      { type: "message.read", subject: "wamid.c", at: firstClick },
    ]);
  });

  it("records a new conversion once, and the message converting once, ignoring the repeated order", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const link = await createLink(adminKey, { messageId: "wamid.p" });
    await deliverWebhook(
      workspaceId,
      statusBody({ id: "wamid.p", status: "sent", at: Math.floor((Date.now() - 60 * MIN) / 1000) * 1000 }),
    );
    const location = new URL(
      (await callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } })).headers.get("location")!,
    );
    const clickId = location.searchParams.get("wa_cid")!;
    const order = { clickId, event: "purchase", orderId: "o-1", value: 10, currency: "EUR" };
    const first = await callJson("/api/v1/conversions", { key: adminKey, body: order });
    const again = await callJson("/api/v1/conversions", { key: adminKey, body: order });
    expect([first.body.duplicate, again.body.duplicate]).toEqual([false, true]);

    const entries = await outbox(workspaceId);
    expect(entries.filter((e) => e.type === "conversion.created")).toEqual([
      { type: "conversion.created", subject: first.body.id, at: expect.any(Number) },
    ]);
    expect(entries.filter((e) => e.type === "message.converted")).toEqual([
      { type: "message.converted", subject: "wamid.p", at: expect.any(Number) },
    ]);
  });

  it("keeps each workspace's changes apart", async () => {
    const a = await createWhatsAppWorkspace();
    const b = await createWhatsAppWorkspace();
    await deliverWebhook(a.workspaceId, statusBody({ id: "wamid.same", status: "read", at: T0 }));
    await deliverWebhook(b.workspaceId, statusBody({ id: "wamid.same", status: "sent", at: T0 }));
    expect((await outbox(a.workspaceId)).map((e) => e.type)).toEqual(["message.delivered", "message.read"]);
    expect(await outbox(b.workspaceId)).toEqual([]);
  });

  it("is cleared of entries older than two weeks by the daily cron, newer ones kept", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.old", status: "delivered", at: T0 }));
    await deliverWebhook(workspaceId, statusBody({ id: "wamid.new", status: "delivered", at: T0 }));
    const DAY = 24 * 60 * MIN;
    await env.DB.prepare("UPDATE outbox SET created_at = ? WHERE workspace_id = ? AND subject_id = 'wamid.old'")
      .bind(Date.now() - 15 * DAY, workspaceId)
      .run();
    // Entries the rollups have not applied yet are kept, however old (the cron lets the consumer catch
    // up first: here it cannot).
    const unapplied = await env.DB.prepare("SELECT MAX(seq) AS seq FROM outbox").first<number>("seq");
    await env.DB.prepare("UPDATE pipeline_positions SET seq = ?").bind(0).run();
    await env.DB.exec(
      "CREATE TRIGGER stall_rollups BEFORE INSERT ON pipeline_entries BEGIN SELECT RAISE(ABORT, 'stalled'); END;",
    );
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), env);
    await env.DB.exec("DROP TRIGGER stall_rollups;");
    const kept = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM outbox WHERE workspace_id = ? AND subject_id = 'wamid.old'",
    )
      .bind(workspaceId)
      .first<number>("n");
    expect(kept).toBeGreaterThan(0);
    await env.DB.prepare("UPDATE pipeline_positions SET seq = ?").bind(unapplied).run();

    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), env);
    expect((await outbox(workspaceId)).map((e) => e.subject)).toEqual(["wamid.new"]);
  });
});
