// Benchmarks the tracked redirect `GET /:code` against a bare 302 served by the same workerd
// process (bench/worker.ts), the bulk link API, and WhatsApp webhook ingestion (signed single-status
// deliveries, and large bodies of statuses). Talks only to 127.0.0.1. Run: npm run bench
import autocannon from "autocannon";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  api,
  removeAtExit,
  ROOT,
  runBench,
  runWrangler,
  serveBenchWorker,
  startCpuMeter,
  WRANGLER_SCRATCH,
  wranglerEnv,
} from "./wrangler.mjs";

const CONNECTIONS = 32;
const WARMUP_SECONDS = 3;
const ROUND_SECONDS = 5;
const ROUNDS = 3;
const BULK_RECIPIENTS = 10_000;
const BULK_RUNS = 3;
// Single-status webhooks: every wamid gets a sent, a delivered and a read status, each in a body of
// its own, signed before the run; later statuses of a wamid come STATUS_LAG bodies after earlier ones.
const WEBHOOK_WAMIDS = 20_000;
const STATUS_LAG = 1_000;
const STATUSES = ["sent", "delivered", "read"];
// Webhooks that arrive together share a D1 write, so their rate depends on how many are in flight: the
// rounds are run at CONNECTIONS and again at this (Meta has ~150 in flight at 3,000/s and 50 ms each).
const WIDE_CONNECTIONS = 128;
// Large bodies: LARGE_STATUSES distinct wamids each, posted on LARGE_CONNECTIONS connections until
// LARGE_SECONDS have passed or the LARGE_BODIES pre-signed bodies are used up.
const LARGE_STATUSES = 10_000;
const LARGE_CONNECTIONS = 4;
const LARGE_WARMUP_BODIES = 4;
const LARGE_SECONDS = 10;
const LARGE_BODIES = 64;
const SAMPLE_SIZE = 20;
const TARGETS = { webhooksPerSecond: 3_000, statusesPerSecond: 50_000 };
const DEADLINE_MS = 210_000;
const USER_AGENT =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36";
const BROWSER_HEADERS = {
  "user-agent": USER_AGENT,
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "accept-language": "en-GB,en;q=0.9",
};
const DESTINATION = "https://shop.example.com/offer?sku=1";
// Meta's webhook requests: its User-Agent, a JSON body and the app-secret signature.
const WEBHOOK_HEADERS = { "user-agent": "facebookexternalua", "content-type": "application/json" };

// ---- scenario ----------------------------------------------------------------------------------

