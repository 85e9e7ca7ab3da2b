import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium, which .ci/run installs where it is missing; without it the browser tests are skipped. */
export const CHROMIUM = "/usr/bin/chromium";
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const SKIPPED = `browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium, as .ci/run does)`;
if (!HAS_CHROMIUM) console.warn(SKIPPED);

// Headless, and quiet: nothing of Chromium's own reaches the network (the tests talk to 127.0.0.1 only).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}
