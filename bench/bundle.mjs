// The size of the bundle Cloudflare would receive, and what it costs workerd to start it. The bundle is built
// as a deploy would build it (`wrangler deploy --dry-run`, with wrangler.toml), and its size is wrangler's
// own figures. Start-up is the time from starting workerd (through Miniflare's API, as bench/server.mjs
// serves the benches) to the first answer of the Worker, `GET /t/s.js` (no D1, no secrets read), beside a
// bare Worker (a one-line fetch handler) started the same way with the same bindings in the same run:
// the median of several cold starts each, alternating, in wall time and in workerd's CPU time (the steadier
// figure on a busy machine, where other work stretches the wall time). Run: npm run bench:bundle (under a minute).
import { mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_readConfig as readConfig } from "wrangler";
import { atExit, removeAtExit, ROOT, runBench, runWrangler } from "./harness.mjs";
import { workerdCpuSeconds } from "./cpu.mjs";
import { bindings, bundleManifest, makeSecrets } from "./server.mjs";

const CONFIG = path.join(ROOT, "wrangler.toml");
const WRANGLER_SCRATCH = path.join(ROOT, ".wrangler");
const COLD_STARTS = 9;
const FIRST_REQUEST = "/t/s.js";
const TARGET_GZIP_KB = 150;
const DEADLINE_MS = 90_000;
const BARE_WORKER = 'export default { fetch: () => new Response("ok") };';

/** Bundles the Worker as a deploy would, into `dir`; answers wrangler's sizes (KiB) and the main module's name. */
async function buildBundle(config, dir, tempDir) {
  if (!existsSync(WRANGLER_SCRATCH)) atExit(() => rm(WRANGLER_SCRATCH, { recursive: true, force: true }));
  const stdout = await runWrangler(["deploy", "--dry-run", "--outdir", dir, "-c", CONFIG], tempDir, 60_000);
  const sizes = stdout.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
  if (!sizes) throw new Error(`wrangler printed no bundle size:\n${stdout.slice(-2000)}`);
  const mainModule = `${path.parse(config.main).name}.js`;
  return { rawKB: Number(sizes[1]), gzipKB: Number(sizes[2]), mainModule };
}

/**
 * Milliseconds from starting workerd with `worker` to the end of its first answer to `route`, and the CPU
 * milliseconds workerd used meanwhile (null off Linux; counted in 10 ms ticks).
 */
async function coldStart(worker, route, tmpDir) {
  const started = performance.now();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    enableDevRegistry: false,
    logRequests: false,
    resourceTmpPath: tmpDir,
    log: new Log(LogLevel.ERROR),
    workers: [worker],
  });
  try {
    const url = await mf.ready;
    const res = await fetch(new URL(route, url), { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`GET ${route} answered ${res.status} on a cold start`);
    const cpuSeconds = await workerdCpuSeconds();
    return { ms, cpuMs: cpuSeconds === null ? null : cpuSeconds * 1000 };
  } finally {
    await mf.dispose();
  }
}

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
const medianOf = (starts, key) => (starts[0][key] === null ? null : median(starts.map((start) => start[key])));

/**
 * Builds the bundle and times cold starts of it and of a bare Worker; answers
 * `{ gzipKB, rawKB, startupMs, bareStartupMs }` (sizes in KiB as wrangler prints them, medians in ms), and
 * the median CPU time of workerd in those starts as `startupCpuMs` and `bareStartupCpuMs` (null off Linux).
 */
export async function measureBundle({ coldStarts = COLD_STARTS } = {}) {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-bundle-"));
  removeAtExit(tempDir);
  const bundleDir = path.join(tempDir, "bundle");
  const config = readConfig({ config: CONFIG });
  const { rawKB, gzipKB, mainModule } = await buildBundle(config, bundleDir, tempDir);
  const common = {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    env: bindings(config, makeSecrets(config.secrets?.required ?? [])),
  };
  const app = {
    name: "chatfunnel",
    ...common,
    manifest: await bundleManifest(bundleDir, config.rules, mainModule),
  };
  const bare = {
    name: "bare",
    ...common,
    manifest: { mainModule: "bare.js", modules: { "bare.js": { type: "esm", contents: BARE_WORKER } } },
  };
  const tmpDir = path.join(tempDir, "tmp");
  const startApp = () => coldStart({ config: app }, FIRST_REQUEST, tmpDir);
  const startBare = () => coldStart({ config: bare }, "/", tmpDir);
  // One untimed start of each first: the first workerd start of a run also fills the disk cache.
  await startApp();
  await startBare();
  const appStarts = [];
  const bareStarts = [];
  for (let run = 0; run < coldStarts; run++) {
    const order = run % 2 === 0 ? [startApp, startBare] : [startBare, startApp];
    for (const start of order) (start === startApp ? appStarts : bareStarts).push(await start());
  }
  return {
    gzipKB,
    rawKB,
    startupMs: medianOf(appStarts, "ms"),
    bareStartupMs: medianOf(bareStarts, "ms"),
    startupCpuMs: medianOf(appStarts, "cpuMs"),
    bareStartupCpuMs: medianOf(bareStarts, "cpuMs"),
  };
}

const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");

async function main() {
  const loadAtStart = loadAverage();
  const result = await measureBundle();
  const figures = (app, bare) =>
    `Worker ${app.toFixed(0)} ms, bare Worker ${bare.toFixed(0)} ms, ratio ${(app / bare).toFixed(2)}, difference ${(app - bare).toFixed(0)} ms`;
  console.log("chatfunnel bundle and start-up");
  console.log(
    `bundle: ${result.rawKB.toFixed(1)} KiB, ${result.gzipKB.toFixed(1)} KiB gzipped (wrangler deploy --dry-run; target ≤ ${TARGET_GZIP_KB} KiB gzipped: ${result.gzipKB <= TARGET_GZIP_KB ? "met" : "not met"})`,
  );
  console.log(
    `start-up, from starting workerd through Miniflare to the first answer (Worker: GET ${FIRST_REQUEST}), ${COLD_STARTS} cold starts each; load average ${loadAtStart} at start, ${loadAverage()} at end`,
  );
  console.log(`  wall time, median: ${figures(result.startupMs, result.bareStartupMs)}`);
  if (result.startupCpuMs !== null) {
    console.log(`  workerd CPU, median: ${figures(result.startupCpuMs, result.bareStartupCpuMs)}`);
  }
  return { bundle: result };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runBench(main, DEADLINE_MS);
