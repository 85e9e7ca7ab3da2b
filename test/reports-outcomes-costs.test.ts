import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertClicks } from "../src/db/clicks";
import { EXPERIMENT_ERROR, LIMITED_ERROR } from "../src/lib/whatsapp-errors";
import { ROLLUPS } from "../src/rollups/declarations";
import {
  callJson,
  callWorker,
  clickRecord,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
  type Json,
} from "./helpers";
import { statusBody } from "./whatsapp-helpers";

// Failure outcomes, costs from a rate card and replies within a window, worked out by hand.

const T0 = Date.UTC(2026, 9, 5, 9);
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

async function get(path: string, key: string) {
  const res = await callJson(path, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function register(key: string, messages: Record<string, unknown>[]) {
  expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
}

async function relay(key: string, body: unknown) {
  expect((await callJson("/api/v1/statuses", { key, body })).status).toBe(200);
}

describe("failure outcomes", () => {
  it("are declared in the rollups with the codes the rest of the service knows (declarations import nothing)", () => {
    const measures = ROLLUPS.messages.sources[0].measures;
    expect(measures.limited).toMatch(new RegExp(`error_code IS ${LIMITED_ERROR}$`));
    expect(measures.experiment).toMatch(new RegExp(`error_code IS ${EXPERIMENT_ERROR}$`));
  });

  it("counts limited (131049) and experiment (130472) apart from other failures, and a later delivery as delivered", async () => {
    const { adminKey: key } = await createWorkspace();
    const messages = ["limited", "experiment", "other", "recovered", "bare", "delivered"].map((name, i) => ({
      id: `wamid.${name}`,
      contact: `+1415555010${i}`,
      category: "marketing",
      sentAt: iso(T0),
    }));
    await register(key, messages);
    const failed = (id: string, code?: number) => ({
      id: `wamid.${id}`,
      status: "failed" as const,
      at: T0 + MIN,
      ...(code ? { errors: [{ code, title: `Error ${code}` }] } : {}),
    });
    await relay(
      key,
      statusBody(
        failed("limited", 131049),
        failed("experiment", 130472),
        failed("other", 131026),
        failed("recovered", 131049),
        failed("bare"),
        { id: "wamid.recovered", status: "delivered", at: T0 + 2 * MIN },
        { id: "wamid.delivered", status: "delivered", at: T0 + 2 * MIN },
      ),
    );

    const funnel = await get("/api/v1/reports/funnel?groupBy=category", key);
    expect(funnel.steps.map((s: Json) => s.count)).toEqual([6, 2, 0, 0, 0]);
    expect(funnel.outcomes).toEqual({ failed: 2, limited: 1, experiment: 1 });
    expect(funnel.groups).toEqual([
      expect.objectContaining({ key: "marketing", outcomes: { failed: 2, limited: 1, experiment: 1 } }),
    ]);

    const metrics = await get("/api/v1/reports/metrics", key);
    expect(metrics.messages).toMatchObject({ sent: 6, delivered: 2, failed: 2, limited: 1, experiment: 1 });
    expect(metrics.limitedRate).toBe(1 / 6);
    expect(metrics.experimentRate).toBe(1 / 6);

    const res = await callWorker("/api/v1/export/messages?format=ndjson", { key });
    const rows = (await res.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.outcome]]))).toEqual({
      "wamid.limited": ["failed", "limited"],
      "wamid.experiment": ["failed", "experiment"],
      "wamid.other": ["failed", "failed"],
      "wamid.recovered": ["delivered", null],
      "wamid.bare": ["failed", "failed"],
      "wamid.delivered": ["delivered", null],
    });
  });
});

