// The dashboard (SPEC §12) in a real headless Chromium: sign in with a reports:read key on a seeded workspace,
// check that the funnel and cost numbers shown are the API's for the same filters, switch campaign and range,
// download a CSV, see a new click reach the links' live counters, and fail on any console error, page error,
// failed request or CSP violation.
// With DASHBOARD_SCREENSHOTS=<dir> (`npm run screenshot`), it leaves desktop and phone screenshots there.
import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { seedDashboardDemo, type DemoWorkspace } from "./dashboard-seed";
import { apiCaller } from "./service";
import { WranglerService } from "./service";
import { HAS_CHROMIUM, launchChromium, SKIPPED } from "./chromium";

declare global {
  interface Window {
    __cspViolations: string[];
  }
}

const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS ?? os.tmpdir();
// A person's browser: headless Chromium's own user agent is rightly counted as a bot.
const DESKTOP_CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
const STEPS = ["sent", "delivered", "read", "clicked", "converted"] as const;

interface Funnel {
  steps: { name: string; count: number; rateFromPrevious: number | null; rateFromFirst: number | null }[];
  outcomes: { failed: number; limited: number; experiment: number };
}

interface Metrics {
  revenue: number;
  cost: {
    currency: string;
    total: number;
    perDelivered: number | null;
    perClick: number | null;
    perConversion: number | null;
    roas: number | null;
  } | null;
}

const cleanups: (() => Promise<unknown>)[] = [];
let startup: Promise<void> | undefined;
const service = new WranglerService();
let browser: Browser;
let context: BrowserContext;
let page: Page;
let demo: DemoWorkspace;
// What went wrong in the page since the last check: console errors, uncaught exceptions, failed requests.
const problems: string[] = [];

/** The filters as the page shows them, as report parameters. */
async function pageFilters(p: Page): Promise<URLSearchParams> {
  const values = await p.evaluate(() => ({
    from: (document.getElementById("from") as HTMLInputElement).value,
    to: (document.getElementById("to") as HTMLInputElement).value,
    timezone: (document.getElementById("timezone") as HTMLSelectElement).value,
    campaignIds: [...document.querySelectorAll<HTMLInputElement>("#campaigns input:checked")].map((i) => i.value),
  }));
  const params = new URLSearchParams({ from: values.from, to: values.to, timezone: values.timezone });
  for (const id of values.campaignIds) params.append("campaignId", id);
  return params;
}

const api = <T>(route: string) => apiCaller(service.base)<T>("GET", route, demo.reportsKey);

/** Presses Show and waits until every view has drawn the new answers. */
async function show(p: Page) {
  const before = await p.evaluate(() => document.body.dataset.loaded ?? "");
  await p.getByRole("button", { name: "Show", exact: true }).click();
  await p.waitForFunction((b) => (document.body.dataset.loaded ?? "") !== b, before, { timeout: 30_000 });
}

/** The number a figure or cell holds (data-value), and its text. */
async function shown(p: Page, selector: string): Promise<{ value: number | null; text: string }> {
  const el = p.locator(selector);
  const value = await el.getAttribute("data-value");
  return { value: value === "" || value === null ? null : Number(value), text: (await el.textContent()) ?? "" };
}

