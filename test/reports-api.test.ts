import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertClicks } from "../src/db/clicks";
import { erfc, twoProportionTest } from "../src/reports/stats";
import { expectedVariants, expectVariants, twoSidedNormalTail } from "./ab-model";
import {
  callJson,
  callWorker,
  clickRecord,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
  type Json,
  withoutAsOf,
} from "./helpers";
import { statusBody } from "./whatsapp-helpers";

const T0 = Date.UTC(2026, 9, 5, 9);
const MIN = 60_000;
const UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/** Four messages of one campaign: one goes all the way, the others stop at each step. */
async function smallCampaign() {
  const { adminKey: key } = await createWorkspace();
  const campaign = await createCampaign(key, { name: "Launch", variants: ["A", "B"] });
  const link = await createLink(key, {
    contact: "+14155550101",
    messageId: "wamid.m1",
    campaignId: campaign.id,
    variant: "A",
  });
  const register = (id: string, contact: string, variant: string) => ({
    id,
    contact,
    campaignId: campaign.id,
    variant,
    sentAt: new Date(T0).toISOString(),
  });
  const messages = [
    { ...register("wamid.m1", "+14155550101", "A"), linkCode: link.code },
    register("wamid.m2", "+447400123456", "A"),
    register("wamid.m3", "+4915123456789", "B"),
    register("wamid.m4", "+919876543210", "B"),
  ];
  expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
  const body = statusBody(
    { id: "wamid.m1", status: "delivered", at: T0 + MIN, recipient: "14155550101" },
    { id: "wamid.m2", status: "delivered", at: T0 + MIN, recipient: "447400123456" },
    { id: "wamid.m3", status: "read", at: T0 + 5 * MIN, recipient: "4915123456789" },
    { id: "wamid.m4", status: "failed", at: T0 + MIN, recipient: "919876543210" },
  );
  expect((await callJson("/api/v1/statuses", { key, body })).status).toBe(200);
  // A human click on m1's own link (now, long after T0: outside every window but still a click).
  const click = await callWorker(`/${link.code}`, { headers: { "user-agent": UA }, cf: { country: "US" } });
  expect(click.status).toBe(302);
  return { key, campaign };
}

describe("GET /api/v1/reports/funnel", () => {
  it("counts each step with inferred steps flagged, and CSV gives the same rows", async () => {
    const { key, campaign } = await smallCampaign();
    const res = await callJson(`/api/v1/reports/funnel?campaignId=${campaign.id}&window=30d`, { key });
    expect(res.status).toBe(200);
    expect(res.body.steps).toEqual([
      { name: "sent", count: 4, inferred: 0, rateFromPrevious: 1, rateFromFirst: 1 },
      { name: "delivered", count: 3, inferred: 1, rateFromPrevious: 0.75, rateFromFirst: 0.75 },
      { name: "read", count: 2, inferred: 1, rateFromPrevious: 2 / 3, rateFromFirst: 0.5 },
      { name: "clicked", count: 0, rateFromPrevious: 0, rateFromFirst: 0 },
      { name: "converted", count: 0, rateFromPrevious: null, rateFromFirst: 0 },
    ]);

    const csv = await callWorker(`/api/v1/reports/funnel?campaignId=${campaign.id}&groupBy=variant`, {
      key,
      headers: { accept: "text/csv" },
    });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("group,step,count,inferred,rateFromPrevious,rateFromFirst");
    expect(lines.slice(1, 4)).toEqual(["A,sent,2,0,1,1", "A,delivered,2,0,1,1", "A,read,1,1,0.5,0.5"]);
  });

  it("counts no message as clicked through a campaign-wide link, which cannot say who clicked", async () => {
    const { adminKey: key } = await createWorkspace();
    const shared = await createLink(key, {});
    const messages = ["+14155550101", "+14155550102"].map((contact, i) => ({
      id: `wamid.shared${i}`,
      contact,
      linkCode: shared.code,
      sentAt: new Date(T0).toISOString(),
    }));
    expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
    expect((await callWorker(`/${shared.code}`, { headers: { "user-agent": UA } })).status).toBe(302);
    const res = await callJson("/api/v1/reports/funnel?window=30d", { key });
    expect(res.body.steps.map((s: { count: number }) => s.count)).toEqual([2, 0, 0, 0, 0]);
    expect((await callJson(`/api/v1/links/${shared.code}`, { key })).body.clicks).toBe(1);
  });

  it("groups by the recipient's country", async () => {
    const { key, campaign } = await smallCampaign();
    const res = await callJson(`/api/v1/reports/funnel?campaignId=${campaign.id}&groupBy=country`, { key });
    expect(res.body.groups.map((g: { key: string }) => g.key)).toEqual(["DE", "GB", "IN", "US"]);
  });

  it.each([
    ["window=2d", ["window"]],
    ["groupBy=colour", ["groupBy"]],
    ["from=2026-10-05T09:07:00Z", ["from"]],
    ["from=yesterday", ["from"]],
    ["timezone=Mars/Olympus", ["timezone"]],
    ["from=2026-10-06&to=2026-10-05", ["to"]],
  ])("refuses %s with a 400 naming the field", async (query, path) => {
    const { adminKey: key } = await createWorkspace();
    const res = await callJson(`/api/v1/reports/funnel?${query}`, { key });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([path]);
  });

  it("needs a key with reports:read, and shows nothing of another workspace", async () => {
    const { key } = await smallCampaign();
    const { adminKey: other } = await createWorkspace();
    expect((await callJson("/api/v1/reports/funnel")).status).toBe(401);
    const writer = await createApiKey(other, ["links:write"]);
    expect((await callJson("/api/v1/reports/funnel", { key: writer })).status).toBe(403);
    const mine = await callJson("/api/v1/reports/funnel", { key });
    const theirs = await callJson("/api/v1/reports/funnel", { key: other });
    expect(mine.body.steps[0].count).toBe(4);
    expect(theirs.body.steps[0].count).toBe(0);
  });
});

