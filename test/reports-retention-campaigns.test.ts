import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { housekeepingTurn } from "../src/housekeeping/purge";
import { callJson, callWorker, createCampaign, createLink, createWorkspace } from "./helpers";
import { seededRandom } from "./random";
import {
  at,
  BASE,
  bruteIndex,
  bruteStart,
  DAY,
  expectedRetention,
  historyWriter,
  phone,
  PROPERTY_NOW,
  QUARTER,
  retention,
  statusesBody,
  waId,
  writeRandomHistory,
  type RetentionCase,
} from "./retention-model";

const NOW = at("2026-03-18T12:00:00Z");

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

const value = (period: number, count: number, size: number, inProgress = false) => ({
  period,
  count,
  rate: count / size,
  inProgress,
});

/**
 * Four contacts and two campaigns. By UTC Monday week:
 * - a: Restock message (Feb 24), Spring A message (Mar 3); clicks a Spring A link Mar 4, replies Mar 10;
 * - b: Spring B message (Mar 4); converts Mar 17;
 * - c: Restock message (Mar 2), Spring A message (Mar 10); clicks Mar 11, replies Mar 17;
 * - d: Restock message (Mar 3); clicks Mar 10.
 */
async function twoCampaigns() {
  const { workspace, adminKey } = await createWorkspace();
  const spring = await createCampaign(adminKey, { name: "Spring", variants: ["A", "B"] });
  const restock = await createCampaign(adminKey, { name: "Restock" });
  const w = historyWriter(workspace.id, adminKey);
  const [a, b, c, d] = [1, 2, 3, 4].map(phone);
  await w.register([
    { id: "wamid.a1", contact: a, sentAt: at("2026-02-24T10:00:00Z"), campaignId: restock.id },
    { id: "wamid.a2", contact: a, sentAt: at("2026-03-03T10:00:00Z"), campaignId: spring.id, variant: "A" },
    { id: "wamid.b1", contact: b, sentAt: at("2026-03-04T10:00:00Z"), campaignId: spring.id, variant: "B" },
    { id: "wamid.c1", contact: c, sentAt: at("2026-03-02T10:00:00Z"), campaignId: restock.id },
    { id: "wamid.c2", contact: c, sentAt: at("2026-03-10T10:00:00Z"), campaignId: spring.id, variant: "A" },
    { id: "wamid.d1", contact: d, sentAt: at("2026-03-03T10:00:00Z"), campaignId: restock.id },
  ]);
  await w.click("clk_a", a, at("2026-03-04T09:00:00Z"), "click", { campaign: spring.id, variant: "A" });
  await w.reply("wamid.in.a", a, at("2026-03-10T09:00:00Z"));
  await w.convert("order-b", b, at("2026-03-17T09:00:00Z"));
  await w.click("clk_c", c, at("2026-03-11T09:00:00Z"));
  await w.reply("wamid.in.c", c, at("2026-03-17T09:00:00Z"));
  await w.click("clk_d", d, at("2026-03-10T09:00:00Z"));
  return { workspace, adminKey, spring, restock, w, contacts: { a, b, c, d } };
}

