import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { retentionRate } from "../src/reports/retention";
import { housekeepingTurn } from "../src/housekeeping/purge";
import {
  applied,
  callJson,
  callWorker,
  createApiKey,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
} from "./helpers";
import { seededRandom } from "./random";
import {
  at,
  BASE,
  bruteIndex,
  bruteStart,
  DAY,
  expectedRetention,
  expectedRetentionRate,
  historyWriter,
  MINUTE,
  phone,
  PROPERTY_NOW,
  QUARTER,
  retention,
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

describe("GET /api/v1/reports/retention", () => {
  it("groups contacts by the week of their first message and counts returns per later week", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(phone);
    await w.register([
      { id: "wamid.a1", contact: a, sentAt: at("2026-02-24T10:00:00Z") },
      { id: "wamid.b1", contact: b, sentAt: at("2026-02-25T10:00:00Z") },
      { id: "wamid.c1", contact: c, sentAt: at("2026-03-02T10:00:00Z") },
      { id: "wamid.d1", contact: d, sentAt: at("2026-03-10T10:00:00Z") },
      { id: "wamid.e1", contact: e, sentAt: at("2026-03-16T10:00:00Z") },
      { id: "wamid.a2", contact: a, sentAt: at("2026-03-11T10:00:00Z") },
    ]);
    await w.click("clk_a", a, at("2026-03-03T09:00:00Z"));
    await w.reply("wamid.in.a", a, at("2026-03-10T09:00:00Z"));
    await w.convert("order-a", a, at("2026-03-17T09:00:00Z"));
    await w.reply("wamid.in.b", b, at("2026-03-04T09:00:00Z"));
    await w.click("clk_c", c, at("2026-03-02T12:00:00Z"));
    await w.convert("order-c", c, at("2026-03-12T09:00:00Z"));
    await w.click("clk_e", e, at("2026-03-17T09:00:00Z"));

    const body = await retention(adminKey, "period=week&periods=4&from=2026-02-23&to=2026-03-22");
    const value = (period: number, count: number, size: number, inProgress = false) => ({
      period,
      count,
      rate: count / size,
      inProgress,
    });
    expect(body).toEqual({
      cohorts: [
        {
          start: "2026-02-23T00:00:00.000Z",
          size: 2,
          values: [value(0, 2, 2), value(1, 2, 2), value(2, 1, 2), value(3, 1, 2, true)],
        },
        { start: "2026-03-02T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 1, 1), value(2, 0, 1, true)] },
        { start: "2026-03-09T00:00:00.000Z", size: 1, values: [value(0, 1, 1), value(1, 0, 1, true)] },
        { start: "2026-03-16T00:00:00.000Z", size: 1, values: [value(0, 1, 1, true)] },
      ],
      average: [
        { period: 0, rate: 1 },
        { period: 1, rate: 1 },
        { period: 2, rate: 0.5 },
        { period: 3, rate: null },
      ],
    });

    const counts = async (returnOn: string) =>
      (
        await retention(adminKey, `period=week&periods=4&from=2026-02-23&to=2026-03-02&returnOn=${returnOn}`)
      ).cohorts[0].values.map((v: { count: number }) => v.count);
    expect(await counts("click")).toEqual([2, 1, 0, 0]);
    expect(await counts("reply")).toEqual([2, 1, 1, 0]);
    expect(await counts("conversion")).toEqual([2, 0, 0, 1]);
  });

  it("follows contacts by the day and by the month of their first human click", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b, c] = [1, 2, 3].map(phone);
    await w.click("clk_a1", a, at("2026-01-10T08:00:00Z"));
    await w.click("clk_a2", a, at("2026-01-11T08:00:00Z"));
    await w.click("clk_a3", a, at("2026-02-20T08:00:00Z"));
    await w.click("clk_b1", b, at("2026-01-11T23:59:00Z"));
    await w.reply("wamid.in.b", b, at("2026-01-12T00:01:00Z"));
    await w.convert("order-b", b, at("2026-03-01T10:00:00Z"));
    await w.click("clk_c0", c, at("2026-01-10T09:00:00Z"), "preview");
    await w.click("clk_c1", c, at("2026-01-10T10:00:00Z"), "bot");
    await w.click("clk_anon", null, at("2026-01-10T10:00:00Z"));
    await w.register([{ id: "wamid.c1", contact: c, sentAt: at("2026-01-09T10:00:00Z") }]);

    const days = await retention(adminKey, "period=day&periods=3&start=click&from=2026-01-10&to=2026-01-11");
    expect(days.cohorts).toEqual([
      {
        start: "2026-01-10T00:00:00.000Z",
        size: 1,
        values: [1, 1, 0].map((count, period) => ({ period, count, rate: count, inProgress: false })),
      },
      {
        start: "2026-01-11T00:00:00.000Z",
        size: 1,
        values: [1, 1, 0].map((count, period) => ({ period, count, rate: count, inProgress: false })),
      },
    ]);
    expect(days.average).toEqual([
      { period: 0, rate: 1 },
      { period: 1, rate: 1 },
      { period: 2, rate: 0 },
    ]);

    const months = await retention(adminKey, "period=month&periods=4&start=click&from=2026-01-01&to=2026-03-31");
    expect(months.cohorts).toEqual([
      {
        start: "2026-01-01T00:00:00.000Z",
        size: 2,
        values: [
          { period: 0, count: 2, rate: 1, inProgress: false },
          { period: 1, count: 1, rate: 0.5, inProgress: false },
          { period: 2, count: 1, rate: 0.5, inProgress: true },
        ],
      },
    ]);
    expect(months.average).toEqual([
      { period: 0, rate: 1 },
      { period: 1, rate: 0.5 },
      { period: 2, rate: null },
      { period: 3, rate: null },
    ]);
    const clicksOnly = await retention(adminKey, "period=month&periods=2&start=click&returnOn=click&from=2026-01-01");
    expect(clicksOnly.cohorts[0].values.map((v: { count: number }) => v.count)).toEqual([2, 1]);
  });

  it("cuts days in the time zone: Asia/Kolkata", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b] = [1, 2].map(phone);
    // 20:00 UTC is 01:30 the next day in Kolkata.
    await w.register([
      { id: "wamid.a", contact: a, sentAt: at("2026-03-02T20:00:00Z") },
      { id: "wamid.b", contact: b, sentAt: at("2026-03-03T10:00:00Z") },
    ]);
    await w.click("clk_a", a, at("2026-03-03T17:00:00Z"));
    await w.reply("wamid.in.a", a, at("2026-03-03T19:00:00Z"));
    await w.reply("wamid.in.b", b, at("2026-03-03T18:40:00Z"));

    const kolkata = await retention(
      adminKey,
      "period=day&periods=2&from=2026-03-02&to=2026-03-04&timezone=Asia/Kolkata",
    );
    expect(kolkata.cohorts).toEqual([
      {
        start: "2026-03-03T00:00:00.000+05:30",
        size: 2,
        values: [
          { period: 0, count: 2, rate: 1, inProgress: false },
          { period: 1, count: 2, rate: 1, inProgress: false },
        ],
      },
    ]);
    const utc = await retention(adminKey, "period=day&periods=2&from=2026-03-02&to=2026-03-04");
    expect(
      utc.cohorts.map((c: { start: string; values: { count: number }[] }) => [c.start, c.values.map((v) => v.count)]),
    ).toEqual([
      ["2026-03-02T00:00:00.000Z", [1, 1]],
      ["2026-03-03T00:00:00.000Z", [1, 0]],
    ]);
  });

  it("cuts days and weeks in the time zone across a daylight-saving change: America/New_York", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b] = [1, 2].map(phone);
    await w.register([
      { id: "wamid.a", contact: a, sentAt: at("2026-03-03T15:00:00Z") },
      { id: "wamid.b", contact: b, sentAt: at("2026-03-08T04:30:00Z") },
    ]);
    // Sunday 8 March 23:30 EDT (clocks went forward at 02:00 that day): still the week of 2 March.
    await w.click("clk_a", a, at("2026-03-09T03:30:00Z"));
    // Monday 9 March 00:30 EDT: the next week, and b's next day.
    await w.reply("wamid.in.b", b, at("2026-03-09T04:30:00Z"));

    const weeks = await retention(
      adminKey,
      "period=week&periods=2&from=2026-03-02&to=2026-03-08&timezone=America/New_York",
    );
    expect(weeks.cohorts).toEqual([
      {
        start: "2026-03-02T00:00:00.000-05:00",
        size: 2,
        values: [
          { period: 0, count: 2, rate: 1, inProgress: false },
          { period: 1, count: 1, rate: 0.5, inProgress: false },
        ],
      },
    ]);
    // b's message at 04:30 UTC is 7 March 23:30 EST; the 8th is 23 hours long, so the reply is two days later.
    const days = await retention(
      adminKey,
      "period=day&periods=3&from=2026-03-07&to=2026-03-08&timezone=America/New_York",
    );
    expect(days.cohorts).toEqual([
      {
        start: "2026-03-07T00:00:00.000-05:00",
        size: 1,
        values: [1, 0, 1].map((count, period) => ({ period, count, rate: count, inProgress: false })),
      },
    ]);
    const utcDays = await retention(adminKey, "period=day&periods=3&from=2026-03-07&to=2026-03-08");
    expect(
      utcDays.cohorts.map((c: { start: string; values: { count: number }[] }) => [
        c.start,
        c.values.map((v) => v.count),
      ]),
    ).toEqual([["2026-03-08T00:00:00.000Z", [1, 1, 0]]]);
    const utc = await retention(adminKey, "period=week&periods=2&from=2026-03-02&to=2026-03-08");
    expect(utc.cohorts[0].values.map((v: { count: number }) => v.count)).toEqual([2, 2]);
  });

  it("starts a local day where its wall clock does, when clocks jump at midnight: America/Santiago", async () => {
    vi.setSystemTime(at("2026-09-20T12:00:00Z"));
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b] = [1, 2].map(phone);
    // On 6 September 2026 Santiago's clocks jump from 00:00 (UTC−4) to 01:00 (UTC−3), at 04:00 UTC.
    await w.register([
      { id: "wamid.a", contact: a, sentAt: at("2026-09-06T03:30:00Z") },
      { id: "wamid.b", contact: b, sentAt: at("2026-09-06T04:00:00Z") },
    ]);
    await w.reply("wamid.in.a", a, at("2026-09-07T02:59:00Z"));
    await w.reply("wamid.in.b", b, at("2026-09-07T03:00:00Z"));
    const body = await retention(
      adminKey,
      "period=day&periods=2&from=2026-09-05&to=2026-09-06&timezone=America/Santiago",
    );
    expect(body.cohorts).toEqual([
      {
        start: "2026-09-05T00:00:00.000-04:00",
        size: 1,
        values: [1, 1].map((count, period) => ({ period, count, rate: count, inProgress: false })),
      },
      {
        start: "2026-09-06T01:00:00.000-03:00",
        size: 1,
        values: [1, 1].map((count, period) => ({ period, count, rate: count, inProgress: false })),
      },
    ]);
  });

  // Weeks start on Monday: a Sunday is the last day of its week, in whichever zone it is a Sunday.
  it.each([
    ["UTC", "2026-03-01", "Z", "Z", "2026-02-23T00:00:00.000Z"],
    ["Asia/Kolkata", "2026-03-01", "+05:30", "+05:30", "2026-02-23T00:00:00.000+05:30"],
    // Clocks go forward on Sunday 8 March at 02:00, so that Sunday ends an hour earlier.
    ["America/New_York", "2026-03-08", "-05:00", "-04:00", "2026-03-02T00:00:00.000-05:00"],
    ["Pacific/Chatham", "2026-03-01", "+13:45", "+13:45", "2026-02-23T00:00:00.000+13:45"],
  ])(
    "keeps contacts first seen on a local Sunday in the week that Sunday ends, and a range to a Sunday out of the next (%s)",
    async (timeZone, sunday, midnightOffset, nightOffset, weekStart) => {
      const { workspace, adminKey } = await createWorkspace();
      const w = historyWriter(workspace.id, adminKey);
      const [a, b, c] = [1, 2, 3].map(phone);
      const monday = new Date(Date.parse(sunday) + DAY).toISOString().slice(0, 10);
      await w.register([
        // The first instant and the last minute of the Sunday, then the first instant of the Monday.
        { id: "wamid.a", contact: a, sentAt: at(`${sunday}T00:00:00${midnightOffset}`) },
        { id: "wamid.c", contact: c, sentAt: at(`${sunday}T23:59:00${nightOffset}`) },
        { id: "wamid.b", contact: b, sentAt: at(`${monday}T00:00:00${nightOffset}`) },
      ]);
      await w.reply("wamid.in.a", a, at(`${monday}T00:00:00${nightOffset}`));

      const body = await retention(adminKey, `period=week&periods=2&to=${sunday}&timezone=${timeZone}`);
      expect(body).toEqual({
        cohorts: [
          {
            start: weekStart,
            size: 2,
            values: [
              { period: 0, count: 2, rate: 1, inProgress: false },
              { period: 1, count: 1, rate: 0.5, inProgress: false },
            ],
          },
        ],
        average: [
          { period: 0, rate: 1 },
          { period: 1, rate: 0.5 },
        ],
      });
      const next = await retention(adminKey, `period=week&periods=1&from=${monday}&timezone=${timeZone}`);
      expect(next.cohorts.map((cohort: { size: number }) => cohort.size)).toEqual([1]);
    },
  );

  it("moves a contact to an earlier cohort when an older message of theirs arrives late", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const g = phone(7);
    await w.register([{ id: "wamid.g2", contact: g, sentAt: at("2026-03-10T10:00:00Z") }]);
    await w.click("clk_g", g, at("2026-03-11T10:00:00Z"));
    await w.reply("wamid.in.g", g, at("2026-03-04T10:00:00Z"));
    const weeks = () => retention(adminKey, "period=week&periods=3&from=2026-03-02&to=2026-03-15");
    const summary = (body: { cohorts: { start: string; values: { count: number }[] }[] }) =>
      body.cohorts.map((c) => [c.start, c.values.map((v) => v.count)]);
    expect(summary(await weeks())).toEqual([["2026-03-09T00:00:00.000Z", [1, 0]]]);

    // A status of a message never registered, older than everything known of the contact.
    await w.status("wamid.g1", g, "delivered", at("2026-03-03T09:00:00Z"));
    expect(summary(await weeks())).toEqual([["2026-03-02T00:00:00.000Z", [1, 1, 0]]]);
    const days = () => retention(adminKey, "period=day&periods=2&from=2026-03-01&to=2026-03-10");
    expect(summary(await days())).toEqual([["2026-03-03T00:00:00.000Z", [1, 1]]]);

    // Its registration, later still, says it was sent the day before.
    await w.register([{ id: "wamid.g1", contact: g, sentAt: at("2026-03-02T08:00:00Z") }]);
    expect(summary(await weeks())).toEqual([["2026-03-02T00:00:00.000Z", [1, 1, 0]]]);
    expect(summary(await days())).toEqual([["2026-03-02T00:00:00.000Z", [1, 0]]]);
    const counts = await env.DB.prepare(
      "SELECT grain, SUM(size) AS contacts FROM retention_cohorts WHERE workspace_id = ?1 AND start_kind = 'message' GROUP BY grain",
    )
      .bind(workspace.id)
      .all();
    expect(counts.results).toEqual([
      { grain: "d", contacts: 1 },
      { grain: "m", contacts: 1 },
      { grain: "w", contacts: 1 },
    ]);
  });

  it("counts replayed and repeated events once", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const a = phone(1);
    const write = async () => {
      await w.register([{ id: "wamid.a", contact: a, sentAt: at("2026-03-02T10:00:00Z") }]);
      await w.status("wamid.a", a, "read", at("2026-03-02T11:00:00Z"));
      await w.click("clk_1", a, at("2026-03-10T10:00:00Z"));
      await w.click("clk_2", a, at("2026-03-10T10:05:00Z"));
      await w.reply("wamid.in.a", a, at("2026-03-10T10:10:00Z"));
      await w.convert("order-1", a, at("2026-03-10T11:00:00Z"));
    };
    await write();
    const first = await retention(adminKey, "period=week&periods=2&from=2026-03-02&to=2026-03-08");
    expect(first.cohorts).toEqual([
      {
        start: "2026-03-02T00:00:00.000Z",
        size: 1,
        values: [
          { period: 0, count: 1, rate: 1, inProgress: false },
          { period: 1, count: 1, rate: 1, inProgress: false },
        ],
      },
    ]);
    await write();
    expect(await retention(adminKey, "period=week&periods=2&from=2026-03-02&to=2026-03-08")).toEqual(first);
    const quarters = await env.DB.prepare(
      "SELECT quarter, mask, prev_quarter FROM retention_quarters WHERE workspace_id = ?1",
    )
      .bind(workspace.id)
      .all();
    const quarter = at("2026-03-10T10:00:00Z") / (15 * MINUTE);
    expect(quarters.results).toEqual([
      { quarter, mask: 3, prev_quarter: -1 },
      { quarter: quarter + 4, mask: 4, prev_quarter: quarter },
    ]);
  });

  it("answers CSV with one row per cohort and the count of each period", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b] = [1, 2].map(phone);
    await w.register([
      { id: "wamid.a", contact: a, sentAt: at("2026-03-02T10:00:00Z") },
      { id: "wamid.b", contact: b, sentAt: at("2026-03-09T10:00:00Z") },
    ]);
    await w.reply("wamid.in.a", a, at("2026-03-16T10:00:00Z"));
    const expected =
      "start,size,period_0,period_1,period_2\r\n" +
      "2026-03-02T00:00:00.000Z,1,1,0,1\r\n" +
      "2026-03-09T00:00:00.000Z,1,1,0,\r\n";
    const csv = await callWorker("/api/v1/reports/retention?period=week&periods=3&from=2026-03-02&format=csv", {
      key: adminKey,
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(await csv.text()).toBe(expected);
    const accepted = await callWorker("/api/v1/reports/retention?period=week&periods=3&from=2026-03-02", {
      key: adminKey,
      headers: { accept: "text/csv" },
    });
    expect(await accepted.text()).toBe(expected);
  });

  it.each([
    ["period=year", "period"],
    ["periods=0", "periods"],
    ["periods=61", "periods"],
    ["periods=two", "periods"],
    ["start=reply", "start"],
    ["returnOn=open", "returnOn"],
    ["campaignId=", "campaignId"],
    [`campaignId=${"c".repeat(65)}`, "campaignId"],
    ["timezone=Mars/Olympus", "timezone"],
    ["from=2026-03-10&to=2026-03-01", "to"],
    ["from=2026-03-10T10:07:00Z", "from"],
  ])("refuses %s with a 400 naming %s", async (params, field) => {
    const { adminKey } = await createWorkspace();
    const res = await callJson(`/api/v1/reports/retention?${params}`, { key: adminKey });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toContainEqual([field]);
  });

  it("keeps to the periods with contacts, and refuses more than 1,000 cohorts", async () => {
    // Years apart: the workspace keeps ten years of events.
    const { workspace, adminKey } = await createWorkspace({ retentionDays: 3650 });
    const w = historyWriter(workspace.id, adminKey);
    await w.register([{ id: "wamid.old", contact: phone(1), sentAt: at("2022-01-03T10:00:00Z") }]);
    expect((await retention(adminKey, "period=day&from=2000-01-01&to=2025-01-01")).cohorts).toHaveLength(1);
    await w.register([{ id: "wamid.new", contact: phone(2), sentAt: at("2025-06-03T10:00:00Z") }]);
    const everything = await retention(adminKey, "period=month&periods=1");
    expect(everything.cohorts.map((c: { start: string }) => c.start)).toEqual([
      "2022-01-01T00:00:00.000Z",
      "2025-06-01T00:00:00.000Z",
    ]);
    const res = await callJson("/api/v1/reports/retention?period=day", { key: adminKey });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([["from"]]);
  });

  it("is described in the OpenAPI document with its parameters", async () => {
    const res = await callJson("/api/v1/openapi.json");
    const operation = res.body.paths["/api/v1/reports/retention"].get;
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["period", "periods", "start", "returnOn", "from", "to", "timezone", "format"]),
    );
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "403"]));
  });

  it("needs an API key with reports:read", async () => {
    const { adminKey } = await createWorkspace();
    const noKey = await callJson("/api/v1/reports/retention");
    expect(noKey.status).toBe(401);
    expect(noKey.body).toEqual(expectErrorEnvelope("unauthorized"));
    const writer = await createApiKey(adminKey, ["links:write", "events:write"]);
    const forbidden = await callJson("/api/v1/reports/retention", { key: writer });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual(expectErrorEnvelope("forbidden"));
    const reader = await createApiKey(adminKey, ["reports:read"]);
    expect((await callJson("/api/v1/reports/retention", { key: reader })).status).toBe(200);
  });

  it("shows only the key's own workspace, even for the same contacts", async () => {
    const mine = await createWorkspace();
    const theirs = await createWorkspace();
    const a = phone(1);
    const w1 = historyWriter(mine.workspace.id, mine.adminKey);
    const w2 = historyWriter(theirs.workspace.id, theirs.adminKey);
    await w1.register([{ id: "wamid.a", contact: a, sentAt: at("2026-03-09T10:00:00Z") }]);
    await w2.register([
      { id: "wamid.a", contact: a, sentAt: at("2026-03-02T10:00:00Z") },
      { id: "wamid.b", contact: phone(2), sentAt: at("2026-03-09T10:00:00Z") },
    ]);
    await w2.click("clk_a", a, at("2026-03-16T10:00:00Z"));
    const body = await retention(mine.adminKey, "period=week&periods=2&from=2026-03-02");
    expect(body.cohorts).toEqual([
      {
        start: "2026-03-09T00:00:00.000Z",
        size: 1,
        values: [
          { period: 0, count: 1, rate: 1, inProgress: false },
          { period: 1, count: 0, rate: 0, inProgress: true },
        ],
      },
    ]);
    const filter = { workspaceId: mine.workspace.id, timeZone: "UTC", campaignIds: [], variant: null };
    expect(
      await retentionRate(await applied(), {
        ...filter,
        from: at("2026-03-16T00:00:00Z"),
        to: at("2026-03-18T00:00:00Z"),
      }),
    ).toBe(null);
  });

  it("reports the same after the raw clicks are purged", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b] = [1, 2].map(phone);
    await w.click("clk_a1", a, at("2026-02-02T10:00:00Z"));
    await w.click("clk_a2", a, at("2026-02-10T10:00:00Z"));
    await w.click("clk_b1", b, at("2026-02-03T10:00:00Z"));
    await w.click("clk_b2", b, at("2026-02-17T10:00:00Z"));
    const params = "period=week&periods=3&start=click&returnOn=click&from=2026-02-02&to=2026-02-08";
    const before = await retention(adminKey, params);
    const zoned = await retention(adminKey, `${params}&timezone=Asia/Kolkata`);
    const filter = { workspaceId: workspace.id, timeZone: "UTC", campaignIds: [], variant: null };
    const range = { from: at("2026-02-09T00:00:00Z"), to: at("2026-02-16T00:00:00Z") };
    expect(await retentionRate(await applied(), { ...filter, ...range })).toBe(0.5);

    expect((await housekeepingTurn(env, NOW + 400 * DAY)).deleted.clicks).toBeGreaterThanOrEqual(4);
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM clicks WHERE workspace_id = ?1")
      .bind(workspace.id)
      .first("n");
    expect(left).toBe(0);
    expect(before.cohorts[0].values.map((v: { count: number }) => v.count)).toEqual([2, 1, 1]);
    expect(await retention(adminKey, params)).toEqual(before);
    expect(await retention(adminKey, `${params}&timezone=Asia/Kolkata`)).toEqual(zoned);
    expect(await retentionRate(await applied(), { ...filter, ...range })).toBe(0.5);
  });
});

