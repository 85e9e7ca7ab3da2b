// Benchmarks the tracked redirect `GET /:code` against a bare 302 served by the same workerd
// process (bench/worker.ts), plus the bulk link API. Talks only to 127.0.0.1. Run: npm run bench
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CONFIG = path.join(ROOT, "bench", "wrangler.toml");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
// wrangler keeps scratch files in a .wrangler/ beside the config it is given.
const WRANGLER_SCRATCH = path.join(ROOT, "bench", ".wrangler");

const CONNECTIONS = 32;
const WARMUP_SECONDS = 3;
const ROUND_SECONDS = 5;
const ROUNDS = 3;
const BULK_RECIPIENTS = 10_000;
const BULK_RUNS = 3;
const DEADLINE_MS = 150_000;
const USER_AGENT =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36";
const BROWSER_HEADERS = {
  "user-agent": USER_AGENT,
  accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "accept-language": "en-GB,en;q=0.9",
};
const DESTINATION = "https://shop.example.com/offer?sku=1";

const children = new Set();
const removeAtExit = [];

// ---- processes ---------------------------------------------------------------------------------

function wranglerEnv(secrets, tempDir) {
  return {
    ...process.env,
    ...secrets,
    // Keep wrangler off the network: no telemetry, no update check, no download of request.cf data.
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    // Its debug logs go with the temp dir instead of piling up in the home directory.
    WRANGLER_LOG_PATH: path.join(tempDir, "logs"),
  };
}

/** Runs wrangler under this Node (the .bin shim's `env node` could find an older one). */
function startWrangler(args, env) {
  // Its own process group, so that workerd, which wrangler starts, is stopped with it.
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = { child, log: "" };
  proc.exited = new Promise((resolve) => child.once("close", resolve));
  child.on("error", (err) => (proc.log += `spawn failed: ${err.message}\n`));
  child.stdout.on("data", (chunk) => (proc.log += chunk));
  child.stderr.on("data", (chunk) => (proc.log += chunk));
  children.add(proc);
  return proc;
}

function killGroup(proc, signal) {
  try {
    process.kill(-proc.child.pid, signal);
  } catch (err) {
    if (err.code !== "ESRCH") throw err;
  }
}

async function stopWrangler(proc) {
  children.delete(proc);
  if (proc.child.pid === undefined) return;
  killGroup(proc, "SIGTERM");
  await Promise.race([proc.exited, sleep(5_000)]);
  // workerd may outlive wrangler, so the group is always swept.
  killGroup(proc, "SIGKILL");
}