/** Compares the funnel and the cost figures on the page with the API's answers for the page's filters. */
async function expectPageMatchesApi(p: Page): Promise<Funnel> {
  const params = await pageFilters(p);
  const [funnel, metrics] = await Promise.all([
    api<Funnel>(`/api/v1/reports/funnel?${params}`),
    api<Metrics>(`/api/v1/reports/metrics?${params}`),
  ]);
  for (const step of STEPS) {
    const expected = funnel.steps.find((s) => s.name === step)!;
    const cell = await shown(p, `#funnel-table tr[data-step="${step}"] td[data-field="count"]`);
    expect({ step, ...cell }).toEqual({ step, value: expected.count, text: expected.count.toLocaleString("en") });
    const rate = await shown(p, `#funnel-table tr[data-step="${step}"] td[data-field="rateFromPrevious"]`);
    expect({ step, rate: rate.value }).toEqual({ step, rate: expected.rateFromPrevious });
  }
  for (const outcome of ["limited", "experiment", "failed"] as const) {
    expect((await shown(p, `#outcome-${outcome}`)).value).toBe(funnel.outcomes[outcome]);
  }
  expect(metrics.cost, "the seeded workspace has a rate card").not.toBeNull();
  const cost = metrics.cost!;
  for (const [id, value] of [
    ["cost-total", cost.total],
    ["cost-per-delivered", cost.perDelivered],
    ["cost-per-click", cost.perClick],
    ["cost-per-conversion", cost.perConversion],
    ["cost-roas", cost.roas],
  ] as const) {
    const figure = await shown(p, `#${id}`);
    expect({ id, value: figure.value }).toEqual({ id, value });
    if (value !== null && id !== "cost-roas") {
      // Shown as money, rounded to at most 4 places.
      expect(figure.text).toMatch(/^\$/);
      expect(Number(figure.text.replace(/[^0-9.]/g, ""))).toBeCloseTo(value, 3);
    }
  }
  expect((await shown(p, "#revenue")).value).toBe(metrics.revenue);
  return funnel;
}