describe("responseRate within responseWindow", () => {
  it("counts a message as replied when its first reply came within the window of the send, edges included", async () => {
    const { adminKey: key } = await createWorkspace();
    // Delay of each message's first reply (null: none).
    const delays: Record<string, number | null> = {
      instant: 0,
      "half-hour": 30 * MIN,
      "day-exact": 24 * HOUR,
      "day-and-a-second": 24 * HOUR + 1000,
      "80h": 80 * HOUR,
      none: null,
    };
    const names = Object.keys(delays);
    await register(
      key,
      names.map((name, i) => ({ id: `wamid.${name}`, contact: `+4477009001${10 + i}`, sentAt: iso(T0) })),
    );
    await relay(
      key,
      statusBody(...names.map((name) => ({ id: `wamid.${name}`, status: "delivered" as const, at: T0 }))),
    );
    const replies = names
      .map((name, i) => ({ name, i, delay: delays[name] }))
      .filter((r) => r.delay !== null)
      .map((r) => ({
        from: `4477009001${10 + r.i}`,
        id: `wamid.in.${r.name}`,
        timestamp: String((T0 + r.delay!) / 1000),
        type: "text",
        text: { body: "Yes" },
        context: { from: "15550783881", id: `wamid.${r.name}` },
      }));
    const body = statusBody() as Json;
    body.entry[0].changes[0].value.statuses = undefined;
    body.entry[0].changes[0].value.messages = replies;
    await relay(key, body);

    const expected: [string, number][] = [
      ["1h", 2],
      ["24h", 3],
      ["1d", 3],
      ["25h", 4],
      ["72h", 4],
      ["80h", 5],
      ["30d", 5],
    ];
    for (const [window, replied] of expected) {
      const metrics = await get(`/api/v1/reports/metrics?responseWindow=${window}`, key);
      expect([metrics.messages.replied, metrics.responseRate, metrics.responseWindow], window).toEqual([
        replied,
        replied / 6,
        window,
      ]);
    }
    const byDefault = await get("/api/v1/reports/metrics", key);
    expect([byDefault.responseWindow, byDefault.messages.replied]).toEqual(["72h", 4]);
  });

  it("refuses windows that are not whole hours or days up to 30 days", async () => {
    const { adminKey: key } = await createWorkspace();
    for (const window of ["0h", "721h", "31d", "1.5h", "90m", "2w", "h", "72"]) {
      const res = await callJson(`/api/v1/reports/metrics?responseWindow=${window}`, { key });
      expect(res.status, window).toBe(400);
      expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
      expect(issuePaths(res.body), window).toEqual([["responseWindow"]]);
    }
  });
});

/**
 * A rate card in US dollars with a German override for marketing, and authentication priced in
 * India only. Seven messages, variants A (sent at 9:00) and B (at 10:00):
 *
 *   a1 DE marketing regular   0.1365   converts 20.00 USD
 *   a2 DE marketing regular   0.1365
 *   a3 US marketing regular   0.025    (billable: false, which Meta deprecated: still charged) converts 5.00 EUR
 *   b1 US utility regular     0.004    converts 3.10 USD and 1.00 EUR (mixed: no roas revenue)
 *   b2 US service free_customer_service   not charged
 *   b3 GB authentication regular          no rate for GB, no rate for the category alone: 0
 *   b4 IN authentication regular  0.0014
 *
 * A costs 0.298, B 0.0054, together 0.3034; roas counts the 20.00 USD only.
 */
const RATE_CARD = {
  currency: "USD",
  rates: [
    { category: "marketing", price: 0.025 },
    { category: "marketing", country: "DE", price: "0.1365" },
    { category: "utility", price: "0.004" },
    { category: "authentication", country: "IN", price: 0.0014 },
  ],
};

const COST_MESSAGES = [
  { id: "a1", variant: "A", contact: "+4915123456701", type: "regular", category: "marketing" },
  { id: "a2", variant: "A", contact: "+4915123456702", type: "regular", category: "marketing" },
  { id: "a3", variant: "A", contact: "+14155550103", type: "regular", category: "marketing", billable: false },
  { id: "b1", variant: "B", contact: "+14155550104", type: "regular", category: "utility" },
  { id: "b2", variant: "B", contact: "+14155550105", type: "free_customer_service", category: "service" },
  { id: "b3", variant: "B", contact: "+447700900123", type: "regular", category: "authentication" },
  { id: "b4", variant: "B", contact: "+919876543210", type: "regular", category: "authentication" },
];
const CONVERSIONS: [string, string, string][] = [
  ["a1", "20.00", "USD"],
  ["a3", "5.00", "EUR"],
  ["b1", "3.10", "USD"],
  ["b1", "1.00", "EUR"],
];

