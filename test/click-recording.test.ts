import { env } from "cloudflare:test";
import { breakWrites, repairWrites, runQueue } from "./failures";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ClickRecord } from "../src/db/clicks";
import type { QueueMessage } from "../src/schemas/queue";
import { callJson, callWorker, clickRecord, createLink, createWorkspace } from "./helpers";

const UA =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";

afterEach(() => repairWrites("clicks"));

async function clickCount(linkId: string) {
  return env.DB.prepare("SELECT count(*) AS n FROM clicks WHERE link_id = ?").bind(linkId).first<number>("n");
}

function clickFor(link: { id: string }, workspaceId: string, overrides: Partial<ClickRecord> = {}): ClickRecord {
  return clickRecord(workspaceId, link.id, {
    id: crypto.randomUUID().replaceAll("-", "").slice(0, 16),
    visitorHash: "v1",
    ...overrides,
  });
}

describe("click recording when D1 fails", () => {
  it("still redirects at once, queues the click, and the queue lands it exactly once", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const sent: unknown[] = [];
    const sendBatch = env.EVENTS.sendBatch.bind(env.EVENTS);
    const spy = vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages, options) => {
      sent.push(...[...messages].map((m) => m.body));
      return sendBatch(messages, options);
    });
    await breakWrites("clicks");

    const res = await callWorker(`/${link.code}`, { headers: { "user-agent": UA } });
    expect(res.status).toBe(302);
    const clickId = new URL(res.headers.get("location")!).searchParams.get("wa_cid");
    expect(await clickCount(link.id)).toBe(0);
    expect(sent).toEqual([
      { type: "click", click: expect.objectContaining({ id: clickId, linkId: link.id, kind: "click" }) },
    ]);
    spy.mockRestore();

    // While D1 still fails, the consumer asks for a retry with back-off rather than dropping it.
    const failed = await runQueue(sent as QueueMessage[]);
    expect(failed.retryMessages).toEqual([expect.objectContaining({ msgId: "msg-0" })]);
    expect(failed.explicitAcks).toEqual([]);

    await repairWrites("clicks");
    const landed = await runQueue(sent as QueueMessage[], 2);
    expect(landed.explicitAcks).toEqual(["msg-0"]);
    expect(landed.retryMessages).toEqual([]);
    const row = await env.DB.prepare("SELECT id, kind, is_unique FROM clicks WHERE link_id = ?").bind(link.id).first();
    expect(row).toEqual({ id: clickId, kind: "click", is_unique: 1 });
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body.clicks).toBe(1);
  });

  it("counts a replayed click once", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const click = clickFor(link, workspace.id);
    await runQueue([{ type: "click", click }]);
    await runQueue([{ type: "click", click }], 3);
    expect(await clickCount(link.id)).toBe(1);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body).toMatchObject({
      clicks: 1,
      uniqueClicks: 1,
    });
  });

  it("decides uniqueness in time order within a queued batch", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const t = Date.now();
    const later = clickFor(link, workspace.id, { occurredAt: t + 60_000 });
    const earlier = clickFor(link, workspace.id, { occurredAt: t });
    const result = await runQueue([
      { type: "click", click: later },
      { type: "click", click: earlier },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["msg-0", "msg-1"]);
    const rows = await env.DB.prepare("SELECT id, is_unique FROM clicks WHERE link_id = ? ORDER BY occurred_at")
      .bind(link.id)
      .all();
    expect(rows.results).toEqual([
      { id: earlier.id, is_unique: 1 },
      { id: later.id, is_unique: 0 },
    ]);
  });

  it("lands a click through the real queue after a failed write", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    await breakWrites("clicks");
    const res = await callWorker(`/${link.code}`, { headers: { "user-agent": UA } });
    expect(res.status).toBe(302);
    await repairWrites("clicks");
    // The local queue delivers the batch to this Worker's queue handler after its batch timeout.
    await vi.waitFor(async () => expect(await clickCount(link.id)).toBe(1), { timeout: 15_000, interval: 200 });
  });
});
