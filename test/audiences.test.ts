import { describe, expect, it } from "vitest";
import {
  ANDROID_CHROME,
  callJson,
  callWorker,
  createApiKey,
  createCampaign,
  createLink,
  expectErrorEnvelope,
  issuePaths,
  type Json,
} from "./helpers";
import { createWhatsAppWorkspace, deliverWebhook, getMessage, preferencesBody, statusBody } from "./whatsapp-helpers";

const MIN = 60_000;
const STAGES = ["delivered_not_read", "read_not_clicked", "clicked_not_converted", "converted", "limited"] as const;
type Stage = (typeof STAGES)[number];
const CSV_HEADER = "messageId,externalId,linkCode,variant,reachedAt";

const iso = (ms: number) => new Date(ms).toISOString();
const phone = (n: number) => `+3519123456${String(n).padStart(2, "0")}`;
const waId = (n: number) => phone(n).slice(1);
const LIMITED = { code: 131049, title: "This message was not delivered to maintain healthy ecosystem engagement." };
const UNDELIVERABLE = { code: 131026, title: "Message undeliverable" };

function audience(key: string, query: string, headers?: Record<string, string>) {
  return callWorker(`/api/v1/audiences?${query}`, { key, headers });
}

async function audienceJson(key: string, query: string) {
  const res = await audience(key, query);
  const body = await res.json<Json>();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function register(key: string, messages: Record<string, unknown>[]) {
  const res = await callJson("/api/v1/messages", { key, body: { messages } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function deliver(workspaceId: string, ...statuses: Parameters<typeof statusBody>) {
  const res = await deliverWebhook(workspaceId, statusBody(...statuses));
  expect(res.status).toBe(200);
  expect(res.body.statuses).toBe(statuses.length);
}

/** A human click on a link; answers the click id. */
async function click(code: string) {
  const res = await callWorker(`/${code}`, { headers: { "user-agent": ANDROID_CHROME } });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location")!).searchParams.get("wa_cid")!;
}

async function consent(key: string, contact: string, optedIn: boolean) {
  const res = await callJson("/api/v1/contacts/consent", { key, body: { contact, optedIn, source: "api" } });
  expect(res.status).toBe(201);
}

/**
 * A campaign of fifteen messages, each hand-placed in one audience (or none), beside a message of
 * another campaign and one of another workspace. B is a whole minute, as WhatsApp's times are whole seconds.
 */
async function buildScenario() {
  const B = Math.floor(Date.now() / MIN) * MIN - 3 * 60 * MIN;
  const { workspaceId, adminKey } = await createWhatsAppWorkspace();
  const key = await createApiKey(adminKey, ["reports:read"]);
  const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
  const other = await createCampaign(adminKey);
  const id = (n: number) => `wamid.aud${n}.${crypto.randomUUID()}`;
  const m = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [i + 1, id(i + 1)])) as Record<number, string>;
  // Links with an externalId of their own: a message registered without one takes its link's.
  const linkOf = async (n: number) =>
    (
      await createLink(adminKey, {
        campaignId: campaign.id,
        contact: phone(n),
        messageId: m[n],
        externalId: `link-${n}`,
      })
    ).code as string;
  const links = { 1: await linkOf(1), 4: await linkOf(4), 5: await linkOf(5), 6: await linkOf(6) };
  const sentAt = iso(B);
  const message = (n: number, fields: Record<string, unknown> = {}) => ({
    id: m[n],
    contact: phone(n),
    campaignId: campaign.id,
    variant: n % 2 ? "A" : "B",
    sentAt,
    ...fields,
  });
  // Registered in one request, in this order: rowids follow it, and break ties in time.
  await register(adminKey, [
    message(1, { externalId: "crm-1", linkCode: links[1] }),
    message(2, { externalId: "crm,2" }),
    message(3),
    message(4, { externalId: "crm-4", linkCode: links[4] }),
    message(5, { linkCode: links[5] }),
    message(6, { externalId: "crm-6", linkCode: links[6] }),
    message(7, { externalId: "crm-7" }),
    message(8, { externalId: "crm-8" }),
    message(9),
    message(10),
    message(11, { externalId: "crm-11" }),
    message(12, { externalId: "crm-12" }),
    message(13, { externalId: "crm-13" }),
    message(14, { externalId: "crm-14" }),
    message(15, { campaignId: other.id, variant: undefined, externalId: "crm-15" }),
  ]);
  await deliver(
    workspaceId,
    { id: m[1], status: "delivered", at: B + MIN, recipient: waId(1) },
    { id: m[2], status: "delivered", at: B + 2 * MIN, recipient: waId(2) },
    { id: m[2], status: "read", at: B + 3 * MIN, recipient: waId(2) },
    // Read without a delivered status (delivered is inferred).
    { id: m[3], status: "read", at: B + 4 * MIN, recipient: waId(3) },
    { id: m[4], status: "read", at: B + 6 * MIN, recipient: waId(4) },
    // Delivered and clicked, no read status: the click implies it was read.
    { id: m[5], status: "delivered", at: B + 5 * MIN, recipient: waId(5) },
    { id: m[6], status: "read", at: B + 6 * MIN, recipient: waId(6) },
    { id: m[7], status: "failed", at: B + 7 * MIN, recipient: waId(7), errors: [LIMITED] },
    // Limited first, delivered later: it counts as delivered.
    { id: m[8], status: "failed", at: B + 8 * MIN, recipient: waId(8), errors: [LIMITED] },
    { id: m[8], status: "delivered", at: B + 9 * MIN, recipient: waId(8) },
    // Failed for another reason: in no audience, and a sent message neither.
    { id: m[9], status: "failed", at: B + 8 * MIN, recipient: waId(9), errors: [UNDELIVERABLE] },
    { id: m[10], status: "sent", at: B + MIN, recipient: waId(10) },
    { id: m[11], status: "delivered", at: B + 10 * MIN, recipient: waId(11) },
    // The same time as m8's delivery: the registration order breaks the tie.
    { id: m[12], status: "delivered", at: B + 9 * MIN, recipient: waId(12) },
    // To a group: registered as the business did, but not a recipient.
    { id: m[13], status: "delivered", at: B + 11 * MIN, recipient: "120363040000000000", recipientType: "group" },
    { id: m[13], status: "read", at: B + 12 * MIN, recipient: "120363040000000000", recipientType: "group" },
    { id: m[14], status: "read", at: B + 13 * MIN, recipient: waId(14) },
    { id: m[15], status: "delivered", at: B + 14 * MIN, recipient: waId(15) },
  );
  // m11's contact opted out through the API, m14's stopped marketing on WhatsApp; m12's opted out
  // and back in, and its latest record holds.
  await consent(adminKey, phone(11), false);
  await consent(adminKey, phone(12), false);
  await consent(adminKey, phone(12), true);
  const stop = await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: B + 20 * MIN, waId: waId(14) }));
  expect(stop.body.consents).toBe(1);

  await click(links[4]);
  await click(links[5]);
  const clickId = await click(links[6]);
  const conversion = await callJson("/api/v1/conversions", {
    key: adminKey,
    body: { clickId, event: "purchase", value: 20, currency: "EUR", orderId: `o-${m[6]}` },
  });
  expect(conversion.body.attributedTo?.messageId).toBe(m[6]);

  // Another workspace's campaign, with a delivered message of its own.
  const elsewhere = await createWhatsAppWorkspace();
  const theirCampaign = await createCampaign(elsewhere.adminKey);
  const theirs = id(16);
  await register(elsewhere.adminKey, [{ id: theirs, contact: phone(1), campaignId: theirCampaign.id, sentAt }]);
  await deliver(elsewhere.workspaceId, { id: theirs, status: "delivered", at: B + MIN, recipient: waId(1) });

  // Click and conversion times come from the redirect and the API: what the message's state shows.
  const state = async (n: number) => (await getMessage(key, m[n])).body;
  const entry = (n: number, reachedAt: string | number, linkCode: string | null = null, externalId?: string) => ({
    messageId: m[n],
    externalId: externalId ?? null,
    linkCode,
    variant: n % 2 ? "A" : "B",
    reachedAt: typeof reachedAt === "number" ? iso(reachedAt) : reachedAt,
  });
  const expected: Record<Stage, Json[]> = {
    delivered_not_read: [
      entry(1, B + MIN, links[1], "crm-1"),
      entry(8, B + 9 * MIN, null, "crm-8"),
      entry(12, B + 9 * MIN, null, "crm-12"),
    ],
    read_not_clicked: [entry(2, B + 3 * MIN, null, "crm,2"), entry(3, B + 4 * MIN)],
    clicked_not_converted: [
      entry(4, (await state(4)).clickedAt, links[4], "crm-4"),
      entry(5, (await state(5)).clickedAt, links[5], "link-5"),
    ],
    converted: [entry(6, (await state(6)).convertedAt, links[6], "crm-6")],
    limited: [entry(7, B + 7 * MIN, null, "crm-7")],
  };
  return { workspaceId, adminKey, key, campaign, other, m, expected, elsewhere, theirCampaign, theirs };
}

