import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertClicks, type ClickRecord } from "../src/db/clicks";
import {
  applySomeOfOutbox,
  callJson,
  callWorker,
  createApiKey,
  createCampaign,
  createLink,
  createWorkspace,
  expectErrorEnvelope,
  issuePaths,
  ANDROID_CHROME,
  clickRecord,
} from "./helpers";
import { seededRandom, type Random } from "./random";

const IPHONE_SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const WINDOWS_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

type Visit = { ua: string; ip: string; country?: string; referer?: string };

/** A visit through the redirect; the click is recorded before this resolves. Returns the click id, if any. */
async function visit(code: string, v: Visit): Promise<string | null> {
  const res = await callWorker(`/${code}`, {
    headers: { "user-agent": v.ua, "cf-connecting-ip": v.ip, ...(v.referer ? { referer: v.referer } : {}) },
    cf: v.country ? { country: v.country } : undefined,
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location")!).searchParams.get("wa_cid");
}

function convert(key: string, body: Record<string, unknown>) {
  return callJson("/api/v1/conversions", { key, body: { event: "purchase", ...body } });
}

function breakdown(key: string, params: string) {
  return callJson(`/api/v1/reports/breakdown?${params}`, { key });
}

async function rows(key: string, params: string) {
  const res = await breakdown(key, params);
  expect(res.status).toBe(200);
  return res.body.rows;
}

/** Two campaign links (variants A and B) and one plain link, visited through the redirect. */
async function seedVisits() {
  const { workspace, adminKey } = await createWorkspace();
  const campaign = await createCampaign(adminKey, { variants: ["A", "B"] });
  const linkA = await createLink(adminKey, { campaignId: campaign.id, variant: "A" });
  const linkB = await createLink(adminKey, { campaignId: campaign.id, variant: "B" });
  const plain = await createLink(adminKey);
  const facebook = "https://www.facebook.com/some/post";
  const first = await visit(linkA.code, { ua: ANDROID_CHROME, ip: "198.51.100.1", country: "DE", referer: facebook });
  await visit(linkA.code, { ua: ANDROID_CHROME, ip: "198.51.100.1", country: "DE", referer: facebook });
  await visit(linkA.code, { ua: IPHONE_SAFARI, ip: "198.51.100.2", country: "FR" });
  await visit(linkB.code, {
    ua: WINDOWS_CHROME,
    ip: "198.51.100.3",
    country: "DE",
    referer: "https://l.instagram.com/",
  });
  await visit(plain.code, { ua: ANDROID_CHROME, ip: "198.51.100.4" });
  // Neither a link preview nor a bot is a click.
  expect(await visit(linkA.code, { ua: "WhatsApp/2.23.20.0 A", ip: "198.51.100.5", country: "DE" })).toBeNull();
  expect(await visit(linkB.code, { ua: "curl/8.5.0", ip: "198.51.100.6", country: "DE" })).toBeNull();
  const attributed = await convert(adminKey, { clickId: first, value: 10.5, currency: "EUR", orderId: "o-1" });
  expect(attributed.body.attributedTo).toMatchObject({ clickId: first, linkCode: linkA.code, variant: "A" });
  expect((await convert(adminKey, { value: 4, currency: "EUR", orderId: "o-2" })).body.attributedTo).toBeNull();
  return { workspace, adminKey, campaign, linkA, linkB, plain };
}

describe("GET /api/v1/reports/breakdown", () => {
  it("counts human clicks, unique clicks and conversions by every dimension", async () => {
    const { adminKey, linkA, linkB, plain } = await seedVisits();
    const by = (dimension: string, metric = "clicks") => rows(adminKey, `dimension=${dimension}&metric=${metric}`);

    expect(await by("country")).toEqual([
      { key: "DE", count: 3 },
      { key: null, count: 1 },
      { key: "FR", count: 1 },
    ]);
    expect(await by("country", "uniqueClicks")).toEqual([
      { key: "DE", count: 2 },
      { key: null, count: 1 },
      { key: "FR", count: 1 },
    ]);
    expect(await by("country", "conversions")).toEqual([
      { key: null, count: 1 },
      { key: "DE", count: 1 },
    ]);
    expect(await by("device")).toEqual([
      { key: "mobile", count: 4 },
      { key: "desktop", count: 1 },
    ]);
    expect(await by("os")).toEqual([
      { key: "Android", count: 3 },
      { key: "Windows", count: 1 },
      { key: "iOS", count: 1 },
    ]);
    expect(await by("browser")).toEqual([
      { key: "Chrome", count: 4 },
      { key: "Mobile Safari", count: 1 },
    ]);
    expect(await by("referrer")).toEqual([
      { key: null, count: 2 },
      { key: "www.facebook.com", count: 2 },
      { key: "l.instagram.com", count: 1 },
    ]);
    expect(await by("link")).toEqual([
      { key: linkA.code, count: 3 },
      ...[linkB.code, plain.code].sort().map((key) => ({ key, count: 1 })),
    ]);
    expect(await by("link", "conversions")).toEqual([
      { key: null, count: 1 },
      { key: linkA.code, count: 1 },
    ]);
    expect(await by("variant")).toEqual([
      { key: "A", count: 3 },
      { key: null, count: 1 },
      { key: "B", count: 1 },
    ]);
    expect(await by("device", "conversions")).toEqual([
      { key: null, count: 1 },
      { key: "mobile", count: 1 },
    ]);
  });

  it("answers with the dimension and metric, and clicks by default", async () => {
    const { adminKey } = await seedVisits();
    const res = await breakdown(adminKey, "dimension=browser");
    expect(res).toMatchObject({
      status: 200,
      body: {
        dimension: "browser",
        metric: "clicks",
        rows: [
          { key: "Chrome", count: 4 },
          { key: "Mobile Safari", count: 1 },
        ],
      },
    });
  });

  it("filters by campaign and by variant", async () => {
    const { adminKey, campaign } = await seedVisits();
    expect(await rows(adminKey, `dimension=country&campaignId=${campaign.id}`)).toEqual([
      { key: "DE", count: 2 + 1 },
      { key: "FR", count: 1 },
    ]);
    expect(await rows(adminKey, `dimension=country&campaignId=${campaign.id}&variant=B`)).toEqual([
      { key: "DE", count: 1 },
    ]);
    expect(await rows(adminKey, `dimension=link&metric=conversions&variant=A`)).toHaveLength(1);
    expect(await rows(adminKey, `dimension=country&campaignId=${campaign.id}&campaignId=cmp_other`)).toHaveLength(2);
    expect(await rows(adminKey, "dimension=country&campaignId=cmp_other")).toEqual([]);
  });

  it("limits the rows to the largest counts", async () => {
    const { adminKey } = await seedVisits();
    expect(await rows(adminKey, "dimension=country&limit=1")).toEqual([{ key: "DE", count: 3 }]);
  });

  it("counts only events in [from, to), by their own time", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const at = Date.UTC(2026, 5, 1, 9, 0);
    const click = (id: string, occurredAt: number, country: string) =>
      clickRecord(workspace.id, link.id, { id, occurredAt, country });
    await insertClicks(env.DB, [
      click("c-before", at - 1, "PT"),
      click("c-first", at, "DE"),
      click("c-day", at + 86_400_000, "DE"),
      click("c-last", at + 2 * 86_400_000 - 1, "FR"),
      click("c-after", at + 2 * 86_400_000, "ES"),
    ]);
    expect(await rows(adminKey, "dimension=country&from=2026-06-01T09:00:00Z&to=2026-06-03T09:00:00Z")).toEqual([
      { key: "DE", count: 2 },
      { key: "FR", count: 1 },
    ]);
    // Dates are local days, and a `to` date includes its day: in Lisbon (UTC+1 in June) the day
    // 2026-06-01 is [2026-05-31T23:00Z, 2026-06-01T23:00Z).
    expect(await rows(adminKey, "dimension=country&from=2026-06-01&to=2026-06-01&timezone=Europe/Lisbon")).toEqual([
      { key: "DE", count: 1 },
      { key: "PT", count: 1 },
    ]);
  });

  it("counts a replayed click (the same id) once", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const click = clickRecord(workspace.id, link.id, { id: "c-replayed", occurredAt: Date.UTC(2026, 5, 1, 9) });
    await insertClicks(env.DB, [click]);
    await insertClicks(env.DB, [click]);
    expect(await rows(adminKey, "dimension=link")).toEqual([{ key: link.code, count: 1 }]);
  });

  it("answers CSV with key,count rows for format=csv or Accept: text/csv", async () => {
    const { adminKey } = await seedVisits();
    const expected = "key,count\r\nDE,3\r\n,1\r\nFR,1\r\n";
    const res = await callWorker("/api/v1/reports/breakdown?dimension=country&format=csv", { key: adminKey });
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(await res.text()).toBe(expected);
    const accepted = await callWorker("/api/v1/reports/breakdown?dimension=country", {
      key: adminKey,
      headers: { accept: "text/csv" },
    });
    expect(await accepted.text()).toBe(expected);
  });

  it("never shows another workspace's clicks", async () => {
    const other = await seedVisits();
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    await insertClicks(env.DB, [clickRecord(workspace.id, link.id, { id: "c-own", occurredAt: Date.now() - 60_000 })]);
    expect(await rows(adminKey, "dimension=country")).toEqual([{ key: "PT", count: 1 }]);
    expect(await rows(adminKey, `dimension=country&campaignId=${other.campaign.id}`)).toEqual([]);
    expect(await rows(other.adminKey, "dimension=country")).toHaveLength(3);
  });

  it("needs a reports:read key: no key gets 401, an events:write key 403", async () => {
    const { adminKey } = await createWorkspace();
    const writer = await createApiKey(adminKey, ["events:write"]);
    const reader = await createApiKey(adminKey, ["reports:read"]);
    expect(await callJson("/api/v1/reports/breakdown?dimension=country")).toMatchObject({
      status: 401,
      body: expectErrorEnvelope("unauthorized"),
    });
    expect(await breakdown(writer, "dimension=country")).toMatchObject({
      status: 403,
      body: expectErrorEnvelope("forbidden"),
    });
    expect(await breakdown(reader, "dimension=country")).toMatchObject({ status: 200, body: { rows: [] } });
  });

  it.each([
    ["no dimension", "metric=clicks", ["dimension"]],
    ["an unknown dimension", "dimension=city", ["dimension"]],
    ["an unknown metric", "dimension=country&metric=revenue", ["metric"]],
    ["a limit of 0", "dimension=country&limit=0", ["limit"]],
    ["a limit above 1000", "dimension=country&limit=1001", ["limit"]],
    ["an unknown time zone", "dimension=country&timezone=Mars/Olympus_Mons", ["timezone"]],
    ["a from that is not on a quarter hour", "dimension=country&from=2026-06-01T09:07:00Z", ["from"]],
    ["a from that is not a time", "dimension=country&from=yesterday", ["from"]],
    ["a to before from", "dimension=country&from=2026-06-02&to=2026-06-01", ["to"]],
    ["an unknown format", "dimension=country&format=xml", ["format"]],
  ])("refuses %s with 400", async (_, params, path) => {
    const { adminKey } = await createWorkspace();
    const res = await breakdown(adminKey, params);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toContainEqual(path);
  });
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Link = { id: string; code: string; campaignId: string | null; variant: string | null };
type StoredClick = ClickRecord & { linkCode: string; isUnique: boolean };
type StoredConversion = { at: number; micros: number; click: StoredClick | null };

// Ten days across the end of summer time in Berlin (2026-10-25); reports cover a range cut inside them,
// on quarter hours that are not whole days.
const T0 = Date.UTC(2026, 9, 20);
const FROM = T0 + 36 * HOUR + 15 * MINUTE;
const TO = T0 + 8 * DAY + 45 * MINUTE;

/** Mostly spread over the ten days; some at the range's edges, some bunched so that visitors repeat. */
function randomTime(random: Random): number {
  const roll = random.next();
  if (roll < 0.1) return random.pick([FROM - 1, FROM, TO - 1, TO, T0 + 2 * DAY, T0 + 5 * DAY - 1]);
  if (roll < 0.4)
    return random.pick([FROM - 30 * MINUTE, T0 + 3 * DAY, Date.UTC(2026, 9, 25, 0, 30)]) + random.int(HOUR);
  return T0 + random.int(10 * DAY);
}

/**
 * Writes random clicks (human, preview, bot) through the redirect's own write path, in random
 * batches and order with some written twice, and returns them as stored. Uniqueness is decided as
 * the database does: against the clicks stored before, a batch being written in time order.
 */
async function writeRandomClicks(random: Random, workspaceId: string, links: Link[]): Promise<StoredClick[]> {
  const records = Array.from({ length: 160 }, (_, i) => {
    const link = random.pick(links);
    const click = clickRecord(workspaceId, link.id, {
      id: `click-${i}-${random.int(1e9)}`,
      campaignId: link.campaignId,
      variant: link.variant,
      kind: random.pick(["click", "click", "click", "click", "preview", "bot"] as const),
      visitorHash: `visitor-${random.int(3)}`,
      occurredAt: randomTime(random),
      country: random.pick(["DE", "IN", "BR", null]),
      deviceType: random.pick(["mobile", "desktop", "tablet", null]),
      os: random.pick(["Android", "iOS", "Windows", null]),
      browser: random.pick(["Chrome", "Safari", null]),
      referrerHost: random.pick(["www.facebook.com", "t.co", null]),
    });
    return { ...click, linkCode: link.code, isUnique: false };
  });
  const writes = random.shuffle(records.flatMap((r) => (random.next() < 0.1 ? [r, r] : [r])));
  const stored = new Map<string, StoredClick>();
  while (writes.length > 0) {
    const batch = writes.splice(0, 1 + random.int(12));
    await insertClicks(env.DB, batch);
    await applySomeOfOutbox(random);
    for (const click of [...batch].sort((a, b) => a.occurredAt - b.occurredAt)) {
      if (stored.has(click.id)) continue;
      const repeated = [...stored.values()].some(
        (o) =>
          o.kind === "click" &&
          o.linkId === click.linkId &&
          o.visitorHash === click.visitorHash &&
          o.occurredAt > click.occurredAt - click.dedupSeconds * 1000 &&
          o.occurredAt <= click.occurredAt,
      );
      stored.set(click.id, { ...click, isUnique: click.kind === "click" && !repeated });
    }
  }
  return [...stored.values()];
}

/**
 * Posts random conversions, most naming a click (human or not, sometimes outside the 7-day window,
 * sometimes exactly on its edges), some sent again as duplicates, and returns them with the click
 * each must be attributed to.
 */
async function writeRandomConversions(random: Random, key: string, clicks: StoredClick[]) {
  const conversions: StoredConversion[] = [];
  for (let i = 0; i < 45; i++) {
    const click = random.next() < 0.75 ? random.pick(clicks) : null;
    // Now and then exactly on an edge of the click's window (7 days after it, 5 minutes of clock
    // skew before it) or a millisecond past it.
    const edge = random.next() < 0.3 ? random.pick([7 * DAY, 7 * DAY + 1, -5 * MINUTE, -5 * MINUTE - 1]) : null;
    const at = !click
      ? randomTime(random)
      : edge !== null
        ? click.occurredAt + edge
        : click.occurredAt - 10 * MINUTE + random.int(9 * DAY);
    const value = random.next() < 0.8 ? random.int(100_000) / 100 : undefined;
    const body = {
      clickId: click?.id,
      occurredAt: new Date(at).toISOString(),
      orderId: `o-${i}`,
      ...(value === undefined ? {} : { value, currency: "EUR" }),
    };
    const res = await convert(key, body);
    expect(res.status).toBe(201);
    const windowed = click && click.occurredAt >= at - 7 * DAY && click.occurredAt <= at + 5 * MINUTE;
    const attributed = windowed && click.kind === "click" ? click : null;
    expect(res.body.attributedTo?.clickId ?? null).toBe(attributed?.id ?? null);
    conversions.push({ at, micros: Math.round((value ?? 0) * 1_000_000), click: attributed });
    if (random.next() < 0.15) {
      expect((await convert(key, { ...body, value: 1, currency: "EUR" })).body.duplicate).toBe(true);
    }
  }
  return conversions;
}

/** Date, time, weekday (0 = Monday) and hour of an instant in a time zone, read with Intl alone. */
function wallClock(ms: number, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
    })
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    weekday: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday),
    hour: Number(parts.hour),
  };
}