async function setUp(base, adminToken) {
  const { id: workspaceId, apiKey } = await api(base, "POST", "/api/v1/workspaces", adminToken, { name: "bench" }, 201);
  const campaign = await api(base, "POST", "/api/v1/campaigns", apiKey, { name: "bench" }, 201);
  const link = await api(
    base,
    "POST",
    "/api/v1/links",
    apiKey,
    { url: DESTINATION, campaignId: campaign.id, utm: { source: "whatsapp" } },
    201,
  );
  return { workspaceId, apiKey, campaignId: campaign.id, code: link.code };
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

// ---- webhook bodies ----------------------------------------------------------------------------

const FIRST_STATUS_TIME = 1_750_030_073; // Unix seconds, as Meta sends them
const SECONDS_AFTER_SEND = { sent: 0, delivered: 3, read: 40 };
// Meta's envelope around the statuses of one business number.
const ENVELOPE_HEAD =
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[';
const ENVELOPE_TAIL = "]}}]}]}";

/** A wamid as long as Meta's; `kind` keeps apart the messages of each phase (H, B) and of the checks (C). */
function wamid(kind, n) {
  return `wamid.HBgL${kind}${String(n).padStart(9, "0")}FQIAERgSNUUzRjk0MDNFNjdBQzE0RkE2AA`;
}

function statusTime(n, status) {
  return FIRST_STATUS_TIME + (n % 86_400) + SECONDS_AFTER_SEND[status];
}

/** One status object as Meta serialises it; each message has a recipient of its own. */
function statusJson(kind, n, status) {
  return `{"id":"${wamid(kind, n)}","status":"${status}","timestamp":"${statusTime(n, status)}","recipient_id":"1650${String(n % 10_000_000).padStart(7, "0")}","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"}}`;
}

/** A webhook body and its X-Hub-Signature-256, computed over the exact bytes sent. */
function signedWebhook(appSecret, statuses) {
  const body = Buffer.from(ENVELOPE_HEAD + statuses.join(",") + ENVELOPE_TAIL);
  return { body, signature: `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}` };
}

/**
 * One status per body: body i carries status s = i mod 3 (sent, delivered, read) of wamid
 * (⌊i/3⌋ − s·STATUS_LAG) mod WEBHOOK_WAMIDS, so neighbouring bodies name different wamids, a
 * wamid's later statuses follow its earlier ones by a few thousand bodies, and each of the
 * 3 × WEBHOOK_WAMIDS (wamid, status) pairs is sent once.
 */
function singleStatusPool(appSecret) {
  return Array.from({ length: 3 * WEBHOOK_WAMIDS }, (_, i) => {
    const status = STATUSES[i % 3];
    const n = (Math.floor(i / 3) - (i % 3) * STATUS_LAG + WEBHOOK_WAMIDS) % WEBHOOK_WAMIDS;
    return { n, status, ...signedWebhook(appSecret, [statusJson("H", n, status)]) };
  });
}

/** Bodies of LARGE_STATUSES statuses of distinct wamids; status j of body b is of wamid b·LARGE_STATUSES + j. */
function largeBodyPool(appSecret) {
  return Array.from({ length: LARGE_BODIES }, (_, b) => {
    const statuses = Array.from({ length: LARGE_STATUSES }, (_, j) =>
      statusJson("B", b * LARGE_STATUSES + j, STATUSES[j % 3]),
    );
    return { first: b * LARGE_STATUSES, ...signedWebhook(appSecret, statuses) };
  });
}

async function enableWebhooks(base, apiKey, appSecret) {
  const body = { settings: { whatsapp: { appSecret, verifyToken: randomBytes(12).toString("hex") } } };
  const workspace = await api(base, "PATCH", "/api/v1/workspace", apiKey, body, 200);
  if (workspace.settings.whatsapp.appSecretSet !== true) {
    throw new Error(`PATCH /api/v1/workspace did not set the app secret: ${JSON.stringify(workspace.settings)}`);
  }
}

async function postWebhook(url, { body, signature }) {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...WEBHOOK_HEADERS, "x-hub-signature-256": signature },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, text: await res.text() };
}

/** The state GET /api/v1/messages/:id must show for wamid (kind, n), of which the `acked` statuses were stored. */
function stateMismatch(kind, n, acked, state) {
  const iso = (status) => new Date(statusTime(n, status) * 1000).toISOString();
  const latest = STATUSES.filter((status) => acked.has(status)).at(-1);
  const problems = [];
  if (state.id !== wamid(kind, n)) problems.push(`id ${state.id}`);
  if (state.status !== latest) problems.push(`status ${state.status}, expected ${latest}`);
  for (const status of STATUSES) {
    const at = state[`${status}At`];
    if (acked.has(status) ? at !== iso(status) : at !== null && !state.inferred.includes(status)) {
      problems.push(`${status}At ${at}${acked.has(status) ? `, expected ${iso(status)}` : ""}`);
    }
  }
  return problems.join("; ");
}

/** Reads `samples` ({ kind, n, acked: Set of statuses }) back through the API; throws on any difference. */
async function verifySamples(base, apiKey, label, samples) {
  const mismatches = [];
  await Promise.all(
    samples.map(async ({ kind, n, acked }) => {
      const state = await api(base, "GET", `/api/v1/messages/${wamid(kind, n)}`, apiKey, undefined, 200);
      const problem = stateMismatch(kind, n, acked, state);
      if (problem) mismatches.push(`${wamid(kind, n)}: ${problem}`);
    }),
  );
  if (mismatches.length > 0) throw new Error(`${label}: stored state differs:\n${mismatches.join("\n")}`);
  return `${samples.length} random wamids read back through GET /api/v1/messages/:id with the status and times sent`;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function randomSample(items, size) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, size);
}

