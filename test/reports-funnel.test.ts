import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertClicks } from "../src/db/clicks";
import { hashContact } from "../src/lib/contact";
import {
  applySomeOfOutbox,
  callJson,
  clickRecord,
  createCampaign,
  createLink,
  createWorkspace,
  type Json,
} from "./helpers";
import { expectedVariants, expectVariants } from "./ab-model";
import {
  DAY,
  FUNNEL_WINDOWS,
  HOUR,
  lowerMedian,
  MINUTE,
  modelCost,
  modelMessages,
  modelOutcomes,
  modelSteps,
  modelTotals,
  randomHistory,
  ratio,
  type FunnelWindow,
  type History,
  type ModelMessage,
  type ModelRateCard,
} from "./report-model";
import { seededRandom } from "./random";
import { statusBody } from "./whatsapp-helpers";

const T0 = Date.UTC(2026, 9, 5);

/** Prices with more decimals than euros have, a country override, and a category priced in one country only. */
const RATE_CARD: ModelRateCard = {
  currency: "EUR",
  rates: [
    { category: "marketing", price: "0.0613" },
    { category: "marketing", country: "DE", price: "0.1365" },
    { category: "utility", price: "0.0113" },
    { category: "utility", country: "IN", price: "0.0014" },
    { category: "service", country: "GB", price: "0.005" },
  ],
};
const iso = (ms: number) => new Date(ms).toISOString();
const digits = (contact: string) => contact.slice(1);

function replyBody(reply: History["replies"][number]) {
  const body = statusBody() as Json;
  body.entry[0].changes[0].value.statuses = undefined;
  body.entry[0].changes[0].value.messages = [
    {
      from: digits(reply.contact),
      id: reply.id,
      timestamp: String(reply.at / 1000),
      type: "text",
      text: { body: "Yes please" },
      ...(reply.contextId ? { context: { from: "15550783881", id: reply.contextId } } : {}),
    },
  ];
  return body;
}

