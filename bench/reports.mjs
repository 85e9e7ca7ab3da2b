// Report latency at two dataset sizes, 100k and 1M messages of one campaign, and how it grows.
// Miniflare serves a bundle of bench/worker.ts on 127.0.0.1 with a fresh local D1 (bench/server.mjs), or one
// kept from an earlier run of the same code the same day (bench/datasets.mjs). The dataset is
// written inside the Worker by bench/seed.ts (POST /__bench/seed): bulk INSERT … SELECT into the raw
// tables, exactly the rows the write paths store, so that the migrations' triggers build every rollup.
// The workspace, campaigns, links and keys are made through the API. After the 100k dataset is measured
// it is grown to 1M (same shape) and measured again. Every report answer is checked against the data.
// Run: npm run bench:reports (BENCH_REPORT_SIZES=10000,100000 for a quick try at other sizes).
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { startCpuMeter } from "./cpu.mjs";
import { tableBytes } from "./storage.mjs";
import { api, removeAtExit, runBench } from "./harness.mjs";
import { datasetKey, findDataset, keepDataset, keepDatasets, restoreDataset } from "./datasets.mjs";
import { serveBenchWorker } from "./server.mjs";

const SIZES = (process.env.BENCH_REPORT_SIZES ?? "100000,1000000").split(",").map(Number);
const CHUNK = 25_000; // messages per seeding request (each table is one statement well under D1's 30 s)
const PROGRESS_EVERY = 200_000;
const SEED_TIMEOUT_MS = 5 * 60_000;
const SECOND_CAMPAIGN_SHARE = 100; // a small second campaign of N / 100 messages
const WARMUP_ROUNDS = 30;
const ROUNDS = 100;
// Per report and size: warm-up and measured time after which a slow report is asked no more.
const WARMUP_BUDGET_MS = 5_000;
const MEASURE_BUDGET_MS = 15_000;
const MIN_SAMPLES = 5;
const TARGETS = { ratio: 1.5 }; // 1M median / 100k median, every report
// Seeding 1M messages and applying them to the rollups takes about 22 minutes on a 2-core machine, each chunk
// slower than the last.
const DEADLINE_MS = 60 * 60_000;
const QUARTER_MS = 15 * 60_000;
const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;
const WINDOW_DAYS = 30;
// The workspace reports in NON_UTC_ZONE (UTC+5:30: its weeks start at half past a UTC hour), so its
// retention is also kept on that wall clock; OTHER_ZONE is answered by correcting the UTC rollups.
const NON_UTC_ZONE = "Asia/Kolkata";
const OTHER_ZONE = "America/New_York";
const ZONE_SWITCH_DEADLINE_MS = 5 * 60_000;

const count = (n) => Math.round(n).toLocaleString("en-US");
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const short = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

// ---- setup -------------------------------------------------------------------------------------

/** Serves a fresh D1 in a new temp dir, or (with `secrets`) the D1 already in `tempDir`. */
async function startServer(tempDir, secrets) {
  if (!tempDir) {
    tempDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-bench-reports-"));
    removeAtExit(tempDir);
  }
  const served = await serveBenchWorker({ name: "chatfunnel-bench-reports", tempDir, secrets });
  const { startSeconds, migrations } = served;
  console.log(
    `workerd answered after ${startSeconds.toFixed(1)} s (${secrets ? "the kept D1 as it was" : `${migrations} migrations applied`})`,
  );
  // What a stopped server logged still counts at the end.
  const stop = async () => {
    stoppedLogs.push(served.server.log);
    await served.stop();
  };
  return { ...served, tempDir, stop };
}

const stoppedLogs = [];

/** A new server on a copy of a kept dataset. */
async function serveKept(kept, size) {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-bench-reports-"));
  removeAtExit(tempDir);
  const started = performance.now();
  await restoreDataset(kept, path.join(tempDir, "state"));
  console.log(
    `kept dataset of ${count(size)} messages (seeded on ${kept.meta.madeAt} in ${seconds(kept.meta.seeding.wall)}) copied in ${seconds(performance.now() - started)}`,
  );
  return startServer(tempDir, kept.meta.secrets);
}

/**
 * The dataset of `size` messages: kept from an earlier run of the same code (bench/datasets.mjs) and
 * served again, or grown from what `current` serves (a fresh server when null) and then kept. Answers
 * the server, the workspace's setup and data window, and the seeding (null when it was kept).
 */
async function dataset(key, size, current, seeded) {
  const kept = await findDataset(key, size);
  if (kept) {
    await current?.stop();
    return { server: await serveKept(kept, size), setup: kept.meta.setup, window: kept.meta.window, seeding: null };
  }
  let server = current ?? (await startServer());
  const setup = current?.setup ?? (await setUp(server.base, server.adminToken));
  const window = current?.window ?? dataWindow(Date.now());
  const seeding = await seed(server.base, server.adminToken, setup, window, seeded, size);
  if (keepDatasets) {
    // The files are copied with the server stopped, so that SQLite's are whole; then it serves them again.
    const started = performance.now();
    await server.stop();
    const madeAt = new Date().toISOString();
    const { secrets } = server;
    await keepDataset(key, size, path.join(server.tempDir, "state"), { madeAt, secrets, setup, window, seeding });
    console.log(`dataset kept for later runs of this code today in ${seconds(performance.now() - started)}`);
    server = await startServer(server.tempDir, secrets);
  }
  return { server, setup, window, seeding };
}

