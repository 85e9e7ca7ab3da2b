import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fillRetentionZones, trackRetentionZone } from "../src/db/retention-zones";
import type { RetentionPeriod } from "../src/reports/retention";
import { readRolledUpCohorts, type ReturnKind, type StartKind } from "../src/db/reports/retention-cohorts";
import { readZonedCohorts } from "../src/reports/retention-zoned";
import { handleScheduled } from "../src/scheduled";
import { applied, callJson, createWorkspace, expectErrorEnvelope, issuePaths } from "./helpers";
import { runQueue } from "./failures";
import { seededRandom, type Random } from "./random";
import {
  BASE,
  bruteIndex,
  DAY,
  expectedRetention,
  PROPERTY_NOW,
  QUARTER,
  randomHistory,
  retention,
  writeRandomHistory,
  type Sim,
} from "./retention-model";

type ZoneCopy = { rollup_id: string; zone: string; filled_to: string | null; dropping: number };
const ROLLUP_TABLES = [
  "retention_contacts",
  "retention_quarters",
  "retention_cohorts",
  "retention_counts",
  "retention_return_days",
  "retention_active_days",
];

async function zoneCopies(workspaceId: string): Promise<ZoneCopy[]> {
  const { results } = await env.DB.prepare(
    "SELECT rollup_id, zone, filled_to, dropping FROM retention_zones WHERE workspace_id = ?1 ORDER BY dropping",
  )
    .bind(workspaceId)
    .all<ZoneCopy>();
  return results;
}

