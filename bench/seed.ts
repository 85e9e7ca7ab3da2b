// Bench-only routes (bench/worker.ts, never the deployed Worker): bulk-write a reports dataset into the
// raw tables exactly as the write paths would have left them, so that the outbox's rollup consumer
// builds every rollup; and read back row counts and the truths the bench checks the reports against.
//
// Rows are generated in SQL from a recursive counter over message numbers [from, to) of a stream (one
// campaign): every attribute is a hash of the message number, so a dataset is the same on every run and
// later chunks never need what earlier ones wrote, except through the rows themselves (a click joins
// its message, a conversion its click). Each message is written once in its final state (sent,
// delivered, read or failed, with pricing): rollups depend only on final states, in any order.
import { drainOutbox } from "../src/events/pipeline";
import { secretsEqual } from "../src/lib/crypto";

// Outbox entries per rollup transaction while seeding: larger than the Worker's, for throughput.
const ROLLUP_SLICE = 10_000;

/** One campaign's messages: ids carry `stream` (one letter) so that streams never collide. */
export type SeedStream = {
  workspaceId: string;
  stream: string;
  campaignId: string;
  /** Message n gets variant n mod variants.length (none when empty); its clicks link linkIds[n mod length]. */
  variants: string[];
  linkIds: string[];
  /** Per-mille of clicked messages that convert, per variant (or one value). */
  conversionPerMille: number[];
  contacts: number;
  windowStart: number;
  windowSeconds: number;
  /** No event may happen after this (the bench's "now"). */
  latest: number;
};

export type SeedChunk = SeedStream & { from: number; to: number };

const MIX = 73244475; // 0x45d9f3b, odd: each xorshift-multiply round is a bijection of 32-bit values
const GOLDEN = 2654435769;

// SQLite has no XOR: a ^ b = (a | b) - (a & b).
const xorShift16 = (x: string) => `((${x} | (${x} >> 16)) - (${x} & (${x} >> 16)))`;
const mixRound = (x: string) => `(${xorShift16(x)} * ${MIX} % 4294967296)`;

/**
 * 64 hex digits that stand in for an HMAC-SHA256 of an integer column (a contact or visitor number):
 * eight affine hashes with odd multipliers, each a bijection of 32-bit values, so numbers never collide.
 */
function hex64(x: string, salt: number): string {
  const parts = Array.from({ length: 8 }, (_, j) => salt * 8 + j).map(
    (k) => `(${x} * ${GOLDEN - 1 - 15838 * k} + ${k + 1}) % 4294967296`,
  );
  return `printf('${"%08x".repeat(8)}', ${parts.join(", ")})`;
}

const WAMID_TAIL = "FQIAERgSNUUzRjk0MDNFNjdBQzE0RkE2AA";
const wamid = (kind: string) => `'wamid.HBgL${kind}' || ?2 || printf('%010d', i) || '${WAMID_TAIL}'`;
const clickId = (nth: string) => `'${nth}' || ?2 || printf('%014d', i)`;

// Parameters of every statement: ?1 workspace, ?2 stream, ?3 from, ?4 to, ?5 campaign, ?6 variants,
// ?7 links, ?8 conversion per-mille, ?9 contacts, ?10 window start, ?11 window seconds, ?12 latest.
//
// h holds 32-bit hashes of the message number (two xorshift-multiply rounds and a last xorshift), one
// per name and salt. Each round is a MATERIALIZED CTE of its own: SQLite has no variables, and nested in
// one expression every round would compute the one before it four times over.
function counter(...hashes: [string, number][]) {
  const columns = (column: (name: string, salt: number) => string) =>
    hashes.map(([name, salt]) => `${column(name, salt)} AS ${name}`).join(", ");
  return `WITH RECURSIVE n(i) AS (
  SELECT CAST(?3 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?4),
h0 AS MATERIALIZED (SELECT i, ${columns((_, salt) => `(i + ${(salt * GOLDEN) % 2 ** 32}) % 4294967296`)} FROM n),
h1 AS MATERIALIZED (SELECT i, ${columns((name) => mixRound(name))} FROM h0),
h2 AS MATERIALIZED (SELECT i, ${columns((name) => mixRound(name))} FROM h1),
h AS MATERIALIZED (SELECT i, ${columns((name) => xorShift16(name))} FROM h2)`;
}

