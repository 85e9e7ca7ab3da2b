// A real browser end to end (SPEC §5–§6): headless Chromium follows a tracked link from the service to a
// customer's site on another origin, the site snippet keeps the click id, and a purchase tracked on a later
// page without the parameter arrives through the beacon attributed to that click.
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Browser, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCaller, WranglerService } from "./service";
import { sitePage, startSite, type Site } from "./site";
import { HAS_CHROMIUM, launchChromium, SKIPPED } from "./chromium";

declare global {
  interface Window {
    __beacons: Promise<string>[];
    chatfunnel: {
      q?: unknown[][];
      track(event: string, opts?: { value?: number; currency?: string; orderId?: string }): void;
      clickId(): string | null;
    };
  }
}

// Kept after the run (one file, overwritten each time) so that a person can look at what the page showed.
const SCREENSHOT = path.join(os.tmpdir(), "chatfunnel-browser-checkout.png");

interface LinkCounters {
  clicks: number;
  conversions: number;
  revenue: number;
}

const cleanups: (() => Promise<unknown>)[] = [];
let startup: Promise<void> | undefined;
const service = new WranglerService();
let site: Site;
let foreign: Site;
let browser: Browser;
let page: Page;
let apiKey: string;
let publishableKey: string;
let code: string;
let clickId: string;

function api<T>(method: string, route: string, token: string, body?: unknown, expected = 200): Promise<T> {
  return apiCaller(service.base, 15_000)<T>(method, route, token, body, expected);
}

const counters = () => api<LinkCounters>("GET", `/api/v1/links/${code}`, apiKey);

