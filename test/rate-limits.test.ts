import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, callWorker, createApiKey, createWorkspace, expectErrorEnvelope, type Json } from "./helpers";

// vitest.config.ts gives each limiter a copy with this limit; a test swaps in the copy of the one it checks.
const SMALL_LIMIT = 3;
const LIMITERS = {
  authFailure: "AUTH_FAILURE_LIMITER",
  apiKey: "API_KEY_LIMITER",
  linkCreation: "LINK_CREATION_LIMITER",
  beacon: "BEACON_LIMITER",
  pixel: "PIXEL_LIMITER",
} as const;

function withSmallLimit(limiter: keyof typeof LIMITERS): Env {
  const name = LIMITERS[limiter];
  return { ...env, [name]: env[`SMALL_${name}`] };
}

type Answer = { status: number; headers: Headers; body: Json };

/**
 * Sends until the first 429. The binding counts in windows of its period, and one may end in between and
 * start the count again, so this allows twice the limit and one more before giving up.
 */
async function sendUntilLimited(send: (i: number) => Promise<Answer>) {
  const before: number[] = [];
  for (let i = 0; i <= 2 * SMALL_LIMIT + 1; i++) {
    const answer = await send(i);
    if (answer.status === 429) return { limited: answer, before };
    before.push(answer.status);
  }
  throw new Error(`no 429 after ${before.length} requests: ${before.join(", ")}`);
}