/** The workspace, its campaigns and links, and a reports:read key, all through the API. */
async function setUp(base, adminToken) {
  const { id: workspaceId, apiKey } = await api(
    base,
    "POST",
    "/api/v1/workspaces",
    adminToken,
    { name: "bench", settings: { timezone: NON_UTC_ZONE } },
    201,
  );
  const { key: reportsKey } = await api(
    base,
    "POST",
    "/api/v1/api-keys",
    apiKey,
    { name: "reports", scopes: ["reports:read"] },
    201,
  );
  const createCampaign = (body) => api(base, "POST", "/api/v1/campaigns", apiKey, body, 201);
  const createLink = (body) =>
    api(base, "POST", "/api/v1/links", apiKey, { url: "https://shop.example.com/offer", ...body }, 201);
  const main = await createCampaign({ name: "Black Friday", variants: ["A", "B"] });
  const other = await createCampaign({ name: "Restock alert" });
  const mainLinks = [
    await createLink({ campaignId: main.id, variant: "A" }),
    await createLink({ campaignId: main.id, variant: "B" }),
  ];
  const otherLinks = [await createLink({ campaignId: other.id })];
  return { workspaceId, apiKey, reportsKey, main, other, mainLinks, otherLinks };
}

// ---- seeding -----------------------------------------------------------------------------------

/** Messages are sent over 30 days that end two UTC midnights ago; nothing happens after `latest`. */
function dataWindow(now) {
  const windowEnd = Math.floor(now / DAY_MS) * DAY_MS - 2 * DAY_MS;
  return {
    windowStart: windowEnd - WINDOW_DAYS * DAY_MS,
    windowSeconds: (WINDOW_DAYS * DAY_MS) / 1000,
    latest: Math.floor(now / QUARTER_MS) * QUARTER_MS - 3 * HOUR_MS,
  };
}

function streams(setup, window, size) {
  const common = { workspaceId: setup.workspaceId, contacts: size / 4, ...window };
  return [
    {
      ...common,
      stream: "a",
      campaignId: setup.main.id,
      variants: ["A", "B"],
      linkIds: setup.mainLinks.map((l) => l.id),
      // B converts better than A, so that the A/B report has something to find.
      conversionPerMille: [25, 35],
      to: size,
    },
    {
      ...common,
      stream: "b",
      campaignId: setup.other.id,
      variants: [],
      linkIds: setup.otherLinks.map((l) => l.id),
      conversionPerMille: [30],
      to: size / SECOND_CAMPAIGN_SHARE,
    },
  ];
}

/**
 * Grows the dataset from `fromSize` to `size` messages in the main campaign (and N / 100 in the other).
 * Answers the wall time and, per statement kind, its time and row changes (the triggers' included).
 */
async function seed(base, adminToken, setup, window, fromSize, size) {
  const steps = {};
  const started = performance.now();
  let done = 0;
  let nextProgress = PROGRESS_EVERY;
  const todo = streams(setup, window, size).map((s) => ({
    ...s,
    from: s.stream === "a" ? fromSize : fromSize / SECOND_CAMPAIGN_SHARE,
  }));
  const messages = todo.reduce((sum, s) => sum + s.to - s.from, 0);
  for (const { from, to, ...stream } of todo) {
    for (let chunk = from; chunk < to; chunk += CHUNK) {
      const end = Math.min(to, chunk + CHUNK);
      // A chunk and the rollups of its events, applied in the same request, take longer as the data grows.
      const body = { ...stream, from: chunk, to: end };
      const answer = await api(base, "POST", "/__bench/seed", adminToken, body, 200, SEED_TIMEOUT_MS);
      for (const [step, { changes, ms }] of Object.entries(answer)) {
        steps[step] ??= { changes: 0, ms: 0 };
        steps[step].changes += changes;
        steps[step].ms += ms;
      }
      done += end - chunk;
      if (done >= nextProgress && done < messages) {
        console.log(
          `  … ${count(done)} of ${count(messages)} messages with their events, ${seconds(performance.now() - started)}`,
        );
        nextProgress += PROGRESS_EVERY;
      }
    }
  }
  return { messages, wall: performance.now() - started, steps };
}

const STEP_TABLES = {
  messages: "messages",
  clicks: "clicks",
  secondClicks: "clicks",
  conversions: "conversions",
  inbound: "inbound_messages",
  contactEvents: "contact_events",
  optOuts: "consents",
};