// Each statement inserts its rows in contact order: the contact-keyed indexes and retention rows that
// the triggers touch are then written in key order within a chunk, which seeds faster; the rollups are
// the same in any order.
const pick = (list: string, n: string) => `json_extract(${list}, '$[' || (${n} % json_array_length(${list})) || ']')`;

// Six countries of the contacts' numbers, weighted (DE 30 %, GB 20 %, ES 15 %, IT 15 %, FR 10 %, BR 10 %).
const COUNTRIES = "DEDEDEDEDEDEGBGBGBGBESESESITITITFRFRBRBR";
const PRICING = `'{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"}'`;
const FAILED = `'[{"code":131026,"title":"Message undeliverable"}]'`;

// fate (per mille): < 30 failed, < 50 only sent, >= 50 delivered, >= 400 also read.
// Each message names the campaign-wide link its clicks come through, as a registration with
// `linkCode` does; the clicks carry the message id, which is how they join their message.
const MESSAGES_SQL = `${counter(["h1", 1], ["h2", 2], ["h3", 3], ["h4", 4])},
m AS MATERIALIZED (SELECT i, h1 % 1000 AS fate, (h1 / 1000) % ?9 AS c,
  ?10 + (h2 % ?11) * 1000 + h3 % 1000 AS sent_at,
  1000 + (h3 / 1000) % 60000 AS to_delivered, 20000 + h4 % 7200000 AS to_read FROM h)
INSERT INTO messages (workspace_id, id, contact_hash, country, campaign_id, variant, link_code, category,
  external_id, registered_at, sent_at, delivered_at, read_at, failed_at, errors, pricing, created_at)
SELECT ?1, ${wamid("M")}, ${hex64("c", 5)}, substr('${COUNTRIES}', (c % 20) * 2 + 1, 2), ?5,
  CASE WHEN json_array_length(?6) > 0 THEN ${pick("?6", "i")} END,
  (SELECT code FROM links WHERE id = ${pick("?7", "i")}), 'marketing', NULL,
  sent_at, sent_at,
  CASE WHEN fate >= 50 THEN sent_at + to_delivered END,
  CASE WHEN fate >= 400 THEN sent_at + to_delivered + to_read END,
  CASE WHEN fate < 30 THEN sent_at + to_delivered END,
  CASE WHEN fate < 30 THEN ${FAILED} END,
  CASE WHEN fate >= 50 THEN ${PRICING} END,
  sent_at
FROM m ORDER BY 3`;

// Browsers of the clickers, weighted by per-cent ranges, named as the user-agent parser names them.
const AGENTS = `(VALUES
  (0, 39, 'mobile', 'Android', 'Chrome', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36'),
  (40, 69, 'mobile', 'iOS', 'Mobile Safari', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'),
  (70, 84, 'mobile', 'Android', 'Samsung Internet', 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36'),
  (85, 92, 'desktop', 'Windows', 'Chrome', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'),
  (93, 96, 'desktop', 'Mac OS', 'Safari', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15'),
  (97, 99, 'tablet', 'iOS', 'Mobile Safari', 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1'))`;

// Delay in seconds from hash u: mostly minutes to hours, some a day later, a few days later; a delay
// that would end after ?12 ("now") falls back to the short one.
const delay = (from: string, r: string, u: string) => `CASE
  WHEN ${r} < 700 OR ${from} + (86400 + ${u} % 518400) * 1000 > ?12 THEN 60 + ${u} % 7140
  WHEN ${r} < 900 THEN 7200 + ${u} % 79200 ELSE 86400 + ${u} % 518400 END`;

// Insert-time uniqueness exactly as the redirect's insert decides it (dedup window 3600 s).
const isUnique = `NOT EXISTS (SELECT 1 FROM clicks x WHERE x.link_id = c.link_id AND x.visitor_hash = c.visitor
  AND x.kind = 'click' AND x.occurred_at > c.at - 3600000 AND x.occurred_at <= c.at)`;

const CLICK_COLUMNS = `(id, workspace_id, link_id, campaign_id, variant, message_id, contact_hash, kind, is_unique,
  visitor_hash, occurred_at, country, device_type, os, browser, referrer_host, user_agent)`;

