import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { campaigns } from "../src/db/schema";
import { ANDROID_CHROME, callJson, callWorker, createCampaign, createLink, createWorkspace } from "./helpers";

type Query = { on: "binding" | "session"; sql: string };

/**
 * The D1 binding, wrapped to record the sessions opened on it and which handle prepared each
 * statement (a statement runs on the handle that prepared it, batched or not).
 */
function recordingD1(real: D1Database) {
  const sessions: (string | undefined)[] = [];
  const queries: Query[] = [];
  const binding: D1Database = {
    prepare(sql) {
      queries.push({ on: "binding", sql });
      return real.prepare(sql);
    },
    batch: <T>(statements: D1PreparedStatement[]) => real.batch<T>(statements),
    exec: (sql) => real.exec(sql),
    dump: () => real.dump(),
    withSession(constraintOrBookmark) {
      sessions.push(constraintOrBookmark);
      const session = real.withSession(constraintOrBookmark);
      return {
        prepare(sql) {
          queries.push({ on: "session", sql });
          return session.prepare(sql);
        },
        batch: <T>(statements: D1PreparedStatement[]) => session.batch<T>(statements),
        getBookmark: () => session.getBookmark(),
      };
    },
  };
  return { binding, sessions, queries };
}

/** Outbox entries the rollup consumer has not applied yet. */
async function pending(): Promise<number> {
  return (await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM outbox WHERE seq > (SELECT seq FROM pipeline_positions WHERE consumer = 'rollups')",
  ).first<number>("n"))!;
}

/** A campaign with one registered message and a human click on its link, none of it applied to the rollups yet. */
async function sentAndClicked() {
  const { adminKey: key } = await createWorkspace();
  const campaign = await createCampaign(key, { name: "Launch" });
  const link = await createLink(key, { contact: "+14155550101", messageId: "wamid.s1", campaignId: campaign.id });
  const messages = [{ id: "wamid.s1", contact: "+14155550101", campaignId: campaign.id, linkCode: link.code }];
  expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
  expect((await callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME } })).status).toBe(302);
  expect(await pending()).toBeGreaterThan(0);
  return { key, campaignId: campaign.id as string };
}

// Authentication runs before the session is opened: it reads the key (with its workspace) from the binding.
const AUTHENTICATION = /\bapi_keys\b/;

describe("reads of what is derived from raw events", () => {
  it("count writes made just before them: the outbox is applied and read in one session opened on the primary", async () => {
    const { key, campaignId } = await sentAndClicked();
    const d1 = recordingD1(env.DB);
    const res = await callJson(`/api/v1/reports/funnel?campaignId=${campaignId}&window=30d`, {
      key,
      env: { ...env, DB: d1.binding },
    });
    expect(res.status).toBe(200);
    const counts = Object.fromEntries(res.body.steps.map((s: { name: string; count: number }) => [s.name, s.count]));
    expect(counts).toMatchObject({ sent: 1, clicked: 1 });
    expect(await pending()).toBe(0);

    expect(d1.sessions).toEqual(["first-primary"]);
    const onSession = d1.queries.filter((q) => q.on === "session").map((q) => q.sql);
    // The drain: what is pending, then the slice that applies it.
    expect(onSession.some((sql) => /FROM outbox/.test(sql))).toBe(true);
    expect(onSession.some((sql) => /^\s*INSERT INTO pipeline_entries/.test(sql))).toBe(true);
    // The report's own reads.
    expect(onSession.some((sql) => /\bmessage_rollups\b/.test(sql))).toBe(true);
    expect(d1.queries.filter((q) => q.on === "binding" && !AUTHENTICATION.test(q.sql))).toEqual([]);
  });

  it.each([
    ["funnel", (c: string) => `/api/v1/reports/funnel?campaignId=${c}`],
    ["A/B", (c: string) => `/api/v1/reports/ab?campaignId=${c}&metric=click`],
    ["metrics", () => "/api/v1/reports/metrics"],
    ["timeseries", () => "/api/v1/reports/timeseries?metric=sent&interval=day"],
    ["heatmap", () => "/api/v1/reports/heatmap"],
    ["breakdown", () => "/api/v1/reports/breakdown?dimension=country"],
    ["retention", () => "/api/v1/reports/retention?period=week&periods=4&timezone=Europe/Lisbon"],
    ["click export", () => "/api/v1/export/clicks"],
    ["message export", () => "/api/v1/export/messages"],
    ["audience", (c: string) => `/api/v1/audiences?campaignId=${c}&stage=clicked_not_converted`],
    ["message", () => "/api/v1/messages/wamid.s1"],
  ])("the %s read goes through the session alone", async (_name, path) => {
    const { key, campaignId } = await sentAndClicked();
    const d1 = recordingD1(env.DB);
    const res = await callWorker(path(campaignId), { key, env: { ...env, DB: d1.binding } });
    expect(res.status).toBe(200);
    // Exports stream their rows: reading the body runs their queries.
    expect(await res.text()).not.toBe("");
    expect(d1.sessions).toEqual(["first-primary"]);
    expect(d1.queries.some((q) => q.on === "session" && !/FROM outbox|pipeline_/.test(q.sql))).toBe(true);
    expect(d1.queries.filter((q) => q.on === "binding" && !AUTHENTICATION.test(q.sql))).toEqual([]);
  });

  it("are the only requests that open a session: writes go to the binding", async () => {
    const { adminKey: key } = await createWorkspace();
    const d1 = recordingD1(env.DB);
    const res = await callJson("/api/v1/campaigns", {
      key,
      body: { name: "Written" },
      env: { ...env, DB: d1.binding },
    });
    expect(res.status).toBe(201);
    expect(d1.sessions).toEqual([]);
    expect(d1.queries.some((q) => /insert into "campaigns"/i.test(q.sql))).toBe(true);
  });
});

describe("drizzle over a session", () => {
  it("queries through the session, and refuses what a session cannot do rather than leave it", async () => {
    const d1 = recordingD1(env.DB);
    const db = createDb(d1.binding.withSession("first-primary"));
    expect(await db.select({ id: campaigns.id }).from(campaigns).limit(1)).toBeInstanceOf(Array);
    expect(d1.queries.map((q) => q.on)).toEqual(["session"]);
    await expect(db.$client.exec("SELECT 1")).rejects.toThrow(/not available through a D1 session/);
  });
});
