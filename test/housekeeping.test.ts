import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { callJson, callWorker, createLink, createWorkspace } from "./helpers";

const UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

describe("daily cron", () => {
  it("deletes raw clicks older than the workspace's retentionDays and keeps the link counters", async () => {
    const { adminKey } = await createWorkspace({ retentionDays: 30 });
    const link = await createLink(adminKey);
    await callWorker(`/${link.code}`, { headers: { "user-agent": UA, "cf-connecting-ip": "192.0.2.1" } });
    await callWorker(`/${link.code}`, { headers: { "user-agent": UA, "cf-connecting-ip": "192.0.2.2" } });
    const old = await env.DB.prepare("SELECT id FROM clicks WHERE link_id = ? LIMIT 1")
      .bind(link.id)
      .first<string>("id");
    await env.DB.prepare("UPDATE clicks SET occurred_at = ? WHERE id = ?")
      .bind(Date.now() - 31 * 86_400_000, old)
      .run();

    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), env);

    const left = await env.DB.prepare("SELECT id FROM clicks WHERE link_id = ?").bind(link.id).all<{ id: string }>();
    expect(left.results).toHaveLength(1);
    expect(left.results[0].id).not.toBe(old);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body.clicks).toBe(2);
  });
});
