import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describePricing, isCharged, readPricing } from "../src/lib/pricing";
import { createWhatsAppWorkspace, deliverWebhook, getMessage, statusBody } from "./whatsapp-helpers";

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const MIN = 60_000;
const ID = "wamid.priced";

type Status = { id: string; status: string; at: number; pricing?: Record<string, unknown> };

async function deliverEach(workspaceId: string, statuses: Status[]) {
  for (const status of statuses) {
    const res = await deliverWebhook(workspaceId, statusBody(status));
    expect(res).toMatchObject({ status: 200, body: { statuses: 1, skipped: 0 } });
  }
}

async function storedPricing(workspaceId: string, id = ID) {
  const row = await env.DB.prepare("SELECT pricing FROM messages WHERE workspace_id = ?1 AND id = ?2")
    .bind(workspaceId, id)
    .first<{ pricing: string | null }>();
  return row?.pricing ? JSON.parse(row.pricing) : null;
}

// As Meta sends it since October 2026: pricing on sent, and again on read (here with what read says).
const SENT: Status = {
  id: ID,
  status: "sent",
  at: T0,
  pricing: { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" },
};
const READ: Status = {
  id: ID,
  status: "read",
  at: T0 + 2 * MIN,
  pricing: { pricing_model: "PMP", type: "free_customer_service", category: "service" },
};
const DELIVERED: Status = { id: ID, status: "delivered", at: T0 + MIN };

describe("pricing of a message's statuses", () => {
  it.each([
    ["sent, delivered, read", [SENT, DELIVERED, READ]],
    ["read, delivered, sent", [READ, DELIVERED, SENT]],
    ["delivered, read, sent, each twice", [DELIVERED, READ, SENT, DELIVERED, READ, SENT]],
    ["read, sent, read, sent", [READ, SENT, READ, SENT]],
  ])("keeps each field from the latest status that carried it (%s)", async (_, statuses) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, statuses);
    // billable came only on sent: kept, under Meta's own keys, which reports read.
    expect(await storedPricing(workspaceId)).toEqual({
      billable: true,
      pricing_model: "PMP",
      type: "free_customer_service",
      category: "service",
    });
    expect((await getMessage(adminKey, ID)).body.pricing).toEqual({
      pricingModel: "PMP",
      type: "free_customer_service",
      category: "service",
    });
  });

  it("keeps sent's pricing when the later read carries none, in either order", async () => {
    for (const order of [
      [SENT, { ...READ, pricing: undefined }],
      [{ ...READ, pricing: undefined }, SENT],
    ]) {
      const { workspaceId, adminKey } = await createWhatsAppWorkspace();
      await deliverEach(workspaceId, order);
      expect((await getMessage(adminKey, ID)).body).toMatchObject({
        status: "read",
        pricing: { pricingModel: "PMP", type: "regular", category: "marketing" },
      });
    }
  });

  it("takes the later step's pricing when two statuses have the same second", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const delivered = { ...DELIVERED, at: T0, pricing: { category: "utility" } };
    await deliverEach(workspaceId, [delivered, SENT]);
    expect(await storedPricing(workspaceId)).toMatchObject({ category: "utility", type: "regular" });
  });

  it("fills a field that only a later status carries, and leaves fields no status carried out", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [
      { ...SENT, pricing: { pricing_model: "PMP" } },
      { ...DELIVERED, pricing: { category: "marketing_lite" } },
    ]);
    expect(await storedPricing(workspaceId)).toEqual({ pricing_model: "PMP", category: "marketing_lite" });
    expect((await getMessage(adminKey, ID)).body.pricing).toEqual({
      pricingModel: "PMP",
      type: null,
      category: "marketing_lite",
    });
  });

  it.each([
    ["marketing_lite", "regular"],
    ["group_marketing", "regular"],
    ["group_utility", "regular"],
    ["group_service", "free_group_customer_service"],
    ["authentication-international", "regular"],
    ["referral_conversion", "free_entry_point"],
    ["a_category_meta_adds_next_year", "a_new_type"],
  ])("keeps the category %s and the type %s as given", async (category, type) => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [{ ...SENT, pricing: { pricing_model: "PMP", type, category } }]);
    expect((await getMessage(adminKey, ID)).body.pricing).toEqual({ pricingModel: "PMP", type, category });
  });

  it("stores the status but not a pricing value too long or of the wrong kind", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    await deliverEach(workspaceId, [
      {
        ...SENT,
        pricing: { pricing_model: "PMP", type: 7, category: "x".repeat(65), billable: "yes", extra: "kept?" },
      },
    ]);
    expect(await storedPricing(workspaceId)).toEqual({ pricing_model: "PMP" });
  });

  it("ends with the same pricing whatever the order and repetition of statuses (property)", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const steps = ["sent", "delivered", "read"] as const;
    const rank = { sent: 0, delivered: 1, read: 2 };
    const status = fc.record({
      step: fc.constantFrom(...steps),
      second: fc.integer({ min: 0, max: 3 }),
      pricing: fc.record(
        {
          pricing_model: fc.constantFrom("PMP", "CBP"),
          type: fc.constantFrom("regular", "free_customer_service", "free_entry_point"),
          category: fc.constantFrom("marketing", "utility", "group_marketing"),
          billable: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(status, { minLength: 1, maxLength: 5 }), fc.integer(), async (history, seed) => {
        const id = `wamid.prop-${run++}`;
        // Meta sends one status of each step; a repeated delivery repeats it exactly.
        const distinct = [...new Map(history.map((s) => [s.step, s])).values()];
        const deliveries = [...distinct, ...distinct.slice(0, Math.abs(seed) % (distinct.length + 1))];
        const shuffled = fc.sample(fc.shuffledSubarray(deliveries, { minLength: deliveries.length }), {
          seed,
          numRuns: 1,
        })[0];
        for (const s of shuffled) {
          const body = statusBody({ id, status: s.step, at: T0 + s.second * 1000, pricing: s.pricing });
          expect((await deliverWebhook(workspaceId, body)).status).toBe(200);
        }
        // The model: each field from the status latest by time, then step.
        const expected: Record<string, unknown> = {};
        const ordered = [...distinct].sort((a, b) => a.second - b.second || rank[a.step] - rank[b.step]);
        for (const s of ordered) Object.assign(expected, s.pricing);
        const stored = await storedPricing(workspaceId, id);
        expect(stored ?? {}).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });
});

describe("isCharged", () => {
  it.each([
    [{ pricing_model: "PMP", type: "regular", category: "marketing" }, true],
    [{ pricing_model: "PMP", type: "free_customer_service", category: "service" }, false],
    [{ pricing_model: "PMP", type: "free_group_customer_service", category: "group_service" }, false],
    [{ pricing_model: "PMP", type: "free_entry_point", category: "marketing" }, false],
    // CBP pricing had no type: billable alone says nothing of a charge under per-message pricing.
    [{ pricing_model: "CBP", billable: true, category: "marketing" }, false],
    [null, false],
  ])("%j is charged: %s", (pricing, charged) => {
    expect(isCharged(pricing)).toBe(charged);
  });

  it("reads only Meta's pricing fields, and answers them in camelCase", () => {
    const pricing = readPricing({ billable: false, pricing_model: "PMP", type: "regular", category: "utility", x: 1 });
    expect(pricing).toEqual({ billable: false, pricing_model: "PMP", type: "regular", category: "utility" });
    expect(describePricing(pricing)).toEqual({ pricingModel: "PMP", type: "regular", category: "utility" });
    expect(readPricing([])).toBeNull();
    expect(readPricing({ billable: "true" })).toBeNull();
    expect(describePricing(null)).toBeNull();
  });
});