describe("retentionRate", () => {
  it("is the share of the previous range's active contacts who are active again, to the quarter hour", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const w = historyWriter(workspace.id, adminKey);
    const [a, b, c, d, e, f, g, h] = [1, 2, 3, 4, 5, 6, 7, 8].map(phone);
    await w.click("clk_a", a, at("2026-03-02T10:00:00Z"));
    await w.reply("wamid.in.a", a, at("2026-03-09T10:00:00Z"));
    await w.click("clk_b", b, at("2026-03-03T10:00:00Z"));
    await w.reply("wamid.in.c", c, at("2026-03-10T10:00:00Z"));
    await w.convert("order-d1", d, at("2026-03-05T10:00:00Z"));
    await w.convert("order-d2", d, at("2026-03-12T10:00:00Z"));
    // Within one day: the previous range is [08:00, 10:00).
    await w.click("clk_e1", e, at("2026-03-14T08:30:00Z"));
    await w.click("clk_e2", e, at("2026-03-14T11:00:00Z"));
    await w.reply("wamid.in.f", f, at("2026-03-14T09:45:00Z"));
    await w.convert("order-g1", g, at("2026-03-14T07:59:00Z"));
    await w.convert("order-g2", g, at("2026-03-14T10:30:00Z"));
    await w.click("clk_h1", h, at("2026-03-14T09:00:00Z"));
    await w.click("clk_h2", h, at("2026-03-14T09:30:00Z"));
    await w.click("clk_h3", h, at("2026-03-14T13:00:00Z"));

    const rate = async (from: string, to: string) =>
      retentionRate(await applied(), {
        workspaceId: workspace.id,
        from: at(from),
        to: at(to),
        timeZone: "UTC",
        campaignIds: [],
        variant: null,
      });
    expect(await rate("2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z")).toBe(2 / 3);
    expect(await rate("2026-03-14T10:00:00Z", "2026-03-14T12:00:00Z")).toBe(1 / 3);
    expect(await rate("2026-03-08T18:30:00Z", "2026-03-15T18:30:00Z")).toBe(2 / 3);
    expect(await rate("2026-02-01T00:00:00Z", "2026-02-08T00:00:00Z")).toBe(null);
  });
});