async function runWrangler(args, env, timeoutMs) {
  const proc = startWrangler(args, env);
  const code = await Promise.race([proc.exited, sleep(timeoutMs, "timeout")]);
  await stopWrangler(proc);
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${code}):\n${proc.log}`);
}

async function cleanUp() {
  await Promise.all([...children].map(stopWrangler));
  await Promise.all(removeAtExit.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * CPU seconds used so far by the server's process group, and which workerd processes it has: wrangler
 * restarts a crashed runtime behind its proxy, which clients barely notice. Linux /proc; null elsewhere.
 */
async function serverProcesses(pgid) {
  let pids;
  try {
    pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  let ticks = 0;
  const workerd = [];
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
    if (!stat) continue;
    // Fields after the parenthesised command name: state ppid pgrp ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
    if (stat.includes("(workerd)")) workerd.push(pid);
  }
  return { cpuSeconds: ticks / 100, workerd: workerd.join(" ") }; // USER_HZ is 100 on Linux
}

// ---- HTTP --------------------------------------------------------------------------------------

async function api(base, method, route, token, body, expectedStatus) {
  const res = await fetch(base + route, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (res.status !== expectedStatus) {
    throw new Error(`${method} ${route} answered ${res.status}, expected ${expectedStatus}: ${text.slice(0, 2000)}`);
  }
  return JSON.parse(text);
}

async function waitUntilReady(base, server) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) break;
    const res = await fetch(`${base}/__bare`, {
      redirect: "manual",
      signal: AbortSignal.timeout(2_000),
    }).catch(() => null);
    if (res?.status === 302) return;
    await sleep(250);
  }
  throw new Error(`wrangler dev did not start answering:\n${server.log}`);
}

// ---- scenario ----------------------------------------------------------------------------------

async function setUp(base, adminToken) {
  const { apiKey } = await api(base, "POST", "/api/v1/workspaces", adminToken, { name: "bench" }, 201);
  const campaign = await api(base, "POST", "/api/v1/campaigns", apiKey, { name: "bench" }, 201);
  const link = await api(
    base,
    "POST",
    "/api/v1/links",
    apiKey,
    { url: DESTINATION, campaignId: campaign.id, utm: { source: "whatsapp" } },
    201,
  );
  return { apiKey, campaignId: campaign.id, code: link.code };
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

// ---- load --------------------------------------------------------------------------------------

/** One autocannon run; latencies are kept exactly (autocannon's histogram rounds to whole ms). */
async function load(url, seconds, serverPgid) {
  const latencies = [];
  const cpuBefore = process.cpuUsage();
  const serverBefore = await serverProcesses(serverPgid);
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: BROWSER_HEADERS,
  });
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = await serverProcesses(serverPgid);
  return {
    latencies,
    // Includes the requests still in flight when autocannon stopped: the server saw those too.
    sent: result.requests.sent,
    rps: result.requests.total / result.duration,
    failures: result.errors + result.timeouts + result["1xx"] + result["2xx"] + result["4xx"] + result["5xx"],
    statusCodes: result.statusCodeStats,
    clientCpu: (cpu.user + cpu.system) / 1e6 / result.duration,
    serverCpu: serverBefore === null ? null : (serverAfter.cpuSeconds - serverBefore.cpuSeconds) / result.duration,
    serverRestarted: serverBefore !== null && serverBefore.workerd !== serverAfter.workerd,
  };
}

function assertValid(route, run) {
  if (run.failures > 0) {
    throw new Error(
      `${route}: ${run.failures} responses were not 3xx (status codes ${JSON.stringify(run.statusCodes)}); the numbers are void`,
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

function printRound(round, route, run, note) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const widths = [7, 8, 9, 8, 8, 7, 10, 10];
  if (round === "warm-up" && route === "redirect") {
    console.log(row(["round", "route", "req/s", "p50 ms", "p99 ms", "non-3xx", "client CPU", "server CPU"], widths));
  }
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
    ],
    widths,
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
  console.log("chatfunnel redirect benchmark");
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
    "req/s = responses / elapsed; p50/p99 pooled over all measured rounds; CPU = CPU time / wall time (100% = one core)",
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
    const run = await load(urls[route], seconds, pgid);
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

  await measure("warm-up", "redirect", WARMUP_SECONDS);
  await measure("warm-up", "bare", WARMUP_SECONDS);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ["redirect", "bare"] : ["bare", "redirect"];
    for (const route of order) runs[route].push(await measure(round, route, ROUND_SECONDS));
  }
  return { redirect: summarize(runs.redirect), bare: summarize(runs.bare), sent };
}

function printSummary({ redirect, bare }) {
  const widths = [9, 12, 8, 8, 8];
  console.log("");
  console.log(row(["route", "req/s (mean)", "p50 ms", "p99 ms", "non-3xx"], widths));
  for (const [name, s] of [
    ["redirect", redirect],
    ["bare", bare],
  ]) {
    console.log(row([name, s.rps.toFixed(0), s.p50.toFixed(2), s.p99.toFixed(2), s.failures], widths));
  }
  console.log("");
  console.log(`redirect / bare throughput ratio: ${(redirect.rps / bare.rps).toFixed(2)}`);
  console.log(`redirect / bare p50 latency ratio: ${(redirect.p50 / bare.p50).toFixed(2)}`);
  console.log(`redirect / bare p99 latency ratio: ${(redirect.p99 / bare.p99).toFixed(2)}`);
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
  // Others may edit src/ while this runs: serve a bundle made now, so no file change reloads the worker.
  const bundleDir = path.join(tempDir, "bundle");
  await runWrangler(["deploy", "--dry-run", "--outdir", bundleDir, "-c", CONFIG], env, 60_000);
  const persist = ["--local", "--persist-to", path.join(tempDir, "state"), "-c", CONFIG];
  await runWrangler(["d1", "migrations", "apply", "DB", ...persist], env, 60_000);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startWrangler(
    [
      "dev",
      path.join(bundleDir, "worker.js"),
      "--no-bundle",
      ...persist,
      ...["--ip", "127.0.0.1", "--port", String(port), "--log-level", "warn", "--show-interactive-dev-session=false"],
    ],
    env,
  );
  const started = performance.now();
  await waitUntilReady(base, server);
  console.log(`wrangler dev answered after ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const { apiKey, campaignId, code } = await setUp(base, secrets.ADMIN_TOKEN);
  const bulk = await timeBulk(base, apiKey, campaignId);
  console.log(
    `POST /api/v1/links/bulk, ${BULK_RECIPIENTS} recipients → 201 with ${BULK_RECIPIENTS} links: median ${median(bulk).toFixed(2)} s (runs: ${bulk.map((s) => s.toFixed(2)).join(", ")} s)`,
  );
  console.log(`GET /${code} → 302 ${await checkRedirect(base, code)}`);
  console.log("");

  const results = await benchRoutes(base, apiKey, code, server.child.pid);
  printSummary(results);

  const counters = await settledCounters(base, apiKey, code);
  console.log("");
  console.log(
    `clicks recorded for /${code}: ${counters.clicks} of ${results.sent} requests sent (${((100 * counters.clicks) / results.sent).toFixed(1)}%); previews ${counters.previews}, bots ${counters.bots}, unique ${counters.uniqueClicks} (every request has the same IP and User-Agent)`,
  );
  const serverLog = server.log.trim();
  console.log(
    serverLog ? `server warnings and errors:\n${serverLog.slice(0, 3000)}` : "server warnings and errors: none",
  );
}

const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${DEADLINE_MS / 1000} s`);
  cleanUp().finally(() => process.exit(1));
}, DEADLINE_MS);
watchdog.unref();

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => cleanUp().finally(() => process.exit(130)));
}

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
  for (const proc of children) if (proc.log.trim()) console.error(`wrangler output (end):\n${proc.log.slice(-3000)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
