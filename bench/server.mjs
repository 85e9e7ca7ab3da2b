// Serves the bench worker for both benchmarks through Miniflare's API: workerd answers on a loopback
// port itself, with no dev proxy in front (wrangler dev's caps near 570 requests/s, well below the
// Worker). Bindings, rules and compatibility come from the Worker's own wrangler.toml, so the bench
// cannot drift from it; only the entry (bench/worker.ts) differs.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_readConfig as readConfig, unstable_splitSqlQuery as splitSqlQuery } from "wrangler";
import { atExit, ROOT, runWrangler, showOnFailure } from "./harness.mjs";

const CONFIG = path.join(ROOT, "wrangler.toml");
const ENTRY = path.join(ROOT, "bench", "worker.ts");
// wrangler keeps scratch files in a .wrangler/ beside the config it is given.
const WRANGLER_SCRATCH = path.join(ROOT, ".wrangler");
// wrangler's module rule types, as Miniflare's manifest names them.
const MODULE_TYPES = { ESModule: "esm", CommonJS: "cjs", Text: "text", Data: "data", CompiledWasm: "wasm" };

/** Fresh random values for the secrets wrangler.toml requires; a secret the bench cannot make stops it. */
export function makeSecrets(required) {
  const secrets = {
    ADMIN_TOKEN: randomBytes(24).toString("hex"),
    PII_PEPPER: randomBytes(24).toString("hex"),
    DATA_KEY: randomBytes(32).toString("base64"),
  };
  const unknown = required.filter((name) => !(name in secrets));
  if (unknown.length > 0) throw new Error(`bench/server.mjs makes no value for the secret(s) ${unknown.join(", ")}`);
  return secrets;
}

/** The modules wrangler wrote: its main module, and the files its rules kept out of the bundle. */
export async function bundleManifest(bundleDir, rules, mainModule = "worker.js") {
  const modules = { [mainModule]: { type: "esm", contents: await readFile(path.join(bundleDir, mainModule), "utf8") } };
  for (const file of await readdir(bundleDir)) {
    if (file === mainModule || file.endsWith(".map") || file === "README.md") continue;
    const rule = rules.find((r) => r.globs.some((glob) => path.matchesGlob(file, glob)));
    if (!rule) throw new Error(`no module rule in wrangler.toml matches the bundled file ${file}`);
    modules[file] = { type: MODULE_TYPES[rule.type], contents: await readFile(path.join(bundleDir, file), "utf8") };
  }
  return { mainModule, modules };
}

const BENCH_RATE_LIMIT = 1_000_000_000;

/** Bindings as wrangler dev would make them locally: vars, secrets, D1 databases, queue producers, rate limiters. */
export function bindings(config, secrets) {
  const env = {};
  for (const [name, value] of Object.entries({ ...config.vars, ...secrets })) {
    env[name] = typeof value === "string" ? { type: "text", value } : { type: "json", value };
  }
  for (const db of config.d1_databases) {
    env[db.binding] = { type: "d1", id: db.preview_database_id ?? db.database_id };
  }
  for (const producer of config.queues.producers ?? []) {
    env[producer.binding] = { type: "queue", name: producer.queue, deliveryDelay: producer.delivery_delay };
  }
  // The benches measure the routes, not the limits, which one key asking thousands of reports would exceed.
  for (const limiter of config.ratelimits ?? []) {
    const simple = { ...limiter.simple, limit: BENCH_RATE_LIMIT };
    env[limiter.name] = { type: "rate-limit", namespace: limiter.namespace_id, simple };
  }
  return env;
}

/** The queue consumers. Crons are left out: the bench never waits for one, and one firing would skew it. */
function queueTriggers(config) {
  if (process.env.BENCH_NO_CONSUMER) return [];
  return (config.queues.consumers ?? []).map((consumer) => ({
    type: "queue",
    name: consumer.queue,
    maxBatchSize: consumer.max_batch_size,
    maxBatchTimeout: consumer.max_batch_timeout,
    maxRetries: consumer.max_retries,
    retryDelay: consumer.retry_delay,
    deadLetterQueue: consumer.dead_letter_queue,
  }));
}

/** Each migration file, in order, as one batch: all of its statements or none. */
async function applyMigrations(db, dir) {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  for (const file of files) {
    const statements = splitSqlQuery(await readFile(path.join(dir, file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  return files.length;
}

/** Miniflare's own warnings and errors go to the server log, beside the Worker's. */
class ServerLog extends Log {
  constructor(server) {
    super(LogLevel.WARN);
    this.server = server;
  }

  log(message) {
    this.server.log += `${message}\n`;
  }
}

/**
 * Bundles bench/worker.ts once with wrangler (others may edit src/ meanwhile: nothing reloads the
 * served worker), serves it on 127.0.0.1 with a fresh local D1 persisted in `tempDir`, applies the
 * migrations, and checks that it answers. With `secrets` (those of an earlier server), it serves the
 * D1 that `tempDir` already holds, as they left it: nothing is migrated. `stop()` stops it.
 */
export async function serveBenchWorker({ name, tempDir, secrets: given }) {
  const bundleDir = path.join(tempDir, "bundle");
  if (!existsSync(WRANGLER_SCRATCH)) atExit(() => rm(WRANGLER_SCRATCH, { recursive: true, force: true }));
  await runWrangler(["deploy", ENTRY, "--dry-run", "--outdir", bundleDir, "-c", CONFIG], tempDir, 60_000);
  const config = readConfig({ config: CONFIG });
  const secrets = given ?? makeSecrets(config.secrets?.required ?? []);
  const server = { log: "" };
  showOnFailure("server warnings and errors", () => server.log);
  const started = performance.now();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    // No request.cf from Cloudflare's endpoint (the placeholder is used), no dev registry, no request log.
    cf: false,
    enableDevRegistry: false,
    logRequests: false,
    resourcePersistencePath: path.join(tempDir, "state"),
    resourceTmpPath: path.join(tempDir, "tmp"),
    log: new ServerLog(server),
    // BENCH_INSPECTOR_PORT=9229 opens workerd's inspector, for DevTools or a CPU profile during a run.
    ...(process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) } : {}),
    handleStructuredLogs({ level, message }) {
      if (level === "warn" || level === "error") server.log += `${message}\n`;
    },
    workers: [
      {
        config: {
          name,
          compatibilityDate: config.compatibility_date,
          compatibilityFlags: config.compatibility_flags,
          manifest: await bundleManifest(bundleDir, config.rules),
          env: bindings(config, secrets),
          triggers: queueTriggers(config),
        },
      },
    ],
  });
  const dispose = () => mf.dispose();
  const forget = atExit(dispose);
  const url = await mf.ready;
  const [d1] = config.d1_databases;
  const db = await mf.getD1Database(d1.binding);
  const migrations = given
    ? 0
    : await applyMigrations(db, path.resolve(path.dirname(CONFIG), d1.migrations_dir ?? "migrations"));
  const base = url.origin;
  const res = await fetch(`${base}/__bare`, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
  if (res.status !== 302) throw new Error(`GET /__bare answered ${res.status}: ${await res.text()}`);
  return {
    base,
    server,
    db,
    adminToken: secrets.ADMIN_TOKEN,
    secrets,
    migrations,
    stop: () => {
      forget();
      return dispose();
    },
    startSeconds: (performance.now() - started) / 1000,
  };
}
