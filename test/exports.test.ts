import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  callJson,
  callWorker,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
  type Json,
} from "./helpers";
import { statusBody } from "./whatsapp-helpers";

const HUMAN_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const PREVIEW_UA = "WhatsApp/2.23.20.0 A";
const CONTACT = "+44 7700 900123";
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const CLICK_COLUMNS = [
  ...["id", "occurredAt", "linkId", "linkCode", "campaignId", "variant", "messageId", "externalId", "kind"],
  "isUnique",
  ...["country", "deviceType", "os", "browser", "referrerHost", "userAgent"],
];
const CONVERSION_COLUMNS = [
  ...["id", "occurredAt", "event", "orderId", "value", "currency", "source", "clickId", "linkCode"],
  ...["campaignId", "variant", "messageId", "externalId", "gaClientId"],
];
const MESSAGE_COLUMNS = [
  ...["id", "campaignId", "variant", "linkCode", "externalId", "category", "country", "status", "sentAt"],
  ...["deliveredAt", "readAt", "failedAt", "clickedAt", "convertedAt", "repliedAt", "revenue", "outcome"],
];

/** Calls an export route; the one place that knows how the routes are reached. */
function callExport(path: string, key?: string, headers?: Record<string, string>) {
  return callWorker(`/api/v1/export/${path}`, { key, headers });
}