/** One signed status is stored and readable; a wrong signature is refused. */
async function checkWebhook(base, apiKey, url, appSecret) {
  const good = signedWebhook(appSecret, [statusJson("C", 0, "sent")]);
  const refused = await postWebhook(url, { body: good.body, signature: `sha256=${"0".repeat(64)}` });
  if (refused.status !== 401) throw new Error(`a wrongly signed webhook answered ${refused.status}: ${refused.text}`);
  const accepted = await postWebhook(url, good);
  if (accepted.status !== 200 || parseJson(accepted.text)?.statuses !== 1) {
    throw new Error(`a signed webhook answered ${accepted.status}: ${accepted.text}`);
  }
  await verifySamples(base, apiKey, "check", [{ kind: "C", n: 0, acked: new Set(["sent"]) }]);
  return `${accepted.status} ${accepted.text} (stored), wrong signature → ${refused.status}`;
}

/** Counts the stored messages of each kind straight from the local D1, beside the running server. */
async function countMessages(env, persist) {
  const sql =
    "SELECT substr(id, 11, 1) AS kind, COUNT(*) AS messages, COUNT(sent_at) AS sent, COUNT(delivered_at) AS delivered, COUNT(read_at) AS read FROM messages GROUP BY kind";
  const out = await runWrangler(["d1", "execute", "DB", ...persist, "--json", "--command", sql], env, 60_000);
  const [{ results }] = JSON.parse(out);
  return new Map(results.map((r) => [r.kind, r]));
}

// ---- load --------------------------------------------------------------------------------------

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/**
 * One autocannon run of `target` (autocannon options: url, and headers or requests); responses outside
 * the status class `expected` count as failures. Latencies are kept exactly (autocannon's histogram
 * rounds to whole ms).
 */
async function load(target, seconds, serverPgid, expected = "3xx") {
  const latencies = [];
  const stopCpuMeter = await startCpuMeter(serverPgid);
  const instance = autocannon({
    connections: CONNECTIONS,
    duration: seconds,
    headers: BROWSER_HEADERS,
    ...target,
  });
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  const cpu = await stopCpuMeter(result.duration);
  return {
    latencies,
    // Includes the requests still in flight when autocannon stopped: the server saw those too.
    sent: result.requests.sent,
    rps: result.requests.total / result.duration,
    failures:
      result.errors +
      result.timeouts +
      STATUS_CLASSES.filter((c) => c !== expected).reduce((sum, c) => sum + result[c], 0),
    statusCodes: result.statusCodeStats,
    ...cpu,
  };
}

function assertValid(route, run, expected = "3xx") {
  if (run.failures > 0) {
    throw new Error(
      `${route}: ${run.failures} responses were not ${expected} or failed (status codes ${JSON.stringify(run.statusCodes)}); the numbers are void`,
    );
  }
  if (run.serverRestarted) {
    throw new Error(`${route}: the workerd runtime restarted during the run; the numbers are void`);
  }
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summarize(runs) {
  const sorted = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  return {
    rps: runs.reduce((sum, run) => sum + run.rps, 0) / runs.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
  };
}

// ---- output ------------------------------------------------------------------------------------

function row(cells, widths) {
  return cells.map((cell, i) => String(cell).padStart(widths[i])).join("  ");
}

const pct = (share) => (share === null ? "n/a" : `${Math.round(share * 100)}%`);

const ROUND_WIDTHS = [7, 8, 9, 8, 8, 7, 10, 10, 9];

function printRoundHeader(failures) {
  console.log(
    row(
      ["round", "route", "req/s", "p50 ms", "p99 ms", failures, "client CPU", "server CPU", "other CPU"],
      ROUND_WIDTHS,
    ),
  );
}

function printRound(round, route, run, note) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const line = row(
    [
      round,
      route,
      run.rps.toFixed(0),
      percentile(sorted, 0.5).toFixed(2),
      percentile(sorted, 0.99).toFixed(2),
      run.failures,
      pct(run.clientCpu),
      pct(run.serverCpu),
      pct(run.otherCpu),
    ],
    ROUND_WIDTHS,
  );
  console.log(note ? `${line}  (${note})` : line);
}