// A human click on the campaign link of the message, by its recipient, for 30 % of delivered messages.
const CLICKS_SQL = `${counter(["k1", 11], ["k2", 12])},
c AS MATERIALIZED (
  SELECT h.i, ${pick("?7", "h.i")} AS link_id, m.campaign_id, m.variant, m.id AS message_id, m.contact_hash,
    ${hex64("h.i", 21)} AS visitor,
    COALESCE(m.read_at, m.delivered_at) + (${delay("COALESCE(m.read_at, m.delivered_at)", "h.k2 % 1000", "(h.k2 / 1000)")}) * 1000 + (h.k1 >> 22) AS at,
    CASE WHEN (h.k1 / 100) % 10 = 0 THEN 'US' ELSE m.country END AS country,
    h.k1 % 100 AS agent,
    CASE WHEN (h.k1 / 1000) % 20 < 16 THEN NULL WHEN (h.k1 / 1000) % 20 < 19 THEN 'l.wl.co' ELSE 'web.whatsapp.com' END AS referrer
  FROM h JOIN messages m ON m.workspace_id = ?1 AND m.id = ${wamid("M")}
  WHERE h.k1 % 1000 < 300 AND m.delivered_at IS NOT NULL)
INSERT INTO clicks ${CLICK_COLUMNS}
SELECT ${clickId("A")}, ?1, c.link_id, c.campaign_id, c.variant, c.message_id, c.contact_hash, 'click', ${isUnique},
  c.visitor, c.at, c.country, a.column3, a.column4, a.column5, c.referrer, a.column6
FROM c JOIN ${AGENTS} a ON c.agent BETWEEN a.column1 AND a.column2 ORDER BY c.contact_hash`;

// The same visitor again 5–50 minutes later for 1.6 % of messages (not unique within the hour).
const SECOND_CLICKS_SQL = `${counter(["k1", 11], ["k3", 13])},
c AS MATERIALIZED (
  SELECT h.i, f.link_id, f.campaign_id, f.variant, f.message_id, f.contact_hash, f.visitor_hash AS visitor,
    f.occurred_at + (300 + h.k3 % 2700) * 1000 AS at, f.country, f.device_type, f.os, f.browser, f.referrer_host, f.user_agent
  FROM h JOIN clicks f ON f.id = ${clickId("A")}
  WHERE h.k1 % 1000 < 16)
INSERT INTO clicks ${CLICK_COLUMNS}
SELECT ${clickId("B")}, ?1, c.link_id, c.campaign_id, c.variant, c.message_id, c.contact_hash, 'click', ${isUnique},
  c.visitor, c.at, c.country, c.device_type, c.os, c.browser, c.referrer_host, c.user_agent
FROM c ORDER BY c.contact_hash`;

// A purchase attributed to the first click (as the conversions API attributes a click id), 5–200 EUR.
const CONVERSIONS_SQL = `${counter(["k1", 11], ["k4", 14])},
c AS MATERIALIZED (
  SELECT h.i, f.id AS click_id, f.link_id, l.code AS link_code, f.campaign_id, f.variant, f.message_id, f.contact_hash,
    500 + h.k4 % 19501 AS value_minor,
    f.occurred_at + (CASE WHEN (h.k4 / 20000) % 10 < 8 OR f.occurred_at + 172800000 > ?12
      THEN 300 + (h.k4 / 200000) % 6900 ELSE 86400 + (h.k4 / 200000) % 86400 END) * 1000 AS at
  FROM h JOIN clicks f ON f.id = ${clickId("A")} JOIN links l ON l.id = f.link_id
  WHERE h.k1 % 1000 < ${pick("?8", "h.i")})
INSERT INTO conversions (id, workspace_id, event, order_id, value, value_minor, currency, source, click_id, link_id,
  link_code, campaign_id, variant, message_id, contact_hash, ga_client_id, occurred_at, received_at)
SELECT 'cnv_' || ?2 || printf('%015d', i), ?1, 'purchase', 'ord-' || ?2 || i, value_minor / 100.0, value_minor, 'EUR',
  'api', click_id, link_id, link_code, campaign_id, variant, message_id, contact_hash, NULL, at, at + 2000
FROM c WHERE true ORDER BY contact_hash
ON CONFLICT DO NOTHING`;

