import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertClicks, type ClickRecord } from "../src/db/clicks";
import {
  callJson,
  callWorker,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
} from "./helpers";
import { statusBody } from "./whatsapp-helpers";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

function report(key: string, path: string) {
  return callJson(`/api/v1/reports/${path}`, { key });
}

async function points(key: string, params: string) {
  const res = await report(key, `timeseries?${params}`);
  expect(res.status).toBe(200);
  return res.body.points as { start: string; value: number }[];
}

async function seedLink() {
  const { workspace, adminKey } = await createWorkspace();
  const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
  const link = await createLink(adminKey, { campaignId: campaign.id, variant: "A" });
  const click = (occurredAt: string, fields: Partial<ClickRecord> = {}): ClickRecord => ({
    id: crypto.randomUUID(),
    workspaceId: workspace.id,
    linkId: link.id,
    campaignId: campaign.id,
    variant: "A",
    messageId: null,
    contactHash: null,
    kind: "click",
    visitorHash: crypto.randomUUID(),
    dedupSeconds: 3600,
    occurredAt: at(occurredAt),
    country: "IN",
    deviceType: "mobile",
    os: "Android",
    browser: "Chrome",
    referrerHost: null,
    userAgent: null,
    ...fields,
  });
  return { workspace, adminKey, campaign, link, click };
}