/** An RFC 4180 reader, strict enough to catch a field that was not quoted or escaped. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      for (i++; !(text[i] === '"' && text[i + 1] !== '"'); i++) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        field += text[i];
        if (text[i] === '"') i++;
      }
      i++;
    } else if (text[i] === ",") {
      record.push(field);
      [field, i] = ["", i + 1];
    } else if (text.startsWith("\r\n", i)) {
      records.push([...record, field]);
      [record, field, i] = [[], "", i + 2];
    } else {
      if (text[i] === "\r" || text[i] === "\n") throw new Error(`bare line break at ${i}`);
      field += text[i++];
    }
  }
  if (record.length > 0 || field !== "") throw new Error("the last record does not end in CRLF");
  return records;
}

async function exportCsv(path: string, key: string): Promise<Record<string, string>[]> {
  const res = await callExport(path, key);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
  const [header, ...rows] = parseCsv(await res.text());
  return rows.map((row) => {
    expect(row).toHaveLength(header.length);
    return Object.fromEntries(header.map((column, i) => [column, row[i]]));
  });
}

/** NDJSON lines; read as bytes because workerd only trusts text/* and JSON types to be text. */
async function readNdjson(res: Response): Promise<Json[]> {
  const text = new TextDecoder().decode(await res.arrayBuffer());
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function exportNdjson(path: string, key: string): Promise<Json[]> {
  const res = await callExport(path, key, { accept: "application/x-ndjson" });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/x-ndjson");
  return readNdjson(res);
}

async function csvHeader(path: string, key: string) {
  return parseCsv(await (await callExport(path, key)).text())[0];
}

/** Follows a short link; returns the click id handed to the destination (null for previews). */
async function clickThrough(code: string, userAgent = HUMAN_UA) {
  const res = await callWorker(`/${code}`, {
    headers: { "user-agent": userAgent, referer: "https://l.wl.co/l?u=x" },
    cf: { country: "PT" },
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location")!).searchParams.get("wa_cid");
}

function convert(key: string, body: Record<string, unknown>) {
  return callJson("/api/v1/conversions", { key, body: { event: "purchase", ...body } }).then((res) => {
    expect(res.status).toBe(201);
    return res.body;
  });
}

async function register(key: string, messages: Record<string, unknown>[]) {
  const res = await callJson("/api/v1/messages", { key, body: { messages } });
  expect(res.status).toBe(200);
}

/** A workspace with one campaign, a link made for one message, a human click on it and a preview. */
async function workspaceWithTraffic() {
  const { workspace, adminKey } = await createWorkspace();
  const key = await createApiKey(adminKey, ["reports:read"]);
  const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
  const messageId = `wamid.${crypto.randomUUID()}`;
  const link = await createLink(adminKey, { campaignId: campaign.id, variant: "B", contact: CONTACT, messageId });
  await register(adminKey, [{ id: messageId, contact: CONTACT, linkCode: link.code, sentAt: iso(Date.now() - MIN) }]);
  const clickId = await clickThrough(link.code);
  await clickThrough(link.code, PREVIEW_UA);
  return { workspaceId: workspace.id as string, adminKey, key, campaign, link, messageId, clickId: clickId! };
}

describe("GET /api/v1/export/clicks", () => {
  it("streams the workspace's visits as CSV, oldest first, without visitor or contact hashes", async () => {
    const { workspaceId, key, campaign, link, messageId, clickId } = await workspaceWithTraffic();

    const res = await callExport("clicks", key);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="clicks.csv"');
    const text = await res.text();
    expect(parseCsv(text)[0]).toEqual(CLICK_COLUMNS);
    const rows = await exportCsv("clicks", key);
    expect(rows).toEqual([
      {
        id: clickId,
        occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        linkId: link.id,
        linkCode: link.code,
        campaignId: campaign.id,
        variant: "B",
        messageId,
        externalId: "",
        kind: "click",
        isUnique: "true",
        country: "PT",
        deviceType: "mobile",
        os: "iOS",
        browser: expect.any(String),
        referrerHost: "l.wl.co",
        userAgent: HUMAN_UA,
      },
      expect.objectContaining({ kind: "preview", isUnique: "false", userAgent: PREVIEW_UA, linkCode: link.code }),
    ]);
    expect(rows[0].occurredAt <= rows[1].occurredAt).toBe(true);
    const { results } = await env.DB.prepare("SELECT visitor_hash, contact_hash FROM clicks WHERE workspace_id = ?")
      .bind(workspaceId)
      .all<{ visitor_hash: string; contact_hash: string }>();
    for (const hash of results.flatMap((r) => [r.visitor_hash, r.contact_hash]).filter(Boolean)) {
      expect(text).not.toContain(hash);
    }
  });

  it("streams the same rows as NDJSON with typed values, by Accept header or format=ndjson", async () => {
    const { key, link, clickId } = await workspaceWithTraffic();
    const rows = await exportNdjson("clicks", key);
    expect(rows.map((row) => Object.keys(row))).toEqual([CLICK_COLUMNS, CLICK_COLUMNS]);
    expect(rows[0]).toMatchObject({ id: clickId, linkCode: link.code, isUnique: true, kind: "click", country: "PT" });
    expect(rows[1]).toMatchObject({ kind: "preview", isUnique: false, variant: "B" });
    expect(new Date(rows[0].occurredAt).toISOString()).toBe(rows[0].occurredAt);

    const byParam = await callExport("clicks?format=ndjson", key, { accept: "text/csv" });
    expect(byParam.headers.get("content-type")).toBe("application/x-ndjson");
    expect(byParam.headers.get("content-disposition")).toBe('attachment; filename="clicks.ndjson"');
    expect(await readNdjson(byParam)).toEqual(rows);
    const byAccept = await callExport("clicks", key, { accept: "text/csv" });
    expect(byAccept.headers.get("content-type")).toBe("text/csv; charset=utf-8");
  });

  it("keeps clicks in from ≤ time < to", async () => {
    const { adminKey, key, link } = await workspaceWithTraffic();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await clickThrough(link.code);
    const [first, , third] = await exportNdjson("clicks", key);
    expect(first.occurredAt < third.occurredAt).toBe(true);

    const after = await exportNdjson(`clicks?from=${third.occurredAt}`, adminKey);
    expect(after.map((row) => row.id)).toEqual([third.id]);
    const before = await exportNdjson(`clicks?to=${third.occurredAt}&format=ndjson`, adminKey);
    expect(before.map((row) => row.id)).not.toContain(third.id);
    expect(before).toHaveLength(2);
  });

  it("pages through more clicks than one query returns, complete and in order, also across equal times", async () => {
    const { workspaceId, key, link } = await workspaceWithTraffic();
    // Written directly: 2,500 redirects through the Worker would take minutes, and only the database
    // can give 2,500 clicks one and the same millisecond, which is what the keyset must survive.
    const ids = Array.from({ length: 2_500 }, (_, i) => `bulk${String(i).padStart(5, "0")}`);
    await env.DB.prepare(
      `INSERT INTO clicks (id, workspace_id, link_id, kind, is_unique, occurred_at)
       SELECT value, ?1, ?2, 'bot', 0, ?3 FROM json_each(?4)`,
    )
      .bind(workspaceId, link.id, Date.now() + 1000, JSON.stringify(ids))
      .run();

    const rows = await exportCsv("clicks", key);
    expect(rows).toHaveLength(2_502);
    expect(rows.slice(2).map((row) => row.id)).toEqual(ids);
  });
});

describe("GET /api/v1/export/conversions", () => {
  it("exports conversions with their attribution, and quotes fields with commas, quotes and line breaks", async () => {
    const { adminKey, key, campaign, link, messageId, clickId } = await workspaceWithTraffic();
    const orderId = 'A,1 "gift"\r\nwrap';
    const purchase = await convert(adminKey, {
      clickId,
      value: 49.9,
      currency: "EUR",
      orderId,
      gaClientId: "1234567890.1700000000",
    });
    const formula = await convert(adminKey, { event: "lead", orderId: '=HYPERLINK("https://evil.example")' });

    const rows = await exportCsv("conversions", key);
    expect(Object.keys(rows[0])).toEqual(CONVERSION_COLUMNS);
    expect(rows).toEqual([
      {
        id: purchase.id,
        occurredAt: expect.any(String),
        event: "purchase",
        orderId,
        value: "49.9",
        currency: "EUR",
        source: "api",
        clickId,
        linkCode: link.code,
        campaignId: campaign.id,
        variant: "B",
        messageId,
        externalId: "",
        gaClientId: "1234567890.1700000000",
      },
      expect.objectContaining({
        id: formula.id,
        event: "lead",
        orderId: `'=HYPERLINK("https://evil.example")`,
        value: "",
      }),
    ]);

    const json = await exportNdjson("conversions", key);
    expect(json[0]).toMatchObject({ orderId, value: 49.9, currency: "EUR" });
    expect(json[1]).toMatchObject({ orderId: '=HYPERLINK("https://evil.example")', value: null, clickId: null });
  });

  it("keeps conversions in from ≤ time < to", async () => {
    const { adminKey, key } = await workspaceWithTraffic();
    const now = Date.now();
    for (const [orderId, ago] of [
      ["o-3", 3],
      ["o-2", 2],
      ["o-1", 1],
    ] as const) {
      await convert(adminKey, { orderId, occurredAt: iso(now - ago * 3_600_000) });
    }
    const rows = await exportNdjson(`conversions?from=${iso(now - 2 * 3_600_000)}&to=${iso(now - 3_600_000)}`, key);
    expect(rows.map((row) => row.orderId)).toEqual(["o-2"]);
  });
});

describe("exports: externalId", () => {
  it("carries the business's contact id on clicks and conversions: the message's, else the link's", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["reports:read"]);
    const campaign = await createCampaign(adminKey);
    const [withMessageId, noExternalId] = [`wamid.${crypto.randomUUID()}`, `wamid.${crypto.randomUUID()}`];
    const sentAt = iso(Date.now() - MIN);
    // The message's own externalId wins over its link's.
    const both = await createLink(adminKey, {
      campaignId: campaign.id,
      messageId: withMessageId,
      externalId: "crm-link-1",
    });
    // A link for a message registered without one: the link's.
    const linkOnly = await createLink(adminKey, {
      campaignId: campaign.id,
      messageId: noExternalId,
      externalId: "crm,2",
    });
    // A link with no message at all: the link's.
    const bare = await createLink(adminKey, { campaignId: campaign.id, externalId: "crm-link-3" });
    const none = await createLink(adminKey, { campaignId: campaign.id });
    await register(adminKey, [
      { id: withMessageId, contact: CONTACT, linkCode: both.code, externalId: "crm-message-1", sentAt },
      { id: noExternalId, contact: "+44 7700 900124", linkCode: linkOnly.code, sentAt },
    ]);
    const clickIds: string[] = [];
    for (const link of [both, linkOnly, bare, none]) {
      clickIds.push((await clickThrough(link.code))!);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (const clickId of clickIds) await convert(adminKey, { clickId, orderId: `o-${clickId}` });
    await convert(adminKey, { orderId: "unattributed" });
    const expected = ["crm-message-1", "crm,2", "crm-link-3", null];

    const clicks = await exportNdjson("clicks", key);
    expect(clicks.map((row) => [row.id, row.externalId])).toEqual(clickIds.map((id, i) => [id, expected[i]]));
    const clicksCsv = await exportCsv("clicks", key);
    expect(clicksCsv.map((row) => row.externalId)).toEqual(expected.map((id) => id ?? ""));

    const conversions = await exportNdjson("conversions", key);
    const byClick = new Map(conversions.map((row) => [row.clickId, row.externalId]));
    expect(clickIds.map((id) => byClick.get(id))).toEqual(expected);
    expect(conversions.find((row) => row.orderId === "unattributed")).toMatchObject({ externalId: null });
    const conversionsCsv = await exportCsv("conversions", key);
    expect(conversionsCsv.find((row) => row.clickId === clickIds[1])).toMatchObject({ externalId: "crm,2" });
  });
});

describe("GET /api/v1/export/messages", () => {
  it("exports each message's status and steps, inferred ones filled in, with its click and revenue", async () => {
    const { adminKey, key, campaign, link, messageId, clickId } = await workspaceWithTraffic();
    await convert(adminKey, { clickId, value: "12.50", currency: "EUR", orderId: "m-1" });
    await register(adminKey, [
      { id: "wamid.delivered", contact: "+351 912 345 678", campaignId: campaign.id, variant: "A", sentAt: iso(T0) },
      { id: "wamid.failed", contact: "+351 912 345 679", externalId: "crm,42", category: "utility", sentAt: iso(T0) },
    ]);
    const statuses = statusBody(
      { id: "wamid.delivered", status: "delivered", at: T0 + MIN },
      { id: "wamid.failed", status: "failed", at: T0 + 2 * MIN },
      { id: "wamid.unregistered", status: "read", at: T0 + 3 * MIN },
    );
    expect((await callJson("/api/v1/statuses", { key: adminKey, body: statuses })).status).toBe(200);

    const rows = await exportNdjson("messages", key);
    expect(rows.map((row) => Object.keys(row))).toEqual(Array(4).fill(MESSAGE_COLUMNS));
    const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
    expect(byId[messageId]).toMatchObject({
      campaignId: campaign.id,
      variant: "B",
      linkCode: link.code,
      status: "read",
      readAt: byId[messageId].clickedAt,
      deliveredAt: byId[messageId].clickedAt,
      clickedAt: expect.any(String),
      convertedAt: expect.any(String),
      revenue: 12.5,
    });
    expect(byId["wamid.delivered"]).toMatchObject({
      campaignId: campaign.id,
      variant: "A",
      status: "delivered",
      sentAt: iso(T0),
      deliveredAt: iso(T0 + MIN),
      readAt: null,
      revenue: 0,
    });
    expect(byId["wamid.failed"]).toMatchObject({
      status: "failed",
      failedAt: iso(T0 + 2 * MIN),
      category: "utility",
      outcome: "failed",
    });
    expect(byId["wamid.delivered"].outcome).toBeNull();
    expect(byId["wamid.unregistered"]).toMatchObject({
      status: "read",
      sentAt: iso(T0 + 3 * MIN),
      deliveredAt: iso(T0 + 3 * MIN),
      readAt: iso(T0 + 3 * MIN),
    });

    const csv = await exportCsv("messages", key);
    expect(Object.keys(csv[0])).toEqual(MESSAGE_COLUMNS);
    expect(csv.find((row) => row.id === "wamid.failed")).toMatchObject({ externalId: "crm,42", readAt: "" });
  });

  it("streams 2,500 messages registered in one request, complete and in id order, also as one exact page", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["reports:read"]);
    const messages = Array.from({ length: 2_500 }, (_, i) => ({
      id: `wamid.page-${String(i).padStart(5, "0")}`,
      contact: `+1 415 555 ${String(i).padStart(4, "0")}`,
      sentAt: iso(T0 + i * 1000),
    }));
    await register(adminKey, messages);
    const ids = messages.map((m) => m.id);

    const chunks = [];
    const reader = (await callExport("messages", key)).body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(read.value);
    expect(chunks).toHaveLength(3); // one per page of 1,000: the body is never held whole

    const csv = await exportCsv("messages", key);
    expect(csv.map((row) => row.id)).toEqual(ids);
    expect(csv[2_499]).toMatchObject({ status: "sent", sentAt: iso(T0 + 2_499_000) });
    const json = await exportNdjson(`messages?from=${iso(T0 + 1_000_000)}&to=${iso(T0 + 2_000_000)}`, key);
    expect(json.map((row) => row.id)).toEqual(ids.slice(1_000, 2_000));
  }, 60_000);

  it("reads date-only from and to as local midnights in timezone, as reports do, with to including its day", async () => {
    const { adminKey } = await createWorkspace();
    const DAY = 24 * 60 * MIN;
    // 09:00 UTC on 1, 2 and 3 June.
    await register(
      adminKey,
      [0, 1, 2].map((d) => ({ id: `wamid.day${d}`, contact: `+1 415 555 010${d}`, sentAt: iso(T0 + d * DAY) })),
    );
    const ids = async (query: string) => (await exportNdjson(`messages?${query}`, adminKey)).map((row) => row.id);
    expect(await ids("from=2026-06-02&to=2026-06-02")).toEqual(["wamid.day1"]);
    // In UTC+14, 2 June runs from 10:00 UTC on 1 June to 10:00 UTC on 2 June.
    expect(await ids("from=2026-06-02&to=2026-06-02&timezone=Pacific/Kiritimati")).toEqual(["wamid.day1"]);
    expect(await ids("from=2026-06-01&timezone=Pacific/Kiritimati")).toEqual([
      "wamid.day0",
      "wamid.day1",
      "wamid.day2",
    ]);
    // In UTC-10, 1 June runs from 10:00 UTC on 1 June: the first message, at 09:00 UTC, is still on 31 May.
    expect(await ids("from=2026-06-01&to=2026-06-01&timezone=Pacific/Honolulu")).toEqual(["wamid.day1"]);
  });

  it("keeps the messages of the given campaigns and variant", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["reports:read"]);
    const [spring, summer, autumn] = await Promise.all(
      ["Spring", "Summer", "Autumn"].map((name) => createCampaign(adminKey, { name, variants: ["A", "B"] })),
    );
    await register(
      adminKey,
      [spring, spring, summer, autumn].map((campaign, i) => ({
        id: `wamid.c${i}`,
        contact: `+1 415 555 010${i}`,
        campaignId: campaign.id,
        variant: i === 1 ? "B" : "A",
        sentAt: iso(T0),
      })),
    );
    const ids = async (query: string) => (await exportNdjson(`messages?${query}`, key)).map((row) => row.id);
    expect(await ids(`campaignId=${spring.id}&campaignId=${summer.id}`)).toEqual(["wamid.c0", "wamid.c1", "wamid.c2"]);
    expect(await ids(`campaignId=${autumn.id}`)).toEqual(["wamid.c3"]);
    expect(await ids(`campaignId=${spring.id}&variant=B`)).toEqual(["wamid.c1"]);
    expect(await ids("variant=A")).toEqual(["wamid.c0", "wamid.c2", "wamid.c3"]);
  });
});

