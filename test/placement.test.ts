import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { markMoving, readPlacement, switchPlacement, workspaceTables } from "../src/db/placement";
import { readWorkspaceSettings } from "../src/db/workspace-settings";
import { drainOutbox } from "../src/events/pipeline";
import { databaseFor } from "../src/placement/databases";
import {
  compareCounts,
  copyWorkspace,
  MoveInProgress,
  moveWorkspace,
  settleOutbox,
  UnknownDatabase,
} from "../src/placement/move";
import { funnelReport } from "../src/reports/funnel";
import { metricsReport } from "../src/reports/metrics";
import { reportFilter } from "../src/reports/range";
import { retentionReport } from "../src/reports/retention";
import { snapshotRows } from "./db-snapshot";
import { ANDROID_CHROME, callJson, callWorker, createCampaign, withoutAsOf } from "./helpers";
import { buildWorld } from "./isolation";
import { createWhatsAppWorkspace, deliverWebhook, statusBody, webhookBody } from "./whatsapp-helpers";

const DAY = 86_400_000;
// Two weeks ago at noon UTC, so that weekly retention cohorts hold the contacts' later returns.
const T0 = Math.floor((Date.now() - 14 * DAY) / DAY) * DAY + 12 * 3_600_000;
// A fixed range: the default one ends at the next quarter hour, which may move between two reads.
const QUERY = { from: "2020-01-01", to: "2099-01-01", timezone: "Europe/Berlin" };
// Clicks and conversions come now, two weeks after the messages: within the funnel's longest window.
const WINDOW = "30d" as const;

/**
 * A contact's history, written through the API and Meta's webhook as production writes it: a per-recipient
 * link and its registered marketing message, sent, delivered and read; a human click; two purchases (through
 * the click and by the contact); consent; a reply; a CSAT answer.
 */
async function history(workspaceId: string, key: string, campaignId: string, n: number) {
  const phone = `+1650555${String(1000 + n)}`;
  const wamid = `wamid.place-${n}`;
  const link = await callJson("/api/v1/links", {
    key,
    body: { url: "https://shop.example.com/", campaignId, variant: n % 2 ? "A" : "B", contact: phone },
  });
  expect(link.status).toBe(201);
  const sentAt = T0 + n * 3_600_000;
  const registered = await callJson("/api/v1/messages", {
    key,
    body: {
      messages: [
        {
          id: wamid,
          contact: phone,
          campaignId,
          variant: n % 2 ? "A" : "B",
          linkCode: link.body.code,
          category: "marketing",
          sentAt: new Date(sentAt).toISOString(),
        },
      ],
    },
  });
  expect(registered.status).toBe(200);
  const consent = await callJson("/api/v1/contacts/consent", {
    key,
    body: { contact: phone, optedIn: true, source: "website" },
  });
  expect(consent.status).toBe(201);
  const recipient = phone.slice(1);
  const statuses = (["sent", "delivered", "read"] as const).map((status, i) => ({
    id: wamid,
    status,
    at: sentAt + i * 60_000,
    recipient,
    pricing: { billable: true, pricing_model: "PMP", category: "marketing", type: "regular" },
  }));
  expect((await deliverWebhook(workspaceId, statusBody(...statuses))).status).toBe(200);
  const click = await callWorker(`/${link.body.code}`, {
    headers: { "user-agent": ANDROID_CHROME },
    cf: { country: "US" },
  });
  expect(click.status).toBe(302);
  const clickId = new URL(click.headers.get("location")!).searchParams.get("wa_cid");
  const purchase = (body: Record<string, unknown>) =>
    callJson("/api/v1/conversions", { key, body: { event: "purchase", value: 10 + n, currency: "EUR", ...body } });
  expect((await purchase({ clickId, orderId: `o1-${wamid}` })).status).toBe(201);
  expect((await purchase({ contact: phone, orderId: `o2-${wamid}` })).status).toBe(201);
  const reply = webhookBody({
    messages: [
      { id: `${wamid}-in`, from: recipient, timestamp: String(Math.floor((sentAt + 2 * DAY) / 1000)), type: "text" },
    ],
  });
  expect((await deliverWebhook(workspaceId, reply)).status).toBe(200);
  const csat = await callJson("/api/v1/events", {
    key,
    body: { events: [{ type: "csat", contact: phone, value: 4 }] },
  });
  expect(csat.status).toBe(201);
}