// Replies to 8.5 % of read messages a minute to two hours after the read; one in seventeen has no context.
const INBOUND_SQL = `${counter(["k5", 15])},
c AS MATERIALIZED (
  SELECT h.i, h.k5, m.id, m.contact_hash, m.read_at + (60 + (h.k5 / 1000) % 7140) * 1000 AS at
  FROM h JOIN messages m ON m.workspace_id = ?1 AND m.id = ${wamid("M")}
  WHERE h.k5 % 1000 < 85 AND m.read_at IS NOT NULL)
INSERT OR IGNORE INTO inbound_messages (workspace_id, id, contact_hash, context_id, type, occurred_at, received_at)
SELECT ?1, ${wamid("R")}, contact_hash, CASE WHEN k5 % 1000 < 80 THEN id END,
  CASE WHEN (k5 / 1000) % 10 < 8 THEN 'text' ELSE 'button' END, at, at + 1000
FROM c ORDER BY contact_hash`;

// CSAT answers (1 % of delivered messages) and chatbot outcomes (0.7 % resolved, 0.3 % escalated).
const CONTACT_EVENTS_SQL = `${counter(["k6", 16])},
c AS MATERIALIZED (
  SELECT h.i, h.k6 % 1000 AS r, h.k6 / 1000 AS u, m.contact_hash, m.campaign_id, m.delivered_at
  FROM h JOIN messages m ON m.workspace_id = ?1 AND m.id = ${wamid("M")}
  WHERE h.k6 % 1000 < 20 AND m.delivered_at IS NOT NULL)
INSERT INTO contact_events (id, workspace_id, type, contact_hash, campaign_id, value, occurred_at, received_at)
SELECT 'evt_' || ?2 || printf('%015d', i), ?1,
  CASE WHEN r < 10 THEN 'csat' WHEN r < 17 THEN 'bot_resolved' ELSE 'escalated' END,
  contact_hash, campaign_id, CASE WHEN r < 10 THEN 1 + u % 5 END,
  delivered_at + (600 + u % 3000) * 1000, delivered_at + (601 + u % 3000) * 1000
FROM c ORDER BY contact_hash`;

// Opt-outs through the API of one contact in fifty, at the start of the window, so that audiences skip
// their messages as they read. Contacts are numbered as the messages number them (a stream of N messages
// goes to N / 4 contacts): a chunk of the main stream writes those of its quarter of the numbers.
const OPT_OUTS_SQL = `WITH RECURSIVE n(c) AS (
  SELECT CAST(?3 AS INTEGER) / 4 UNION ALL SELECT c + 1 FROM n WHERE c + 1 < CAST(?4 AS INTEGER) / 4)
INSERT OR IGNORE INTO consents (workspace_id, contact_hash, opted_in, source, occurred_at, received_at)
SELECT ?1, ${hex64("c", 5)}, 0, 'api', ?10, ?10 FROM n WHERE ?2 = 'a' AND c % 50 = 0`;

const STEPS = {
  messages: MESSAGES_SQL,
  clicks: CLICKS_SQL,
  secondClicks: SECOND_CLICKS_SQL,
  conversions: CONVERSIONS_SQL,
  inbound: INBOUND_SQL,
  contactEvents: CONTACT_EVENTS_SQL,
  optOuts: OPT_OUTS_SQL,
};

