// `npm run bench`: the whole suite, one bench after another, each in a process of its own (each starts and
// stops its own workerd): redirects and ingest (bench/run.mjs), reports (bench/reports.mjs), bundle and
// start-up (bench/bundle.mjs). With --json, their human-readable output goes to stderr and stdout gets one
// JSON object of the figures:
//   { redirect: { throughputRatio, p50Ratio, p99Ratio, clicksLost, … }, ingest: { webhooksPerSecond,
//     webhooksRatio, statusesPerSecond, beaconsPerSecond, … }, reports: { funnelMedianMs100k, funnelMedianMs1M,
//     retentionMedianMs1M, campaignRetentionMedianMs1M, growthRatio, … }, audiences: { pageMedianMs1M },
//     bundle: { gzipKB, startupMs, … }, machine: { … } }
// Figures a bench did not reach are null (BENCH_REPORT_SIZES=100000 leaves out the 1M ones). A complete run
// (every bench, the default sizes) keeps its figures in bench/results.json and remakes the README's
// performance table from them (bench/readme-table.mjs).
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RESULTS, saveResults } from "./readme-table.mjs";

const BENCHES = ["run.mjs", "reports.mjs", "bundle.mjs"];
const json = process.argv.includes("--json");
const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs one bench; answers its figures (from BENCH_JSON_OUT) or throws with its exit code. */
function runOne(script, out) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, script)], {
      env: { ...process.env, BENCH_JSON_OUT: out },
      // With --json, stdout is the JSON object's alone: the benches' tables go to stderr.
      stdio: ["ignore", json ? process.stderr : "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(readFile(out, "utf8").then(JSON.parse));
      else reject(new Error(`bench/${script} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** The commit measured, with `+` when the working tree differs from it; null outside a git checkout. */
function currentCommit() {
  try {
    const git = (...args) => execFileSync("git", args, { cwd: here, encoding: "utf8" }).trim();
    return `${git("rev-parse", "--short=12", "HEAD")}${git("status", "--porcelain", "--untracked-files=no") ? "+" : ""}`;
  } catch {
    return null;
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-bench-all-"));
const started = Date.now();
const figures = {};
try {
  for (const script of BENCHES) {
    Object.assign(figures, await runOne(script, path.join(dir, `${script}.json`)));
  }
} catch (err) {
  console.error(String(err));
  process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (process.exitCode !== 1) {
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    node: process.version,
    date: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    commit: currentCommit(),
  };
  const all = { ...figures, machine };
  if (json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  if (!process.env.BENCH_REPORT_SIZES) {
    await saveResults(all);
    console.error(`figures kept in ${path.relative(process.cwd(), RESULTS)}; README.md's performance table remade`);
  }
}