/** A workspace reporting in Berlin time (so retention keeps a wall-clock copy of its rollups), with a campaign of contacts. */
async function busyWorkspace(contacts = 4) {
  const { workspaceId, adminKey } = await createWhatsAppWorkspace({ timezone: "Europe/Berlin" });
  const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
  for (let n = 0; n < contacts; n++) await history(workspaceId, adminKey, campaign.id, n);
  return { workspaceId, adminKey, campaignId: campaign.id as string };
}

/** The funnel as GET /api/v1/reports/funnel builds it, from any database. */
function funnelFrom(d1: D1Database, workspaceId: string, query: Record<string, string> = {}) {
  return funnelReport(d1, reportFilter(workspaceId, { ...QUERY, ...query }), WINDOW);
}

/** The metrics as GET /api/v1/reports/metrics builds them, from any database. */
async function metricsFrom(d1: D1Database, workspaceId: string) {
  const settings = (await readWorkspaceSettings(env.DB, workspaceId))!.settings;
  return metricsReport(d1, reportFilter(workspaceId, QUERY), {
    window: WINDOW,
    responseWindow: "72h",
    responseWindowHours: 72,
    rateCard: settings.rateCard,
  });
}

/** Every report the test compares, read from one database: the workspace's, and one campaign's retention. */
async function reports(d1: D1Database, workspaceId: string, campaignId: string) {
  const options = { period: "week", periods: 4, start: "message", returnOn: "any" } as const;
  return {
    funnel: await funnelFrom(d1, workspaceId),
    campaignFunnel: await funnelFrom(d1, workspaceId, { campaignId }),
    metrics: await metricsFrom(d1, workspaceId),
    retention: await retentionReport(d1, reportFilter(workspaceId, QUERY), options),
    campaignRetention: await retentionReport(
      d1,
      { ...reportFilter(workspaceId, QUERY), campaignIds: [campaignId] },
      options,
    ),
  };
}

const WORKSPACE_ROWS = "(workspace_id = ?1 OR (workspace_id > ?1 || '|' AND workspace_id < ?1 || '}'))";

/**
 * The workspace's rows in every table that moves (its rollups keyed by rollup ids made of its id included),
 * as sorted JSON. consents' `seq` is left out: the target numbers the rows itself, in the same order.
 */
async function workspaceRows(d1: D1Database, workspaceId: string): Promise<Record<string, string[]>> {
  const rows: Record<string, string[]> = {};
  for (const table of await workspaceTables(env.DB)) {
    if (table.name === "outbox") continue;
    const columns = table.numbered ? table.columns.filter((c) => c !== table.key[0]) : table.columns;
    const { results } = await d1
      .prepare(`SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM "${table.name}" WHERE ${WORKSPACE_ROWS}`)
      .bind(workspaceId)
      .all();
    rows[table.name] = results.map((row) => JSON.stringify(row)).sort();
  }
  return rows;
}

/** How many of the workspace's rows each table holds, outbox included: all zero once it has moved away. */
async function rowCounts(d1: D1Database, workspaceId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await workspaceTables(env.DB)) {
    const row = await d1
      .prepare(`SELECT COUNT(*) AS n FROM "${table.name}" WHERE ${WORKSPACE_ROWS}`)
      .bind(workspaceId)
      .first<{ n: number }>();
    counts[table.name] = row!.n;
  }
  return counts;
}

const zeroCounts = (counts: Record<string, number>) => Object.fromEntries(Object.keys(counts).map((t) => [t, 0]));

/** The outbox applied in the database: what a consumer would still derive there. */
async function drained(d1: D1Database) {
  await drainOutbox(d1, { budgetMs: Infinity });
  return d1;
}