// ---- property: random histories against a brute-force computation over the raw events ----------

const CASES: Omit<RetentionCase, "from" | "to">[] = [
  { period: "week", periods: 8, start: "message", returnOn: "any", timeZone: "UTC" },
  { period: "day", periods: 12, start: "click", returnOn: "click", timeZone: "Asia/Kolkata" },
  { period: "month", periods: 3, start: "message", returnOn: "conversion", timeZone: "America/New_York" },
  { period: "week", periods: 6, start: "click", returnOn: "reply", timeZone: "America/New_York" },
  { period: "day", periods: 20, start: "message", returnOn: "any", timeZone: "UTC" },
  { period: "week", periods: 10, start: "message", returnOn: "reply", timeZone: "Asia/Kolkata" },
  { period: "month", periods: 3, start: "click", returnOn: "any", timeZone: "UTC" },
  { period: "day", periods: 7, start: "message", returnOn: "conversion", timeZone: "Africa/Abidjan" },
  { period: "day", periods: 9, start: "message", returnOn: "any", timeZone: "America/New_York" },
  { period: "day", periods: 15, start: "click", returnOn: "any", timeZone: "Asia/Kolkata" },
  { period: "week", periods: 9, start: "message", returnOn: "any", timeZone: "America/New_York" },
  { period: "week", periods: 5, start: "click", returnOn: "click", timeZone: "Pacific/Chatham" },
  { period: "day", periods: 30, start: "message", returnOn: "reply", timeZone: "America/Los_Angeles" },
  { period: "month", periods: 3, start: "message", returnOn: "any", timeZone: "Asia/Kathmandu" },
];