async function pricedCampaign(settings: Record<string, unknown> = { rateCard: RATE_CARD }) {
  const { workspace, adminKey: key } = await createWorkspace(settings);
  const campaign = await createCampaign(key, { name: "Costs", variants: ["A", "B"] });
  const sentAt = (variant: string) => T0 + (variant === "A" ? 0 : HOUR);
  await register(
    key,
    COST_MESSAGES.map((m) => ({
      id: `wamid.${m.id}`,
      contact: m.contact,
      campaignId: campaign.id,
      variant: m.variant,
      sentAt: iso(sentAt(m.variant)),
    })),
  );
  await relay(
    key,
    statusBody(
      ...COST_MESSAGES.map((m) => ({
        id: `wamid.${m.id}`,
        status: "delivered" as const,
        at: sentAt(m.variant) + MIN,
        recipient: m.contact.slice(1),
        pricing: { billable: m.billable ?? true, pricing_model: "PMP", type: m.type, category: m.category },
      })),
    ),
  );
  const link = await createLink(key, { campaignId: campaign.id });
  const clicked = [...new Set(CONVERSIONS.map(([id]) => id))];
  await insertClicks(
    env.DB,
    clicked.map((id) =>
      clickRecord(workspace.id, link.id, {
        // Click ids are global: each workspace its own.
        id: `clk.${workspace.id}.${id}`,
        campaignId: campaign.id,
        variant: id.startsWith("a") ? "A" : "B",
        messageId: `wamid.${id}`,
        occurredAt: T0 + 2 * HOUR,
      }),
    ),
  );
  for (const [i, [id, value, currency]] of CONVERSIONS.entries()) {
    const body = {
      clickId: `clk.${workspace.id}.${id}`,
      event: "purchase",
      value,
      currency,
      orderId: `o${i}`,
      occurredAt: iso(T0 + 3 * HOUR),
    };
    expect((await callJson("/api/v1/conversions", { key, body })).status).toBe(201);
  }
  return { key, campaign };
}