describe("GET /api/v1/reports/timeseries", () => {
  it("counts human clicks per local day in Asia/Kolkata, with empty days as 0", async () => {
    const { adminKey, click } = await seedLink();
    await insertClicks(env.DB, [
      click("2026-05-31T18:29:00Z"),
      click("2026-05-31T18:30:00Z"),
      click("2026-06-01T18:29:00Z"),
      click("2026-06-01T20:00:00Z", { kind: "bot" }),
      click("2026-06-01T20:00:00Z", { kind: "preview" }),
      click("2026-06-03T10:00:00Z"),
      click("2026-06-03T18:30:00Z"),
    ]);
    const res = await report(adminKey, "timeseries?from=2026-06-01&to=2026-06-03&timezone=Asia/Kolkata");
    expect(res).toMatchObject({
      status: 200,
      body: {
        metric: "clicks",
        interval: "day",
        timezone: "Asia/Kolkata",
        points: [
          { start: "2026-06-01T00:00:00.000+05:30", value: 2 },
          { start: "2026-06-02T00:00:00.000+05:30", value: 0 },
          { start: "2026-06-03T00:00:00.000+05:30", value: 1 },
        ],
      },
    });
  });

  it("cuts hours and days in Europe/Berlin across the end of summer time", async () => {
    const { adminKey, click } = await seedLink();
    await insertClicks(env.DB, [
      click("2026-10-24T21:59:00Z"), // 23:59 on the 24th, summer time
      click("2026-10-24T22:00:00Z"), // 00:00 on the 25th
      click("2026-10-25T00:30:00Z"), // the first 02:30
      click("2026-10-25T01:30:00Z"), // the second 02:30
      click("2026-10-25T01:45:00Z"),
      click("2026-10-25T22:59:00Z"), // 23:59 on the 25th, winter time
    ]);
    expect(
      await points(
        adminKey,
        "interval=hour&from=2026-10-25T00:00:00%2B02:00&to=2026-10-25T04:00:00%2B01:00&timezone=Europe/Berlin",
      ),
    ).toEqual([
      { start: "2026-10-25T00:00:00.000+02:00", value: 1 },
      { start: "2026-10-25T01:00:00.000+02:00", value: 0 },
      { start: "2026-10-25T02:00:00.000+02:00", value: 1 },
      { start: "2026-10-25T02:00:00.000+01:00", value: 2 },
      { start: "2026-10-25T03:00:00.000+01:00", value: 0 },
    ]);
    expect(await points(adminKey, "from=2026-10-24&to=2026-10-26&timezone=Europe/Berlin")).toEqual([
      { start: "2026-10-24T00:00:00.000+02:00", value: 1 },
      { start: "2026-10-25T00:00:00.000+02:00", value: 5 },
      { start: "2026-10-26T00:00:00.000+01:00", value: 0 },
    ]);
  });

  it("starts weeks on Monday and dates a partial first week by its Monday", async () => {
    const { adminKey, click } = await seedLink();
    await insertClicks(env.DB, [
      click("2026-06-02T12:00:00Z"), // Tuesday, before the range
      click("2026-06-03T00:00:00Z"), // Wednesday
      click("2026-06-07T23:59:00Z"), // Sunday
      click("2026-06-08T00:00:00Z"), // Monday
      click("2026-06-16T23:59:00Z"),
      click("2026-06-17T00:00:00Z"), // after the range
    ]);
    expect(await points(adminKey, "interval=week&from=2026-06-03&to=2026-06-16")).toEqual([
      { start: "2026-06-01T00:00:00.000Z", value: 2 },
      { start: "2026-06-08T00:00:00.000Z", value: 1 },
      { start: "2026-06-15T00:00:00.000Z", value: 1 },
    ]);
  });

  it("counts conversions and sums revenue exactly, at the conversion's own time", async () => {
    const { adminKey, click } = await seedLink();
    const first = click("2026-06-01T09:00:00Z");
    await insertClicks(env.DB, [first]);
    const convert = (occurredAt: string, value: number, orderId: string, clickId?: string) =>
      callJson("/api/v1/conversions", {
        key: adminKey,
        body: { event: "purchase", value, currency: "EUR", orderId, occurredAt, clickId },
      });
    await convert("2026-06-01T10:00:00Z", 0.1, "o-1", first.id);
    await convert("2026-06-01T11:00:00Z", 0.2, "o-2");
    expect((await convert("2026-06-01T11:00:00Z", 0.2, "o-2")).body.duplicate).toBe(true);
    await convert("2026-06-03T11:00:00Z", 10.5, "o-3");
    const range = "from=2026-06-01&to=2026-06-03";
    expect(await points(adminKey, `metric=conversions&${range}`)).toEqual([
      { start: "2026-06-01T00:00:00.000Z", value: 2 },
      { start: "2026-06-02T00:00:00.000Z", value: 0 },
      { start: "2026-06-03T00:00:00.000Z", value: 1 },
    ]);
    expect((await points(adminKey, `metric=revenue&${range}`)).map((p) => p.value)).toEqual([0.3, 0, 10.5]);
    expect((await points(adminKey, `metric=clicks&${range}`)).map((p) => p.value)).toEqual([1, 0, 0]);
  });

  it("counts the messages sent per period and how many of them were delivered and read", async () => {
    const { adminKey } = await createWorkspace();
    const messages = [
      { id: "wamid.1", sentAt: "2026-06-01T09:00:00Z" },
      { id: "wamid.2", sentAt: "2026-06-01T11:00:00Z" },
      { id: "wamid.3", sentAt: "2026-06-02T09:00:00Z" },
      { id: "wamid.4", sentAt: "2026-06-02T10:00:00Z" },
    ].map((m, i) => ({ ...m, contact: `+1415555000${i}` }));
    await callJson("/api/v1/messages", { key: adminKey, body: { messages } });
    const statuses = statusBody(
      { id: "wamid.1", status: "delivered", at: at("2026-06-01T09:01:00Z") },
      { id: "wamid.1", status: "read", at: at("2026-06-01T10:00:00Z") },
      { id: "wamid.2", status: "delivered", at: at("2026-06-01T11:01:00Z") },
      // Read the next day: it counts where the message was sent. Read implies delivered.
      { id: "wamid.4", status: "read", at: at("2026-06-03T08:00:00Z") },
      // Never registered: placed at its first status.
      { id: "wamid.5", status: "read", at: at("2026-06-03T12:00:00Z") },
    );
    expect((await callJson("/api/v1/statuses", { key: adminKey, body: statuses })).status).toBe(200);
    const series = async (metric: string) =>
      (await points(adminKey, `metric=${metric}&from=2026-06-01&to=2026-06-03`)).map((p) => p.value);
    expect(await series("sent")).toEqual([2, 2, 1]);
    expect(await series("delivered")).toEqual([2, 1, 1]);
    expect(await series("read")).toEqual([1, 1, 1]);
  });

  it("filters by campaign and by variant", async () => {
    const { adminKey, campaign, click } = await seedLink();
    const otherCampaign = await createCampaign(adminKey);
    await insertClicks(env.DB, [
      click("2026-06-01T09:00:00Z"),
      click("2026-06-01T10:00:00Z", { variant: "B" }),
      click("2026-06-01T11:00:00Z", { campaignId: otherCampaign.id, variant: null }),
    ]);
    const value = async (params: string) =>
      (await points(adminKey, `from=2026-06-01&to=2026-06-01&${params}`))[0].value;
    expect(await value("")).toBe(3);
    expect(await value(`campaignId=${campaign.id}`)).toBe(2);
    expect(await value(`campaignId=${campaign.id}&variant=B`)).toBe(1);
    expect(await value(`campaignId=${otherCampaign.id}&campaignId=${campaign.id}`)).toBe(3);
    expect(await value(`campaignId=cmp_none`)).toBe(0);
  });

  it("without from, starts at the first period with events instead of 1970", async () => {
    const { adminKey, click } = await seedLink();
    expect(await points(adminKey, "to=2026-06-05")).toEqual([]);
    await insertClicks(env.DB, [click("2026-06-03T10:00:00Z"), click("2026-06-05T10:00:00Z")]);
    expect(await points(adminKey, "to=2026-06-05&interval=day")).toEqual([
      { start: "2026-06-03T00:00:00.000Z", value: 1 },
      { start: "2026-06-04T00:00:00.000Z", value: 0 },
      { start: "2026-06-05T00:00:00.000Z", value: 1 },
    ]);
    expect(await points(adminKey, "to=2026-06-05&metric=conversions")).toEqual([]);
  });

  it("answers CSV with start,value rows", async () => {
    const { adminKey, click } = await seedLink();
    await insertClicks(env.DB, [click("2026-06-02T10:00:00Z")]);
    const res = await callWorker("/api/v1/reports/timeseries?from=2026-06-01&to=2026-06-02&format=csv", {
      key: adminKey,
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(await res.text()).toBe("start,value\r\n2026-06-01T00:00:00.000Z,0\r\n2026-06-02T00:00:00.000Z,1\r\n");
  });

  it("never shows another workspace's events", async () => {
    const other = await seedLink();
    await insertClicks(env.DB, [other.click("2026-06-01T10:00:00Z")]);
    const { adminKey } = await createWorkspace();
    expect(await points(adminKey, "from=2026-06-01&to=2026-06-01")).toEqual([
      { start: "2026-06-01T00:00:00.000Z", value: 0 },
    ]);
    expect(await points(adminKey, `from=2026-06-01&to=2026-06-01&campaignId=${other.campaign.id}`)).toEqual([
      { start: "2026-06-01T00:00:00.000Z", value: 0 },
    ]);
  });

  it.each([
    ["an unknown metric", "metric=uniqueClicks", ["metric"]],
    ["an unknown interval", "interval=month", ["interval"]],
    ["an unknown time zone", "timezone=Europe/Atlantis", ["timezone"]],
    ["a from that is not on a quarter hour", "from=2026-06-01T09:10:00Z", ["from"]],
    ["a to that is not on a quarter hour", "from=2026-06-01&to=2026-06-02T00:00:30Z", ["to"]],
    ["more than 5,000 points", "interval=hour&from=2026-01-01&to=2026-08-01", ["interval"]],
  ])("refuses %s with 400", async (_, params, path) => {
    const { adminKey } = await createWorkspace();
    const res = await report(adminKey, `timeseries?${params}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toContainEqual(path);
  });

  it("allows exactly 5,000 points", async () => {
    const { adminKey } = await createWorkspace();
    const from = at("2026-01-01T00:00:00Z");
    const res = await points(adminKey, `interval=hour&from=${iso(from)}&to=${iso(from + 5000 * 3_600_000)}`);
    expect(res).toHaveLength(5000);
    expect(res[4999]).toEqual({ start: iso(from + 4999 * 3_600_000), value: 0 });
  });
});

describe("GET /api/v1/reports/heatmap", () => {
  const cell = (cells: { weekday: number; hour: number; value: number }[], weekday: number, hour: number) =>
    cells.find((c) => c.weekday === weekday && c.hour === hour)!.value;

  it("counts human clicks by local weekday and hour: all 168 cells, Monday first", async () => {
    const { adminKey, click } = await seedLink();
    await insertClicks(env.DB, [
      click("2026-06-02T04:30:00Z"), // Tuesday 10:00 in Kolkata
      click("2026-06-09T05:29:00Z"), // Tuesday 10:59
      click("2026-06-09T05:29:00Z", { kind: "bot" }),
      click("2026-06-07T18:29:00Z"), // Sunday 23:59
      click("2026-06-07T18:30:00Z"), // Monday 0:00
    ]);
    const res = await report(adminKey, "heatmap?timezone=Asia/Kolkata");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ metric: "clicks", timezone: "Asia/Kolkata" });
    const cells = res.body.cells;
    expect(cells).toHaveLength(168);
    expect(cells.slice(0, 2)).toEqual([
      { weekday: 0, hour: 0, value: 1 },
      { weekday: 0, hour: 1, value: 0 },
    ]);
    expect(cells[167]).toEqual({ weekday: 6, hour: 23, value: 1 });
    expect(cell(cells, 1, 10)).toBe(2);
    expect(cells.reduce((sum: number, c: { value: number }) => sum + c.value, 0)).toBe(4);

    const utc = (await report(adminKey, "heatmap?from=2026-06-02&to=2026-06-08")).body.cells;
    expect(cell(utc, 1, 4)).toBe(1);
    expect(cell(utc, 6, 18)).toBe(2);
  });

  it("counts reads by the local weekday and hour the messages were sent at", async () => {
    const { adminKey } = await createWorkspace();
    const messages = [
      { id: "wamid.1", sentAt: "2026-06-02T04:30:00Z" }, // Tuesday 10:00 in Kolkata
      { id: "wamid.2", sentAt: "2026-06-02T04:45:00Z" },
      { id: "wamid.3", sentAt: "2026-06-02T05:30:00Z" }, // Tuesday 11:00, never read
    ].map((m, i) => ({ ...m, contact: `+1415555000${i}` }));
    await callJson("/api/v1/messages", { key: adminKey, body: { messages } });
    const statuses = statusBody(
      { id: "wamid.1", status: "read", at: at("2026-06-03T15:00:00Z") },
      { id: "wamid.2", status: "read", at: at("2026-06-02T05:00:00Z") },
      { id: "wamid.3", status: "delivered", at: at("2026-06-02T05:31:00Z") },
    );
    await callJson("/api/v1/statuses", { key: adminKey, body: statuses });
    const res = await report(adminKey, "heatmap?metric=read&timezone=Asia/Kolkata");
    expect(res.body.metric).toBe("read");
    expect(cell(res.body.cells, 1, 10)).toBe(2);
    expect(res.body.cells.filter((c: { value: number }) => c.value > 0)).toHaveLength(1);
  });

  it("answers CSV with weekday,hour,value rows", async () => {
    const { adminKey, click } = await seedLink();
    await insertClicks(env.DB, [click("2026-06-01T00:30:00Z")]);
    const res = await callWorker("/api/v1/reports/heatmap?format=csv", { key: adminKey });
    const lines = (await res.text()).trimEnd().split("\r\n");
    expect(lines).toHaveLength(169);
    expect(lines.slice(0, 3)).toEqual(["weekday,hour,value", "0,0,1", "0,1,0"]);
  });

  it.each([
    ["an unknown metric", "metric=sent", ["metric"]],
    ["an unknown time zone", "timezone=Nowhere", ["timezone"]],
    ["a from that is not on a quarter hour", "from=2026-06-01T09:00:01Z", ["from"]],
  ])("refuses %s with 400", async (_, params, path) => {
    const { adminKey } = await createWorkspace();
    const res = await report(adminKey, `heatmap?${params}`);
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toContainEqual(path);
  });
});

describe("report auth", () => {
  it.each(["timeseries", "heatmap"])("%s needs a reports:read key: none gets 401, links:write 403", async (path) => {
    const { adminKey } = await createWorkspace();
    const writer = await createApiKey(adminKey, ["links:write"]);
    const reader = await createApiKey(adminKey, ["reports:read"]);
    expect(await callJson(`/api/v1/reports/${path}`)).toMatchObject({
      status: 401,
      body: expectErrorEnvelope("unauthorized"),
    });
    expect(await report(writer, path)).toMatchObject({ status: 403, body: expectErrorEnvelope("forbidden") });
    expect((await report(reader, path)).status).toBe(200);
  });
});

describe("the OpenAPI document", () => {
  it("describes the breakdown, timeseries and heatmap reports with their parameters", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    const parameters = (path: string) =>
      Object.fromEntries(
        body.paths[`/api/v1/reports/${path}`].get.parameters.map((p: { name: string; schema: unknown }) => [
          p.name,
          p.schema,
        ]),
      );
    expect(parameters("timeseries")).toMatchObject({
      metric: { enum: ["sent", "delivered", "read", "clicks", "conversions", "revenue", "cost"], default: "clicks" },
      interval: { enum: ["hour", "day", "week"], default: "day" },
      timezone: { default: "UTC" },
    });
    expect(parameters("heatmap")).toMatchObject({ metric: { enum: ["read", "clicks"] } });
    expect(parameters("breakdown")).toMatchObject({
      dimension: { enum: ["country", "device", "os", "browser", "referrer", "link", "variant"] },
      metric: { enum: ["clicks", "uniqueClicks", "conversions"] },
      limit: { default: 100, maximum: 1000 },
    });
    expect(body.paths["/api/v1/reports/timeseries"].get.description).toMatch(/Without `from`/);
  });
});
