// `npm start`: local D1 migrations, a .dev.vars with fresh secrets when there is none, then the
// Worker on 127.0.0.1 (PORT overrides 8787). Runs entirely locally: no account, no network.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const devVarsPath = `${root}.dev.vars`;
const wrangler = `${root}node_modules/.bin/wrangler`;
const port = process.env.PORT ?? "8787";
// Stay offline: no fetch of a real `request.cf` object, no usage metrics.
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

const generators = {
  ADMIN_TOKEN: () => `cf_admin_${randomBytes(24).toString("base64url")}`,
  PII_PEPPER: () => randomBytes(32).toString("base64url"),
  DATA_KEY: () => randomBytes(32).toString("base64"),
};

function parseDevVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/);
    if (match) vars[match[1]] = match[2];
  }
  return vars;
}

// Existing values are never replaced: a new DATA_KEY would make stored secrets unreadable.
function ensureDevVars() {
  const existing = existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "";
  const vars = parseDevVars(existing);
  const missing = Object.keys(generators).filter((name) => !vars[name]);
  if (missing.length > 0) {
    const added = missing.map((name) => `${name}="${(vars[name] = generators[name]())}"`).join("\n");
    const prefix = existing && !existing.endsWith("\n") ? `${existing}\n` : existing;
    writeFileSync(devVarsPath, `${prefix}${added}\n`, { mode: 0o600 });
    console.log(`Wrote ${missing.join(", ")} to .dev.vars.`);
  }
  return vars;
}

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(wrangler, args, { cwd: root, env, stdio: "inherit" });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`wrangler ${args[0]} exited with ${code}`))));
  });
}

const vars = ensureDevVars();
await run(["d1", "migrations", "apply", "DB", "--local"]);

console.log(`
chatfunnel is starting on http://127.0.0.1:${port}
Create a workspace with the admin token from .dev.vars:

  curl -s http://127.0.0.1:${port}/api/v1/workspaces \\
    -H "Authorization: Bearer ${vars.ADMIN_TOKEN}" \\
    -H "Content-Type: application/json" -d '{"name":"My shop"}'
`);

const dev = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", port, "--var", "ENVIRONMENT:development"], {
  cwd: root,
  env,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