describe("GET /api/v1/reports/retention with campaignId and variant", () => {
  it("follows a campaign's contacts from their first message in it, with returns from anywhere", async () => {
    const { adminKey, spring, restock } = await twoCampaigns();
    const weeks = "period=week&periods=3&from=2026-03-02&to=2026-03-22";

    // Spring: a and b start in the week of 2 March, c in the week of 9 March (its Restock message of
    // 2 March does not count here); a's reply and c's, and b's conversion, are returns.
    expect(await retention(adminKey, `${weeks}&campaignId=${spring.id}`)).toEqual({
      cohorts: [
        { start: "2026-03-02T00:00:00.000Z", size: 2, values: [value(0, 2, 2), value(1, 1, 2), value(2, 1, 2, true)] },
        { start: "2026-03-09T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1, true)] },
      ],
      average: [
        { period: 0, rate: 1 },
        { period: 1, rate: 0.5 },
        { period: 2, rate: null },
      ],
    });
    expect(await retention(adminKey, `${weeks}&campaignId=${spring.id}&variant=A`)).toEqual({
      cohorts: [
        { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1), value(2, 0, 1, true)] },
        { start: "2026-03-09T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1, true)] },
      ],
      average: [
        { period: 0, rate: 1 },
        { period: 1, rate: 1 },
        { period: 2, rate: null },
      ],
    });
    // A variant alone: that variant in every campaign (only Spring has one named B).
    const variantB = await retention(adminKey, `${weeks}&variant=B`);
    expect(variantB.cohorts).toEqual([
      { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 0, 1), value(2, 1, 1, true)] },
    ]);

    // Restock: a from the week of 23 February (its Spring click on 4 March is a return), c and d from 2 March.
    const restockBody = await retention(adminKey, `period=week&periods=4&from=2026-02-23&campaignId=${restock.id}`);
    expect(restockBody.cohorts).toEqual([
      {
        start: "2026-02-23T00:00:00.000Z",
        size: 1,
        values: [value(0, 1, 1), value(1, 1, 1), value(2, 1, 1), value(3, 0, 1, true)],
      },
      { start: "2026-03-02T00:00:00.000Z", size: 2, values: [value(0, 2, 2), value(1, 2, 2), value(2, 1, 2, true)] },
    ]);

    // Both campaigns: each contact from its first message in either (b, c and d in the week of 2 March).
    const both = await retention(
      adminKey,
      `period=week&periods=4&from=2026-02-23&campaignId=${spring.id}&campaignId=${restock.id}`,
    );
    expect(both.cohorts).toEqual([
      {
        start: "2026-02-23T00:00:00.000Z",
        size: 1,
        values: [value(0, 1, 1), value(1, 1, 1), value(2, 1, 1), value(3, 0, 1, true)],
      },
      { start: "2026-03-02T00:00:00.000Z", size: 3, values: [value(0, 3, 3), value(1, 2, 3), value(2, 2, 3, true)] },
    ]);
  });

  it("starts a campaign's contacts at their first human click through its links", async () => {
    const { adminKey, spring, restock } = await twoCampaigns();
    const body = await retention(
      adminKey,
      `period=week&periods=3&from=2026-03-02&start=click&returnOn=reply&campaignId=${spring.id}`,
    );
    expect(body.cohorts).toEqual([
      { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1), value(2, 0, 1, true)] },
    ]);
    // Nobody clicked a Restock link.
    expect((await retention(adminKey, `start=click&campaignId=${restock.id}`)).cohorts).toEqual([]);
  });

  it("answers no cohorts for a campaign without messages, or another workspace's", async () => {
    const { spring } = await twoCampaigns();
    const other = await createWorkspace();
    const quiet = await createCampaign(other.adminKey, { name: "Quiet" });
    expect(await retention(other.adminKey, `campaignId=${quiet.id}`)).toEqual({
      cohorts: [],
      average: Array.from({ length: 8 }, (_, period) => ({ period, rate: null })),
    });
    expect((await retention(other.adminKey, `campaignId=${spring.id}`)).cohorts).toEqual([]);
    expect((await retention(other.adminKey, "variant=A")).cohorts).toEqual([]);
  });

  it("answers CSV rows of the campaign's cohorts", async () => {
    const { adminKey, spring } = await twoCampaigns();
    const res = await callWorker(
      `/api/v1/reports/retention?period=week&periods=3&from=2026-03-02&to=2026-03-22&campaignId=${spring.id}&format=csv`,
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    expect(res.status).toBe(200);
    expect((await res.text()).trim().split(/\r?\n/)).toEqual([
      "start,size,period_0,period_1,period_2",
      "2026-03-02T00:00:00.000Z,2,2,1,1",
      "2026-03-09T00:00:00.000Z,1,1,1,",
    ]);
  });

  it("moves a message's start to the contact and campaign it ends up with", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const first = await createCampaign(adminKey, { name: "First guess" });
    const second = await createCampaign(adminKey, { name: "Registered" });
    const link = await createLink(adminKey, { url: "https://shop.example.com/", campaignId: first.id });
    const w = historyWriter(workspace.id, adminKey);
    const [contact, otherRecipient] = [phone(7), phone(8)];
    // A status names the first campaign's link (biz_opaque_callback_data) and another recipient
    // before the message is registered.
    const status = {
      id: "wamid.moved",
      status: "sent",
      timestamp: String(at("2026-03-03T10:00:00Z") / 1000),
      recipient_id: waId(otherRecipient),
      biz_opaque_callback_data: link.code,
    };
    expect((await callJson("/api/v1/statuses", { key: adminKey, body: statusesBody([status], []) })).status).toBe(200);
    await w.reply("wamid.in.moved", contact, at("2026-03-11T09:00:00Z"));
    const weekly = (campaignId: string) =>
      retention(adminKey, `period=week&periods=2&from=2026-03-02&campaignId=${campaignId}`);
    expect((await weekly(first.id)).cohorts).toEqual([
      { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 0, 1)] },
    ]);

    // The registration names the contact and the campaign the message was sent to: the first
    // campaign has no contact left, the second has the one who replied.
    await w.register([{ id: "wamid.moved", contact, sentAt: at("2026-03-03T10:00:00Z"), campaignId: second.id }]);
    expect((await weekly(first.id)).cohorts).toEqual([]);
    expect((await weekly(second.id)).cohorts).toEqual([
      { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1)] },
    ]);
  });

  it("builds the campaigns' cohorts of data recorded before they were kept (the migration's backfill)", async () => {
    const { workspace, adminKey, spring, restock } = await twoCampaigns();
    const reports = () =>
      Promise.all(
        [`campaignId=${spring.id}`, `campaignId=${spring.id}&variant=A`, `campaignId=${restock.id}&start=click`].map(
          (scope) => retention(adminKey, `period=week&periods=4&from=2026-02-23&${scope}`),
        ),
      );
    const before = await reports();
    expect(before[0].cohorts.length).toBe(2);
    // As if the data had been recorded before migrations/0031: no scope, no scope rollups.
    await env.DB.batch(
      [
        "DELETE FROM retention_counts WHERE workspace_id IN (SELECT rollup_id FROM retention_scopes WHERE workspace_id = ?1)",
        "DELETE FROM retention_cohorts WHERE workspace_id IN (SELECT rollup_id FROM retention_scopes WHERE workspace_id = ?1)",
        "DELETE FROM retention_scope_contacts WHERE workspace_id = ?1",
        "DELETE FROM retention_scopes WHERE workspace_id = ?1",
      ].map((sql) => env.DB.prepare(sql).bind(workspace.id)),
    );
    expect((await retention(adminKey, `campaignId=${spring.id}`)).cohorts).toEqual([]);
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0031_"))!;
    const backfill = migration.queries.slice(-3);
    expect(backfill[0]).toContain("INSERT OR IGNORE INTO `retention_scopes`");
    await env.DB.batch(backfill.map((sql) => env.DB.prepare(sql)));
    expect(await reports()).toEqual(before);
  });

  it("reports the same after the raw events are purged", async () => {
    const { workspace, adminKey, spring, restock } = await twoCampaigns();
    const reports = () =>
      Promise.all(
        [
          `campaignId=${spring.id}`,
          `campaignId=${spring.id}&start=click&timezone=Asia/Kolkata`,
          `campaignId=${spring.id}&campaignId=${restock.id}`,
          "variant=A&timezone=America/New_York",
        ].map((scope) => retention(adminKey, `period=week&periods=4&from=2026-02-23&${scope}`)),
      );
    const before = await reports();
    expect(before.map((b) => b.cohorts.length)).toEqual([2, 1, 2, 2]);
    const purged = await housekeepingTurn(env, NOW + 400 * DAY);
    expect(purged.deleted.messages).toBeGreaterThanOrEqual(6);
    const left = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM messages WHERE workspace_id = ?1) + (SELECT COUNT(*) FROM clicks WHERE workspace_id = ?1) AS n`,
    )
      .bind(workspace.id)
      .first("n");
    expect(left).toBe(0);
    expect(await reports()).toEqual(before);
  });

  it("takes an erased contact out of its campaigns' cohorts", async () => {
    const { workspace, adminKey, spring, contacts } = await twoCampaigns();
    const erased = await callJson("/api/v1/contacts/erase", { key: adminKey, body: { contact: contacts.a } });
    expect(erased.status).toBe(200);
    const weeks = "period=week&periods=3&from=2026-03-02&to=2026-03-22";
    expect((await retention(adminKey, `${weeks}&campaignId=${spring.id}`)).cohorts).toEqual([
      { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 0, 1), value(2, 1, 1, true)] },
      { start: "2026-03-09T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1, true)] },
    ]);
    // Nothing of a is left in the campaigns' rollups: every cell counts someone.
    const { results } = await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM retention_scope_contacts WHERE workspace_id = ?1
       UNION ALL SELECT COUNT(*) FROM retention_counts WHERE workspace_id LIKE ?1 || '|campaign|%' AND contacts <= 0
       UNION ALL SELECT COUNT(*) FROM retention_cohorts WHERE workspace_id LIKE ?1 || '|campaign|%' AND size <= 0`,
    )
      .bind(workspace.id)
      .all<{ n: number }>();
    // b, c, d in Spring (and c in variant A, b in B); c and d in Restock.
    expect(results.map((r) => r.n)).toEqual([6, 0, 0]);
  });
});