describe("GET /api/v1/reports/metrics", () => {
  it("answers CSV with one metric,value row per number of the JSON report", async () => {
    const { key, campaign } = await smallCampaign();
    const path = `/api/v1/reports/metrics?campaignId=${campaign.id}&window=30d`;
    const json = withoutAsOf((await callJson(path, { key })).body);
    const csv = await callWorker(path, { key, headers: { accept: "text/csv" } });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(Date.parse(csv.headers.get("x-as-of")!)).toBeLessThanOrEqual(Date.now());
    const [header, ...lines] = (await csv.text()).trimEnd().split("\r\n");
    expect(header).toBe("metric,value");
    const rows = new Map(lines.map((line) => line.split(",") as [string, string]));
    expect(rows.get("messages.sent")).toBe("4");
    expect(rows.get("messages.delivered")).toBe(String(json.messages.delivered));
    expect(rows.get("deliveryRate")).toBe(String(json.deliveryRate));
    expect(rows.get("openRate")).toBe(String(json.openRate));
    expect(rows.get("dropOff.read.count")).toBe(
      String(json.dropOff.find((d: { step: string }) => d.step === "read").count),
    );
    expect(rows.get("csat.average")).toBe(json.csat.average === null ? "" : String(json.csat.average));
    // Every number, rate and null of the JSON report has its row.
    const leaves = (value: unknown): number =>
      Array.isArray(value)
        ? value.reduce((n, item) => n + leaves({ ...item, step: undefined }), 0)
        : value !== null && typeof value === "object"
          ? Object.values(value).reduce((n: number, v) => n + (v === undefined ? 0 : leaves(v)), 0)
          : 1;
    expect(lines).toHaveLength(leaves(json));
  });
});