/** Keeps the page's reported CSP violations where the test can read them. */
function watchCsp(ctx: BrowserContext) {
  return ctx.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`),
    );
  });
}

const sentOf = (funnel: Funnel) => funnel.steps[0].count;

function dayBefore(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

describe.skipIf(!HAS_CHROMIUM)(
  HAS_CHROMIUM ? "the dashboard in headless Chromium" : `the dashboard (${SKIPPED})`,
  () => {
    beforeAll(async () => {
      startup = (async () => {
        cleanups.push(() => service.stop());
        await service.start();
        demo = await seedDashboardDemo(service.base, service.adminToken);
        browser = await launchChromium();
        cleanups.push(() => browser.close());
        context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
        context.setDefaultTimeout(30_000);
        await watchCsp(context);
        page = await context.newPage();
        page.on("console", (m) => {
          if (m.type() === "error") problems.push(`console error: ${m.text()}`);
        });
        page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
        // A download hands its blob: URL to the browser's download manager, which Chromium reports as aborted.
        page.on("requestfailed", (req) => {
          if (!req.url().startsWith("blob:")) problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
        });
        page.on("response", (res) => {
          if (res.status() >= 400) problems.push(`${res.status()} from ${res.url()}`);
        });
      })();
      await startup;
    });

    afterEach(async () => {
      const violations = page ? await page.evaluate(() => window.__cspViolations).catch(() => []) : [];
      const found = [...problems.splice(0), ...violations.map((v) => `CSP violation: ${v}`)];
      expect(found).toEqual([]);
    });

    afterAll(async () => {
      await startup?.catch(() => {});
      for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(err));
    });

    it("signs in with the keyboard, keeps the key in sessionStorage only, and shows the API's funnel and costs", async () => {
      const res = await page.goto(`${service.base}/dashboard`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("api-key");
      await page.keyboard.type(demo.reportsKey);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => document.body.dataset.loaded !== undefined, undefined, { timeout: 60_000 });

      expect(await page.evaluate(() => sessionStorage.getItem("chatfunnel.apiKey"))).toBe(demo.reportsKey);
      expect(await context.cookies()).toEqual([]);
      expect(page.url()).toBe(`${service.base}/dashboard`);

      // The same question in UTC, over the last 30 days, every campaign.
      await page.selectOption("#timezone", "UTC");
      const today = new Date().toISOString().slice(0, 10);
      await page.fill("#to", today);
      await page.fill("#from", dayBefore(today, 29));
      await show(page);
      const all = await expectPageMatchesApi(page);
      expect(sentOf(all)).toBe(64 + 24);
      expect(all.outcomes.limited).toBeGreaterThan(0);
      // Every view drew something, and none shows an error.
      expect(await page.locator("#dashboard .error").count()).toBe(0);
      expect(await page.locator("#links-table tbody tr").count()).toBe(88);
      expect(await page.locator('#audiences td[data-stage="converted"]').count()).toBe(2);
    });

    it("follows a switch of campaign and of date range", async () => {
      await page.getByRole("checkbox", { name: /Win-back/ }).check();
      await show(page);
      const winBack = await expectPageMatchesApi(page);
      expect(sentOf(winBack)).toBe(24);
      // Only the Win-back campaign's links, and no A/B test (it has no variants).
      expect(await page.locator("#links-table tbody tr").count()).toBe(24);
      await expect.poll(() => page.locator("#ab .card-body").textContent()).toContain("two variants");

      await page.getByRole("checkbox", { name: /Win-back/ }).uncheck();
      await page.getByRole("checkbox", { name: /Spring sale/ }).check();
      const today = new Date().toISOString().slice(0, 10);
      await page.fill("#from", dayBefore(today, 3));
      await show(page);
      const lastWeek = await expectPageMatchesApi(page);
      expect(sentOf(lastWeek)).toBeGreaterThan(0);
      expect(sentOf(lastWeek)).toBeLessThan(64);
      expect(await page.locator("#ab tbody tr").count()).toBe(2);
    });

    it("downloads a view's CSV through the API, without the key in any URL", async () => {
      const requests: string[] = [];
      page.on("request", (req) => requests.push(req.url()));
      const download = page.waitForEvent("download");
      await page.getByRole("button", { name: "Download the funnel as CSV" }).click();
      const file = await download;
      expect(file.suggestedFilename()).toBe("funnel.csv");
      const text = await readFile((await file.path())!, "utf8");
      const lines = text.split("\r\n");
      expect(lines[0]).toBe("group,step,count,inferred,rateFromPrevious,rateFromFirst");
      const params = await pageFilters(page);
      const sent = lines.find((line) => line.startsWith(",sent,"))!;
      const funnel = await api<Funnel>(`/api/v1/reports/funnel?${params}`);
      expect(Number(sent.split(",")[2])).toBe(sentOf(funnel));
      expect(requests.some((url) => url.includes("/api/v1/reports/funnel?") && url.includes("format=csv"))).toBe(true);
      expect(requests.filter((url) => url.includes(demo.reportsKey))).toEqual([]);
    });

    it("fits a phone's width, and leaves screenshots to look at", async () => {
      await page.getByRole("checkbox", { name: /Spring sale/ }).uncheck();
      const today = new Date().toISOString().slice(0, 10);
      await page.fill("#from", dayBefore(today, 29));
      await show(page);
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, "dashboard-desktop.png"), fullPage: true });

      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      cleanups.push(() => phone.close());
      await watchCsp(phone);
      const small = await phone.newPage();
      const phoneProblems: string[] = [];
      small.on("console", (m) => {
        if (m.type() === "error") phoneProblems.push(m.text());
      });
      small.on("pageerror", (err) => phoneProblems.push(err.message));
      await small.goto(`${service.base}/dashboard`);
      await small.fill("#api-key", demo.reportsKey);
      await small.getByRole("button", { name: "Sign in" }).click();
      await small.waitForFunction(() => document.body.dataset.loaded !== undefined, undefined, { timeout: 60_000 });
      // Nothing wider than the screen but the tables, which scroll inside their own box.
      const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await small.screenshot({ path: path.join(SCREENSHOTS, "dashboard-phone.png"), fullPage: true });
      expect(phoneProblems).toEqual([]);
      expect(await small.evaluate(() => window.__cspViolations)).toEqual([]);
    });

    it("shows a new click in the links table's live counters without a reload", async () => {
      const row = page.locator("#links-table tbody tr").last();
      const code = (await row.getAttribute("data-code"))!;
      const clicks = Number(await row.locator('td[data-field="clicks"]').getAttribute("data-value"));
      const res = await fetch(`${service.base}/${code}`, {
        redirect: "manual",
        headers: { "user-agent": DESKTOP_CHROME },
        signal: AbortSignal.timeout(15_000),
      });
      expect(res.status).toBe(302);
      const cell = page.locator(`#links-table tr[data-code="${code}"] td[data-field="clicks"]`);
      await expect
        .poll(() => cell.getAttribute("data-value"), { timeout: 60_000, interval: 1000 })
        .toBe(String(clicks + 1));
    });
  },
);