const CASES: Omit<RetentionCase, "from" | "to" | "campaignIds" | "variant">[] = [
  { period: "week", periods: 8, start: "message", returnOn: "any", timeZone: "UTC" },
  { period: "day", periods: 12, start: "click", returnOn: "click", timeZone: "Asia/Kolkata" },
  { period: "month", periods: 3, start: "message", returnOn: "conversion", timeZone: "America/New_York" },
  { period: "week", periods: 6, start: "click", returnOn: "reply", timeZone: "UTC" },
  { period: "day", periods: 20, start: "message", returnOn: "any", timeZone: "UTC" },
  { period: "week", periods: 10, start: "message", returnOn: "reply", timeZone: "Pacific/Chatham" },
];

describe("retention of campaigns in random histories", { timeout: 60_000 }, () => {
  it.each([1, 2, 3])("matches a brute-force computation over the raw events (seed %i)", async (seed) => {
    vi.setSystemTime(PROPERTY_NOW);
    const r = seededRandom(seed);
    const { workspace, adminKey } = await createWorkspace();
    const campaigns = [
      { id: (await createCampaign(adminKey, { name: "Spring", variants: ["A", "B"] })).id, variants: ["A", "B"] },
      { id: (await createCampaign(adminKey, { name: "Restock", variants: ["A"] })).id, variants: ["A"] },
    ];
    const sim = await writeRandomHistory(r, workspace.id, adminKey, campaigns);
    const now = Date.now();
    const defaultTo = Math.ceil((now + 1) / QUARTER) * QUARTER;
    // One campaign, one of its variants, a variant across campaigns, and both campaigns together.
    const [spring, restock] = campaigns.map((c) => c.id);
    const filters = [
      { campaignIds: [spring], variant: null },
      { campaignIds: [restock], variant: null },
      { campaignIds: [spring], variant: "B" },
      { campaignIds: [], variant: "A" },
      { campaignIds: [spring, restock], variant: null },
    ];
    for (const c of CASES) {
      for (const filter of filters) {
        const turn = (index: number) => bruteStart(index, c.period, c.timeZone);
        const first = bruteIndex(BASE, c.period, c.timeZone) + r.between(-1, c.period === "month" ? 1 : 6);
        const ranged = r.chance(0.5);
        const from = ranged ? turn(first) : undefined;
        const to = ranged ? Math.min(turn(first + r.between(1, 3)), defaultTo) : defaultTo;
        const range =
          from === undefined ? "" : `&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
        const scope =
          filter.campaignIds.map((id) => `&campaignId=${id}`).join("") +
          (filter.variant ? `&variant=${filter.variant}` : "");
        const params = `period=${c.period}&periods=${c.periods}&start=${c.start}&returnOn=${c.returnOn}&timezone=${c.timeZone}${range}${scope}`;
        const body = await retention(adminKey, params);
        const expected = expectedRetention(sim, { ...c, ...filter, from: from ?? 0, to }, now);
        const received = {
          ...body,
          cohorts: body.cohorts.map((cohort: { start: string }) => ({ ...cohort, start: Date.parse(cohort.start) })),
        };
        expect(received, params).toEqual(expected);
      }
    }
    // The random histories do reach into every scope they ask about.
    expect(sim.messages.size).toBeGreaterThan(0);
    expect([...sim.messages.values()].some((m) => m.campaign === spring && m.variant === "B")).toBe(true);
  });
});