describe("exports: security", () => {
  it("never shows another workspace's rows, not even when asked for its campaign", async () => {
    const ours = await workspaceWithTraffic();
    const theirs = await workspaceWithTraffic();
    await convert(theirs.adminKey, { clickId: theirs.clickId, orderId: "theirs" });

    for (const path of ["clicks", "conversions", "messages"]) {
      const text = await (await callExport(path, ours.key)).text();
      for (const value of [theirs.clickId, theirs.link.code, theirs.messageId, theirs.campaign.id]) {
        expect(text).not.toContain(value);
      }
      expect(await exportNdjson(`${path}?campaignId=${theirs.campaign.id}`, ours.key)).toEqual([]);
    }
    expect(await csvHeader("conversions", ours.key)).toEqual(CONVERSION_COLUMNS);
  });

  it.each(["clicks", "conversions", "messages"])(
    "/export/%s answers 401 without a key and 403 without reports:read",
    async (path) => {
      const { adminKey } = await createWorkspace();
      const missing = await callExport(path);
      expect(missing.status).toBe(401);
      expect(await missing.json()).toEqual(expectErrorEnvelope("unauthorized"));
      const writer = await createApiKey(adminKey, ["links:write", "events:write"]);
      const forbidden = await callExport(path, writer);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toEqual(expectErrorEnvelope("forbidden"));
    },
  );

  const campaigns101 = Array.from({ length: 101 }, (_, i) => `campaignId=c${i}`).join("&");
  it.each([
    ["an unknown format", "format=xml", ["format"]],
    ["a from that is no time", "from=yesterday", ["from"]],
    ["a to of a day that does not exist", "to=2026-02-30", ["to"]],
    ["an unknown time zone", "from=2026-06-01&timezone=Mars/Olympus", ["timezone"]],
    ["a to before from", "from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z", ["to"]],
    ["an empty range", "from=2026-06-01T00:00:00Z&to=2026-06-01T00:00:00Z", ["to"]],
    ["an empty campaignId", "campaignId=", ["campaignId"]],
    ["101 campaignIds", campaigns101, ["campaignId"]],
    ["a variant of 65 characters", `variant=${"x".repeat(65)}`, ["variant"]],
  ])("answers 400 for %s", async (_, query, path) => {
    const { adminKey } = await createWorkspace();
    for (const table of ["clicks", "messages"]) {
      const res = await callExport(`${table}?${query}`, adminKey);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body).toEqual(expectErrorEnvelope("invalid_request"));
      expect(issuePaths(body)).toEqual([path]);
    }
  });

  it("is described in the OpenAPI document", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    for (const path of ["clicks", "conversions", "messages"]) {
      const operation = body.paths[`/api/v1/export/${path}`].get;
      expect(operation.tags).toEqual(["Exports"]);
      expect(Object.keys(operation.responses[200].content)).toEqual(["text/csv", "application/x-ndjson"]);
      expect(operation.parameters.map((p: Json) => p.name)).toEqual([
        "from",
        "to",
        "campaignId",
        "variant",
        "timezone",
        "format",
      ]);
    }
  });
});
