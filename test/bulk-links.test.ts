import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, createCampaign, createWorkspace, expectErrorEnvelope } from "./helpers";

function recipients(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    contact: `+4477009${String(i).padStart(5, "0")}`,
    messageId: `wamid.bulk.${i}`,
  }));
}

async function linkCount(campaignId: string) {
  return env.DB.prepare("SELECT count(*) AS n FROM links WHERE campaign_id = ?").bind(campaignId).first<number>("n");
}

describe("POST /api/v1/links/bulk", () => {
  it("creates 10,000 links in one request, in input order", async () => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
    const list = recipients(10_000).map((r, i) => ({ ...r, variant: i % 2 ? "B" : "A" }));
    list[17] = { ...list[17], url: "https://shop.example.com/special" } as (typeof list)[number];
    const res = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: {
        url: "https://shop.example.com/offer",
        campaignId: campaign.id,
        utm: { source: "whatsapp" },
        recipients: list,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.links).toHaveLength(10_000);
    expect(res.body.links.map((l: { messageId: string }) => l.messageId)).toEqual(list.map((r) => r.messageId));
    expect(res.body.links[1]).toMatchObject({
      variant: "B",
      url: "https://shop.example.com/offer",
      utm: { source: "whatsapp" },
      clicks: 0,
    });
    expect(res.body.links[17].url).toBe("https://shop.example.com/special");
    expect(new Set(res.body.links.map((l: { code: string }) => l.code)).size).toBe(10_000);
    expect(await linkCount(campaign.id)).toBe(10_000);

    const stored = await env.DB.prepare("SELECT message_id, variant, contact_hash, utm FROM links WHERE code = ?")
      .bind(res.body.links[1].code)
      .first();
    expect(stored).toMatchObject({ message_id: "wamid.bulk.1", variant: "B", utm: '{"source":"whatsapp"}' });
    expect(stored!.contact_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("creates nothing when one recipient is bad, and names its index", async () => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey, { variants: ["A"] });
    const list: Record<string, unknown>[] = recipients(2_000);
    list[1234] = { contact: "not a phone" };
    list[1500] = { ...list[1500], variant: "Z" };
    const res = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: { url: "https://shop.example.com/", campaignId: campaign.id, recipients: list },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues.map((i: { path: unknown[] }) => i.path)).toEqual([["recipients", 1234, "contact"]]);
    expect(await linkCount(campaign.id)).toBe(0);

    list[1234] = { contact: "+447700912345" };
    const variantRes = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: { url: "https://shop.example.com/", campaignId: campaign.id, recipients: list },
    });
    expect(variantRes.status).toBe(400);
    expect(variantRes.body.error.issues.map((i: { path: unknown[] }) => i.path)).toEqual([
      ["recipients", 1500, "variant"],
    ]);
    expect(await linkCount(campaign.id)).toBe(0);
  });

  it.each([
    [
      "more than 10,000 recipients",
      (campaignId: string) => ({ url: "https://a.example/", campaignId, recipients: recipients(10_001) }),
      ["recipients"],
    ],
    [
      "no recipients",
      (campaignId: string) => ({ url: "https://a.example/", campaignId, recipients: [] }),
      ["recipients"],
    ],
    ["no campaign", () => ({ url: "https://a.example/", recipients: recipients(1) }), ["campaignId"]],
    [
      "a bad destination",
      (campaignId: string) => ({ url: "mailto:x@y.z", campaignId, recipients: recipients(1) }),
      ["url"],
    ],
  ])("answers 400 for %s", async (_, body, path) => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey);
    const res = await callJson("/api/v1/links/bulk", { key: adminKey, body: body(campaign.id) });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: unknown[] }) => i.path)).toContainEqual(path);
    expect(await linkCount(campaign.id)).toBe(0);
  });
});