/** Key → summed value, as breakdown rows: positive counts, largest first, then by key (null first). */
function expectedRows<T>(events: T[], keyOf: (e: T) => string | null, valueOf: (e: T) => number) {
  const sums = new Map<string | null, number>();
  for (const e of events) sums.set(keyOf(e), (sums.get(keyOf(e)) ?? 0) + valueOf(e));
  return [...sums]
    .filter(([, count]) => count > 0)
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || ((a.key ?? "") < (b.key ?? "") ? -1 : 1));
}

/** Events summed per local period: `periodOf` names each instant's period; every period of the range is present. */
function expectedSeries<K>(events: { at: number; value: number }[], periodOf: (t: number) => K, step: number) {
  const sums = new Map<K, number>();
  for (let t = FROM; t < TO; t += step) sums.set(periodOf(t), 0);
  for (const e of events) sums.set(periodOf(e.at), sums.get(periodOf(e.at))! + e.value);
  return sums;
}

const inRange = <T>(events: T[], atOf: (e: T) => number) => events.filter((e) => atOf(e) >= FROM && atOf(e) < TO);
const RANGE = `from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}`;

const KEY_OF: Record<string, (c: StoredClick) => string | null> = {
  country: (c) => c.country,
  device: (c) => c.deviceType,
  os: (c) => c.os,
  browser: (c) => c.browser,
  referrer: (c) => c.referrerHost,
  link: (c) => c.linkCode,
  variant: (c) => c.variant,
};

