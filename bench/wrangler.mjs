// Process and HTTP helpers shared by the benchmarks: wrangler runs under this Node in a process group
// of its own (so workerd stops with it), CPU meters read /proc, and every request is checked.
import { spawn } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
// The Worker's own config (bindings, rules): only the entry differs, so the bench cannot drift from it.
export const CONFIG = path.join(ROOT, "wrangler.toml");
export const ENTRY = path.join(ROOT, "bench", "worker.ts");
export const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
// wrangler keeps scratch files in a .wrangler/ beside the config it is given.
export const WRANGLER_SCRATCH = path.join(ROOT, ".wrangler");

// Wrangler processes still running, and temp dirs to remove, at exit.
export const children = new Set();
export const removeAtExit = [];

// ---- processes ---------------------------------------------------------------------------------

export function wranglerEnv(secrets, tempDir) {
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
export function startWrangler(args, env) {
  // Its own process group, so that workerd, which wrangler starts, is stopped with it.
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = { child, log: "", stdout: "" };
  proc.exited = new Promise((resolve) => child.once("close", resolve));
  child.on("error", (err) => (proc.log += `spawn failed: ${err.message}\n`));
  child.stdout.on("data", (chunk) => {
    proc.stdout += chunk;
    proc.log += chunk;
  });
  child.stderr.on("data", (chunk) => (proc.log += chunk));
  children.add(proc);
  return proc;
}

export function killGroup(proc, signal) {
  try {
    process.kill(-proc.child.pid, signal);
  } catch (err) {
    if (err.code !== "ESRCH") throw err;
  }
}

export async function stopWrangler(proc) {
  children.delete(proc);
  if (proc.child.pid === undefined) return;
  killGroup(proc, "SIGTERM");
  // Unreferenced timers: a race's loser must not keep this process alive once the work is done.
  await Promise.race([proc.exited, sleep(5_000, undefined, { ref: false })]);
  // workerd may outlive wrangler, so the group is always swept.
  killGroup(proc, "SIGKILL");
}

/** Runs a wrangler command to its end; resolves with what it printed on stdout. */
export async function runWrangler(args, env, timeoutMs) {
  const proc = startWrangler(args, env);
  const code = await Promise.race([proc.exited, sleep(timeoutMs, "timeout", { ref: false })]);
  await stopWrangler(proc);
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${code}):\n${proc.log}`);
  return proc.stdout;
}

export async function cleanUp() {
  await Promise.all([...children].map(stopWrangler));
  await Promise.all(removeAtExit.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export function freePort() {
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
export async function serverProcesses(pgid) {
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

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; null elsewhere. */
export async function machineCpuSeconds() {
  const stat = await readFile("/proc/stat", "utf8").catch(() => null);
  if (!stat) return null;
  // "cpu  user nice system idle iowait irq softirq steal ...", in USER_HZ ticks.
  const ticks = stat.split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (ticks.reduce((sum, n) => sum + n, 0) - ticks[3] - ticks[4]) / 100;
}

/**
 * Starts measuring CPU: of this process (the client), of the server's process group, and of all else
 * on the machine (other people's work, which skews the figures). Returns the function ending it.
 */
export async function startCpuMeter(serverPgid) {
  const client = process.cpuUsage();
  const [server, machine] = await Promise.all([serverProcesses(serverPgid), machineCpuSeconds()]);
  return async (seconds) => {
    const cpu = process.cpuUsage(client);
    const [serverAfter, machineAfter] = await Promise.all([serverProcesses(serverPgid), machineCpuSeconds()]);
    const clientCpu = (cpu.user + cpu.system) / 1e6 / seconds;
    const serverCpu = server === null ? null : (serverAfter.cpuSeconds - server.cpuSeconds) / seconds;
    const machineCpu = machine === null ? null : (machineAfter - machine) / seconds;
    return {
      clientCpu,
      serverCpu,
      otherCpu: serverCpu === null || machineCpu === null ? null : Math.max(0, machineCpu - serverCpu - clientCpu),
      serverRestarted: server !== null && server.workerd !== serverAfter.workerd,
    };
  };
}

// ---- HTTP --------------------------------------------------------------------------------------

export async function api(base, method, route, token, body, expectedStatus) {
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

export async function waitUntilReady(base, server) {
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

/**
 * Bundles bench/worker.ts once (others may edit src/ meanwhile: no file change reloads the served
 * worker), applies the migrations to a fresh local D1 in `tempDir`, and serves it with `wrangler dev`
 * on a free loopback port. Given an --env-file, wrangler reads no .dev.vars (a developer's `npm start`
 * leaves one beside wrangler.toml) and takes the required secrets from the environment.
 */
export async function serveBenchWorker({ name, tempDir, env }) {
  const bundleDir = path.join(tempDir, "bundle");
  await runWrangler(["deploy", ENTRY, "--dry-run", "--outdir", bundleDir, "-c", CONFIG], env, 60_000);
  const statePath = path.join(tempDir, "state");
  const persist = ["--local", "--persist-to", statePath, "-c", CONFIG];
  await runWrangler(["d1", "migrations", "apply", "DB", ...persist], env, 60_000);
  const envFile = path.join(tempDir, "empty.env");
  await writeFile(envFile, "");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startWrangler(
    [
      "dev",
      path.join(bundleDir, "worker.js"),
      "--no-bundle",
      ...persist,
      ...["--name", name, "--env-file", envFile, "--test-scheduled"],
      ...["--ip", "127.0.0.1", "--port", String(port), "--log-level", "warn", "--show-interactive-dev-session=false"],
    ],
    env,
  );
  const started = performance.now();
  await waitUntilReady(base, server);
  return { base, server, persist, statePath, startSeconds: (performance.now() - started) / 1000 };
}

/**
 * Runs a benchmark's main function with a deadline, stops wrangler on a signal, prints the end of
 * wrangler's output when it fails, and always cleans up processes and temp dirs.
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
    await main();
  } catch (err) {
    console.error(`bench failed: ${err.stack ?? err}`);
    for (const proc of children) if (proc.log.trim()) console.error(`wrangler output (end):\n${proc.log.slice(-3000)}`);
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}
