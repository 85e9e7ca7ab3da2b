// What both benchmarks share around their measurements: a deadline, signals and clean-up, wrangler runs
// under this Node, and API calls whose status is always checked.
import { spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

// Run at exit, latest first: stopping servers and processes, removing temp dirs.
const cleanups = new Set();
// Shown when a benchmark fails: the end of what its server printed.
const failureLogs = new Map();

/** Registers a clean-up for the end of the run; answers a function that unregisters it. */
export function atExit(cleanup) {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function showOnFailure(label, readLog) {
  failureLogs.set(label, readLog);
}

export function removeAtExit(dir) {
  atExit(() => rm(dir, { recursive: true, force: true }));
}

async function cleanUp() {
  const todo = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of todo) {
    await cleanup().catch((err) => console.error(`clean-up failed: ${err.message}`));
  }
}

function killGroup(child, signal) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if (err.code !== "ESRCH") throw err;
  }
}

/**
 * Runs a wrangler command to its end and resolves with its stdout. It runs under this Node (the .bin
 * shim's `env node` could find an older one), off the network, in a process group of its own so that
 * whatever it starts is stopped with it.
 */
export async function runWrangler(args, tempDir, timeoutMs) {
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    // Its debug logs go with the temp dir instead of piling up in the home directory.
    WRANGLER_LOG_PATH: path.join(tempDir, "logs"),
  };
  const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env, detached: true });
  let stdout = "";
  let log = "";
  child.stdout.on("data", (chunk) => ((stdout += chunk), (log += chunk)));
  child.stderr.on("data", (chunk) => (log += chunk));
  const exited = new Promise((resolve) => {
    child.once("close", resolve);
    child.once("error", (err) => ((log += `spawn failed: ${err.message}\n`), resolve("spawn failed")));
  });
  const stop = async () => killGroup(child, "SIGKILL");
  const forget = atExit(stop);
  // Unreferenced: the timer must not keep this process alive once the command is done.
  const code = await Promise.race([exited, sleep(timeoutMs, "timed out", { ref: false })]);
  // Whatever it started and left running goes with it; then its group id may be reused.
  await stop();
  forget();
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")}: ${code}\n${log.slice(-3000)}`);
  return stdout;
}

export async function api(base, method, route, token, body, expectedStatus, timeoutMs = 60_000) {
  const res = await fetch(base + route, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== expectedStatus) {
    throw new Error(`${method} ${route} answered ${res.status}, expected ${expectedStatus}: ${text.slice(0, 2000)}`);
  }
  return JSON.parse(text);
}

/**
 * Runs a benchmark's main function with a deadline, cleans up on a signal, prints the end of the
 * server's output when it fails, and always stops servers and removes temp dirs. What main answers
 * (its figures) is written as JSON to the file BENCH_JSON_OUT names, for `npm run bench -- --json`.
 */
export async function runBench(main, deadlineMs) {
  const watchdog = setTimeout(() => {
    console.error(`bench: gave up after ${deadlineMs / 1000} s`);
    cleanUp().finally(() => process.exit(1));
  }, deadlineMs);
  watchdog.unref();
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => cleanUp().finally(() => process.exit(130)));
  }
  try {
    const figures = await main();
    if (process.env.BENCH_JSON_OUT) await writeFile(process.env.BENCH_JSON_OUT, JSON.stringify(figures ?? null));
  } catch (err) {
    console.error(`bench failed: ${err.stack ?? err}`);
    for (const [label, readLog] of failureLogs) {
      const log = readLog().trim();
      if (log) console.error(`${label} (end):\n${log.slice(-3000)}`);
    }
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}