describe("the tables a move copies", () => {
  it("are every table with a workspace_id, in an order that respects foreign keys and triggers", async () => {
    const tables = (await workspaceTables(env.DB)).map((t) => t.name);
    const { results } = await env.DB.prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'
         AND name NOT IN (SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c
           WHERE m.type = 'table' AND m.name NOT LIKE '_cf_%' AND c.name = 'workspace_id')
       ORDER BY name`,
    ).all<{ name: string }>();
    // Tables without a workspace stay where they are: the directory's own, global settings and work tables
    // that are empty outside a transaction.
    expect(results.map((r) => r.name)).toEqual([
      "d1_migrations",
      "pipeline_inbound",
      "pipeline_messages",
      "pipeline_positions",
      "retention_grains",
      "retention_return_kinds",
      "visitor_salts",
      "workspaces",
      "zone_offsets",
    ]);
    // The directory keeps the API keys (a key is looked up by its hash before its workspace is known).
    expect(tables).not.toContain("api_keys");
    expect(tables).not.toContain("workspace_placements");
    expect(tables).toContain("retention_counts");
    expect(tables.at(-1)).toBe("outbox");
    // links after campaigns (its foreign key), and after clicks and conversions (whose triggers count on it).
    for (const before of ["campaigns", "clicks", "conversions"]) {
      expect(tables.indexOf(before)).toBeLessThan(tables.indexOf("links"));
    }
  });
});

describe("moveWorkspace", () => {
  it("moves every row of a workspace from DB to DB_1, with its reports unchanged and another workspace untouched", async () => {
    const other = await buildWorld();
    const { workspaceId, adminKey, campaignId } = await busyWorkspace();
    const otherBefore = await snapshotRows(other.workspaceId);

    // The routes' answers before the move, and the same reports computed from DB by the test's mirror of them.
    const funnelRoute = await callJson(`/api/v1/reports/funnel?${new URLSearchParams({ ...QUERY, window: WINDOW })}`, {
      key: adminKey,
    });
    expect(funnelRoute.status).toBe(200);
    const metricsRoute = await callJson(
      `/api/v1/reports/metrics?${new URLSearchParams({ ...QUERY, window: WINDOW })}`,
      { key: adminKey },
    );
    expect(metricsRoute.status).toBe(200);
    const before = await reports(await drained(env.DB), workspaceId, campaignId);
    expect(withoutAsOf(funnelRoute.body)).toEqual(before.funnel);
    expect(withoutAsOf(metricsRoute.body)).toEqual(before.metrics);
    // The data is not trivial: every step of the funnel, replies, CSAT and retention have something.
    expect(before.funnel.steps.map((s) => s.count)).toEqual([4, 4, 4, 4, 4]);
    expect(before.metrics.messages.replied).toBe(4);
    expect(before.metrics.csat).not.toBeNull();
    expect(before.retention.cohorts.length).toBeGreaterThan(0);
    expect(before.campaignRetention.cohorts.length).toBeGreaterThan(0);
    await settleOutbox(env, env.DB, workspaceId);
    const rowsBefore = await workspaceRows(env.DB, workspaceId);
    const countsBefore = await rowCounts(env.DB, workspaceId);
    expect(countsBefore.retention_counts).toBeGreaterThan(0);
    expect(countsBefore.consents).toBe(4);
    expect(await databaseFor(env, workspaceId)).toBe(env.DB);

    const result = await moveWorkspace(env, workspaceId, "DB_1");

    expect(result).toMatchObject({ from: "DB", to: "DB_1" });
    expect(await readPlacement(env.DB, workspaceId)).toEqual({ binding: "DB_1", movingTo: null, movedFrom: null });
    expect(await databaseFor(env, workspaceId)).toBe(env.DB_1);
    // Every row is in DB_1 as it was in DB (links' counters, rollups and applied facts included), and the
    // copy left nothing in DB_1's outbox for its consumers to derive a second time.
    expect(await workspaceRows(env.DB_1, workspaceId)).toEqual(rowsBefore);
    expect((await rowCounts(env.DB_1, workspaceId)).outbox).toBe(0);
    expect(await workspaceRows(await drained(env.DB_1), workspaceId)).toEqual(rowsBefore);
    // The reports, read from DB_1, are what they were.
    expect(await reports(env.DB_1, workspaceId, campaignId)).toEqual(before);
    // Nothing of the workspace is left in DB but its directory rows (its own row and its API keys).
    expect(await rowCounts(env.DB, workspaceId)).toEqual(zeroCounts(countsBefore));
    expect(await env.DB.prepare("SELECT id FROM workspaces WHERE id = ?1").bind(workspaceId).first()).not.toBeNull();
    expect(
      await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE workspace_id = ?1").bind(workspaceId).first("n"),
    ).toBeGreaterThan(0);
    // DB's reports of the workspace are empty now; the other workspace's rows did not change.
    expect((await funnelFrom(await drained(env.DB), workspaceId)).steps.map((s) => s.count)).toEqual([0, 0, 0, 0, 0]);
    expect(await snapshotRows(other.workspaceId)).toEqual(otherBefore);

    // Moving back brings it home the same way (DB keeps its directory copy of the workspace's row).
    await moveWorkspace(env, workspaceId, "DB");
    expect(await reports(await drained(env.DB), workspaceId, campaignId)).toEqual(before);
    expect(await workspaceRows(env.DB, workspaceId)).toEqual(rowsBefore);
    expect(await rowCounts(env.DB_1, workspaceId)).toEqual(zeroCounts(countsBefore));
    expect(await env.DB_1.prepare("SELECT id FROM workspaces WHERE id = ?1").bind(workspaceId).first()).toBeNull();
  });

  it("ends equal when run again after a copy interrupted half way", async () => {
    const { workspaceId, campaignId } = await busyWorkspace(3);
    const before = await reports(await drained(env.DB), workspaceId, campaignId);

    // The move's first steps, then a copy that stops after a few chunks, as a crashed Worker would leave it.
    expect(await markMoving(env.DB, workspaceId, "DB", "DB_1")).toBe(true);
    await settleOutbox(env, env.DB, workspaceId);
    const rowsBefore = await workspaceRows(env.DB, workspaceId);
    const total = Object.values(await rowCounts(env.DB, workspaceId)).reduce((a, b) => a + b, 0);
    // Chunks of 5 rows, as many as half the rows would fill: a table's last chunk is short, so fewer rows.
    const partial = await copyWorkspace(env.DB, env.DB_1, workspaceId, {
      chunkRows: 5,
      maxChunks: Math.ceil(total / 10),
    });
    expect(partial.complete).toBe(false);
    expect(partial.copied).toBeGreaterThan(0);
    expect(partial.copied).toBeLessThanOrEqual(total / 2 + 5);
    const counts = await compareCounts(env.DB, env.DB_1, workspaceId);
    expect(counts.filter((c) => c.source !== c.target).length).toBeGreaterThan(0);
    expect(counts.filter((c) => c.source > 0 && c.source === c.target).length).toBeGreaterThan(0);
    // Until the placement switches, the workspace is read where it was.
    expect(await readPlacement(env.DB, workspaceId)).toEqual({ binding: "DB", movingTo: "DB_1", movedFrom: null });
    expect(await databaseFor(env, workspaceId)).toBe(env.DB);

    await moveWorkspace(env, workspaceId, "DB_1", { chunkRows: 5 });

    expect(await readPlacement(env.DB, workspaceId)).toEqual({ binding: "DB_1", movingTo: null, movedFrom: null });
    expect(await workspaceRows(env.DB_1, workspaceId)).toEqual(rowsBefore);
    expect(await reports(await drained(env.DB_1), workspaceId, campaignId)).toEqual(before);
    expect(Object.values(await rowCounts(env.DB, workspaceId)).every((n) => n === 0)).toBe(true);
  });

  it("finishes deleting the rows left behind when run again after the switch", async () => {
    const { workspaceId, campaignId } = await busyWorkspace(1);
    const before = await reports(await drained(env.DB), workspaceId, campaignId);
    expect(await markMoving(env.DB, workspaceId, "DB", "DB_1")).toBe(true);
    // Another move cannot start while this one is under way.
    await expect(moveWorkspace(env, workspaceId, "DB")).rejects.toThrow(MoveInProgress);
    await settleOutbox(env, env.DB, workspaceId);
    expect((await copyWorkspace(env.DB, env.DB_1, workspaceId)).complete).toBe(true);
    expect(await switchPlacement(env.DB, workspaceId, "DB", "DB_1")).toBe(true);
    // Switched, and then stopped: DB still holds the rows, which nothing reads any more.
    expect(await readPlacement(env.DB, workspaceId)).toEqual({ binding: "DB_1", movingTo: null, movedFrom: "DB" });
    expect(await databaseFor(env, workspaceId)).toBe(env.DB_1);

    expect(await moveWorkspace(env, workspaceId, "DB_1")).toMatchObject({ from: "DB_1", to: "DB_1", copied: 0 });

    expect(await readPlacement(env.DB, workspaceId)).toEqual({ binding: "DB_1", movingTo: null, movedFrom: null });
    expect(Object.values(await rowCounts(env.DB, workspaceId)).every((n) => n === 0)).toBe(true);
    expect(await reports(env.DB_1, workspaceId, campaignId)).toEqual(before);
  });

  it("refuses a binding that is not a D1 database, and changes nothing", async () => {
    const { workspaceId } = await busyWorkspace(1);
    const rowsBefore = await snapshotRows(workspaceId);
    for (const binding of ["DB_9", "EVENTS", "ADMIN_TOKEN", "db_1", ""]) {
      await expect(moveWorkspace(env, workspaceId, binding)).rejects.toThrow(UnknownDatabase);
    }
    expect(await readPlacement(env.DB, workspaceId)).toEqual({ binding: "DB", movingTo: null, movedFrom: null });
    expect(
      await env.DB.prepare("SELECT * FROM workspace_placements WHERE workspace_id = ?1").bind(workspaceId).first(),
    ).toBeNull();
    expect(await snapshotRows(workspaceId)).toEqual(rowsBefore);
    expect(Object.values(await rowCounts(env.DB_1, workspaceId)).every((n) => n === 0)).toBe(true);
  });
});