function printMethod() {
  // workerd is the copy wrangler resolves, which may be nested under it.
  const fromWrangler = createRequire(path.join(ROOT, "node_modules", "wrangler", "package.json"));
  const version = (name) => fromWrangler(`${name}/package.json`).version;
  const autocannonVersion = createRequire(import.meta.url)("autocannon/package.json").version;
  const cpus = os.cpus();
  const loadAverage = os.loadavg().map((n) => n.toFixed(2));
  console.log("chatfunnel redirect and webhook benchmark");
  console.log(
    `machine: ${cpus.length} cores (${cpus[0]?.model ?? "unknown"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, load average ${loadAverage.join(" ")} at start`,
  );
  console.log(
    `software: node ${process.version}, wrangler ${version("wrangler")}, workerd ${version("workerd")}, autocannon ${autocannonVersion}`,
  );
  console.log(
    "server: wrangler dev --local on 127.0.0.1 serving a bundle of bench/worker.ts (src/index.ts + /__bare) made at start, behind wrangler's proxy workerd; local D1 (SQLite) in a fresh temp dir",
  );
  console.log(
    `load: autocannon in this process, ${CONNECTIONS} keep-alive connections, warm-up ${WARMUP_SECONDS} s per route, then ${ROUNDS} rounds × ${ROUND_SECONDS} s per route, alternating which route goes first`,
  );
  console.log(`User-Agent: ${USER_AGENT}`);
  console.log(
    `webhooks, 1 status each: POST /webhooks/whatsapp/:workspaceId from autocannon as above (and then ${WIDE_CONNECTIONS} connections), cycling through ${count(3 * WEBHOOK_WAMIDS)} bodies built and signed (X-Hub-Signature-256) before the server starts: sent, delivered and read of ${count(WEBHOOK_WAMIDS)} wamids, each (wamid, status) once, a wamid's later statuses ${count(3 * STATUS_LAG)} bodies behind its earlier ones; warm-up ${WARMUP_SECONDS} s, then ${ROUNDS} rounds × ${ROUND_SECONDS} s at each connection count`,
  );
  console.log(
    `webhooks, ${count(LARGE_STATUSES)} statuses each: bodies of distinct wamids (sent, delivered, read in turn), each posted once with fetch on ${LARGE_CONNECTIONS} connections; warm-up ${LARGE_WARMUP_BODIES} bodies, then ${LARGE_SECONDS} s or ${LARGE_BODIES - LARGE_WARMUP_BODIES} bodies, whichever ends first, awaiting the bodies in flight; statuses/s = statuses acknowledged / wall time`,
  );
  console.log(
    `checks: every webhook answer is 200 with its statuses counted; afterwards ${SAMPLE_SIZE} random wamids per phase are read back through GET /api/v1/messages/:id, and the messages table is counted with wrangler d1 execute`,
  );
  console.log(
    "req/s = responses / elapsed; p50/p99 pooled over all measured rounds; CPU = CPU time / wall time (100% = one core); other CPU = the rest of the machine's (other processes')",
  );
  console.log("");
}

// ---- rounds ------------------------------------------------------------------------------------

async function benchRoutes(base, apiKey, code, pgid) {
  const urls = { redirect: `${base}/${code}`, bare: `${base}/__bare` };
  const runs = { redirect: [], bare: [] };
  let sent = 1; // the checkRedirect request

  async function measure(round, route, seconds) {
    const clicksBefore = route === "redirect" ? (await clickCounters(base, apiKey, code)).clicks : 0;
    const run = await load({ url: urls[route] }, seconds, pgid);
    let note = "";
    if (route === "redirect") {
      sent += run.sent;
      const atEnd = (await clickCounters(base, apiKey, code)).clicks - clicksBefore;
      note = `clicks recorded by round end: ${atEnd} of ${run.sent} sent`;
      // Click writes still running after a redirect round must not be billed to the bare route.
      await settledCounters(base, apiKey, code);
    }
    printRound(round, route, run, note);
    assertValid(route, run);
    return run;
  }

  printRoundHeader("non-3xx");
  await measure("warm-up", "redirect", WARMUP_SECONDS);
  await measure("warm-up", "bare", WARMUP_SECONDS);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ["redirect", "bare"] : ["bare", "redirect"];
    for (const route of order) runs[route].push(await measure(round, route, ROUND_SECONDS));
  }
  return { redirect: summarize(runs.redirect), bare: summarize(runs.bare), sent };
}