async function rowsOf(rollupId: string): Promise<number> {
  await applied();
  let rows = 0;
  for (const table of ROLLUP_TABLES) {
    const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workspace_id = ?1`)
      .bind(rollupId)
      .first<{ n: number }>();
    rows += row!.n;
  }
  return rows;
}

async function setTimeZone(key: string, timezone: string) {
  const res = await callJson("/api/v1/workspace", { method: "PATCH", key, body: { settings: { timezone } } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const PERIODS: { period: RetentionPeriod; periods: number }[] = [
  { period: "day", periods: 20 },
  { period: "week", periods: 9 },
  { period: "month", periods: 3 },
];
const STARTS: StartKind[] = ["message", "click"];
const RETURNS: ReturnKind[] = ["any", "click", "reply", "conversion"];

/**
 * Every period, start and return kind in `timeZone`: the report equals the brute-force count of the
 * raw events, and the wall-clock copy's rows equal the correction of the UTC rollups.
 */
async function expectExactRetention(r: Random, sim: Sim, workspaceId: string, key: string, timeZone: string) {
  const [copy] = (await zoneCopies(workspaceId)).filter((c) => !c.dropping);
  expect(copy?.filled_to, "the copy is complete").toBeNull();
  const now = Date.now();
  const to = Math.ceil((now + 1) / QUARTER) * QUARTER;
  for (const { period, periods } of PERIODS) {
    for (const start of STARTS) {
      for (const returnOn of RETURNS) {
        const from = r.chance(0.5) ? BASE + r.between(-7, 40) * DAY + r.between(0, 95) * QUARTER : 0;
        const range = from ? `&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}` : "";
        const params = `period=${period}&periods=${periods}&start=${start}&returnOn=${returnOn}&timezone=${timeZone}${range}`;
        const body = await retention(key, params);
        const received = {
          ...body,
          cohorts: body.cohorts.map((c: { start: string }) => ({ ...c, start: Date.parse(c.start) })),
        };
        expect(received, params).toEqual(
          expectedRetention(sim, { period, periods, start, returnOn, timeZone, from, to }, now),
        );

        const query = {
          scope: null,
          workspaceId,
          period,
          periods,
          start,
          returnOn,
          // Every cohort of the history, from the opening Sunday's, a week before BASE, on.
          first: bruteIndex(BASE - 14 * DAY, period, timeZone),
          last: bruteIndex(PROPERTY_NOW, period, timeZone),
        };
        const byCohort = (rows: { cohort: number; period: number; contacts: number }[]) =>
          rows.filter((row) => row.contacts > 0).sort((a, b) => a.cohort - b.cohort || a.period - b.period);
        expect(byCohort(await readRolledUpCohorts(env.DB, { ...query, workspaceId: copy!.rollup_id })), params).toEqual(
          byCohort(await readZonedCohorts(env.DB, query, timeZone)),
        );
      }
    }
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(PROPERTY_NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

// Each random history is written through the API, then read back in every period, start and return kind.
describe("retention in the workspace's reporting time zone", { timeout: 30_000 }, () => {
  it.each([
    [1, "Asia/Kolkata"],
    [2, "America/New_York"],
    [3, "Pacific/Chatham"],
    [4, "Asia/Kathmandu"],
  ])("keeps a wall-clock copy up to date as events arrive (seed %i, %s)", async (seed, timeZone) => {
    const r = seededRandom(seed);
    const { workspace, adminKey } = await createWorkspace({ timezone: timeZone });
    expect(workspace.settings.timezone).toBe(timeZone);
    const sim = await writeRandomHistory(r, workspace.id, adminKey);
    await expectExactRetention(r, sim, workspace.id, adminKey, timeZone);
  });

  it.each([
    [5, "Asia/Kolkata"],
    [6, "America/Santiago"],
  ])("fills a zone set later in chunks while events keep arriving (seed %i, %s)", async (seed, timeZone) => {
    const r = seededRandom(seed);
    const { workspace, adminKey } = await createWorkspace();
    const { sim, writes } = randomHistory(r, workspace.id, adminKey);
    const half = Math.floor(writes.length / 2);
    for (const write of writes.slice(0, half)) await write();

    await env.DB.batch(await trackRetentionZone(env.DB, workspace.id, timeZone));
    expect(await zoneCopies(workspace.id)).toEqual([expect.objectContaining({ filled_to: "", dropping: 0 })]);
    // One chunk of three contacts after each write, so that writes land before, inside and after the filled part.
    for (const write of writes.slice(half)) {
      await write();
      await fillRetentionZones(env.DB, { workspaceId: workspace.id, budgetMs: 0, chunk: 3 });
    }
    while (await fillRetentionZones(env.DB, { workspaceId: workspace.id, budgetMs: 0, chunk: 3 }));
    await expectExactRetention(r, sim, workspace.id, adminKey, timeZone);
  });

  it("answers from the copy once it is complete, and exactly from the UTC rollups before", async () => {
    const r = seededRandom(7);
    const { workspace, adminKey } = await createWorkspace();
    const sim = await writeRandomHistory(r, workspace.id, adminKey);
    const params = "period=day&periods=30&start=message&returnOn=any&timezone=Asia/Kolkata";
    const expected = expectedRetention(
      sim,
      {
        period: "day",
        periods: 30,
        start: "message",
        returnOn: "any",
        timeZone: "Asia/Kolkata",
        from: 0,
        to: Infinity,
      },
      Date.now(),
    );
    const received = async () => {
      const body = await retention(adminKey, params);
      return { ...body, cohorts: body.cohorts.map((c: { start: string }) => ({ ...c, start: Date.parse(c.start) })) };
    };

    await setTimeZone(adminKey, "Asia/Kolkata");
    expect(await received()).toEqual(expected);
    // The queued turn fills the copy.
    expect((await runQueue([{ type: "retention-zones", workspaceId: workspace.id }])).explicitAcks).toEqual(["msg-0"]);
    const [copy] = await zoneCopies(workspace.id);
    expect(copy.filled_to).toBeNull();
    // The copy alone answers now: without the UTC rollups' per-contact rows the correction could not.
    await env.DB.prepare("DELETE FROM retention_quarters WHERE workspace_id = ?1").bind(workspace.id).run();
    expect(await received()).toEqual(expected);
  });

  it("drops the old copy when the zone changes, and every copy for UTC", async () => {
    const r = seededRandom(8);
    const { workspace, adminKey } = await createWorkspace({ timezone: "Asia/Kolkata" });
    const sim = await writeRandomHistory(r, workspace.id, adminKey);
    const [kolkata] = await zoneCopies(workspace.id);
    expect(await rowsOf(kolkata.rollup_id)).toBeGreaterThan(0);

    expect((await setTimeZone(adminKey, "America/New_York")).settings.timezone).toBe("America/New_York");
    expect(await zoneCopies(workspace.id)).toEqual([
      expect.objectContaining({ filled_to: "", dropping: 0 }),
      expect.objectContaining({ rollup_id: kolkata.rollup_id, dropping: 1 }),
    ]);
    // The daily cron picks up whatever a lost queue message left undone.
    await handleScheduled({ scheduledTime: Date.now(), cron: "17 3 * * *", noRetry() {} }, env);
    expect(await rowsOf(kolkata.rollup_id)).toBe(0);
    await expectExactRetention(r, sim, workspace.id, adminKey, "America/New_York");

    await setTimeZone(adminKey, "UTC");
    await fillRetentionZones(env.DB, { workspaceId: workspace.id, budgetMs: 10_000 });
    expect(await zoneCopies(workspace.id)).toEqual([]);
  });

  it("keeps the zone as named, shares one copy among its aliases, and refuses an unknown zone, changing nothing", async () => {
    const { workspace, adminKey } = await createWorkspace();
    expect(workspace.settings.timezone).toBe("UTC");
    expect((await setTimeZone(adminKey, "Asia/Kolkata")).settings.timezone).toBe("Asia/Kolkata");
    // Asia/Calcutta is the older name of the same zone: it names the same copy, and nothing changes.
    await setTimeZone(adminKey, "Asia/Calcutta");
    await setTimeZone(adminKey, "Asia/Kolkata");
    expect(await zoneCopies(workspace.id)).toHaveLength(1);

    const res = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { timezone: "Mars/Olympus_Mons" } },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([["settings", "timezone"]]);
    expect((await callJson("/api/v1/workspace", { key: adminKey })).body.settings.timezone).toBe("Asia/Kolkata");
    expect(await zoneCopies(workspace.id)).toEqual([expect.objectContaining({ dropping: 0 })]);
  });
});