function expectRateLimited(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(answer.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
  expect(answer.body).toEqual(expectErrorEnvelope("rate_limited"));
  expect(answer.body.error.requestId).toBe(answer.headers.get("x-request-id"));
}

async function countWhere(table: string, column: string, value: string): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`)
    .bind(value)
    .first<number>("n"))!;
}

describe("failed authentication, per client", () => {
  const limited = withSmallLimit("authFailure");
  const fromClient = (ip: string, key = "cf_sk_wrong") =>
    callJson("/api/v1/links", { key, env: limited, headers: { "cf-connecting-ip": ip } });

  it("answers 429 with Retry-After once a client has failed too often, and not another client", async () => {
    const { limited: answer, before } = await sendUntilLimited(() => fromClient("203.0.113.7"));
    expect(before.length).toBeGreaterThanOrEqual(SMALL_LIMIT);
    expect(new Set(before)).toEqual(new Set([401]));
    expectRateLimited(answer);
    expect((await fromClient("203.0.113.8")).status).toBe(401);
  });

  it("counts every 401: admin token, webhook signature and publishable key alike", async () => {
    const ip = "198.51.100.20";
    const headers = { "cf-connecting-ip": ip };
    const { workspace } = await createWorkspace();
    const attempts = [
      () => callJson("/api/v1/workspaces", { key: "wrong", body: { name: "x" }, env: limited, headers }),
      () => callJson(`/webhooks/whatsapp/${workspace.id}`, { body: { object: "x" }, env: limited, headers }),
      () => callJson("/t/collect?k=cf_pk_unknown", { body: "{}", env: limited, headers }),
    ];
    const { limited: answer } = await sendUntilLimited((i) => attempts[i % attempts.length]());
    expectRateLimited(answer);
  });

  it("counts an IPv6 client by its /64", async () => {
    await sendUntilLimited(() => fromClient("2001:db8:1:2::1"));
    expectRateLimited(await fromClient("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect((await fromClient("2001:db8:1:3::1")).status).toBe(401);
  });

  it("does not count successful requests", async () => {
    const { adminKey } = await createWorkspace();
    for (let i = 0; i <= 2 * SMALL_LIMIT; i++) {
      expect((await fromClient("192.0.2.55", adminKey)).status).toBe(200);
    }
  });
});

describe("API calls, per key", () => {
  const limited = withSmallLimit("apiKey");

  it("answers 429 with Retry-After once a key is over its limit; other keys and workspaces go on", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const otherKeyOfA = await createApiKey(a.adminKey, ["reports:read"]);
    const { limited: answer, before } = await sendUntilLimited(() =>
      callJson("/api/v1/workspace", { key: a.adminKey, env: limited }),
    );
    expect(before.length).toBeGreaterThanOrEqual(SMALL_LIMIT);
    expect(new Set(before)).toEqual(new Set([200]));
    expectRateLimited(answer);
    expect((await callJson("/api/v1/workspace", { key: b.adminKey, env: limited })).status).toBe(200);
    expect((await callJson("/api/v1/links", { key: otherKeyOfA, env: limited })).status).toBe(200);
  });

  it("writes nothing for a limited request", async () => {
    const { adminKey, workspace } = await createWorkspace();
    const { limited: answer, before } = await sendUntilLimited((i) =>
      callJson("/api/v1/campaigns", { key: adminKey, body: { name: `C${i}` }, env: limited }),
    );
    expectRateLimited(answer);
    expect(await countWhere("campaigns", "workspace_id", workspace.id)).toBe(before.length);
  });
});

describe("link creation, per key", () => {
  const limited = withSmallLimit("linkCreation");
  const createLink = (key: string) =>
    callJson("/api/v1/links", { key, body: { url: "https://shop.example.com/" }, env: limited });

  it("answers 429 once a key has created too many links, writes none then, and other workspaces go on", async () => {
    const a = await createWorkspace();
    const b = await createWorkspace();
    const { limited: answer, before } = await sendUntilLimited(() => createLink(a.adminKey));
    expect(new Set(before)).toEqual(new Set([201]));
    expectRateLimited(answer);
    expect(await countWhere("links", "workspace_id", a.workspace.id)).toBe(before.length);
    expect((await createLink(b.adminKey)).status).toBe(201);
    // Reading links is not creating them.
    expect((await callJson("/api/v1/links", { key: a.adminKey, env: limited })).status).toBe(200);
  });

  it("counts a bulk request as one, and a key past the limit creates no link in bulk either", async () => {
    const { adminKey, workspace } = await createWorkspace();
    const campaign = (await callJson("/api/v1/campaigns", { key: adminKey, body: { name: "Bulk" } })).body;
    const recipients = [{ contact: "+351912000010" }, { contact: "+351912000011" }];
    const bulk = () =>
      callJson("/api/v1/links/bulk", {
        key: adminKey,
        body: { url: "https://shop.example.com/", campaignId: campaign.id, recipients },
        env: limited,
      });
    const { limited: answer, before } = await sendUntilLimited(bulk);
    expect(new Set(before)).toEqual(new Set([201]));
    expectRateLimited(answer);
    expect(await countWhere("links", "workspace_id", workspace.id)).toBe(before.length * recipients.length);
  });
});

describe("the beacon and the pixel, per visitor", () => {
  const SHOP = "https://shop.example.com";
  const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

  async function shop() {
    const { workspace } = await createWorkspace({ allowedOrigins: [SHOP] });
    return { id: workspace.id as string, pk: workspace.publishableKey as string };
  }

  const beacon = (pk: string, ip: string, orderId: string) =>
    callJson(`/t/collect?k=${pk}`, {
      body: JSON.stringify({ event: "purchase", orderId }),
      headers: { "content-type": "text/plain", origin: SHOP, "cf-connecting-ip": ip, "user-agent": UA },
      env: withSmallLimit("beacon"),
    });

  it("answers a visitor's beacon past the limit with 429, CORS headers and nothing recorded", async () => {
    const site = await shop();
    const { limited: answer, before } = await sendUntilLimited((i) => beacon(site.pk, "203.0.113.50", `o-${i}`));
    expect(new Set(before)).toEqual(new Set([202]));
    expectRateLimited(answer);
    expect(answer.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(await countWhere("conversions", "workspace_id", site.id)).toBe(before.length);
    expect((await beacon(site.pk, "203.0.113.51", "other-visitor")).status).toBe(202);
    const otherSite = await shop();
    expect((await beacon(otherSite.pk, "203.0.113.50", "other-site")).status).toBe(202);
  });

  const pixel = (pk: string, ip: string, orderId: string) =>
    callWorker(`/t/p.gif?k=${pk}&e=purchase&o=${orderId}`, {
      headers: { "cf-connecting-ip": ip, "user-agent": UA },
      env: withSmallLimit("pixel"),
    });

  it("still answers the GIF to a visitor past the limit, and records nothing", async () => {
    const site = await shop();
    const hits = 2 * SMALL_LIMIT + 2;
    for (let i = 0; i < hits; i++) {
      const res = await pixel(site.pk, "198.51.100.60", `p-${i}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/gif");
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    const recorded = await countWhere("conversions", "workspace_id", site.id);
    // A window of the binding may end during the loop; even so, at most twice the limit gets through.
    expect(recorded).toBeGreaterThanOrEqual(SMALL_LIMIT);
    expect(recorded).toBeLessThanOrEqual(2 * SMALL_LIMIT);
    await pixel(site.pk, "198.51.100.61", "other-visitor");
    expect(await countWhere("conversions", "workspace_id", site.id)).toBe(recorded + 1);
  });
});