/** Writes one chunk of a stream, table by table; answers each statement's time and row changes (triggers' included). */
async function seedChunk(env: Env, chunk: SeedChunk) {
  const d1 = env.DB;
  const params = [
    chunk.workspaceId,
    chunk.stream,
    chunk.from,
    chunk.to,
    chunk.campaignId,
    JSON.stringify(chunk.variants),
    JSON.stringify(chunk.linkIds),
    JSON.stringify(chunk.conversionPerMille),
    chunk.contacts,
    chunk.windowStart,
    chunk.windowSeconds,
    chunk.latest,
  ];
  const steps: Record<string, { changes: number; ms: number }> = {};
  for (const [name, sql] of Object.entries(STEPS)) {
    const started = Date.now();
    // D1 wants exactly as many values as the statement's highest parameter number.
    const used = Math.max(...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
    const result = await d1
      .prepare(sql)
      .bind(...params.slice(0, used))
      .run();
    steps[name] = { changes: result.meta.changes, ms: Date.now() - started };
  }
  // The rollups follow the outbox; the chunk is answered once they have caught up with it.
  const started = Date.now();
  await drainOutbox(env.DB, { budgetMs: Infinity, size: ROLLUP_SLICE });
  steps.rollups = { changes: 0, ms: Date.now() - started };
  return steps;
}

// What the reports must show for a campaign, from the messages' own state (kept by triggers from the
// raw events) with the rollups' definitions: a later step implies the earlier ones, a click or a
// conversion implies read; clicked and converted within 7 days (the reports' default window) of report_at,
// replied within 72 hours (the default responseWindow).
const CAMPAIGN_SQL = `SELECT COALESCE(variant, '') AS variant, COUNT(*) AS sent,
  SUM(delivered_at IS NOT NULL OR read_at IS NOT NULL OR clicked_at IS NOT NULL OR converted_at IS NOT NULL) AS delivered,
  SUM(read_at IS NOT NULL OR clicked_at IS NOT NULL OR converted_at IS NOT NULL) AS read,
  SUM(failed_at IS NOT NULL AND delivered_at IS NULL AND read_at IS NULL AND clicked_at IS NULL AND converted_at IS NULL) AS failed,
  SUM(COALESCE(MIN(clicked_at, converted_at), clicked_at, converted_at) - report_at <= 604800000) AS clicked7d,
  SUM(converted_at - report_at <= 604800000) AS converted7d,
  SUM(clicked_at IS NOT NULL) AS clickedMessages, SUM(converted_at IS NOT NULL) AS convertedMessages,
  SUM(replied_at - report_at <= 259200000) AS replied, SUM(COALESCE(json_extract(pricing, '$.type') = 'regular', 0)) AS charged,
  SUM(revenue_micros) AS revenueMicros
FROM messages WHERE workspace_id = ?1 AND campaign_id = ?2 GROUP BY variant ORDER BY variant`;

// And from the raw events themselves.
const CLICKS_FACTS_SQL = `SELECT COUNT(*) AS clicks, COALESCE(SUM(is_unique), 0) AS uniqueClicks,
  COUNT(DISTINCT message_id) AS clickedMessages
FROM clicks WHERE workspace_id = ?1 AND campaign_id = ?2 AND kind = 'click'`;
const CONVERSIONS_FACTS_SQL = `SELECT COUNT(*) AS conversions, COUNT(DISTINCT message_id) AS convertedMessages,
  COALESCE(SUM(value_minor), 0) AS valueMinor
FROM conversions WHERE workspace_id = ?1 AND campaign_id = ?2`;
const EVENTS_FACTS_SQL = `SELECT type, COUNT(*) AS events, COALESCE(SUM(value), 0) AS value
FROM contact_events WHERE workspace_id = ?1 AND campaign_id = ?2 GROUP BY type ORDER BY type`;

// Contacts per UTC Monday week of their first message (retention cohorts, start = message).
const COHORTS_SQL = `SELECT (first / 86400000 + 3) / 7 AS week, COUNT(*) AS contacts
FROM (SELECT MIN(report_at) AS first FROM messages
  WHERE workspace_id = ?1 AND contact_hash IS NOT NULL AND report_at IS NOT NULL GROUP BY contact_hash)
GROUP BY week ORDER BY week`;

// The campaign's contacts per UTC Monday week of their first message in it (retention with campaignId).
const CAMPAIGN_COHORTS_SQL = `SELECT (first / 86400000 + 3) / 7 AS week, COUNT(*) AS contacts
FROM (SELECT MIN(report_at) AS first FROM messages
  WHERE workspace_id = ?1 AND campaign_id = ?2 AND contact_hash IS NOT NULL AND report_at IS NOT NULL GROUP BY contact_hash)
GROUP BY week ORDER BY week`;

// The campaign's messages delivered and neither read nor clicked (a conversion implies the click), to
// contacts who did not opt out (the seed records opt-outs only): the delivered_not_read audience, from
// the raw columns.
const AUDIENCE_FACTS_SQL = `SELECT COUNT(*) AS deliveredNotRead FROM messages m
WHERE m.workspace_id = ?1 AND m.campaign_id = ?2 AND m.delivered_at IS NOT NULL AND m.read_at IS NULL
  AND m.clicked_at IS NULL AND m.converted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.workspace_id = ?1 AND c.contact_hash = m.contact_hash)`;

const RAW_TABLES = ["messages", "clicks", "conversions", "inbound_messages", "contact_events", "consents"];
// Every table the triggers keep for reports (the retention lookup tables have no workspace_id).
const ROLLUP_TABLES_SQL = `SELECT name FROM sqlite_master WHERE type = 'table'
  AND (name LIKE '%rollups' OR name LIKE 'retention%' OR name = 'message_delays')
  AND sql LIKE '%workspace_id%' ORDER BY name`;

async function countRows(d1: D1Database, tables: string[]) {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    counts[table] = (await d1.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).first<number>("n")) ?? 0;
  }
  return counts;
}

