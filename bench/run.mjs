// Benchmarks the tracked redirect `GET /:code`, the bulk link API, and WhatsApp webhook ingestion
// (signed single-status deliveries, and large bodies of statuses). Every measured route is compared
// with a bare route of bench/worker.ts in the same workerd process and the same run: the redirect with
// GET /__bare (a 302), the webhooks with POST /__bare (reads the body, answers 200). The Worker is
// served through Miniflare (bench/server.mjs). Talks only to 127.0.0.1. Run: npm run bench
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { api, removeAtExit, ROOT, runBench } from "./harness.mjs";
import {
  alternateRounds,
  assertValid,
  CONNECTIONS,
  count,
  load,
  printRound,
  printRoundHeader,
  ROUND_SECONDS,
  ROUNDS,
  row,
  WARMUP_SECONDS,
} from "./load.mjs";
import { serveBenchWorker } from "./server.mjs";
import { largeBodyPool, signedWebhook, singleStatusPool, STATUSES, statusJson } from "./webhook-bodies.mjs";
import { benchLargeBodies, benchWebhooks, parseJson, postWebhook, verifySamples } from "./webhook-rounds.mjs";

const BULK_RECIPIENTS = 10_000;
const BULK_RUNS = 3;
// Single-status webhooks: every wamid gets a sent, a delivered and a read status, each in a body of its
// own, so that each body is sent once; later statuses of a wamid come about 3·STATUS_LAG bodies after
// earlier ones. The pool outlasts 33 s of webhook rounds at 3,600 webhooks/s; the run fails beyond.
const WEBHOOK_WAMIDS = 40_000;
const STATUS_LAG = 1_000;
// Webhooks that arrive together share a D1 write, so their rate depends on how many are in flight: the
// rounds are run at CONNECTIONS and again at this (Meta has ~150 in flight at 3,000/s and 50 ms each).
const WIDE_CONNECTIONS = 128;
// Large bodies: LARGE.statuses distinct wamids each, posted on LARGE.connections connections until
// LARGE.seconds have passed or the LARGE_BODIES pre-signed bodies are used up.
const LARGE = { statuses: 10_000, connections: 4, warmUpBodies: 4, seconds: 10 };
const LARGE_BODIES = 64;
const TARGETS = { webhooksPerSecond: 3_000, statusesPerSecond: 50_000, rollupCatchUpSeconds: 10 };
const ROLLUP_CATCH_UP_LIMIT_MS = 120_000;
const DEADLINE_MS = 480_000;
const USER_AGENT =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36";
const BROWSER_HEADERS = {
  "user-agent": USER_AGENT,
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "accept-language": "en-GB,en;q=0.9",
};
const DESTINATION = "https://shop.example.com/offer?sku=1";

// ---- scenario ----------------------------------------------------------------------------------

async function setUp(base, adminToken) {
  const {
    id: workspaceId,
    apiKey,
    publishableKey,
  } = await api(base, "POST", "/api/v1/workspaces", adminToken, { name: "bench" }, 201);
  const campaign = await api(base, "POST", "/api/v1/campaigns", apiKey, { name: "bench" }, 201);
  const link = await api(
    base,
    "POST",
    "/api/v1/links",
    apiKey,
    { url: DESTINATION, campaignId: campaign.id, utm: { source: "whatsapp" } },
    201,
  );
  return { workspaceId, apiKey, publishableKey, campaignId: campaign.id, code: link.code };
}

function bulkBody(campaignId) {
  const recipients = Array.from({ length: BULK_RECIPIENTS }, (_, i) => ({
    contact: `+4477009${String(i).padStart(5, "0")}`,
    messageId: `wamid.bench${i}`,
  }));
  return { url: DESTINATION, campaignId, recipients };
}

async function timeBulk(base, apiKey, campaignId) {
  const body = bulkBody(campaignId);
  const seconds = [];
  for (let run = 0; run < BULK_RUNS; run++) {
    const start = performance.now();
    const result = await api(base, "POST", "/api/v1/links/bulk", apiKey, body, 201);
    seconds.push((performance.now() - start) / 1000);
    const codes = new Set(result.links.map((link) => link.code));
    if (result.links.length !== BULK_RECIPIENTS || codes.size !== BULK_RECIPIENTS) {
      throw new Error(`bulk run ${run + 1} returned ${result.links.length} links, ${codes.size} distinct codes`);
    }
  }
  return seconds;
}