describe("GET /api/v1/reports/ab", () => {
  it("compares variants against the first one", async () => {
    const { key, campaign } = await smallCampaign();
    const before = Date.now();
    const res = await callJson(`/api/v1/reports/ab?campaignId=${campaign.id}&metric=click&window=30d`, { key });
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.asOf)).toBeGreaterThanOrEqual(before);
    expect(withoutAsOf(res.body)).toEqual({
      metric: "click",
      window: "30d",
      variants: [
        {
          variant: "A",
          messages: 2,
          clicks: 0,
          conversions: 0,
          rate: 0,
          uplift: null,
          pValue: null,
          significant: false,
          limited: 0,
          experiment: 0,
          cost: null,
        },
        {
          variant: "B",
          messages: 2,
          clicks: 0,
          conversions: 0,
          rate: 0,
          uplift: null,
          pValue: 1,
          significant: false,
          limited: 0,
          experiment: 0,
          cost: null,
        },
      ],
    });
  });

  it("answers CSV with a row per variant and the same numbers", async () => {
    const { key, campaign } = await smallCampaign();
    const path = `/api/v1/reports/ab?campaignId=${campaign.id}&metric=click&window=30d`;
    const json = await callJson(path, { key });
    const csv = await callWorker(`${path}&format=csv`, { key });
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect((await csv.text()).split("\r\n")).toEqual([
      "variant,messages,clicks,conversions,rate,uplift,pValue,significant,limited,experiment,cost,costCurrency",
      "A,2,0,0,0,,,false,0,0,,",
      "B,2,0,0,0,,1,false,0,0,,",
      "",
    ]);
    expect(json.body.variants.map((v: { pValue: number | null }) => v.pValue)).toEqual([null, 1]);
  });

  it("tests each variant against the first with a two-sided two-proportion z-test, on clicks or conversions", async () => {
    const { workspace, adminKey: key } = await createWorkspace();
    const campaign = await createCampaign(key, { name: "Subject lines", variants: ["A", "B", "C"] });
    // 200 messages per variant; how many clicked, and how many of those converted.
    const plan = {
      A: { clicks: 20, conversions: 10 },
      B: { clicks: 40, conversions: 12 },
      C: { clicks: 26, conversions: 2 },
    };
    const messages = Object.keys(plan).flatMap((variant) =>
      Array.from({ length: 200 }, (_, i) => ({
        id: `wamid.${variant}${i}`,
        contact: `+1415555${String(i).padStart(4, "0")}`,
        campaignId: campaign.id,
        variant,
        sentAt: new Date(T0).toISOString(),
      })),
    );
    expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
    const links = new Map<string, string>();
    for (const variant of Object.keys(plan)) {
      links.set(variant, (await createLink(key, { campaignId: campaign.id, variant })).id);
    }
    const clicks = Object.entries(plan).flatMap(([variant, { clicks }]) =>
      Array.from({ length: clicks }, (_, i) =>
        clickRecord(workspace.id, links.get(variant)!, {
          id: `clk.${variant}${i}`,
          campaignId: campaign.id,
          variant,
          messageId: `wamid.${variant}${i}`,
          occurredAt: T0 + 10 * MIN,
        }),
      ),
    );
    await insertClicks(env.DB, clicks);
    for (const [variant, { conversions }] of Object.entries(plan)) {
      for (let i = 0; i < conversions; i++) {
        const body = {
          clickId: `clk.${variant}${i}`,
          event: "purchase",
          occurredAt: new Date(T0 + 70 * MIN).toISOString(),
        };
        expect((await callJson("/api/v1/conversions", { key, body })).body.attributedTo).not.toBeNull();
      }
    }

    const report = async (metric: string) => {
      const res = await callJson(`/api/v1/reports/ab?campaignId=${campaign.id}&metric=${metric}`, { key });
      expect(res.status).toBe(200);
      expect(res.body.metric).toBe(metric);
      expect(res.body.variants.map((v: Json) => [v.variant, v.messages, v.clicks, v.conversions])).toEqual(
        Object.entries(plan).map(([variant, p]) => [variant, 200, p.clicks, p.conversions]),
      );
      return res.body.variants;
    };
    const expected = (reached: "clicks" | "conversions") =>
      expectedVariants(Object.entries(plan).map(([variant, p]) => ({ variant, messages: 200, reached: p[reached] })));

    // Clicks: B's 20 % against A's 10 % is significant (z = 2.80, p = 0.0051); C's 13 % is not (p = 0.347).
    const byClick = await report("click");
    expectVariants(byClick, expected("clicks"), "click");
    expect(byClick.map((v: Json) => v.significant)).toEqual([false, true, false]);
    expect(byClick[1].pValue).toBeCloseTo(0.0051, 4);
    expect(byClick[1].uplift).toBeCloseTo(1, 12);
    expect(byClick[2].pValue).toBeCloseTo(0.347, 3);

    // Conversions: B's 6 % against A's 5 % is not (p = 0.661); C's drop to 1 % is (z = −2.34, p = 0.019).
    const byConversion = await report("conversion");
    expectVariants(byConversion, expected("conversions"), "conversion");
    expect(byConversion.map((v: Json) => v.significant)).toEqual([false, false, true]);
    expect(byConversion[1].pValue).toBeCloseTo(0.661, 3);
    expect(byConversion[2].pValue).toBeCloseTo(0.019, 3);
    expect(byConversion[2].uplift).toBeCloseTo(-0.8, 12);
  });

  it("needs a campaign of this workspace", async () => {
    const { adminKey: key } = await createWorkspace();
    const missing = await callJson("/api/v1/reports/ab", { key });
    expect(missing.status).toBe(400);
    expect(issuePaths(missing.body)).toEqual([["campaignId"]]);
    const unknown = await callJson("/api/v1/reports/ab?campaignId=cmp_nope", { key });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(expectErrorEnvelope("not_found"));
  });
});

describe("two-proportion z-test", () => {
  it("gives the textbook p-values", () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    // |z| = 1.959964 is the two-sided 5 % point.
    expect(erfc(1.959964 / Math.SQRT2)).toBeCloseTo(0.05, 6);
    // 100 of 1,000 against 130 of 1,000: pooled p = 0.115, z = 2.1028, p = 0.0355.
    const test = twoProportionTest(100, 1000, 130, 1000)!;
    expect(test.z).toBeCloseTo(2.1028, 3);
    expect(test.pValue).toBeCloseTo(0.0355, 3);
    // The normal tail, integrated numerically, agrees across the range that p-values span.
    for (const z of [0.1, 0.5, 1, 1.5, 1.959964, 2.5, 3, 4, 6, 8]) {
      expect(Math.abs(erfc(z / Math.SQRT2) / twoSidedNormalTail(z) - 1), `z = ${z}`).toBeLessThan(1e-6);
    }
    expect(twoProportionTest(0, 10, 0, 10)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionTest(1, 0, 1, 10)).toBeNull();
  });
});
