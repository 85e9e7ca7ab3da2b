import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { startGa4StandIn } from "./test/standins/ga4.ts";
import { startWebhookReceiver } from "./test/standins/webhook-receiver.ts";

// GA4's stand-in (test/ga4-standin.ts): the Worker under test forwards to it through GA4_ENDPOINT.
const ga4 = await startGa4StandIn();
// The receiver of outbound webhooks (test/standins/webhook-receiver.ts), which verifies every signature.
const receiver = await startWebhookReceiver();

const migrations = await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url)));

// Copies of wrangler.toml's rate limiters with a limit of 3, which the rate limit tests swap in for the real
// ones (test/rate-limits.test.ts): a few requests reach a limit there, and every other test keeps the real limits.
const LIMITERS = ["AUTH_FAILURE", "API_KEY", "LINK_CREATION", "BEACON", "PIXEL"];
const smallLimiters = Object.fromEntries(
  LIMITERS.map((name, i) => [
    `SMALL_${name}_LIMITER`,
    { namespace_id: String(9001 + i), simple: { limit: 3, period: 60 as const } },
  ]),
);

export default defineConfig({
  test: {
    // CI also keeps a machine-readable summary, from which .ci/run prints its closing line.
    reporters: process.env.CI
      ? ["default", ["json", { outputFile: "node_modules/.cache/vitest-report.json" }]]
      : ["default"],
    projects: [
      {
        // Everything about the Worker runs inside workerd, against a real local D1 and queue.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                PII_PEPPER: "test-pepper",
                DATA_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                ENVIRONMENT: "test",
                GA4_ENDPOINT: ga4.url,
                TEST_WEBHOOK_RECEIVER: receiver.url,
                TEST_MIGRATIONS: migrations,
              },
              ratelimits: smallLimiters,
              // A second database for tests only (test/placement.test.ts moves workspaces onto it); wrangler.toml
              // keeps one until a deploy needs more.
              d1Databases: { DB_1: "chatfunnel-1" },
            },
          }),
        ],
        test: {
          name: "worker",
          // Whole histories (erasure, GA4 outages, webhook retries) take a second alone and several on a busy
          // two-core machine; a hung test still fails, just later.
          testTimeout: 30_000,
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**"],
          setupFiles: ["./test/apply-migrations.ts"],
        },
      },
      {
        // Node side, against the Worker served by wrangler dev: pages in a real headless Chromium, and the scan of
        // everything the service wrote for secrets and personal data in clear.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