// ---- webhook rounds ----------------------------------------------------------------------------

/** Single-status webhooks, each body pre-signed, cycled through in order; tracks which were acknowledged. */
async function benchWebhooks(base, url, pool, pgid) {
  const issued = new Uint8Array(pool.length);
  const acked = new Uint8Array(pool.length);
  let next = 0;
  let ackedCount = 0;
  let badAnswers = 0;
  const target = {
    url: base,
    headers: WEBHOOK_HEADERS,
    requests: [
      {
        method: "POST",
        path: new URL(url).pathname,
        // The context lives from one request's setup to its response (one request at a time per connection).
        setupRequest(request, context) {
          const i = next++ % pool.length;
          context.body = i;
          issued[i] = 1;
          return {
            ...request,
            headers: { ...request.headers, "x-hub-signature-256": pool[i].signature },
            body: pool[i].body,
          };
        },
        onResponse(status, body, context) {
          if (status !== 200) return;
          const answer = parseJson(body);
          if (answer?.statuses !== 1 || answer.skipped !== 0) badAnswers++;
          else if (!acked[context.body]) ((acked[context.body] = 1), ackedCount++);
        },
      },
    ],
  };
  const runs = { narrow: [], wide: [] };

  async function measure(round, seconds, connections = CONNECTIONS) {
    const ackedBefore = ackedCount;
    const run = await load({ ...target, connections }, seconds, pgid, "2xx");
    const perRequest =
      run.serverCpu === null ? "" : `, server CPU ${((1000 * run.serverCpu) / run.rps).toFixed(2)} ms per webhook`;
    printRound(
      round,
      "webhook",
      run,
      `${connections} connections, acknowledged ${ackedCount - ackedBefore} of ${run.sent} sent${perRequest}`,
    );
    assertValid("webhook", run, "2xx");
    if (badAnswers > 0) throw new Error(`webhook: ${badAnswers} answers did not count exactly one status`);
    return run;
  }

  console.log("");
  printRoundHeader("non-2xx");
  await measure("warm-up", WARMUP_SECONDS);
  for (let round = 1; round <= ROUNDS; round++) runs.narrow.push(await measure(round, ROUND_SECONDS));
  for (let round = 1; round <= ROUNDS; round++) {
    runs.wide.push(await measure(round, ROUND_SECONDS, WIDE_CONNECTIONS));
  }

  // What each wamid must show: a status whose body was sent but never answered (in flight when a
  // round ended) may or may not be stored, so only wamids without such a status are sampled.
  const byWamid = new Map();
  for (let i = 0; i < pool.length; i++) {
    if (!issued[i]) continue;
    const { n, status } = pool[i];
    const known = byWamid.get(n) ?? { acked: new Set(), unsure: false };
    if (acked[i]) known.acked.add(status);
    else known.unsure = true;
    byWamid.set(n, known);
  }
  const certain = [...byWamid].filter(([, k]) => !k.unsure && k.acked.size > 0);
  const samples = randomSample(certain, SAMPLE_SIZE).map(([n, k]) => ({ kind: "H", n, acked: k.acked }));
  const counts = Object.fromEntries(
    STATUSES.map((status) => {
      const sent = pool.filter((body, i) => body.status === status && issued[i]).length;
      return [status, { acked: pool.filter((body, i) => body.status === status && acked[i]).length, sent }];
    }),
  );
  return {
    ...summarize(runs.narrow),
    wide: summarize(runs.wide),
    sent: next,
    acked: ackedCount,
    wamids: { acked: [...byWamid.values()].filter((k) => k.acked.size > 0).length, sent: byWamid.size },
    counts,
    samples,
  };
}