/** Writes a history through the API and the click write path, in a shuffled order. */
async function writeHistory(seed: number, size: number) {
  const random = seededRandom(seed);
  const { workspace, adminKey: key } = await createWorkspace({ rateCard: RATE_CARD });
  const ab = await createCampaign(key, { name: "A/B", variants: ["A", "B"] });
  const plain = await createCampaign(key, { name: "Plain" });
  const campaigns = [
    { id: ab.id as string, variants: ["A", "B"] },
    { id: plain.id as string, variants: [] },
  ];
  const h = randomHistory(random, size, T0, campaigns);
  const links = new Map<string, { id: string; contactHash: string; contact: string }>();
  for (const m of h.messages.filter((m) => m.linkKind)) {
    const link = await createLink(key, {
      contact: m.contact,
      ...(m.linkKind === "message" ? { messageId: m.id } : {}),
      ...(m.campaignId ? { campaignId: m.campaignId, variant: m.variant ?? undefined } : {}),
    });
    m.linkCode = link.code;
    links.set(link.code, {
      id: link.id,
      contact: m.contact,
      contactHash: await hashContact(env.PII_PEPPER, m.contact),
    });
  }
  for (const click of h.clicks)
    click.linkCode = h.messages.find((m) => m.id === (click.messageId ?? ""))?.linkCode ?? "";
  // Clicks on a contact's own link carry no message id: find their message by click id prefix.
  for (const click of h.clicks.filter((c) => !c.linkCode)) {
    const index = Number(click.id.slice(3).split("x")[0]);
    click.linkCode = h.messages[index].linkCode!;
  }

  const tasks: { kind: string; ref?: string; run: () => Promise<unknown> }[] = [];
  const expectOk = async (res: Promise<{ status: number; body: Json }>, status: number) => {
    const r = await res;
    if (r.status !== status) throw new Error(`${r.status}: ${JSON.stringify(r.body)}`);
  };
  for (const m of h.messages.filter((m) => m.registered)) {
    const body = {
      messages: [
        {
          id: m.id,
          contact: m.contact,
          sentAt: iso(m.sentAt),
          ...(m.campaignId ? { campaignId: m.campaignId } : {}),
          ...(m.variant ? { variant: m.variant } : {}),
          ...(m.linkCode ? { linkCode: m.linkCode } : {}),
          ...(m.category ? { category: m.category } : {}),
        },
      ],
    };
    tasks.push({ kind: "register", run: () => expectOk(callJson("/api/v1/messages", { key, body }), 200) });
  }
  for (const s of h.statuses) {
    const m = h.messages.find((x) => x.id === s.messageId)!;
    const body = statusBody({
      id: s.messageId,
      status: s.status,
      at: s.at,
      ...(s.errors ? { errors: s.errors } : {}),
      recipient: digits(m.contact),
      ...(m.pricing ? { pricing: m.pricing } : {}),
    });
    tasks.push({ kind: "status", run: () => expectOk(callJson("/api/v1/statuses", { key, body }), 200) });
  }
  for (const c of h.clicks) {
    const link = links.get(c.linkCode)!;
    const m = h.messages.find((x) => x.linkCode === c.linkCode)!;
    tasks.push({
      kind: "click",
      ref: c.id,
      run: () =>
        insertClicks(env.DB, [
          clickRecord(workspace.id, link.id, {
            id: c.id,
            campaignId: m.campaignId,
            variant: m.variant,
            messageId: c.messageId,
            contactHash: link.contactHash,
            kind: c.human ? "click" : "preview",
            occurredAt: c.at,
            deviceType: c.device,
          }),
        ]),
    });
    if (random.chance(0.2)) tasks.push({ kind: "click", ref: c.id, run: tasks[tasks.length - 1].run });
  }
  for (const v of h.conversions) {
    const body = {
      clickId: v.clickId,
      event: "purchase",
      value: v.value,
      currency: v.currency,
      orderId: v.orderId,
      occurredAt: iso(v.at),
    };
    tasks.push({
      kind: "conversion",
      ref: v.clickId,
      run: () => expectOk(callJson("/api/v1/conversions", { key, body }), 201),
    });
  }
  for (const r of h.replies) {
    tasks.push({ kind: "reply", run: () => expectOk(callJson("/api/v1/statuses", { key, body: replyBody(r) }), 200) });
  }
  // Any order, except that a conversion names a click that must already be stored.
  for (let i = tasks.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [tasks[i], tasks[j]] = [tasks[j], tasks[i]];
  }
  const done = new Set<string>();
  const waiting: typeof tasks = [];
  for (const task of tasks) {
    if (task.kind === "conversion" && !done.has(task.ref!)) {
      waiting.push(task);
      continue;
    }
    await task.run();
    if (task.kind === "click") {
      done.add(task.ref!);
      for (const w of waiting.filter((w) => w.ref === task.ref)) await w.run();
    }
    await applySomeOfOutbox(random);
  }
  const linkContact = new Map([...links].map(([code, l]) => [code, l.contact]));
  return { key, history: h, model: modelMessages(h, linkContact), campaigns };
}

function expectMedian(actual: number | null, delays: number[]) {
  const exact = lowerMedian(delays);
  if (exact === null) return expect(actual).toBeNull();
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - Math.max(exact, 0))).toBeLessThanOrEqual(0.05 * Math.max(exact, 0) + 1);
}

function expectFunnel(body: Json, messages: ModelMessage[], window: FunnelWindow, label = "funnel") {
  const t = modelTotals(messages, FUNNEL_WINDOWS[window]);
  expect(body.steps, label).toEqual(modelSteps(t));
  expect(body.outcomes, label).toEqual(modelOutcomes(t));
  expect(body.revenue).toBe(t.revenueMicros / 1e6);
  expectMedian(body.medianTimeToClickSeconds, t.clickDelays);
}

const GROUP_KEY: Record<string, (m: ModelMessage) => string | null> = {
  variant: (m) => m.variant,
  campaign: (m) => m.campaignId,
  country: (m) => m.country,
  device: (m) => m.device || null,
  category: (m) => m.category,
};