type Scenario = Awaited<ReturnType<typeof buildScenario>>;

/** Every page of an audience with `limit`, checked to hold at most that many; answers them in order. */
async function walkJson(key: string, query: string, limit: number) {
  const pages: Json[] = [];
  let cursor: string | null = null;
  do {
    const body = await audienceJson(key, `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(body.messages.length).toBeLessThanOrEqual(limit);
    pages.push(body);
    cursor = body.nextCursor;
  } while (cursor !== null && pages.length < 20);
  return pages;
}

function parseCsv(text: string): string[][] {
  expect(text.endsWith("\r\n")).toBe(true);
  return text
    .slice(0, -2)
    .split("\r\n")
    .map((line) => line.split(","));
}

const csvField = (value: string | null) =>
  /[",]/.test(value ?? "") ? `"${value!.replaceAll('"', '""')}"` : (value ?? "");
const csvRows = (entries: Json[]) =>
  entries.map((e) => [e.messageId, e.externalId, e.linkCode, e.variant, e.reachedAt].map(csvField).join(","));

describe("GET /api/v1/audiences", () => {
  it("answers the messages of a campaign at each stage, exclusive as named, in the order they reached it", async () => {
    const s = await buildScenario();
    for (const stage of STAGES) {
      const body = await audienceJson(s.key, `campaignId=${s.campaign.id}&stage=${stage}`);
      expect(body, stage).toEqual({ asOf: expect.any(String), messages: s.expected[stage], nextCursor: null });
    }
    // The other campaign's audience holds its own message only; the other workspace's is in neither.
    const other = await audienceJson(s.key, `campaignId=${s.other.id}&stage=delivered_not_read`);
    expect(other.messages.map((e: Json) => e.messageId)).toEqual([s.m[15]]);
    const theirs = await audienceJson(
      s.elsewhere.adminKey,
      `campaignId=${s.theirCampaign.id}&stage=delivered_not_read`,
    );
    expect(theirs.messages.map((e: Json) => e.messageId)).toEqual([s.theirs]);
  });

  it("pages through every stage two at a time, complete and in order, also across a tie in time", async () => {
    const s = await buildScenario();
    for (const stage of STAGES) {
      const pages = await walkJson(s.key, `campaignId=${s.campaign.id}&stage=${stage}`, 2);
      const expected = s.expected[stage];
      expect(pages.length, stage).toBe(Math.max(1, Math.ceil(expected.length / 2)));
      expect(pages.flatMap((p) => p.messages)).toEqual(expected);
      expect(pages.at(-1).nextCursor).toBeNull();
    }
    const [first, second] = await walkJson(s.key, `campaignId=${s.campaign.id}&stage=delivered_not_read`, 2);
    // m8 and m12 were delivered at the same time: the page ends between them.
    expect(first.messages.map((e: Json) => e.messageId)).toEqual([s.m[1], s.m[8]]);
    expect(second.messages.map((e: Json) => e.messageId)).toEqual([s.m[12]]);
  });

  it("answers the same rows as CSV, by format=csv or Accept: text/csv, with the next cursor in a header", async () => {
    const s = await buildScenario();
    for (const stage of STAGES) {
      const res = await audience(s.key, `campaignId=${s.campaign.id}&stage=${stage}&format=csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(res.headers.get("x-as-of")).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(res.headers.get("x-next-cursor")).toBeNull();
      const text = await res.text();
      expect(text.split("\r\n")[0]).toBe(CSV_HEADER);
      expect(text.split("\r\n").slice(1, -1)).toEqual(csvRows(s.expected[stage]));
    }
    const rows: string[][] = [];
    let cursor: string | null = null;
    do {
      const res = await audience(
        s.key,
        `campaignId=${s.campaign.id}&stage=delivered_not_read&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { accept: "text/csv" },
      );
      expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const [header, ...page] = parseCsv(await res.text());
      expect(header.join(",")).toBe(CSV_HEADER);
      rows.push(...page);
      cursor = res.headers.get("x-next-cursor");
    } while (cursor && rows.length < 10);
    expect(rows.map((r) => r.join(","))).toEqual(csvRows(s.expected.delivered_not_read));
  });

  it("forgets an erased contact's messages", async () => {
    const s = await buildScenario();
    const erased = await callJson("/api/v1/contacts/erase", { key: s.adminKey, body: { contact: phone(1) } });
    expect(erased.status).toBe(200);
    const body = await audienceJson(s.key, `campaignId=${s.campaign.id}&stage=delivered_not_read`);
    expect(body.messages).toEqual(s.expected.delivered_not_read.slice(1));
  });
});

describe("GET /api/v1/audiences: bad queries", () => {
  async function refusal(s: Scenario, query: string) {
    const res = await callJson(`/api/v1/audiences?${query}`, { key: s.key });
    expect(res.status, query).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    return issuePaths(res.body);
  }

  it("refuses a missing or unknown campaign or stage, a bad cursor or limit, naming the field", async () => {
    const s = await buildScenario();
    const campaign = `campaignId=${s.campaign.id}`;
    const cases: [string, (string | number)[]][] = [
      ["stage=converted", ["campaignId"]],
      [campaign, ["stage"]],
      [`${campaign}&stage=sent`, ["stage"]],
      [`${campaign}&stage=`, ["stage"]],
      ["campaignId=cmp_nope&stage=converted", ["campaignId"]],
      // Another workspace's campaign is no campaign of this one.
      [`campaignId=${s.theirCampaign.id}&stage=delivered_not_read`, ["campaignId"]],
      [`${campaign}&stage=converted&cursor=nope`, ["cursor"]],
      [`${campaign}&stage=converted&cursor=${btoa("r12")}`, ["cursor"]],
      [`${campaign}&stage=converted&limit=0`, ["limit"]],
      [`${campaign}&stage=converted&limit=1001`, ["limit"]],
      [`${campaign}&stage=converted&format=xml`, ["format"]],
    ];
    for (const [query, path] of cases) expect(await refusal(s, query), query).toEqual([path]);
  });

  it("needs a key with reports:read", async () => {
    const s = await buildScenario();
    const writer = await createApiKey(s.adminKey, ["links:write", "events:write"]);
    const query = `campaignId=${s.campaign.id}&stage=converted`;
    expect((await callJson(`/api/v1/audiences?${query}`)).status).toBe(401);
    const refused = await callJson(`/api/v1/audiences?${query}`, { key: writer });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(expectErrorEnvelope("forbidden"));
  });
});