async function facts(
  d1: D1Database,
  { workspaceId, campaignId, otherCampaignId }: { workspaceId: string; campaignId: string; otherCampaignId: string },
) {
  const all = <T>(sql: string) =>
    d1
      .prepare(sql)
      .bind(workspaceId, campaignId)
      .all<T>()
      .then((r) => r.results);
  const { results: rollupTables } = await d1.prepare(ROLLUP_TABLES_SQL).all<{ name: string }>();
  const statuses = await d1
    .prepare(
      `SELECT COUNT(sent_at) + COUNT(delivered_at) + COUNT(read_at) + COUNT(failed_at) AS n FROM messages WHERE workspace_id = ?1`,
    )
    .bind(workspaceId)
    .first<number>("n");
  return {
    raw: { ...(await countRows(d1, RAW_TABLES)), statuses },
    rollups: await countRows(
      d1,
      rollupTables.map((t) => t.name),
    ),
    campaign: await all(CAMPAIGN_SQL),
    clicks: (await all(CLICKS_FACTS_SQL))[0],
    conversions: (await all(CONVERSIONS_FACTS_SQL))[0],
    contactEvents: await all(EVENTS_FACTS_SQL),
    audience: (await all(AUDIENCE_FACTS_SQL))[0],
    campaignCohorts: await all(CAMPAIGN_COHORTS_SQL),
    // The contacts of both campaigns (retention with two campaignIds).
    bothCampaignsContacts: await d1
      .prepare(
        `SELECT COUNT(*) AS n FROM (SELECT DISTINCT contact_hash FROM messages
         WHERE workspace_id = ?1 AND campaign_id IN (?2, ?3) AND contact_hash IS NOT NULL AND report_at IS NOT NULL)`,
      )
      .bind(workspaceId, campaignId, otherCampaignId)
      .first<number>("n"),
    cohorts: await d1
      .prepare(COHORTS_SQL)
      .bind(workspaceId)
      .all()
      .then((r) => r.results),
  };
}

/** The workspace's wall-clock retention copies and how far each is filled. */
async function zoneCopies(d1: D1Database, { workspaceId }: { workspaceId: string }) {
  const { results } = await d1
    .prepare("SELECT zone, filled_to, dropping FROM retention_zones WHERE workspace_id = ?1")
    .bind(workspaceId)
    .all();
  return results;
}

/**
 * POST /__bench/seed (a SeedChunk), POST /__bench/facts ({ workspaceId, campaignId, otherCampaignId }) and
 * POST /__bench/zones ({ workspaceId }), for ADMIN_TOKEN only.
 */
export async function benchRoute(request: Request, env: Env): Promise<Response> {
  const token = request.headers.get("authorization")?.match(/^Bearer (\S+)$/)?.[1] ?? "";
  if (!(await secretsEqual(token, env.ADMIN_TOKEN))) return Response.json({ error: "unauthorized" }, { status: 401 });
  const path = new URL(request.url).pathname;
  if (request.method !== "POST") return Response.json({ error: "method not allowed" }, { status: 405 });
  if (path === "/__bench/seed") return Response.json(await seedChunk(env, await request.json()));
  if (path === "/__bench/facts") return Response.json(await facts(env.DB, await request.json()));
  if (path === "/__bench/zones") return Response.json(await zoneCopies(env.DB, await request.json()));
  return Response.json({ error: "not found" }, { status: 404 });
}
