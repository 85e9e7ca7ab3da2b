import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countOptOuts } from "../src/db/reports/opt-outs";
import { drainOutbox } from "../src/events/pipeline";
import { QUARTER_MS } from "../src/lib/calendar";
import { applied, callJson, callWorker, createWorkspace, type Json } from "./helpers";
import { seededRandom } from "./random";
import {
  createWhatsAppWorkspace,
  deliverWebhook,
  preferencesBody,
  STOPPED_MARKETING_ERROR,
  statusBody,
} from "./whatsapp-helpers";

const T0 = Date.UTC(2026, 9, 5, 9); // 2026-10-05T09:00:00Z
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
const waId = (n: number) => `1415555${String(n).padStart(4, "0")}`;
const contact = (n: number) => `+${waId(n)}`;

async function metrics(key: string, query: string): Promise<Json> {
  const res = await callJson(`/api/v1/reports/metrics?${query}`, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/**
 * Five contacts sent messages on 2026-10-05 (one also the next day, one moved two days earlier by a
 * status), and opt-outs WhatsApp reported that day.
 */
async function history() {
  const { workspaceId, adminKey: key } = await createWhatsAppWorkspace();
  const message = (n: number, at: number, category?: string) => ({
    id: `wamid.${n}.${at}`,
    contact: contact(n),
    sentAt: iso(at),
    ...(category ? { category } : {}),
  });
  const registered = await callJson("/api/v1/messages", {
    key,
    body: {
      messages: [
        message(1, T0, "marketing"),
        message(2, T0 + 30 * MIN, "marketing"),
        message(3, T0, "marketing_lite"),
        message(3, T0 + DAY, "marketing"),
        message(4, T0, "utility"),
        message(6, T0, "marketing"),
      ],
    },
  });
  expect(registered.status).toBe(200);
  const statuses = statusBody(
    // Contact 5's message is marketing by WhatsApp's pricing alone.
    { id: "wamid.5", status: "sent", at: T0, recipient: waId(5), pricing: { category: "marketing" } },
    // Contact 2's marketing message failed: the user had stopped marketing messages.
    {
      id: `wamid.2.${T0 + 30 * MIN}`,
      status: "failed",
      at: T0 + 2 * HOUR,
      recipient: waId(2),
      errors: [STOPPED_MARKETING_ERROR],
    },
    // Contact 6's message turns out to have been sent two days earlier.
    { id: `wamid.6.${T0}`, status: "sent", at: T0 - 2 * DAY, recipient: waId(6) },
  );
  expect((await deliverWebhook(workspaceId, statuses)).body).toMatchObject({ statuses: 3, consents: 1, skipped: 0 });
  const preferences = preferencesBody(
    { value: "stop", at: T0 + HOUR, waId: waId(1) },
    { value: "stop", at: T0 + 3 * HOUR, waId: waId(4) },
    { value: "resume", at: T0 + 5 * HOUR, waId: waId(1) },
    { value: "stop", at: T0 + 6 * HOUR, waId: waId(1) },
  );
  expect((await deliverWebhook(workspaceId, preferences)).body).toMatchObject({ consents: 4, skipped: 0 });
  return { workspaceId, key };
}

describe("optOutRate in GET /api/v1/reports/metrics", () => {
  it("is the contacts who opted out in the range over the contacts sent marketing in it", async () => {
    const { key } = await history();
    // Opted out on the 5th: 1 (twice), 2 (error 131050) and 4 (sent only utility). Sent marketing on the
    // 5th: 1, 2, 3 and 5 (by its pricing); 6's message moved to the 3rd.
    expect((await metrics(key, "from=2026-10-05&to=2026-10-05")).optOutRate).toBe(3 / 4);
    // Contact 3, sent marketing on both days, counts once.
    expect((await metrics(key, "from=2026-10-05&to=2026-10-06")).optOutRate).toBe(3 / 4);
    expect((await metrics(key, "from=2026-10-03&to=2026-10-03")).optOutRate).toBe(0);
    expect((await metrics(key, "from=2026-10-06&to=2026-10-06")).optOutRate).toBe(0);
    expect((await metrics(key, "from=2026-09-01&to=2026-09-30")).optOutRate).toBe(null);
  });

  it("counts to the quarter hour, in any time zone", async () => {
    const { key } = await history();
    // [09:15, 10:00): contact 2's marketing message at 09:30, no opt-out yet.
    expect((await metrics(key, "from=2026-10-05T09:15:00Z&to=2026-10-05T10:00:00Z")).optOutRate).toBe(0);
    // [09:00, 11:15): contacts 1, 2, 3 and 5 sent marketing; 1 stopped at 10:00 and 2 failed at 11:00.
    expect((await metrics(key, "from=2026-10-05T09:00:00Z&to=2026-10-05T11:15:00Z")).optOutRate).toBe(2 / 4);
    // The 5th in Kolkata is [2026-10-04T18:30Z, 2026-10-05T18:30Z): the same contacts as the UTC day.
    expect((await metrics(key, "from=2026-10-05&to=2026-10-05&timezone=Asia/Kolkata")).optOutRate).toBe(3 / 4);
    // The 6th in Kolkata ends at 18:30Z: contact 3's second message (09:00Z) is in it, no opt-out is.
    expect((await metrics(key, "from=2026-10-06&to=2026-10-06&timezone=Asia/Kolkata")).optOutRate).toBe(0);
  });

  it("is workspace-wide, and in the CSV form too", async () => {
    const { key } = await history();
    const path = "/api/v1/reports/metrics?from=2026-10-05&to=2026-10-05&campaignId=cmp_none";
    expect((await callJson(path, { key })).body.optOutRate).toBe(3 / 4);
    const csv = await (await callWorker(`${path}&format=csv`, { key })).text();
    expect(csv.split("\r\n")).toContain("optOutRate,0.75");
    const other = await createWorkspace();
    expect((await metrics(other.adminKey, "from=2026-10-05&to=2026-10-05")).optOutRate).toBe(null);
  });

  it("counts an opt-out recorded through the API, at the time it was recorded", async () => {
    const { key } = await history();
    const res = await callJson("/api/v1/contacts/consent", {
      key,
      body: { contact: contact(3), optedIn: false, source: "api" },
    });
    expect(res.status).toBe(201);
    // Contact 3 was sent marketing on the 5th and 6th of October and opted out today.
    expect((await metrics(key, "from=2026-10-05")).optOutRate).toBe(4 / 4);
    expect((await metrics(key, "from=2026-10-05&to=2026-10-06")).optOutRate).toBe(3 / 4);
  });
});

// ---- property: the contacts sent marketing, against a count over the raw messages -----------------

const CATEGORIES = ["marketing", "marketing_lite", "utility", "pricing", "none"] as const;

/** Distinct contacts of the workspace's marketing messages placed in [from, to), from the raw rows. */
async function bruteForce(workspaceId: string, from: number, to: number): Promise<number> {
  return (await env.DB.prepare(
    `SELECT COUNT(DISTINCT contact_hash) AS n FROM messages
     WHERE workspace_id = ?1 AND contact_hash IS NOT NULL AND report_at >= ?2 AND report_at < ?3
       AND lower(COALESCE(category, json_extract(pricing, '$.category'), '')) IN ('marketing', 'marketing_lite')`,
  )
    .bind(workspaceId, from, to)
    .first<number>("n"))!;
}

describe("contacts sent marketing in a range", { timeout: 60_000 }, () => {
  it.each([1, 2, 3])("match a count over the raw messages as messages move (seed %i)", async (seed) => {
    const r = seededRandom(seed);
    const { workspaceId, adminKey: key } = await createWhatsAppWorkspace();
    const start = Date.UTC(2026, 8, 1);
    const span = 6 * DAY;
    const minute = () => start + r.int(span / MIN) * MIN;
    const ids: string[] = [];
    for (let round = 0; round < 4; round++) {
      const messages: Record<string, unknown>[] = [];
      const statuses: Parameters<typeof statusBody> = [];
      for (let i = 0; i < 25; i++) {
        const id = `wamid.${round}.${i}`;
        const n = r.int(8);
        const category = r.pick(CATEGORIES);
        ids.push(id);
        if (category === "pricing") {
          statuses.push({ id, status: "sent", at: minute(), recipient: waId(n), pricing: { category: "marketing" } });
        } else {
          messages.push({
            id,
            contact: contact(n),
            sentAt: iso(minute()),
            ...(category === "none" ? {} : { category }),
          });
        }
      }
      // Statuses move earlier messages to earlier times, or to a new quarter hour and day.
      for (let i = 0; i < 12; i++) {
        statuses.push({ id: r.pick(ids), status: r.pick(["sent", "delivered", "read"]), at: minute() });
      }
      if (messages.length > 0)
        expect((await callJson("/api/v1/messages", { key, body: { messages } })).status).toBe(200);
      // The consumer may have applied part of the round when its statuses arrive, as under live traffic.
      for (let slice = r.int(4); slice > 0; slice--) await drainOutbox(env.DB, { slices: 1, size: 1 + r.int(12) });
      expect((await deliverWebhook(workspaceId, statusBody(...statuses))).status).toBe(200);
      const d1 = await applied();
      for (let k = 0; k < 15; k++) {
        const a = start - DAY + r.int((span + 2 * DAY) / QUARTER_MS) * QUARTER_MS;
        const b = a + (1 + r.int((4 * DAY) / QUARTER_MS)) * QUARTER_MS;
        const counted = await countOptOuts(d1, workspaceId, a, b);
        expect(counted.marketingContacts, `[${iso(a)}, ${iso(b)})`).toBe(await bruteForce(workspaceId, a, b));
      }
    }
  });
});
