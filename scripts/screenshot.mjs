// `npm run screenshot`: writes docs/dashboard-desktop.png and docs/dashboard-phone.png. The dashboard's browser
// test (test/browser/dashboard.test.ts) does the work: it serves the Worker with wrangler dev, seeds a demo
// workspace through the API, checks the page against the API, and keeps its screenshots where
// DASHBOARD_SCREENSHOTS says. Needs Debian's chromium (/usr/bin/chromium), as the browser tests do.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DOCS = path.join(ROOT, "docs");

if (!existsSync("/usr/bin/chromium")) {
  console.error("screenshot: /usr/bin/chromium is missing (apt-get install chromium)");
  process.exit(1);
}
const vitest = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
const run = spawnSync(process.execPath, [vitest, "run", "--project", "browser", "test/browser/dashboard.test.ts"], {
  cwd: ROOT,
  stdio: "inherit",
  env: { ...process.env, DASHBOARD_SCREENSHOTS: DOCS },
});
if (run.status === 0) {
  for (const name of ["dashboard-desktop.png", "dashboard-phone.png"]) console.log(path.join("docs", name));
}
process.exit(run.status ?? 1);