/** Reads the link's counters until `done` holds; fails with the last ones after `ms`. */
async function countersWhen(done: (c: LinkCounters) => boolean, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last = await counters();
  while (!done(last)) {
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen in ${ms / 1000} s; counters: ${JSON.stringify(last)}\n${service.log.slice(-4000)}`,
      );
    }
    await sleep(250);
    last = await counters();
  }
  return last;
}

/** The snippet's beacon request from the page, and the service's answer to it. */
function nextBeacon(p: Page): Promise<Response> {
  return p.waitForResponse((res) => res.url().startsWith(`${service.base}/t/collect?`), { timeout: 15_000 });
}

/** The bodies of the beacons this page sent, as recorded by the init script below. */
function sentBeacons(p: Page): Promise<unknown[]> {
  return p.evaluate(() => Promise.all(window.__beacons.map((body) => body.then((text) => JSON.parse(text)))));
}

/**
 * Checks the service's answer to a beacon. When it is not the expected one, the message has the beacon's
 * body and the service's explanation, got by sending the same body again from here (the browser does not
 * keep the answers to beacons).
 */
async function expectAnswer(p: Page, res: Response, status: number) {
  if (res.status() === status) return;
  const body = JSON.stringify((await sentBeacons(p)).at(-1));
  const again = await fetch(res.url(), {
    method: "POST",
    headers: { origin: new URL(p.url()).origin, "content-type": "text/plain" },
    body,
    signal: AbortSignal.timeout(15_000),
  }).then(
    (r) => r.text(),
    (err: Error) => err.message,
  );
  expect.fail(`beacon ${body} → ${res.status()}, expected ${status}; the same body again → ${again}`);
}

async function snippetLoaded(p: Page) {
  await p.waitForFunction(() => typeof window.chatfunnel?.track === "function", undefined, { timeout: 15_000 });
}

/** The customer's pages; the snippet comes from the service origin. */
function pages(pathname: string): string | undefined {
  const snippet = { snippetSrc: `${service.base}/t/s.js`, key: publishableKey };
  switch (pathname) {
    case "/landing":
      return sitePage({ ...snippet, title: "Spring sale", body: "<p>Everything 20% off this week.</p>" });
    case "/checkout":
      return sitePage({
        ...snippet,
        title: "Checkout",
        body: "<p>Order <b>order-1</b>: 1 × Sunglasses, <b>49.90 EUR</b></p>",
      });
    case "/lead":
      // A call made before the async snippet has loaded waits in window.chatfunnel.q.
      return sitePage({
        ...snippet,
        title: "Thanks, we'll call you",
        body: "<p>A lead, tracked before the snippet loaded.</p>",
        head: `<script>window.chatfunnel = { q: [["generate_lead", {}]] };</script>`,
      });
  }
  return undefined;
}

describe.skipIf(!HAS_CHROMIUM)(
  HAS_CHROMIUM ? "a conversion tracked in headless Chromium" : `a conversion tracked in headless Chromium (${SKIPPED})`,
  // The tests run in order on one page, as one visitor: the later ones build on the click of the first.
  () => {
    beforeAll(async () => {
      startup = (async () => {
        cleanups.push(() => service.stop());
        site = await startSite(pages);
        cleanups.push(() => site.close());
        // Another origin with the same pages, which the workspace does not allow.
        foreign = await startSite(pages);
        cleanups.push(() => foreign.close());
        await service.start();

        const workspace = await api<{ apiKey: string; publishableKey: string }>(
          "POST",
          "/api/v1/workspaces",
          service.adminToken,
          { name: "browser test", settings: { allowedOrigins: [site.origin] } },
          201,
        );
        ({ apiKey, publishableKey } = workspace);
        ({ code } = await api<{ code: string }>(
          "POST",
          "/api/v1/links",
          apiKey,
          { url: `${site.origin}/landing` },
          201,
        ));

        browser = await launchChromium();
        cleanups.push(() => browser.close());
        // Headless Chromium says `HeadlessChrome/…`, which is rightly counted as a bot (no click id): browse
        // as the desktop Chrome of the same version.
        const major = browser.version().split(".")[0];
        const context = await browser.newContext({
          userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`,
        });
        context.setDefaultTimeout(15_000);
        // Notes the body of every beacon a page sends (and sends it as before), for the checks below.
        await context.addInitScript(() => {
          const send = navigator.sendBeacon.bind(navigator);
          window.__beacons = [];
          navigator.sendBeacon = (url, data) => {
            window.__beacons.push(data instanceof Blob ? data.text() : Promise.resolve(String(data ?? "")));
            return send(url, data);
          };
        });
        page = await context.newPage();
      })();
      await startup;
    });

    afterAll(async () => {
      // A start cut short by the hook's timeout is still bounded by its own deadlines: let it settle first.
      await startup?.catch(() => {});
      for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(err));
    });

    it("lands on the site with ?wa_cid=, and a purchase on a later page is attributed to the click", async () => {
      await page.goto(`${service.base}/${code}`);
      const landed = new URL(page.url());
      expect(landed.origin).toBe(site.origin);
      expect(landed.pathname).toBe("/landing");
      clickId = landed.searchParams.get("wa_cid") ?? "";
      expect(clickId, `landed on ${landed.href}`).not.toBe("");
      await snippetLoaded(page);
      // Kept first-party, on the site's origin.
      const cookies = await page.context().cookies(site.origin);
      expect(cookies.find((c) => c.name === "_cfcid")?.value).toBe(clickId);

      await page.goto(`${site.origin}/checkout`);
      expect(new URL(page.url()).search).toBe("");
      await snippetLoaded(page);
      expect(await page.evaluate(() => window.chatfunnel.clickId())).toBe(clickId);
      await expect.poll(() => page.textContent("#cid")).toBe(clickId);
      await page.screenshot({ path: SCREENSHOT });

      const beacon = nextBeacon(page);
      await page.evaluate(() =>
        window.chatfunnel.track("purchase", { value: 49.9, currency: "EUR", orderId: "order-1" }),
      );
      const res = await beacon;
      await expectAnswer(page, res, 202);
      expect(res.request().headers()["content-type"]).toMatch(/^text\/plain/);
      expect(await sentBeacons(page)).toMatchObject([
        { clickId, event: "purchase", value: 49.9, currency: "EUR", orderId: "order-1" },
      ]);

      const link = await countersWhen((c) => c.conversions === 1 && c.revenue === 49.9, "the purchase's conversion");
      expect(link).toMatchObject({ clicks: 1, conversions: 1, revenue: 49.9 });
    });

    it("delivers a call queued before the snippet loaded", async () => {
      const beacon = nextBeacon(page);
      await page.goto(`${site.origin}/lead`);
      const res = await beacon;
      await expectAnswer(page, res, 202);
      expect(await sentBeacons(page)).toMatchObject([{ clickId, event: "generate_lead" }]);
      expect(await page.evaluate(() => typeof window.chatfunnel.q)).toBe("undefined");

      const link = await countersWhen((c) => c.conversions === 2, "the queued lead's conversion");
      expect(link).toMatchObject({ clicks: 1, conversions: 2, revenue: 49.9 });
    });

    it("refuses the beacon from an origin the workspace does not allow", async () => {
      await page.goto(`${foreign.origin}/checkout`);
      await snippetLoaded(page);
      const beacon = nextBeacon(page);
      await page.evaluate(() =>
        window.chatfunnel.track("purchase", { value: 10, currency: "EUR", orderId: "order-foreign" }),
      );
      const res = await beacon;
      await expectAnswer(page, res, 403);
      expect(await counters()).toMatchObject({ clicks: 1, conversions: 2, revenue: 49.9 });
    });
  },
);
