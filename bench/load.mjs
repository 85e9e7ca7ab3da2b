// Load rounds with autocannon, their statistics and their table rows.
import autocannon from "autocannon";
import { startCpuMeter } from "./cpu.mjs";

export const CONNECTIONS = 32;
/** Every route's schedule: a warm-up, then ROUNDS rounds alternating with its bare twin. */
export const WARMUP_SECONDS = 3;
export const ROUND_SECONDS = 5;
export const ROUNDS = 3;
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/**
 * One autocannon run of `target` (autocannon options: url, and headers or requests) on CONNECTIONS
 * keep-alive connections unless it says otherwise; responses outside the status class `expected` count
 * as failures. Latencies are kept exactly (autocannon's histogram rounds to whole ms).
 */
export async function load(target, seconds, expected) {
  const latencies = [];
  const stopCpuMeter = await startCpuMeter();
  const instance = autocannon({ connections: CONNECTIONS, duration: seconds, ...target });
  instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  const cpu = await stopCpuMeter(result.duration);
  return {
    latencies,
    // Includes the requests still in flight when autocannon stopped: the server saw those too.
    sent: result.requests.sent,
    answered: result.requests.total,
    rps: result.requests.total / result.duration,
    failures:
      result.errors +
      result.timeouts +
      STATUS_CLASSES.filter((c) => c !== expected).reduce((sum, c) => sum + result[c], 0),
    statusCodes: result.statusCodeStats,
    ...cpu,
  };
}

export function assertValid(route, run, expected) {
  if (run.failures > 0) {
    throw new Error(
      `${route}: ${run.failures} responses were not ${expected} or failed (status codes ${JSON.stringify(run.statusCodes)}); the numbers are void`,
    );
  }
  if (run.serverRestarted) {
    throw new Error(`${route}: the workerd runtime restarted during the run; the numbers are void`);
  }
}

export function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Mean rate over the rounds; latency percentiles pooled over all of their requests. */
export function summarize(runs) {
  const sorted = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  return {
    rps: runs.reduce((sum, run) => sum + run.rps, 0) / runs.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
  };
}

// ---- rows --------------------------------------------------------------------------------------

/**
 * The measured rounds of `route` and its bare twin, alternating which goes first so that neither always
 * runs on a warmer (or busier) process; `measure(round, name, seconds)` answers one run. Answers each
 * one's summary.
 */
export async function alternateRounds(route, measure) {
  const runs = { [route]: [], bare: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? [route, "bare"] : ["bare", route];
    for (const name of order) runs[name].push(await measure(round, name, ROUND_SECONDS));
  }
  return { [route]: summarize(runs[route]), bare: summarize(runs.bare) };
}

export function row(cells, widths) {
  return cells.map((cell, i) => String(cell).padStart(widths[i])).join("  ");
}

export const pct = (share) => (share === null ? "n/a" : `${Math.round(share * 100)}%`);
export const count = (n) => Math.round(n).toLocaleString("en-US");

const ROUND_WIDTHS = [7, 9, 9, 8, 8, 7, 10, 10, 9];

export function printRoundHeader(failures) {
  console.log(
    row(
      ["round", "route", "req/s", "p50 ms", "p99 ms", failures, "client CPU", "server CPU", "other CPU"],
      ROUND_WIDTHS,
    ),
  );
}

export function printRound(round, route, run, note) {
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