describe("costs from the workspace's rate card", () => {
  it("prices each charged message at its most specific rate, with exact sums, per delivered, click and conversion", async () => {
    const { key } = await pricedCampaign();
    const metrics = await get("/api/v1/reports/metrics", key);
    expect(metrics.messages).toMatchObject({ sent: 7, delivered: 7, clicked: 3, converted: 3, charged: 6 });
    expect(metrics.revenue).toBe(29.1);
    expect(metrics.cost).toEqual({
      currency: "USD",
      total: 0.3034,
      perDelivered: 0.3034 / 7,
      perClick: 0.3034 / 3,
      perConversion: 0.3034 / 3,
      roas: 20 / 0.3034,
    });
    const onlyB = await get("/api/v1/reports/metrics?variant=B", key);
    expect(onlyB.cost).toEqual({
      currency: "USD",
      total: 0.0054,
      perDelivered: 0.0054 / 4,
      perClick: 0.0054,
      perConversion: 0.0054,
      roas: 0,
    });
  });

  it("answers the cost of each variant in the A/B report", async () => {
    const { key, campaign } = await pricedCampaign();
    const ab = await get(`/api/v1/reports/ab?campaignId=${campaign.id}`, key);
    expect(ab.variants.map((v: Json) => [v.variant, v.cost])).toEqual([
      [
        "A",
        {
          currency: "USD",
          total: 0.298,
          perDelivered: 0.298 / 3,
          perClick: 0.149,
          perConversion: 0.149,
          roas: 20 / 0.298,
        },
      ],
      [
        "B",
        { currency: "USD", total: 0.0054, perDelivered: 0.0054 / 4, perClick: 0.0054, perConversion: 0.0054, roas: 0 },
      ],
    ]);
  });

  it("answers the cost per interval by send time, and refuses a cost series without a rate card", async () => {
    const { key } = await pricedCampaign();
    const series = await get(
      `/api/v1/reports/timeseries?metric=cost&interval=hour&from=${iso(T0 - HOUR)}&to=${iso(T0 + 3 * HOUR)}`,
      key,
    );
    expect(series.points.map((p: Json) => [p.start, p.value])).toEqual([
      ["2026-10-05T08:00:00.000Z", 0],
      ["2026-10-05T09:00:00.000Z", 0.298],
      ["2026-10-05T10:00:00.000Z", 0.0054],
      ["2026-10-05T11:00:00.000Z", 0],
    ]);

    const { adminKey: unpriced } = await createWorkspace();
    const refused = await callJson("/api/v1/reports/timeseries?metric=cost", { key: unpriced });
    expect(refused.status).toBe(400);
    expect(issuePaths(refused.body)).toEqual([["metric"]]);
  });

  it("answers cost null without a rate card, and a rate card set later prices what was sent before", async () => {
    const { key, campaign } = await pricedCampaign({});
    expect((await get("/api/v1/reports/metrics", key)).cost).toBeNull();
    expect((await get(`/api/v1/reports/ab?campaignId=${campaign.id}`, key)).variants[0].cost).toBeNull();
    const set = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key,
      body: { settings: { rateCard: RATE_CARD } },
    });
    expect(set.status).toBe(200);
    expect(set.body.settings.rateCard).toEqual({
      currency: "USD",
      rates: [
        { category: "marketing", country: null, price: 0.025 },
        { category: "marketing", country: "DE", price: 0.1365 },
        { category: "utility", country: null, price: 0.004 },
        { category: "authentication", country: "IN", price: 0.0014 },
      ],
    });
    expect((await get("/api/v1/reports/metrics", key)).cost.total).toBe(0.3034);
    const cleared = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key,
      body: { settings: { rateCard: null } },
    });
    expect(cleared.body.settings.rateCard).toBeNull();
    expect((await get("/api/v1/reports/metrics", key)).cost).toBeNull();
  });
});

describe("PATCH /api/v1/workspace: rateCard", () => {
  const bad: [string, unknown, (string | number)[]][] = [
    ["an unknown currency", { currency: "XYZ", rates: [] }, ["settings", "rateCard", "currency"]],
    ["a lower-case currency", { currency: "usd", rates: [] }, ["settings", "rateCard", "currency"]],
    [
      "a negative price",
      { currency: "USD", rates: [{ category: "marketing", price: -1 }] },
      ["settings", "rateCard", "rates", 0, "price"],
    ],
    [
      "seven decimals",
      { currency: "USD", rates: [{ category: "marketing", price: "0.0000001" }] },
      ["settings", "rateCard", "rates", 0, "price"],
    ],
    [
      "a price in words",
      { currency: "USD", rates: [{ category: "marketing", price: "cheap" }] },
      ["settings", "rateCard", "rates", 0, "price"],
    ],
    [
      "an unknown country",
      { currency: "USD", rates: [{ category: "marketing", country: "XX", price: 1 }] },
      ["settings", "rateCard", "rates", 0, "country"],
    ],
    [
      "a category with spaces",
      { currency: "USD", rates: [{ category: "mar keting", price: 1 }] },
      ["settings", "rateCard", "rates", 0, "category"],
    ],
    [
      "two rates for one category and country",
      {
        currency: "USD",
        rates: [
          { category: "marketing", price: 1 },
          { category: "marketing", country: null, price: 2 },
        ],
      },
      ["settings", "rateCard", "rates"],
    ],
    ["an unknown field", { currency: "USD", rates: [], discount: 0.1 }, ["settings", "rateCard"]],
  ];
  for (const [name, rateCard, path] of bad) {
    it(`refuses ${name} with a 400 naming the field`, async () => {
      const { adminKey: key } = await createWorkspace();
      const res = await callJson("/api/v1/workspace", { method: "PATCH", key, body: { settings: { rateCard } } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
      expect(issuePaths(res.body)).toEqual([path]);
    });
  }
});