function printLargeRound(round, run) {
  const widths = [7, 7, 11, 8, 8, 7, 10, 10, 9];
  if (round === "warm-up") {
    console.log(
      row(
        ["round", "bodies", "statuses/s", "p50 ms", "p99 ms", "non-2xx", "client CPU", "server CPU", "other CPU"],
        widths,
      ),
    );
  }
  console.log(
    row(
      [
        round,
        run.bodies,
        run.statusesPerSecond.toFixed(0),
        run.p50.toFixed(0),
        run.p99.toFixed(0),
        run.failures.length,
        pct(run.clientCpu),
        pct(run.serverCpu),
        pct(run.otherCpu),
      ],
      widths,
    ) + (run.serverCpuPerStatus === null ? "" : `  (server CPU ${run.serverCpuPerStatus.toFixed(0)} µs per status)`),
  );
}

/** Large bodies, LARGE_CONNECTIONS at a time, each body sent once; every body in flight is awaited. */
async function benchLargeBodies(url, pool, pgid) {
  let next = 0;

  async function measure(round, bodies, seconds) {
    const stopCpuMeter = await startCpuMeter(pgid);
    const latencies = [];
    const failures = [];
    const acked = [];
    const start = performance.now();
    const stopAt = start + seconds * 1000;
    const last = Math.min(pool.length, next + bodies);
    async function connection() {
      while (next < last && performance.now() < stopAt) {
        const body = pool[next++];
        const sentAt = performance.now();
        const answer = await postWebhook(url, body).catch((err) => ({ status: "error", text: String(err) }));
        latencies.push(performance.now() - sentAt);
        const counted = answer.status === 200 ? parseJson(answer.text) : null;
        if (counted?.statuses === LARGE_STATUSES && counted.skipped === 0) acked.push(body);
        else failures.push(`${answer.status} ${answer.text.slice(0, 500)}`);
      }
    }
    await Promise.all(Array.from({ length: LARGE_CONNECTIONS }, connection));
    const wall = (performance.now() - start) / 1000;
    const cpu = await stopCpuMeter(wall);
    const sorted = latencies.sort((a, b) => a - b);
    const run = {
      bodies: latencies.length,
      acked,
      failures,
      statusesPerSecond: (acked.length * LARGE_STATUSES) / wall,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      // Server CPU time per status stored, in µs.
      serverCpuPerStatus:
        cpu.serverCpu === null ? null : (cpu.serverCpu * wall * 1e6) / (acked.length * LARGE_STATUSES),
      ...cpu,
    };
    printLargeRound(round, run);
    if (failures.length > 0) {
      throw new Error(`large bodies: ${failures.length} bodies were not stored whole; first answer: ${failures[0]}`);
    }
    if (run.serverRestarted) throw new Error("large bodies: the workerd runtime restarted during the run");
    return run;
  }

  console.log("");
  const warmUp = await measure("warm-up", LARGE_WARMUP_BODIES, Infinity);
  const run = await measure(1, Infinity, LARGE_SECONDS);
  const acked = [...warmUp.acked, ...run.acked];
  const picked = new Set();
  while (picked.size < SAMPLE_SIZE) {
    picked.add(acked[Math.floor(Math.random() * acked.length)].first + Math.floor(Math.random() * LARGE_STATUSES));
  }
  const samples = [...picked].map((n) => ({ kind: "B", n, acked: new Set([STATUSES[(n % LARGE_STATUSES) % 3]]) }));
  return { ...run, samples, ackedBodies: acked.length };
}

const count = (n) => Math.round(n).toLocaleString("en-US");

