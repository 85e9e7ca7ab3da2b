// The Worker served by `wrangler dev` on 127.0.0.1 for the browser tests, the way bench/run.mjs does it:
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

export class WranglerService {
  readonly adminToken = randomBytes(24).toString("hex");
  base = "";
  private readonly children = new Set<Proc>();
  private tempDir: string | null = null;
  private stopped = false;
  // Should the test process end without stop(), the process groups still go with it.
  private readonly killAtExit = () => {
    for (const proc of this.children) killGroup(proc, "SIGKILL");
  };

  /** Everything wrangler printed so far, for failure messages. */
  get log(): string {
    return [...this.children].map((proc) => proc.log).join("\n");
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
      PII_PEPPER: randomBytes(24).toString("hex"),
      DATA_KEY: randomBytes(32).toString("base64"),
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
        ...["--log-level", "warn", "--show-interactive-dev-session=false"],
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

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.children].map((proc) => this.stopProc(proc)));
    process.removeListener("exit", this.killAtExit);
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
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