async function checkRedirect(base, code) {
  const res = await fetch(`${base}/${code}`, {
    headers: BROWSER_HEADERS,
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  const location = res.headers.get("location") ?? "";
  if (res.status !== 302 || !location.startsWith(DESTINATION) || !location.includes("utm_source=whatsapp")) {
    throw new Error(`GET /${code} answered ${res.status} to ${location}`);
  }
  return location;
}

async function clickCounters(base, apiKey, code) {
  return api(base, "GET", `/api/v1/links/${code}`, apiKey, undefined, 200);
}

/** Clicks are written after each response: waits until the click counter stops moving. */
async function settledCounters(base, apiKey, code) {
  const deadline = Date.now() + 20_000;
  let last = await clickCounters(base, apiKey, code);
  let stableSince = Date.now();
  while (Date.now() - stableSince < 2_000 && Date.now() < deadline) {
    await sleep(250);
    const now = await clickCounters(base, apiKey, code);
    if (now.clicks !== last.clicks) stableSince = Date.now();
    last = now;
  }
  return last;
}

async function enableWebhooks(base, apiKey, appSecret) {
  const body = { settings: { whatsapp: { appSecret, verifyToken: randomBytes(12).toString("hex") } } };
  const workspace = await api(base, "PATCH", "/api/v1/workspace", apiKey, body, 200);
  if (workspace.settings.whatsapp.appSecretSet !== true) {
    throw new Error(`PATCH /api/v1/workspace did not set the app secret: ${JSON.stringify(workspace.settings)}`);
  }
}

/** One signed status is stored and readable; a wrong signature is refused; the bare POST answers 200. */
async function checkWebhook(base, apiKey, url, appSecret) {
  const good = signedWebhook(appSecret, [statusJson("C", 0, "sent")]);
  const refused = await postWebhook(url, { body: good.body, signature: `sha256=${"0".repeat(64)}` });
  if (refused.status !== 401) throw new Error(`a wrongly signed webhook answered ${refused.status}: ${refused.text}`);
  const accepted = await postWebhook(url, good);
  if (accepted.status !== 200 || parseJson(accepted.text)?.statuses !== 1) {
    throw new Error(`a signed webhook answered ${accepted.status}: ${accepted.text}`);
  }
  await verifySamples(base, apiKey, "check", [{ kind: "C", n: 0, acked: new Set(["sent"]) }]);
  const bare = await postWebhook(`${base}/__bare`, good);
  if (bare.status !== 200) throw new Error(`POST /__bare answered ${bare.status}: ${bare.text}`);
  return `${accepted.status} ${accepted.text} (stored), wrong signature → ${refused.status}; POST /__bare → ${bare.status}`;
}

/** Counts the stored messages of each kind straight from the local D1, beside the running server. */
async function countMessages(db) {
  const sql =
    "SELECT substr(id, 11, 1) AS kind, COUNT(*) AS messages, COUNT(sent_at) AS sent, COUNT(delivered_at) AS delivered, COUNT(read_at) AS read FROM messages GROUP BY kind";
  const { results } = await db.prepare(sql).all();
  return new Map(results.map((r) => [r.kind, r]));
}

/**
 * How long the outbox's rollup consumer (woken through the queue, as in production) takes to apply
 * everything acknowledged so far: polls the entries it has not applied until none are left.
 */
async function awaitRollups(db, limitMs) {
  const sql = "SELECT COUNT(*) AS n FROM outbox WHERE seq > (SELECT MIN(seq) FROM pipeline_positions)";
  const started = performance.now();
  const pending = (await db.prepare(sql).first()).n;
  let left = pending;
  while (left > 0 && performance.now() - started < limitMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = (await db.prepare(sql).first()).n;
  }
  return { pending, left, seconds: (performance.now() - started) / 1000 };
}

// ---- redirect rounds ---------------------------------------------------------------------------

async function benchRedirect(base, apiKey, code) {
  const urls = { redirect: `${base}/${code}`, bare: `${base}/__bare` };
  // Counting the checkRedirect request; a redirect cut off by a round's end may or may not be recorded.
  let sent = 1;
  let answered = 1;

  async function measure(round, route, seconds) {
    const clicksBefore = route === "redirect" ? (await clickCounters(base, apiKey, code)).clicks : 0;
    const run = await load({ url: urls[route], headers: BROWSER_HEADERS }, seconds, "3xx");
    let note = "";
    if (route === "redirect") {
      sent += run.sent;
      answered += run.answered;
      const atEnd = (await clickCounters(base, apiKey, code)).clicks - clicksBefore;
      note = `clicks recorded by round end: ${atEnd} of ${run.sent} sent`;
      // Click writes still running after a redirect round must not be billed to the bare route.
      await settledCounters(base, apiKey, code);
    }
    printRound(round, route, run, note);
    assertValid(route, run, "3xx");
    return run;
  }

  printRoundHeader("non-3xx");
  await measure("warm-up", "redirect", WARMUP_SECONDS);
  await measure("warm-up", "bare", WARMUP_SECONDS);
  return { ...(await alternateRounds("redirect", measure)), sent, answered };
}

/**
 * The site snippet's conversion beacon, `POST /t/collect?k=<publishable key>` with a purchase as
 * text/plain (as navigator.sendBeacon sends it), against `POST /__bare` with the same body; every beacon
 * must be accepted (202) and becomes a conversion.
 */
async function benchBeacons(base, publishableKey) {
  const body = JSON.stringify({ event: "purchase", value: "30.00", currency: "EUR" });
  const target = (url) => ({
    url,
    method: "POST",
    headers: { ...BROWSER_HEADERS, "content-type": "text/plain" },
    body,
  });
  const urls = { beacon: `${base}/t/collect?k=${publishableKey}`, bare: `${base}/__bare` };
  let answered = 0;
  async function measure(round, route, seconds) {
    const run = await load(target(urls[route]), seconds, "2xx");
    if (route === "beacon") answered += run.answered;
    printRound(round, route, run, "");
    assertValid(route, run, "2xx");
    return run;
  }
  printRoundHeader("non-2xx");
  await measure("warm-up", "beacon", WARMUP_SECONDS);
  await measure("warm-up", "bare", WARMUP_SECONDS);
  return { ...(await alternateRounds("beacon", measure)), answered };
}

// ---- output ------------------------------------------------------------------------------------

function printMethod() {
  const require = createRequire(import.meta.url);
  const fromMiniflare = createRequire(require.resolve("miniflare"));
  const version = (resolve, name) => resolve(`${name}/package.json`).version;
  const cpus = os.cpus();
  const loadAverage = os.loadavg().map((n) => n.toFixed(2));
  console.log("chatfunnel redirect and webhook benchmark");
  console.log(
    `machine: ${cpus.length} cores (${cpus[0]?.model ?? "unknown"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, load average ${loadAverage.join(" ")} at start`,
  );
  console.log(
    `software: node ${process.version}, miniflare ${version(require, "miniflare")}, workerd ${version(fromMiniflare, "workerd")}, wrangler ${version(require, "wrangler")} (bundling), autocannon ${version(require, "autocannon")}`,
  );
  console.log(
    "server: Miniflare's API in this process starts workerd, which answers on 127.0.0.1 itself (no dev proxy); it serves a bundle of bench/worker.ts (src/index.ts + the bare routes) made at start with the bindings of wrangler.toml; local D1 (SQLite) in a fresh temp dir, migrations applied through its binding",
  );
  console.log(
    `load: autocannon in this process, ${CONNECTIONS} keep-alive connections unless said otherwise; each route is measured against its bare route: warm-up ${WARMUP_SECONDS} s each, then ${ROUNDS} rounds × ${ROUND_SECONDS} s each, alternating which goes first`,
  );
  console.log(`redirect: GET /:code against GET /__bare (a 302), User-Agent: ${USER_AGENT}`);
  console.log(
    `webhooks, 1 status each: POST /webhooks/whatsapp/:workspaceId against POST /__bare (reads the body, answers 200), both cycling through the same ${count(3 * WEBHOOK_WAMIDS)} bodies built and signed (X-Hub-Signature-256) before the server starts: sent, delivered and read of ${count(WEBHOOK_WAMIDS)} wamids, each webhook (wamid, status) once, a wamid's later statuses ${count(3 * STATUS_LAG)} bodies behind its earlier ones; at ${CONNECTIONS} and then ${WIDE_CONNECTIONS} connections`,
  );
  console.log(
    `webhooks, ${count(LARGE.statuses)} statuses each: bodies of distinct wamids (sent, delivered, read in turn), posted with fetch on ${LARGE.connections} connections, each webhook body once; warm-up ${LARGE.warmUpBodies} bodies, then ${LARGE.seconds} s or ${LARGE_BODIES - LARGE.warmUpBodies} bodies, whichever ends first, awaiting the bodies in flight; POST /__bare gets as many bodies; statuses/s = statuses acknowledged (bare: posted) / wall time`,
  );
  console.log(
    "checks: every redirect answered is a click recorded; every webhook answer is 200 with its statuses counted; afterwards 20 random wamids per phase are read back through GET /api/v1/messages/:id, and the messages table is counted through the D1 binding",
  );
  console.log(
    "req/s = responses / elapsed; p50/p99 pooled over all measured rounds; ratio = route / bare; CPU = CPU time / wall time (100% = one core); client = this process, server = workerd, other = the rest of the machine (other people's work)",
  );
  console.log("");
}

const SUMMARY_NAME_WIDTH = 30;
const SUMMARY_WIDTHS = [8, 8, 6, 8, 8, 6, 8, 8, 6, 6];

/** A route's rate and latencies, each beside its bare route's and the ratio route / bare. */
function summaryRow(name, route, bare, { rateDigits = 0, msDigits = 2 } = {}) {
  const ratio = (a, b) => (a / b).toFixed(2);
  const cells = [
    route.rps.toFixed(rateDigits),
    bare.rps.toFixed(rateDigits),
    ratio(route.rps, bare.rps),
    route.p50.toFixed(msDigits),
    bare.p50.toFixed(msDigits),
    ratio(route.p50, bare.p50),
    route.p99.toFixed(msDigits),
    bare.p99.toFixed(msDigits),
    ratio(route.p99, bare.p99),
    route.failures + bare.failures,
  ];
  return `${name.padEnd(SUMMARY_NAME_WIDTH)}${row(cells, SUMMARY_WIDTHS)}`;
}

function printSummary(redirect, webhooks, large, beacons) {
  console.log("");
  console.log("summary: each route beside its bare route in the same process and run; ratio = route / bare");
  const header = ["req/s", "bare", "ratio", "p50 ms", "bare", "ratio", "p99 ms", "bare", "ratio", "failed"];
  console.log(`${"".padEnd(SUMMARY_NAME_WIDTH)}${row(header, SUMMARY_WIDTHS)}`);
  console.log(summaryRow("redirect GET /:code", redirect.redirect, redirect.bare));
  console.log(summaryRow("beacon POST /t/collect", beacons.beacon, beacons.bare));
  console.log(summaryRow(`webhook, 1 status, ${CONNECTIONS} conn.`, webhooks.narrow.webhook, webhooks.narrow.bare));
  console.log(summaryRow(`webhook, 1 status, ${WIDE_CONNECTIONS} conn.`, webhooks.wide.webhook, webhooks.wide.bare));
  const bodies = (run) => ({ rps: run.bodiesPerSecond, p50: run.p50, p99: run.p99, failures: run.failures.length });
  const largeName = `webhook, ${count(LARGE.statuses)} st., ${LARGE.connections} conn.`;
  console.log(summaryRow(largeName, bodies(large.webhook), bodies(large.bare), { rateDigits: 1, msDigits: 0 }));
  const statuses = large.webhook.statusesPerSecond;
  const bareStatuses = large.bare.statusesPerSecond;
  const statusCells = [count(statuses), count(bareStatuses), (statuses / bareStatuses).toFixed(2)];
  console.log(`${"  the same, statuses/s".padEnd(SUMMARY_NAME_WIDTH)}${row(statusCells, SUMMARY_WIDTHS)}`);
  console.log(
    "req/s of the large bodies: bodies/s; failed: responses not 3xx (redirects), not 200 (webhooks and bare POST), errors and timeouts",
  );
  console.log("");
  console.log(
    `webhooks/s (1 status each): ${count(webhooks.narrow.webhook.rps)} at ${CONNECTIONS} connections, ${count(webhooks.wide.webhook.rps)} at ${WIDE_CONNECTIONS} (target ${count(TARGETS.webhooksPerSecond)})`,
  );
  console.log(
    `statuses/s (${count(LARGE.statuses)} per body): ${count(statuses)} (target ${count(TARGETS.statusesPerSecond)})`,
  );
}

/** Stored rows against what was acknowledged (all must be there) and sent (no more can be). */
function checkCounts(stored, webhooks, large) {
  const lines = [];
  const problems = [];
  const within = (label, value, low, high) => {
    if (value < low || value > high) problems.push(`${label}: ${value} stored, expected ${low}–${high}`);
  };
  const h = stored.get("H") ?? { messages: 0, sent: 0, delivered: 0, read: 0 };
  within("single-status wamids", h.messages, webhooks.wamids.acked, webhooks.wamids.sent);
  for (const status of STATUSES) {
    within(`single-status ${status}`, h[status], webhooks.counts[status].acked, webhooks.counts[status].sent);
  }
  lines.push(
    `single-status phase: ${count(h.messages)} messages stored (${count(webhooks.wamids.acked)} wamids acknowledged, ${count(webhooks.wamids.sent)} sent); ` +
      STATUSES.map(
        (s) => `${s} ${count(h[s])} (${count(webhooks.counts[s].acked)}/${count(webhooks.counts[s].sent)})`,
      ).join(", "),
  );
  const b = stored.get("B") ?? { messages: 0, sent: 0, delivered: 0, read: 0 };
  const expected = large.storedBodies * LARGE.statuses;
  within("large-body wamids", b.messages, expected, expected);
  lines.push(`large-body phase: ${count(b.messages)} messages stored of ${count(expected)} acknowledged`);
  if (problems.length > 0) throw new Error(`stored message counts are off:\n${problems.join("\n")}`);
  return lines;
}

// ---- main --------------------------------------------------------------------------------------

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  printMethod();
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-bench-"));
  removeAtExit(tempDir);
  const appSecret = randomBytes(16).toString("hex");
  const started = performance.now();
  const pools = {
    single: singleStatusPool(appSecret, WEBHOOK_WAMIDS, STATUS_LAG),
    large: largeBodyPool(appSecret, LARGE_BODIES, LARGE.statuses),
  };
  const largeMiB = pools.large.reduce((sum, body) => sum + body.body.length, 0) / pools.large.length / 2 ** 20;
  console.log(
    `signed ${count(pools.single.length)} single-status bodies (${pools.single[0].body.length} bytes each) and ${pools.large.length} bodies of ${count(LARGE.statuses)} statuses (${largeMiB.toFixed(2)} MiB each) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const { base, server, db, adminToken, migrations, startSeconds } = await serveBenchWorker({
    name: "chatfunnel-bench",
    tempDir,
  });
  console.log(`workerd answered after ${startSeconds.toFixed(1)} s (${migrations} migrations applied)`);

  const { workspaceId, apiKey, publishableKey, campaignId, code } = await setUp(base, adminToken);
  const webhookUrl = `${base}/webhooks/whatsapp/${workspaceId}`;
  await enableWebhooks(base, apiKey, appSecret);
  const bulk = await timeBulk(base, apiKey, campaignId);
  console.log(
    `POST /api/v1/links/bulk, ${BULK_RECIPIENTS} recipients → 201 with ${BULK_RECIPIENTS} links: median ${median(bulk).toFixed(2)} s (runs: ${bulk.map((s) => s.toFixed(2)).join(", ")} s)`,
  );
  console.log(`GET /${code} → 302 ${await checkRedirect(base, code)}`);
  console.log(
    `POST /webhooks/whatsapp/${workspaceId}, 1 signed status → ${await checkWebhook(base, apiKey, webhookUrl, appSecret)}`,
  );
  console.log("");

  const redirect = await benchRedirect(base, apiKey, code);
  const webhooks = await benchWebhooks(base, webhookUrl, pools.single, WIDE_CONNECTIONS);
  console.log(`single-status webhooks: ${await verifySamples(base, apiKey, "webhook", webhooks.samples)}`);
  const large = await benchLargeBodies(webhookUrl, `${base}/__bare`, pools.large, LARGE, () =>
    awaitRollups(db, ROLLUP_CATCH_UP_LIMIT_MS),
  );
  const rollups = large.settled;
  console.log(
    `rollups: ${count(rollups.pending)} outbox entries not yet applied when the last body was acknowledged; ${rollups.left === 0 ? `all applied ${rollups.seconds.toFixed(1)} s later` : `${count(rollups.left)} still pending after ${rollups.seconds.toFixed(0)} s`} (target ≤ ${TARGETS.rollupCatchUpSeconds} s)`,
  );
  console.log(`large bodies: ${await verifySamples(base, apiKey, "large bodies", large.samples)}`);
  // Last: each beacon is a conversion for the rollups to apply, which would weigh on the phases after it.
  const beacons = await benchBeacons(base, publishableKey);
  printSummary(redirect, webhooks, large, beacons);

  const counters = await settledCounters(base, apiKey, code);
  console.log("");
  console.log(
    `clicks recorded for /${code}: ${counters.clicks} of ${redirect.sent} requests sent (${((100 * counters.clicks) / redirect.sent).toFixed(1)}%), ${redirect.answered} answered; previews ${counters.previews}, bots ${counters.bots}, unique ${counters.uniqueClicks} (every request has the same IP and User-Agent)`,
  );
  if (counters.clicks < redirect.answered || counters.clicks > redirect.sent) {
    throw new Error(`${counters.clicks} clicks recorded, expected ${redirect.answered}–${redirect.sent}`);
  }
  for (const line of checkCounts(await countMessages(db), webhooks, large)) console.log(line);
  const conversions = await db
    .prepare("SELECT COUNT(*) AS n FROM conversions WHERE workspace_id = ?1 AND source = 'beacon'")
    .bind(workspaceId)
    .first("n");
  console.log(`beacon conversions recorded: ${count(conversions)} of ${count(beacons.answered)} beacons accepted`);
  if (conversions < beacons.answered)
    throw new Error(`${beacons.answered - conversions} accepted beacons were not recorded`);
  const serverLog = server.log.trim();
  console.log(
    serverLog ? `server warnings and errors:\n${serverLog.slice(0, 3000)}` : "server warnings and errors: none",
  );
  const ratio = (route, bare, key) => route[key] / bare[key];
  return {
    redirect: {
      requestsPerSecond: redirect.redirect.rps,
      throughputRatio: ratio(redirect.redirect, redirect.bare, "rps"),
      p50Ratio: ratio(redirect.redirect, redirect.bare, "p50"),
      p99Ratio: ratio(redirect.redirect, redirect.bare, "p99"),
      // Redirects answered whose click was not recorded.
      clicksLost: Math.max(0, redirect.answered - counters.clicks),
    },
    ingest: {
      webhooksPerSecond: webhooks.narrow.webhook.rps,
      webhooksRatio: ratio(webhooks.narrow.webhook, webhooks.narrow.bare, "rps"),
      webhooksPerSecondWide: webhooks.wide.webhook.rps,
      statusesPerSecond: large.webhook.statusesPerSecond,
      beaconsPerSecond: beacons.beacon.rps,
      beaconsRatio: ratio(beacons.beacon, beacons.bare, "rps"),
      rollupCatchUpSeconds: rollups.left === 0 ? rollups.seconds : null,
    },
  };
}

await runBench(main, DEADLINE_MS);