function printSeeding({ messages, wall, steps }, raw, before) {
  const added = (table) => raw[table] - (before?.[table] ?? 0);
  const tables = [...new Set(Object.values(STEP_TABLES))];
  const rows = tables.reduce((sum, t) => sum + added(t), 0);
  const changes = Object.values(steps).reduce((sum, s) => sum + s.changes, 0);
  console.log(
    `seeded ${count(messages)} messages and their events: ${count(rows)} raw rows in ${seconds(wall)}, ${count(rows / (wall / 1000))} raw rows/s (${count(changes)} row changes, the triggers' included)`,
  );
  const time = (table) =>
    Object.entries(steps)
      .filter(([step]) => STEP_TABLES[step] === table)
      .reduce((sum, [, s]) => sum + s.ms, 0);
  console.log(
    `  per table: ${tables
      .map(
        (t) =>
          `${t} ${count(added(t))} in ${seconds(time(t))} (${count(added(t) / Math.max(time(t) / 1000, 0.001))}/s)`,
      )
      .join(", ")}`,
  );
}

// ---- truths and checks -------------------------------------------------------------------------

function summarizeFacts(raw) {
  const byVariant = Object.fromEntries(raw.campaign.map((row) => [row.variant, row]));
  const total = {};
  for (const row of raw.campaign) {
    for (const [k, v] of Object.entries(row)) if (k !== "variant") total[k] = (total[k] ?? 0) + v;
  }
  const events = Object.fromEntries(raw.contactEvents.map((e) => [e.type, e]));
  return { ...raw, byVariant, total, events };
}

/** The dataset itself: the main campaign has `size` messages, and every click and conversion found its message. */
function checkDataset(facts, size) {
  const problems = [];
  const expect = (label, actual, expected) => {
    if (actual !== expected) problems.push(`${label}: ${actual}, expected ${expected}`);
  };
  expect("messages of the main campaign", facts.total.sent, size);
  expect("messages clicked (trigger) vs messages in clicks", facts.total.clickedMessages, facts.clicks.clickedMessages);
  expect(
    "messages converted (trigger) vs messages in conversions",
    facts.total.convertedMessages,
    facts.conversions.convertedMessages,
  );
  expect("revenue (trigger) vs conversions", facts.total.revenueMicros, facts.conversions.valueMinor * 10_000);
  if (problems.length > 0) throw new Error(`the seeded dataset is not as planned:\n${problems.join("\n")}`);
}