// Each random history is written through the API, then read back in fourteen ways.
describe("retention of random histories", { timeout: 30_000 }, () => {
  it.each([1, 2, 3, 4, 5])("matches a brute-force computation over the raw events (seed %i)", async (seed) => {
    vi.setSystemTime(PROPERTY_NOW);
    const r = seededRandom(seed);
    const { workspace, adminKey } = await createWorkspace();
    const sim = await writeRandomHistory(r, workspace.id, adminKey);
    const now = Date.now();
    const defaultTo = Math.ceil((now + 1) / QUARTER) * QUARTER;

    for (const c of CASES) {
      // Ranges cut anywhere on a quarter hour, or exactly where the case's local periods turn (a
      // weekly range then ends on a Sunday night), or none at all.
      const shape = r.next();
      const turn = (index: number) => bruteStart(index, c.period, c.timeZone);
      const first = bruteIndex(BASE, c.period, c.timeZone) + r.between(-1, c.period === "month" ? 1 : 6);
      let from: number | undefined;
      let to = defaultTo;
      if (shape < 0.35) {
        from = BASE + r.between(-7 * 96, 40 * 96) * QUARTER;
        to = Math.min(from + r.between(96, 50 * 96) * QUARTER, defaultTo);
      } else if (shape < 0.7) {
        from = turn(first);
        to = Math.min(turn(first + r.between(1, 3)), defaultTo);
      }
      const range = from === undefined ? "" : `&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
      const params = `period=${c.period}&periods=${c.periods}&start=${c.start}&returnOn=${c.returnOn}&timezone=${c.timeZone}${range}`;
      const body = await retention(adminKey, params);
      const expected = expectedRetention(sim, { ...c, from: from ?? 0, to }, now);
      const received = {
        ...body,
        cohorts: body.cohorts.map((cohort: { start: string }) => ({ ...cohort, start: Date.parse(cohort.start) })),
      };
      expect(received, params).toEqual(expected);
    }

    for (let i = 0; i < 8; i++) {
      const wholeDays = i % 2 === 0;
      const from = wholeDays ? BASE + r.between(0, 60) * DAY : BASE + r.between(0, 60 * 96) * QUARTER;
      const to = from + (wholeDays ? r.between(1, 21) * DAY : r.between(1, 14 * 96) * QUARTER);
      const filter = { workspaceId: workspace.id, from, to, timeZone: "UTC", campaignIds: [], variant: null };
      expect(await retentionRate(await applied(), filter), `${new Date(from).toISOString()} ${to - from}`).toBe(
        expectedRetentionRate(sim, from, to),
      );
    }
  });
});