describe("reports over random click and conversion histories", () => {
  it.each([11, 2026])(
    "match a brute-force count of the events written (seed %i)",
    async (seed) => {
      const random = seededRandom(seed);
      const { workspace, adminKey } = await createWorkspace();
      const sale = await createCampaign(adminKey, { variants: ["A", "B"] });
      const launch = await createCampaign(adminKey);
      const links: Link[] = [
        await createLink(adminKey, { campaignId: sale.id, variant: "A" }),
        await createLink(adminKey, { campaignId: sale.id, variant: "A" }),
        await createLink(adminKey, { campaignId: sale.id, variant: "B" }),
        await createLink(adminKey, { campaignId: launch.id }),
        await createLink(adminKey),
      ];
      const stored = await writeRandomClicks(random, workspace.id, links);
      const conversions = await writeRandomConversions(random, adminKey, stored);
      const clicks = stored.filter((c) => c.kind === "click");

      const filters: [string, (c: { campaignId: string | null; variant: string | null }) => boolean][] = [
        ["", () => true],
        [`&campaignId=${sale.id}`, (c) => c.campaignId === sale.id],
        [`&campaignId=${sale.id}&campaignId=${launch.id}&variant=A`, (c) => c.variant === "A"],
      ];
      for (const [filterParams, keep] of filters) {
        const humanClicks = inRange(clicks, (c) => c.occurredAt).filter(keep);
        const converted = inRange(conversions, (c) => c.at).filter((c) =>
          keep({ campaignId: c.click?.campaignId ?? null, variant: c.click?.variant ?? null }),
        );
        for (const [dimension, keyOf] of Object.entries(KEY_OF)) {
          const params = `dimension=${dimension}&limit=1000&${RANGE}${filterParams}`;
          expect(await rows(adminKey, `${params}&metric=clicks`)).toEqual(expectedRows(humanClicks, keyOf, () => 1));
          expect(await rows(adminKey, `${params}&metric=uniqueClicks`)).toEqual(
            expectedRows(humanClicks, keyOf, (c) => Number(c.isUnique)),
          );
          const conversionKey = (c: StoredConversion) => (c.click ? keyOf(c.click) : null);
          expect(await rows(adminKey, `${params}&metric=conversions`)).toEqual(
            expectedRows(converted, conversionKey, () => 1),
          );
        }
      }

      const humanClicks = inRange(clicks, (c) => c.occurredAt);
      const converted = inRange(conversions, (c) => c.at);
      const events = {
        clicks: humanClicks.map((c) => ({ at: c.occurredAt, value: 1 })),
        conversions: converted.map((c) => ({ at: c.at, value: 1 })),
        revenue: converted.map((c) => ({ at: c.at, value: c.micros })),
      };
      for (const timeZone of ["Asia/Kolkata", "Europe/Berlin"]) {
        for (const [metric, metricEvents] of Object.entries(events)) {
          const series = async (interval: string) => {
            const path = `/api/v1/reports/timeseries?metric=${metric}&interval=${interval}&${RANGE}&timezone=${timeZone}`;
            return (await callJson(path, { key: adminKey })).body.points as { start: string; value: number }[];
          };
          // Revenue is summed in micros, exactly, and reported as a decimal.
          const scale = metric === "revenue" ? 1_000_000 : 1;
          const days = expectedSeries(metricEvents, (t) => wallClock(t, timeZone).date, 15 * MINUTE);
          const dayPoints = await series("day");
          expect(dayPoints.map((p) => wallClock(Date.parse(p.start), timeZone))).toEqual(
            [...days.keys()].map((date) => expect.objectContaining({ date, time: "00:00" })),
          );
          expect(dayPoints.map((p) => p.value)).toEqual([...days.values()].map((v) => v / scale));

          // Both zones stay a whole or half hour off UTC through the range: local hours are 60 minutes.
          const phase = timeZone === "Asia/Kolkata" ? 30 * MINUTE : 0;
          const hours = expectedSeries(metricEvents, (t) => t - ((t - phase) % HOUR), 15 * MINUTE);
          const hourPoints = await series("hour");
          expect(hourPoints.map((p) => Date.parse(p.start))).toEqual([...hours.keys()]);
          expect(hourPoints.map((p) => p.value)).toEqual([...hours.values()].map((v) => v / scale));
        }
      }

      const heatmap = await callJson(`/api/v1/reports/heatmap?${RANGE}&timezone=Asia/Kolkata`, { key: adminKey });
      const cells = Array.from({ length: 168 }, (_, i) => ({ weekday: Math.floor(i / 24), hour: i % 24, value: 0 }));
      for (const c of humanClicks) {
        const wall = wallClock(c.occurredAt, "Asia/Kolkata");
        cells[wall.weekday * 24 + wall.hour].value++;
      }
      expect(heatmap.body.cells).toEqual(cells);
    },
    60_000,
  );
});