function compare(problems, label, actual, expected) {
  const same =
    typeof expected === "number" && typeof actual === "number"
      ? Math.abs(actual - expected) < 1e-6 * Math.max(1, Math.abs(expected))
      : actual === expected;
  if (!same) problems.push(`${label} = ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

function checkSteps(problems, label, steps, f) {
  const byName = Object.fromEntries(steps.map((s) => [s.name, s.count]));
  compare(problems, `${label}sent`, byName.sent, f.sent);
  compare(problems, `${label}delivered`, byName.delivered, f.delivered);
  compare(problems, `${label}read`, byName.read, f.read);
  compare(problems, `${label}clicked`, byName.clicked, f.clicked7d);
  compare(problems, `${label}converted`, byName.converted, f.converted7d);
}

/**
 * Weekly cohorts in UTC must match the contacts' first messages (in the campaign, with `campaign`)
 * week by week; in any zone they sum to all those contacts.
 */
function checkCohorts(problems, body, facts, utc, campaign = false) {
  const truth = campaign ? facts.campaignCohorts : facts.cohorts;
  const contacts = truth.reduce((sum, c) => sum + c.contacts, 0);
  const sizes = body.cohorts.reduce((sum, c) => sum + c.size, 0);
  compare(problems, "sum of cohort sizes", sizes, contacts);
  if (!utc) return;
  const expected = new Map(truth.map((c) => [c.week, c.contacts]));
  for (const cohort of body.cohorts) {
    const week = Math.floor((Date.parse(cohort.start) / DAY_MS + 3) / 7);
    compare(problems, `cohort ${cohort.start} size`, cohort.size, expected.get(week) ?? 0);
    compare(problems, `cohort ${cohort.start} values[0].count`, cohort.values?.[0]?.count, cohort.size);
  }
}

const retentionPath = (zone) => `/api/v1/reports/retention?period=week&timezone=${encodeURIComponent(zone)}`;

function reportsToMeasure(setup) {
  const campaign = `campaignId=${setup.main.id}`;
  const sum = (items, key) => items.reduce((s, item) => s + item[key], 0);
  return [
    {
      name: "funnel",
      path: `/api/v1/reports/funnel?${campaign}`,
      targetMs: 20,
      check: (p, b, f) => {
        checkSteps(p, "", b.steps, f.total);
        compare(p, "revenue", b.revenue, f.conversions.valueMinor / 100);
      },
    },
    {
      name: "funnel groupBy=variant",
      path: `/api/v1/reports/funnel?${campaign}&groupBy=variant`,
      check: (p, b, f) => {
        compare(p, "group keys", b.groups.map((g) => g.key).join(","), "A,B");
        for (const g of b.groups) checkSteps(p, `${g.key}.`, g.steps, f.byVariant[g.key]);
      },
    },
    {
      name: "metrics",
      path: `/api/v1/reports/metrics?${campaign}`,
      targetMs: 20,
      check: (p, b, f) => {
        const m = b.messages;
        const t = f.total;
        compare(p, "messages.sent", m.sent, t.sent);
        compare(p, "messages.delivered", m.delivered, t.delivered);
        compare(p, "messages.read", m.read, t.read);
        compare(p, "messages.clicked", m.clicked, t.clicked7d);
        compare(p, "messages.converted", m.converted, t.converted7d);
        compare(p, "messages.replied", m.replied, t.replied);
        compare(p, "messages.failed", m.failed, t.failed);
        compare(p, "messages.charged", m.charged, t.charged);
        compare(p, "csat.responses", b.csat.responses, f.events.csat?.events ?? 0);
        compare(p, "csat.average", b.csat.average, f.events.csat ? f.events.csat.value / f.events.csat.events : null);
      },
    },
    {
      name: "ab",
      path: `/api/v1/reports/ab?${campaign}`,
      check: (p, b, f) => {
        compare(p, "variants", b.variants.map((v) => v.variant).join(","), "A,B");
        for (const v of b.variants) {
          compare(p, `${v.variant}.messages`, v.messages, f.byVariant[v.variant].sent);
          compare(p, `${v.variant}.conversions`, v.conversions, f.byVariant[v.variant].converted7d);
        }
      },
    },
    {
      name: "retention week UTC",
      path: "/api/v1/reports/retention?period=week&timezone=UTC",
      targetMs: 100,
      check: (p, b, f) => checkCohorts(p, b, f, true),
    },
    {
      name: `retention week ${NON_UTC_ZONE}`,
      path: retentionPath(NON_UTC_ZONE),
      targetMs: 100,
      check: (p, b, f) => checkCohorts(p, b, f, false),
    },
    {
      name: `retention week ${OTHER_ZONE}*`,
      path: retentionPath(OTHER_ZONE),
      // Exact, but from the contacts near period boundaries: it grows with the data, and has no target.
      informational: true,
      check: (p, b, f) => checkCohorts(p, b, f, false),
    },
    {
      name: "retention week UTC, one campaign",
      path: `/api/v1/reports/retention?period=week&timezone=UTC&${campaign}`,
      targetMs: 200,
      check: (p, b, f) => checkCohorts(p, b, f, true, true),
    },
    {
      name: `retention week ${NON_UTC_ZONE}, one campaign*`,
      path: `${retentionPath(NON_UTC_ZONE)}&${campaign}`,
      // A campaign's retention is rolled up in UTC; other zones correct it, as OTHER_ZONE does the workspace's.
      informational: true,
      check: (p, b, f) => checkCohorts(p, b, f, false, true),
    },
    {
      name: "retention week UTC, two campaigns*",
      path: `/api/v1/reports/retention?period=week&timezone=UTC&${campaign}&campaignId=${setup.other.id}`,
      // Several campaigns together are combined from their contacts' first starts: no target.
      informational: true,
      check: (p, b, f) => compare(p, "sum of cohort sizes", sum(b.cohorts, "size"), f.bothCampaignsContacts),
    },
    {
      name: "timeseries day sent",
      path: `/api/v1/reports/timeseries?${campaign}&interval=day&metric=sent`,
      check: (p, b, f) => compare(p, "sum of points", sum(b.points, "value"), f.total.sent),
    },
    {
      name: "heatmap read",
      path: `/api/v1/reports/heatmap?${campaign}&metric=read`,
      check: (p, b, f) => compare(p, "sum of cells", sum(b.cells, "value"), f.total.read),
    },
    {
      name: "breakdown country clicks",
      path: `/api/v1/reports/breakdown?${campaign}&dimension=country&metric=clicks`,
      check: (p, b, f) => compare(p, "sum of rows", sum(b.rows, "count"), f.clicks.clicks),
    },
    {
      name: "audience first page",
      path: audiencePath(setup),
      targetMs: 100,
      check: (p, b, f) => {
        const expected = f.audience.deliveredNotRead;
        compare(p, "messages on the first page", b.messages.length, Math.min(AUDIENCE_PAGE, expected));
        compare(p, "nextCursor", b.nextCursor !== null, expected > AUDIENCE_PAGE);
      },
    },
    {
      name: "audience deep page",
      // Set by walkAudience: the page halfway through the audience.
      path: null,
      targetMs: 100,
      prepare: walkAudience,
      check: (p, b, f) => {
        const rest = f.audience.deliveredNotRead - deepPageIndex(f) * AUDIENCE_PAGE;
        compare(p, "messages on the deep page", b.messages.length, Math.min(AUDIENCE_PAGE, rest));
      },
    },
    { name: "bare 302 (floor)", path: "/__bare", status: 302, check: null },
  ];
}

const AUDIENCE_PAGE = 1000;
const deepPageIndex = (facts) => Math.floor(facts.audience.deliveredNotRead / AUDIENCE_PAGE / 2);
const audiencePath = (setup, cursor) =>
  `/api/v1/audiences?campaignId=${setup.main.id}&stage=delivered_not_read&limit=${AUDIENCE_PAGE}${cursor ? `&cursor=${cursor}` : ""}`;

/**
 * Reads the whole delivered_not_read audience, untimed: it must hold every message the raw data puts
 * there, each once, in the order they reached it. The page halfway through becomes the deep page.
 */
async function walkAudience(report, base, setup, facts) {
  const expected = facts.audience.deliveredNotRead;
  const middle = deepPageIndex(facts);
  const seen = new Set();
  let [cursor, last, pages, deep, disorder, received] = [null, "", 0, null, 0, 0];
  do {
    const answer = await timedGet(base, audiencePath(setup, cursor), setup.reportsKey);
    if (answer.status !== 200) {
      throw new Error(`audience page ${pages + 1}: ${answer.status} ${answer.text.slice(0, 300)}`);
    }
    const body = JSON.parse(answer.text);
    received += body.messages.length;
    for (const message of body.messages) {
      if (message.reachedAt < last) disorder++;
      last = message.reachedAt;
      seen.add(message.messageId);
    }
    if (pages === middle) deep = cursor;
    pages++;
    cursor = body.nextCursor;
  } while (cursor !== null);
  report.path = audiencePath(setup, deep);
  const problems = [];
  compare(problems, "messages in the audience", received, expected);
  compare(problems, "distinct messages in the audience", seen.size, expected);
  compare(problems, "messages out of order", disorder, 0);
  return problems;
}

// ---- measuring ---------------------------------------------------------------------------------

async function timedGet(base, route, token) {
  const started = performance.now();
  const res = await fetch(base + route, {
    headers: { authorization: `Bearer ${token}` },
    redirect: "manual",
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { ms: performance.now() - started, status: res.status, text };
}

/**
 * The first answer of each report, checked against the data. A report that does not answer as it
 * should is left out of the timing rounds; one with wrong numbers is timed, and both fail the run.
 */
async function probe(base, token, reports, facts, size) {
  for (const report of reports) {
    report.failures ??= [];
    report.unanswered = false;
    const answer = await timedGet(base, report.path, token);
    if (answer.status !== (report.status ?? 200)) {
      report.unanswered = true;
      report.failures.push(`${short(size)}: answered ${answer.status}: ${answer.text.slice(0, 300)}`);
      continue;
    }
    if (!report.check) continue;
    const problems = [];
    try {
      report.check(problems, JSON.parse(answer.text), facts);
    } catch (err) {
      problems.push(`unexpected body (${err.message}): ${answer.text.slice(0, 300)}`);
    }
    if (problems.length > 0) report.failures.push(`${short(size)}: wrong numbers: ${problems.slice(0, 6).join("; ")}`);
  }
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Round-robin over the reports, one request at a time, so that load changes hit them all alike. A slow
 * report stops being asked once it has used its time budget (with at least MIN_SAMPLES measured), so
 * that one report cannot hold up the run; the table shows how many answers each median is made of.
 */
async function measure(base, token, reports) {
  const live = reports.filter((r) => !r.unanswered);
  const samples = new Map(live.map((r) => [r, { warm: 0, warmMs: 0, latencies: [], ms: 0 }]));
  const asking = (report, round) => {
    const s = samples.get(report);
    if (round < WARMUP_ROUNDS) return s.warmMs < WARMUP_BUDGET_MS;
    return s.latencies.length < MIN_SAMPLES || s.ms < MEASURE_BUDGET_MS;
  };
  let stopCpuMeter = null;
  let started = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    if (round === WARMUP_ROUNDS) {
      stopCpuMeter = await startCpuMeter();
      started = performance.now();
    }
    for (const report of live.filter((r) => asking(r, round))) {
      const answer = await timedGet(base, report.path, token);
      if (answer.status !== (report.status ?? 200)) {
        throw new Error(
          `${report.name}: answered ${answer.status} in round ${round + 1}: ${answer.text.slice(0, 300)}`,
        );
      }
      const s = samples.get(report);
      if (round < WARMUP_ROUNDS) {
        s.warm++;
        s.warmMs += answer.ms;
      } else {
        s.latencies.push(answer.ms);
        s.ms += answer.ms;
      }
    }
  }
  const cpu = await stopCpuMeter((performance.now() - started) / 1000);
  const results = new Map();
  for (const [report, s] of samples) {
    const sorted = s.latencies.sort((a, b) => a - b);
    results.set(report.name, {
      median: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      n: sorted.length,
      warm: s.warm,
    });
  }
  return { results, cpu };
}

// ---- output ------------------------------------------------------------------------------------

function row(cells, widths) {
  return cells
    .map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i])))
    .join("  ");
}

const pct = (share) => (share === null ? "n/a" : `${Math.round(share * 100)}%`);

function printMethod() {
  const require = createRequire(import.meta.url);
  const fromMiniflare = createRequire(require.resolve("miniflare"));
  const version = (resolve, name) => resolve(`${name}/package.json`).version;
  const cpus = os.cpus();
  console.log("chatfunnel reports benchmark");
  console.log(
    `machine: ${cpus.length} cores (${cpus[0]?.model ?? "unknown"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, load average ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(" ")} at start`,
  );
  console.log(
    `software: node ${process.version}, miniflare ${version(require, "miniflare")}, workerd ${version(fromMiniflare, "workerd")}, wrangler ${version(require, "wrangler")} (bundling)`,
  );
  console.log(
    "server: Miniflare's API in this process starts workerd, which answers on 127.0.0.1 itself (no dev proxy); it serves a bundle of bench/worker.ts made at start with the bindings of wrangler.toml; local D1 (SQLite) in a fresh temp dir, migrations applied through its binding; a dataset seeded by an earlier run of the same code today is served again from a copy of its D1 (BENCH_FRESH_DATASETS=1 seeds afresh)",
  );
  console.log(
    `dataset per size N (${SIZES.map(short).join(", ")}): one workspace; campaign "Black Friday" (variants A, B) with N messages and "Restock alert" with N/${SECOND_CAMPAIGN_SHARE}, sent over ${WINDOW_DAYS} days ending two UTC midnights ago to N/4 contacts in 6 countries; written inside the Worker as bulk INSERT … SELECT into the raw tables (messages, clicks, conversions, inbound_messages, contact_events, consents), rows as the write paths store them, so the triggers build the rollups; each message in its final state (≈2.6 statuses per message as final states: 95% delivered, 60% read, 3% failed; billable pricing on delivered ones); ≈0.3·N human clicks on the campaign links carrying the message id; every message names its campaign link as a registration's linkCode does, ≈0.03·N conversions attributed to a click (5–200 EUR), ≈0.05·N replies (one in 17 without context), ≈0.02·N CSAT and chatbot events, one contact in 50 opted out (audiences skip them); ${SIZES.length > 1 ? `the ${short(SIZES[0])} dataset is measured, then grown to ${short(SIZES.at(-1))}` : ""}`,
  );
  console.log(
    `timing: per size ${WARMUP_ROUNDS} warm-up rounds, then ${ROUNDS} measured rounds; a round asks every report once, in turn, one request at a time (fetch, keep-alive), with a reports:read key; latency = request sent to body read; a report stops being asked after ${WARMUP_BUDGET_MS / 1000} s of warm-up or ${MEASURE_BUDGET_MS / 1000} s measured (at least ${MIN_SAMPLES} answers); each report's first answer is checked against the raw data`,
  );
  console.log("");
}

function printResults(reports, bySize) {
  const sizes = [...bySize.keys()];
  const first = sizes[0];
  const last = sizes.at(-1);
  const widths = [Math.max(30, ...reports.map((r) => r.name.length)), ...sizes.flatMap(() => [9, 8, 4]), 8, 26];
  console.log("");
  console.log(
    row(
      [
        "report (ms)",
        ...sizes.flatMap((s) => [`${short(s)} med`, "p95", "n"]),
        sizes.length > 1 ? `${short(last)}/${short(first)}` : "",
        "targets",
      ],
      widths,
    ),
  );
  let misses = 0;
  for (const report of reports) {
    const cells = sizes.map((s) => bySize.get(s).results.get(report.name));
    if (cells.some((c) => c === undefined)) {
      console.log(row([report.name, ...sizes.flatMap(() => ["—", "—", "—"]), "—", "not measured"], widths));
      continue;
    }
    const ratio = cells.at(-1).median / cells[0].median;
    const verdicts = [];
    if (report.targetMs !== undefined) {
      const ok = cells.at(-1).median <= report.targetMs;
      if (!ok) misses++;
      verdicts.push(`≤${report.targetMs} ms ${ok ? "PASS" : "MISS"}`);
    }
    if (report.informational) verdicts.push("no target (*)");
    else if (report.status === undefined && sizes.length > 1) {
      const ok = ratio <= TARGETS.ratio;
      if (!ok) misses++;
      verdicts.push(`≤${TARGETS.ratio}× ${ok ? "PASS" : "MISS"}`);
    }
    console.log(
      row(
        [
          report.name,
          ...cells.flatMap((c) => [c.median.toFixed(2), c.p95.toFixed(2), c.n]),
          sizes.length > 1 ? `${ratio.toFixed(2)}×` : "",
          verdicts.join(", "),
        ],
        widths,
      ),
    );
  }
  console.log(
    `n = measured answers (fewer than ${ROUNDS} when a report used up its ${MEASURE_BUDGET_MS / 1000} s budget). Latency targets are for the ${short(last)} dataset (median); the ratio is of medians. bare 302 is the floor: workerd and the Worker doing nothing.`,
  );
  console.log(
    `${NON_UTC_ZONE} is the workspace's reporting time zone, whose retention is rolled up on its wall clock; * ${OTHER_ZONE} is not: it is answered exactly by correcting the UTC rollups, at a cost that grows with the contacts near period boundaries (no target).`,
  );
  for (const report of reports) if (report.path) console.log(`  ${report.name}: GET ${report.path}`);
  return misses;
}

/** Megabytes on disk per table at each size (rows and indexes), the largest first, and per message. */
function printStorage(bySize) {
  const sizes = [...bySize.keys()];
  const last = bySize.get(sizes.at(-1));
  const widths = [26, ...sizes.map(() => 10), 14];
  const mb = (bytes) => (bytes / 1e6).toFixed(1);
  console.log("");
  console.log(row(["MB on disk", ...sizes.map(short), "bytes/message"], widths));
  const tables = Object.entries(last.storage.tables)
    .sort((a, b) => b[1] - a[1])
    .filter(([, bytes]) => bytes >= 0.001 * last.storage.total);
  const perMessage = (bytes) => (bytes / last.facts.raw.messages).toFixed(0);
  for (const [table, bytes] of tables) {
    console.log(
      row([table, ...sizes.map((s) => mb(bySize.get(s).storage.tables[table] ?? 0)), perMessage(bytes)], widths),
    );
  }
  console.log(
    row(["total", ...sizes.map((s) => mb(bySize.get(s).storage.total)), perMessage(last.storage.total)], widths),
  );
  console.log(
    "(dbstat of the local D1 file; tables under 0.1 % of the total left out; the outbox keeps two weeks in production)",
  );
}

function printRowCounts(bySize) {
  const sizes = [...bySize.keys()];
  const widths = [24, ...sizes.map(() => 12), 8];
  console.log("");
  console.log(row(["rows", ...sizes.map(short), sizes.length > 1 ? "ratio" : ""], widths));
  const tables = Object.keys({ ...bySize.get(sizes.at(-1)).facts.raw, ...bySize.get(sizes.at(-1)).facts.rollups });
  for (const table of tables) {
    const values = sizes.map((s) => bySize.get(s).facts.raw[table] ?? bySize.get(s).facts.rollups[table] ?? 0);
    const ratio = values[0] > 0 && sizes.length > 1 ? `${(values.at(-1) / values[0]).toFixed(1)}×` : "";
    console.log(row([table, ...values.map(count), ratio], widths));
  }
  console.log(
    "(statuses: sent + delivered + read + failed times stored on the messages, i.e. statuses as final states)",
  );
}

/**
 * The workspace's reporting zone moves to OTHER_ZONE: the queue fills its wall-clock copy from the
 * UTC rollups in the background and drops the old one. Prints how long that took, and the report then.
 */
async function switchZone(base, adminToken, setup, facts) {
  const contacts = facts.cohorts.reduce((s, c) => s + c.contacts, 0);
  const started = performance.now();
  await api(base, "PATCH", "/api/v1/workspace", setup.apiKey, { settings: { timezone: OTHER_ZONE } }, 200);
  for (;;) {
    const copies = await api(base, "POST", "/__bench/zones", adminToken, { workspaceId: setup.workspaceId }, 200);
    if (copies.length === 1 && copies[0].zone === OTHER_ZONE && copies[0].filled_to === null) break;
    if (performance.now() - started > ZONE_SWITCH_DEADLINE_MS) {
      throw new Error(`the ${OTHER_ZONE} copy was not filled in time: ${JSON.stringify(copies)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const filledMs = performance.now() - started;
  const latencies = [];
  for (let i = 0; i < 30; i++) latencies.push((await timedGet(base, retentionPath(OTHER_ZONE), setup.reportsKey)).ms);
  latencies.sort((a, b) => a - b);
  const median = percentile(latencies, 0.5);
  console.log("");
  console.log(
    `zone switch: PATCH settings.timezone ${NON_UTC_ZONE} → ${OTHER_ZONE} with ${count(contacts)} contacts: the new wall-clock copy was filled (and the old one dropped) in the background in ${seconds(filledMs)} (${count(contacts / (filledMs / 1000))} contacts/s); retention week ${OTHER_ZONE} then answers in ${median.toFixed(2)} ms (median of 30)`,
  );
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  printMethod();
  const key = await datasetKey();
  const bySize = new Map();
  let current = null;
  let setup;
  let seeded = 0;
  let reports;
  for (const size of SIZES) {
    console.log("");
    console.log(`== ${count(size)} messages in the campaign ==`);
    const made = await dataset(key, size, current, seeded);
    if (setup && made.setup.workspaceId !== setup.workspaceId) {
      throw new Error("the kept datasets of this code disagree; run again with BENCH_FRESH_DATASETS=1");
    }
    setup = made.setup;
    current = { ...made.server, setup, window: made.window };
    const { base, adminToken } = current;
    reports ??= reportsToMeasure(setup);
    const started = performance.now();
    const facts = summarizeFacts(
      await api(
        base,
        "POST",
        "/__bench/facts",
        adminToken,
        { workspaceId: setup.workspaceId, campaignId: setup.main.id, otherCampaignId: setup.other.id },
        200,
      ),
    );
    if (made.seeding) printSeeding(made.seeding, facts.raw, bySize.get(seeded)?.facts.raw);
    seeded = size;
    checkDataset(facts, size);
    console.log(
      `dataset: ${count(facts.raw.messages)} messages (${count(facts.raw.statuses)} statuses as final states), ${count(facts.raw.clicks)} clicks, ${count(facts.raw.conversions)} conversions, ${count(facts.raw.inbound_messages)} inbound, ${count(facts.raw.contact_events)} contact events, ${count(facts.cohorts.reduce((s, c) => s + c.contacts, 0))} contacts (counted in ${seconds(performance.now() - started)})`,
    );
    for (const report of reports.filter((r) => r.prepare)) {
      const problems = await report.prepare(report, base, setup, facts);
      report.failures ??= [];
      if (problems.length > 0) report.failures.push(`${short(size)}: wrong audience: ${problems.join("; ")}`);
    }
    await probe(base, setup.reportsKey, reports, facts, size);
    for (const report of reports) {
      for (const failure of report.failures.filter((f) => f.startsWith(`${short(size)}:`))) {
        console.log(`  FAILED ${report.name}: ${failure}`);
      }
    }
    const { results, cpu } = await measure(base, setup.reportsKey, reports);
    console.log(
      `measured: CPU during the rounds: server ${pct(cpu.serverCpu)}, client ${pct(cpu.clientCpu)}, other processes ${pct(cpu.otherCpu)} (100% = one core of ${os.cpus().length}); load average ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(" ")}`,
    );
    if (cpu.serverRestarted) throw new Error("the workerd runtime restarted during the rounds; the numbers are void");
    bySize.set(size, { results, facts, storage: await tableBytes(current.tempDir), kept: !made.seeding });
  }
  const misses = printResults(reports, bySize);
  // Switching the zone refills the workspace's retention copy: about 3 minutes at 1M, as long as the rest of
  // this bench. It is timed on the first size's dataset when that was kept (on a copy served again), and
  // on the last size's otherwise.
  const first = SIZES[0];
  const keptFirst = SIZES.length > 1 ? await findDataset(key, first) : null;
  if (keptFirst) {
    await current.stop();
    console.log("");
    current = { ...(await serveKept(keptFirst, first)), setup };
  }
  const { base, adminToken, server } = current;
  await switchZone(base, adminToken, setup, bySize.get(keptFirst ? first : seeded).facts);
  printRowCounts(bySize);
  printStorage(bySize);
  const failed = reports.filter((r) => r.failures.length > 0);
  const serverLog = [...stoppedLogs, server.log].join("").trim();
  console.log(
    serverLog ? `server warnings and errors:\n${serverLog.slice(0, 3000)}` : "server warnings and errors: none",
  );
  console.log(`targets missed: ${misses}`);
  if (failed.length > 0) {
    throw new Error(
      `${failed.length} report(s) failed their checks:\n${failed.flatMap((r) => r.failures.map((f) => `${r.name} at ${f}`)).join("\n")}`,
    );
  }
  return reportFigures(reports, bySize);
}

/**
 * The medians `npm run bench -- --json` reports (null for a size not run), and growthRatio: the largest
 * last-size / first-size ratio of medians among the reports held to the ratio target.
 */
function reportFigures(reports, bySize) {
  const median = (name, size) => bySize.get(size)?.results.get(name)?.median ?? null;
  const sizes = [...bySize.keys()];
  const [first, last] = [sizes[0], sizes.at(-1)];
  const growth = reports
    .filter(
      (r) => !r.informational && r.check !== null && first !== last && median(r.name, first) && median(r.name, last),
    )
    .map((r) => median(r.name, last) / median(r.name, first));
  return {
    reports: {
      funnelMedianMs100k: median("funnel", 100_000),
      funnelMedianMs1M: median("funnel", 1_000_000),
      retentionMedianMs1M: median("retention week UTC", 1_000_000),
      campaignRetentionMedianMs1M: median("retention week UTC, one campaign", 1_000_000),
      growthRatio: growth.length > 0 ? Math.max(...growth) : null,
      bareMedianMs: median("bare 302 (floor)", last),
    },
    audiences: { pageMedianMs1M: median("audience deep page", 1_000_000) },
    // Sizes served from datasets kept by an earlier run (bench/datasets.mjs) rather than seeded in this one.
    datasets: { kept: sizes.filter((size) => bySize.get(size).kept) },
    storage: {
      // Everything the dataset holds on disk, per message of the largest size run.
      bytesPerMessage: bySize.get(last).storage.total / bySize.get(last).facts.raw.messages,
      megabytes: bySize.get(last).storage.total / 1e6,
      messages: bySize.get(last).facts.raw.messages,
    },
  };
}

await runBench(main, DEADLINE_MS);