describe("message reports equal a brute-force count of the raw events", () => {
  for (const seed of [1, 2, 3]) {
    it(`funnel, groups, metrics and A/B over a random history (seed ${seed})`, async () => {
      const { key, model, campaigns } = await writeHistory(seed, 45);
      const inRange = (from: number, to: number) => model.filter((m) => m.reportAt >= from && m.reportAt < to);
      const get = async (path: string) => {
        const res = await callJson(path, { key });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body;
      };

      for (const window of Object.keys(FUNNEL_WINDOWS) as FunnelWindow[]) {
        expectFunnel(await get(`/api/v1/reports/funnel?window=${window}`), model, window, window);
      }
      for (const groupBy of Object.keys(GROUP_KEY)) {
        const body = await get(`/api/v1/reports/funnel?groupBy=${groupBy}`);
        const keys = [...new Set(model.map(GROUP_KEY[groupBy]))].sort((a, b) => ((a ?? "") < (b ?? "") ? -1 : 1));
        expect(body.groups.map((g: Json) => g.key)).toEqual(keys);
        for (const group of body.groups) {
          const members = model.filter((m) => GROUP_KEY[groupBy](m) === group.key);
          expect(group.steps, `${groupBy}=${group.key}`).toEqual(modelSteps(modelTotals(members, 7 * DAY)));
          expect(group.outcomes, `${groupBy}=${group.key}`).toEqual(modelOutcomes(modelTotals(members, 7 * DAY)));
        }
      }

      // Ranges that cut days at quarter hours, filtered by campaign and variant.
      const from = T0 + DAY + 6 * HOUR + 15 * MINUTE;
      const to = T0 + 2 * DAY + 21 * HOUR + 45 * MINUTE;
      const [abCampaign] = campaigns;
      expectFunnel(
        await get(`/api/v1/reports/funnel?window=1d&from=${iso(from)}&to=${iso(to)}`),
        inRange(from, to),
        "1d",
        "quarter hours",
      );
      expectFunnel(
        await get(`/api/v1/reports/funnel?from=${iso(from)}&to=${iso(to)}&campaignId=${abCampaign.id}&variant=B`),
        inRange(from, to).filter((m) => m.campaignId === abCampaign.id && m.variant === "B"),
        "7d",
        "campaign and variant",
      );
      // Local days in India (UTC+5:30).
      const kolkataFrom = T0 + DAY - 5.5 * HOUR;
      expectFunnel(
        await get(`/api/v1/reports/funnel?from=2026-10-06&to=2026-10-07&timezone=Asia/Kolkata`),
        inRange(kolkataFrom, kolkataFrom + 2 * DAY),
        "7d",
        "Kolkata",
      );

      const metrics = await get(`/api/v1/reports/metrics`);
      const t = modelTotals(model, 7 * DAY, 72 * HOUR);
      expect(metrics.messages).toEqual({
        sent: t.sent,
        delivered: t.delivered,
        read: t.read,
        clicked: t.clicked,
        converted: t.converted,
        replied: t.replied,
        ...modelOutcomes(t),
        charged: t.charged,
      });
      expect(metrics.deliveryRate).toBe(ratio(t.delivered, t.sent));
      expect(metrics.openRate).toBe(ratio(t.read, t.delivered));
      expect(metrics.clickThroughRate).toBe(ratio(t.clicked, t.delivered));
      expect(metrics.conversionRate).toBe(ratio(t.converted, t.delivered));
      expect(metrics.responseRate).toBe(ratio(t.replied, t.delivered));
      expect(metrics.responseWindow).toBe("72h");
      expect(metrics.limitedRate).toBe(ratio(t.limited, t.sent));
      expect(metrics.experimentRate).toBe(ratio(t.experiment, t.sent));
      expect(metrics.revenue).toBe(t.revenueMicros / 1e6);
      expect(metrics.cost).toEqual(modelCost(model, RATE_CARD, 7 * DAY));
      expect(metrics.dropOff.map((d: Json) => d.count)).toEqual([
        t.sent - t.delivered,
        t.delivered - t.read,
        t.read - t.clicked,
        t.clicked - t.converted,
      ]);
      // Replies within other windows, and costs over a range cut at quarter hours, of one variant.
      for (const [responseWindow, ms] of [
        ["1h", HOUR],
        ["24h", DAY],
        ["3d", 3 * DAY],
        ["7d", 7 * DAY],
      ] as const) {
        const within = await get(`/api/v1/reports/metrics?responseWindow=${responseWindow}`);
        const w = modelTotals(model, 7 * DAY, ms);
        expect([within.messages.replied, within.responseRate], responseWindow).toEqual([
          w.replied,
          ratio(w.replied, w.delivered),
        ]);
      }
      const cut = await get(
        `/api/v1/reports/metrics?from=${iso(from)}&to=${iso(to)}&campaignId=${abCampaign.id}&variant=A`,
      );
      const cutModel = inRange(from, to).filter((m) => m.campaignId === abCampaign.id && m.variant === "A");
      expect(cut.cost).toEqual(modelCost(cutModel, RATE_CARD, 7 * DAY));
      expect(cut.limitedRate).toBe(ratio(modelTotals(cutModel, 7 * DAY).limited, cutModel.length));

      // Cost per local day, by the messages' send time.
      const series = await get(
        `/api/v1/reports/timeseries?metric=cost&interval=day&from=2026-10-05&to=2026-10-09&timezone=Asia/Kolkata`,
      );
      const dayStart = (i: number) => T0 + i * DAY - 5.5 * HOUR;
      expect(series.points.map((p: Json) => p.value)).toEqual(
        [0, 1, 2, 3, 4].map((i) => modelCost(inRange(dayStart(i), dayStart(i + 1)), RATE_CARD, 7 * DAY).total),
      );

      for (const metric of ["click", "conversion"] as const) {
        const body = await get(`/api/v1/reports/ab?campaignId=${abCampaign.id}&metric=${metric}`);
        const variants = ["A", "B"].map((v) =>
          modelTotals(
            model.filter((m) => m.campaignId === abCampaign.id && m.variant === v),
            7 * DAY,
          ),
        );
        const reached = (x: typeof t) => (metric === "click" ? x.clicked : x.converted);
        expect(body.variants.map((v: Json) => [v.variant, v.messages, v.clicks, v.conversions])).toEqual(
          ["A", "B"].map((name, i) => [name, variants[i].sent, variants[i].clicked, variants[i].converted]),
        );
        expect(body.variants.map((v: Json) => [v.limited, v.experiment, v.cost])).toEqual(
          ["A", "B"].map((name, i) => [
            variants[i].limited,
            variants[i].experiment,
            modelCost(
              model.filter((m) => m.campaignId === abCampaign.id && m.variant === name),
              RATE_CARD,
              7 * DAY,
            ),
          ]),
        );
        expectVariants(
          body.variants,
          expectedVariants(
            ["A", "B"].map((variant, i) => ({ variant, messages: variants[i].sent, reached: reached(variants[i]) })),
          ),
          metric,
        );
      }
    }, 60_000);
  }
});