function printSummary({ redirect, bare }, webhooks, large) {
  const widths = [32, 12, 10, 9, 9, 7];
  console.log("");
  console.log(row(["", "mean rate", "unit", "p50 ms", "p99 ms", "failed"], widths));
  for (const [name, s, unit] of [
    ["redirect GET /:code", redirect, "req/s"],
    ["bare 302 GET /__bare", bare, "req/s"],
    ["webhook, 1 status each", webhooks, "req/s"],
    [`same, ${WIDE_CONNECTIONS} connections`, webhooks.wide, "req/s"],
  ]) {
    console.log(row([name, count(s.rps), unit, s.p50.toFixed(2), s.p99.toFixed(2), s.failures], widths));
  }
  console.log(
    row(
      [
        `webhook, ${count(LARGE_STATUSES)} statuses each`,
        count(large.statusesPerSecond),
        "statuses/s",
        large.p50.toFixed(0),
        large.p99.toFixed(0),
        large.failures.length,
      ],
      widths,
    ),
  );
  console.log("failed: responses not 3xx (redirects), not 200 (webhooks), errors and timeouts");
  console.log("");
  console.log(`redirect / bare throughput ratio: ${(redirect.rps / bare.rps).toFixed(2)}`);
  console.log(`redirect / bare p50 latency ratio: ${(redirect.p50 / bare.p50).toFixed(2)}`);
  console.log(`redirect / bare p99 latency ratio: ${(redirect.p99 / bare.p99).toFixed(2)}`);
  console.log(`webhook (1 status) / bare throughput ratio: ${(webhooks.rps / bare.rps).toFixed(2)}`);
  console.log("");
  console.log(`webhooks/s (1 status each): ${count(webhooks.rps)} (target ${count(TARGETS.webhooksPerSecond)})`);
  console.log(
    `webhooks/s (1 status each, ${WIDE_CONNECTIONS} connections): ${count(webhooks.wide.rps)} (target ${count(TARGETS.webhooksPerSecond)})`,
  );
  console.log(
    `statuses/s (${count(LARGE_STATUSES)} per body): ${count(large.statusesPerSecond)} (target ${count(TARGETS.statusesPerSecond)})`,
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
  const expected = large.ackedBodies * LARGE_STATUSES;
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
  if (!existsSync(WRANGLER_SCRATCH)) removeAtExit.push(WRANGLER_SCRATCH);
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-bench-"));
  removeAtExit.push(tempDir);
  const secrets = {
    ADMIN_TOKEN: randomBytes(24).toString("hex"),
    PII_PEPPER: randomBytes(24).toString("hex"),
    DATA_KEY: randomBytes(32).toString("base64"),
  };
  const env = wranglerEnv(secrets, tempDir);
  const appSecret = randomBytes(16).toString("hex");
  let started = performance.now();
  const pools = { single: singleStatusPool(appSecret), large: largeBodyPool(appSecret) };
  const largeMiB = pools.large.reduce((sum, body) => sum + body.body.length, 0) / pools.large.length / 2 ** 20;
  console.log(
    `signed ${count(pools.single.length)} single-status bodies (${pools.single[0].body.length} bytes each) and ${pools.large.length} bodies of ${count(LARGE_STATUSES)} statuses (${largeMiB.toFixed(2)} MiB each) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const { base, server, persist, startSeconds } = await serveBenchWorker({ name: "chatfunnel-bench", tempDir, env });
  console.log(`wrangler dev answered after ${startSeconds.toFixed(1)} s`);

  const { workspaceId, apiKey, campaignId, code } = await setUp(base, secrets.ADMIN_TOKEN);
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

  const results = await benchRoutes(base, apiKey, code, server.child.pid);
  const webhooks = await benchWebhooks(base, webhookUrl, pools.single, server.child.pid);
  console.log(`single-status webhooks: ${await verifySamples(base, apiKey, "webhook", webhooks.samples)}`);
  const large = await benchLargeBodies(webhookUrl, pools.large, server.child.pid);
  console.log(`large bodies: ${await verifySamples(base, apiKey, "large bodies", large.samples)}`);
  printSummary(results, webhooks, large);

  const counters = await settledCounters(base, apiKey, code);
  console.log("");
  console.log(
    `clicks recorded for /${code}: ${counters.clicks} of ${results.sent} requests sent (${((100 * counters.clicks) / results.sent).toFixed(1)}%); previews ${counters.previews}, bots ${counters.bots}, unique ${counters.uniqueClicks} (every request has the same IP and User-Agent)`,
  );
  console.log("");
  for (const line of checkCounts(await countMessages(env, persist), webhooks, large)) console.log(line);
  const serverLog = server.log.trim();
  console.log(
    serverLog ? `server warnings and errors:\n${serverLog.slice(0, 3000)}` : "server warnings and errors: none",
  );
}

await runBench(main, DEADLINE_MS);
