import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bindClick } from "../src/db/clicks";
import { drainOutbox } from "../src/events/pipeline";
import worker from "../src/index";
import { runQueue } from "./failures";
import {
  ANDROID_CHROME,
  callJson,
  callWorker,
  clickRecord,
  createCampaign,
  createLink,
  createWorkspace,
} from "./helpers";

const T0 = Date.UTC(2026, 10, 2, 9);
const MIN = 60_000;

/** Outbox entries the rollup consumer has not applied yet. */
async function pending(): Promise<number> {
  return (await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM outbox WHERE seq > (SELECT seq FROM pipeline_positions WHERE consumer = 'rollups')",
  ).first<number>("n"))!;
}

/** The workspace's rollup rows, per table. */
async function rollupRows(workspaceId: string) {
  const rows: Record<string, number> = {};
  for (const table of ["message_rollups", "message_delays", "click_rollups", "contact_event_rollups"]) {
    rows[table] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workspace_id = ?1`)
      .bind(workspaceId)
      .first<number>("n"))!;
  }
  return rows;
}

/** A campaign with one recipient's link, one registered message on it, a delivery and a human click. */
async function sentAndClicked() {
  const { workspace, adminKey: key } = await createWorkspace();
  const campaign = await createCampaign(key, { name: "Launch" });
  const link = await createLink(key, { contact: "+14155550101", messageId: "wamid.p1", campaignId: campaign.id });
  const messages = [{ id: "wamid.p1", contact: "+14155550101", campaignId: campaign.id, linkCode: link.code }];
  expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
  const click = await callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } });
  expect(click.status).toBe(302);
  return { workspace, key, campaign, link };
}

async function funnelCounts(key: string, campaignId: string) {
  const res = await callJson(`/api/v1/reports/funnel?campaignId=${campaignId}&window=30d`, { key });
  expect(res.status).toBe(200);
  return Object.fromEntries(res.body.steps.map((s: { name: string; count: number }) => [s.name, s.count]));
}

describe("the write path", () => {
  it("writes three rows for a human click: the click, its outbox entry and the link's counter", async () => {
    const { adminKey } = await createWorkspace();
    const made = await createLink(adminKey, { contact: "+14155550101" });
    const row = await env.DB.prepare("SELECT id, workspace_id FROM links WHERE code = ?1").bind(made.code).first<{
      id: string;
      workspace_id: string;
    }>();
    const click = clickRecord(row!.workspace_id, row!.id, { contactHash: "c".repeat(64) });
    const [before, , after] = await env.DB.batch([
      env.DB.prepare("SELECT total_changes() AS n"),
      bindClick(env.DB, click),
      env.DB.prepare("SELECT total_changes() AS n"),
    ]);
    const changes = (after.results[0] as { n: number }).n - (before.results[0] as { n: number }).n;
    expect(changes).toBe(3);
    const outbox = await env.DB.prepare("SELECT type FROM outbox WHERE subject_id = ?1").bind(click.id).all();
    expect(outbox.results).toEqual([{ type: "link.clicked" }]);
  });
});

describe("the outbox's rollup consumer", () => {
  it("applies what a queued wake asks for, and nothing is left pending", async () => {
    const { workspace } = await sentAndClicked();
    // What reads would apply themselves is applied here by the queue's wake alone.
    const result = await runQueue([{ type: "outbox" }]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    expect(await pending()).toBe(0);
    expect(await rollupRows(workspace.id)).toMatchObject({ message_rollups: 3, click_rollups: 2 * 7 });
    const message = await env.DB.prepare("SELECT clicked_at, device FROM messages WHERE id = 'wamid.p1'").first<{
      clicked_at: number | null;
      device: string;
    }>();
    expect(message?.clicked_at).toEqual(expect.any(Number));
    expect(message?.device).toBe("mobile");
  });

  it("catches up from the minute cron when no wake came", async () => {
    const { workspace } = await sentAndClicked();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env);
    expect(await pending()).toBe(0);
    expect((await rollupRows(workspace.id)).message_rollups).toBe(3);
  });

  it("applies nothing of a slice whose rollup write fails, and all of it once D1 writes again", async () => {
    const { workspace, key, campaign } = await sentAndClicked();
    await env.DB.exec(
      "CREATE TRIGGER refuse_rollups BEFORE INSERT ON click_rollups BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
    );
    try {
      await expect(drainOutbox(env.DB)).rejects.toThrow(/disk I\/O error/);
      // The message rollups come earlier in the same transaction: they were taken back with it.
      expect(await rollupRows(workspace.id)).toEqual({
        message_rollups: 0,
        message_delays: 0,
        click_rollups: 0,
        contact_event_rollups: 0,
      });
      expect(await pending()).toBeGreaterThan(0);
    } finally {
      await env.DB.exec("DROP TRIGGER refuse_rollups;");
    }
    expect(await funnelCounts(key, campaign.id)).toMatchObject({ sent: 1, clicked: 1 });
    expect(await pending()).toBe(0);
  });

  it("applies each entry once when several runs overlap", async () => {
    const { adminKey: key, workspace } = await createWorkspace();
    const campaign = await createCampaign(key, { name: "Overlap" });
    const link = await createLink(key, { campaignId: campaign.id });
    const row = await env.DB.prepare("SELECT id FROM links WHERE code = ?1").bind(link.code).first<{ id: string }>();
    const clicks = Array.from({ length: 40 }, (_, i) =>
      clickRecord(workspace.id, row!.id, { campaignId: campaign.id, occurredAt: T0 + i * MIN }),
    );
    await env.DB.batch(clicks.map((c) => bindClick(env.DB, c)));
    await Promise.all([
      drainOutbox(env.DB, { size: 7 }),
      drainOutbox(env.DB, { size: 5 }),
      drainOutbox(env.DB, { size: 11 }),
    ]);
    const total = await env.DB.prepare(
      "SELECT SUM(clicks) AS n FROM click_rollups WHERE workspace_id = ?1 AND grain = 'd' AND dimension = ''",
    )
      .bind(workspace.id)
      .first<number>("n");
    expect(total).toBe(40);
    await drainOutbox(env.DB);
    expect(
      await env.DB.prepare(
        "SELECT SUM(clicks) AS n FROM click_rollups WHERE workspace_id = ?1 AND grain = 'q' AND dimension = 'link'",
      )
        .bind(workspace.id)
        .first<number>("n"),
    ).toBe(40);
  });

  it("answers a read during a burst with what is applied, and says up to when it is complete", async () => {
    const { workspace, adminKey: key } = await createWorkspace();
    // More events than a read applies before answering (3 slices of 2,000), written as a burst would.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 7000)
       INSERT INTO contact_events (id, workspace_id, type, contact_hash, campaign_id, value, occurred_at, received_at)
       SELECT 'evt_burst' || i, ?1, 'csat', 'c' || (i % 50), NULL, 4, ?2 + i, ?2 FROM n`,
    )
      .bind(workspace.id, T0)
      .run();
    const requested = Date.now();
    const first = await callJson(`/api/v1/reports/metrics?from=2026-11-01&to=2026-11-03`, { key });
    expect(first.status).toBe(200);
    expect(Date.parse(first.body.asOf)).toBeLessThan(requested);
    expect(await pending()).toBeGreaterThan(0);

    const again = Date.now();
    const second = await callJson(`/api/v1/reports/metrics?from=2026-11-01&to=2026-11-03`, { key });
    expect(Date.parse(second.body.asOf)).toBeGreaterThanOrEqual(again);
    expect(await pending()).toBe(0);
    expect(second.body.csat).toEqual({ average: 4, responses: 7000 });
  });
});