describe("GET /api/v1/reports/funnel: window edges", () => {
  it("counts a click or conversion exactly one window after the send within it, and a millisecond later outside it", async () => {
    const { workspace, adminKey: key } = await createWorkspace();
    const clicking = await createCampaign(key, { name: "Clicks" });
    const converting = await createCampaign(key, { name: "Conversions" });
    const sentAt = Date.UTC(2026, 9, 5, 9, 7, 31);
    const windows = Object.entries(FUNNEL_WINDOWS);
    // For each window: one message that reaches the step exactly at its edge, one a millisecond later.
    const cases = [clicking, converting].flatMap((campaign) =>
      windows.flatMap(([name, ms]) =>
        [0, 1].map((late) => ({ campaign, delay: ms + late, id: `wamid.${campaign.name}.${name}.${late}` })),
      ),
    );
    const messages = cases.map((c, i) => ({
      id: c.id,
      contact: `+1415555${1000 + i}`,
      campaignId: c.campaign.id,
      sentAt: iso(sentAt),
    }));
    expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);

    const links = new Map<string, string>();
    for (const campaign of [clicking, converting])
      links.set(campaign.id, (await createLink(key, { campaignId: campaign.id })).id);
    // A converting message's click comes a minute before its conversion.
    const clickAt = (c: (typeof cases)[number]) => sentAt + c.delay - (c.campaign === converting ? MINUTE : 0);
    await insertClicks(
      env.DB,
      cases.map((c) =>
        clickRecord(workspace.id, links.get(c.campaign.id)!, {
          id: `clk.${c.id}`,
          campaignId: c.campaign.id,
          messageId: c.id,
          occurredAt: clickAt(c),
        }),
      ),
    );
    for (const c of cases.filter((c) => c.campaign === converting)) {
      const body = { clickId: `clk.${c.id}`, event: "purchase", orderId: c.id, occurredAt: iso(sentAt + c.delay) };
      const res = await callJson("/api/v1/conversions", { key, body });
      expect(res.body.attributedTo?.messageId).toBe(c.id);
    }

    const counts = async (window: string, campaignId: string) => {
      const res = await callJson(`/api/v1/reports/funnel?window=${window}&campaignId=${campaignId}`, { key });
      expect(res.status).toBe(200);
      return res.body.steps
        .filter((s: Json) => s.name === "clicked" || s.name === "converted")
        .map((s: Json) => s.count);
    };
    for (const [j, [window]] of windows.entries()) {
      // Window j takes both messages of each shorter window, and the exact one of its own.
      expect(await counts(window, clicking.id), `clicks within ${window}`).toEqual([2 * j + 1, 0]);
      expect(await counts(window, converting.id), `conversions within ${window}`).toEqual([2 * j + 2, 2 * j + 1]);
    }
  });
});
