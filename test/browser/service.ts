// The Worker served by `wrangler dev` on 127.0.0.1 for the Node-side tests, the way bench/run.mjs does it:
// secrets only in the child's environment, wrangler kept off the network, a fresh D1 in a temp dir with the
// migrations applied, a free port, and the whole process group (wrangler and its workerd) stopped at the end.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONFIG = path.join(ROOT, "wrangler.toml");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

interface Proc {
  child: ChildProcess;
  log: string;
  stdout: string;
  exited: Promise<number | null>;
}

function killGroup(proc: Proc, signal: NodeJS.Signals) {
  if (proc.child.pid === undefined) return;
  try {
    process.kill(-proc.child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** wrangler's `--log-level`: `log` and `debug` show every console line of the Worker, `warn` only its warnings. */
export type LogLevel = "error" | "warn" | "info" | "log" | "debug";

export interface ServiceOptions {
  logLevel?: LogLevel;
  /** Variables for the Worker (`--var`), on top of `ENVIRONMENT: development`. */
  vars?: Record<string, string>;
}

export class WranglerService {
  readonly adminToken = randomBytes(24).toString("hex");
  readonly piiPepper = randomBytes(24).toString("hex");
  readonly dataKey = randomBytes(32).toString("base64");
  base = "";
  private readonly children = new Set<Proc>();
  // Every wrangler run, also those that have ended, for `log`.
  private readonly runs: Proc[] = [];
  private tempDir: string | null = null;
  private stopped = false;
  // Should the test process end without stop(), the process groups still go with it.
  private readonly killAtExit = () => {
    for (const proc of this.children) killGroup(proc, "SIGKILL");
  };

  constructor(private readonly options: ServiceOptions = {}) {}

  /** Everything wrangler printed so far (stdout and stderr of every run, which carry the Worker's console lines). */
  get log(): string {
    return this.runs.map((proc) => proc.log).join("\n");
  }

  /** Where wrangler keeps the local D1 and every other local store (`--persist-to`). */
  get stateDir(): string {
    return path.join(this.started(), "state");
  }

  /** Where wrangler writes its log files (`WRANGLER_LOG_PATH`). */
  get logDir(): string {
    return path.join(this.started(), "logs");
  }

  /** Runs the scheduled handler for `cron`, as the cron trigger would, and answers once it has finished. */
  async runCron(cron: string): Promise<void> {
    // Miniflare's trigger: wrangler's own /__scheduled (--test-scheduled) is middleware that it adds to the bundle
    // it builds, and the Worker served here was bundled beforehand, so /__scheduled reaches the Worker's routes.
    const url = `${this.base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`the cron ${cron} answered ${res.status}: ${text.slice(0, 1000)}`);
  }

  /**
   * Builds the Worker, applies the migrations to a fresh local D1 and starts `wrangler dev`; gives up
   * after `budgetMs`. Call stop() afterwards whatever happened, also while this is still running.
   */
  async start(budgetMs = 90_000): Promise<void> {
    const deadline = Date.now() + budgetMs;
    const remaining = () => Math.max(deadline - Date.now(), 1);
    process.once("exit", this.killAtExit);
    const tempDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-browser-"));
    this.tempDir = tempDir;
    this.checkStopped();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ADMIN_TOKEN: this.adminToken,
      PII_PEPPER: this.piiPepper,
      DATA_KEY: this.dataKey,
      // Keep wrangler off the network: no telemetry, no update check, no download of request.cf data.
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_LOG_PATH: path.join(tempDir, "logs"),
    };
    // Others may edit src/ while this runs: serve a bundle made now, so no file change reloads the worker.
    const bundleDir = path.join(tempDir, "bundle");
    await this.run(["deploy", "--dry-run", "--outdir", bundleDir, "-c", CONFIG], env, remaining());
    const persist = ["--local", "--persist-to", path.join(tempDir, "state"), "-c", CONFIG];
    await this.run(["d1", "migrations", "apply", "DB", ...persist], env, remaining());

    // Given an --env-file, wrangler reads no .dev.vars (a developer's `npm start` leaves one beside
    // wrangler.toml) and takes the required secrets from the environment above.
    const envFile = path.join(tempDir, "empty.env");
    await writeFile(envFile, "");
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    const server = this.spawn(
      [
        "dev",
        path.join(bundleDir, "index.js"),
        "--no-bundle",
        ...persist,
        ...["--env-file", envFile, "--test-scheduled", "--ip", "127.0.0.1", "--port", String(port)],
        // The test's landing pages are served on loopback, which links may point to only in development.
        ...["--var", "ENVIRONMENT:development"],
        ...Object.entries(this.options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
        ...["--log-level", this.options.logLevel ?? "warn", "--show-interactive-dev-session=false"],
      ],
      env,
    );
    while (Date.now() < deadline) {
      this.checkStopped();
      if (server.child.exitCode !== null || server.child.signalCode !== null) break;
      const res = await fetch(`${this.base}/t/s.js`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      if (res?.status === 200) return;
      await sleep(250);
    }
    throw new Error(`wrangler dev did not start answering on ${this.base}:\n${server.log.slice(-4000)}`);
  }

  /** Stops wrangler and its workerd, which flushes what they write; the files stay until stop(). */
  async halt(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.children].map((proc) => this.stopProc(proc)));
    process.removeListener("exit", this.killAtExit);
  }

  async stop(): Promise<void> {
    await this.halt();
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
  }

  private started(): string {
    if (!this.tempDir) throw new Error("the service has not been started");
    return this.tempDir;
  }

  private checkStopped() {
    if (this.stopped) throw new Error("the service was stopped while it was starting");
  }

  /** Runs wrangler under this Node (the .bin shim's `env node` could find an older one), in its own process group. */
  private spawn(args: string[], env: NodeJS.ProcessEnv): Proc {
    this.checkStopped();
    const child = spawn(process.execPath, [WRANGLER, ...args], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proc: Proc = {
      child,
      log: "",
      stdout: "",
      exited: new Promise((resolve) => child.once("close", (code) => resolve(code))),
    };
    child.on("error", (err) => (proc.log += `spawn failed: ${err.message}\n`));
    child.stdout!.on("data", (chunk) => {
      proc.stdout += chunk;
      proc.log += chunk;
    });
    child.stderr!.on("data", (chunk) => (proc.log += chunk));
    this.children.add(proc);
    this.runs.push(proc);
    return proc;
  }

  private async stopProc(proc: Proc) {
    this.children.delete(proc);
    killGroup(proc, "SIGTERM");
    await Promise.race([proc.exited, sleep(5_000)]);
    // workerd may outlive wrangler, so the group is always swept.
    killGroup(proc, "SIGKILL");
  }

  /** Runs a wrangler command to its end. */
  private async run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
    const proc = this.spawn(args, env);
    const code = await Promise.race([proc.exited, sleep(timeoutMs, "timeout")]);
    await this.stopProc(proc);
    if (code !== 0) throw new Error(`wrangler ${args.join(" ")} failed (${code}):\n${proc.log.slice(-4000)}`);
  }
}

export type Call = <T>(method: string, route: string, token: string, body?: unknown, expected?: number) => Promise<T>;

/** Calls the served Worker's API with a bearer token; a status other than `expected` fails with the body. */
export function apiCaller(base: string, timeoutMs = 30_000): Call {
  return async <T>(method: string, route: string, token: string, body?: unknown, expected = 200) => {
    const res = await fetch(base + route, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== expected) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 1000)}`);
    return JSON.parse(text) as T;
  };
}
