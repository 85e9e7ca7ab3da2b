import { env } from "cloudflare:test";
import { expect } from "vitest";
import { insertClicks } from "../src/db/clicks";
import type { ClickKind } from "../src/db/schema";
import { hashContact } from "../src/lib/contact";
import { applySomeOfOutbox, callJson, withoutAsOf } from "./helpers";
import type { Random } from "./random";

/**
 * Contact histories for the retention reports: writers that go through the API, random histories,
 * and a brute-force model of the report computed from the raw events alone.
 */

export const at = (iso: string) => Date.parse(iso);
export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** A contact as the API takes it, and as a webhook names it (its wa_id, without the +). */
export const phone = (n: number) => `+1650555${String(n).padStart(4, "0")}`;
export const waId = (contact: string) => contact.slice(1);

/** Writes one history through the API (messages, statuses, replies, conversions) and insertClicks. */
export function historyWriter(workspaceId: string, key: string) {
  return {
    register: async (
      messages: { id: string; contact: string; sentAt: number; campaignId?: string; variant?: string }[],
    ) => {
      const body = { messages: messages.map((m) => ({ ...m, sentAt: new Date(m.sentAt).toISOString() })) };
      const res = await callJson("/api/v1/messages", { key, body });
      expect(res.status).toBe(200);
    },
    status: async (id: string, contact: string, status: string, time: number) => {
      const body = statusesBody([{ id, status, timestamp: String(time / 1000), recipient_id: waId(contact) }], []);
      expect((await callJson("/api/v1/statuses", { key, body })).status).toBe(200);
    },
    reply: async (id: string, contact: string, time: number) => {
      const body = statusesBody([], [{ id, from: waId(contact), timestamp: String(time / 1000), type: "text" }]);
      expect((await callJson("/api/v1/statuses", { key, body })).status).toBe(200);
    },
    convert: async (orderId: string, contact: string, time: number) => {
      const body = { event: "purchase", contact, orderId, occurredAt: new Date(time).toISOString() };
      expect((await callJson("/api/v1/conversions", { key, body })).status).toBe(201);
    },
    click: async (
      id: string,
      contact: string | null,
      time: number,
      kind: ClickKind = "click",
      scope: Scope = { campaign: null, variant: null },
    ) => {
      await insertClicks(env.DB, [
        {
          // Click ids are global, so each workspace's get a prefix of their own.
          id: `${workspaceId}.${id}`,
          workspaceId,
          linkId: "lnk_retention",
          campaignId: scope.campaign,
          variant: scope.variant,
          messageId: null,
          contactHash: contact ? await hashContact(env.PII_PEPPER, contact) : null,
          kind,
          visitorHash: null,
          dedupSeconds: 3600,
          occurredAt: time,
          country: null,
          deviceType: null,
          os: null,
          browser: null,
          referrerHost: null,
          userAgent: null,
        },
      ]);
    },
  };
}

export function statusesBody(statuses: unknown[], messages: unknown[]) {
  return {
    object: "whatsapp_business_account",
    entry: [
      { id: "1", changes: [{ field: "messages", value: { messaging_product: "whatsapp", statuses, messages } }] },
    ],
  };
}

export async function retention(key: string, params: string) {
  const res = await callJson(`/api/v1/reports/retention?${params}`, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return withoutAsOf(res.body);
}

export type Period = "day" | "week" | "month";
/** The campaign (and variant) a message was sent in, or a click made through. */
export type Scope = { campaign: string | null; variant: string | null };
export type Sim = {
  messages: Map<string, { contact: string; times: number[] } & Scope>;
  clicks: ({ contact: string | null; at: number; human: boolean } & Scope)[];
  replies: { contact: string; at: number }[];
  conversions: { contact: string; at: number }[];
};

export const BASE = at("2026-01-05T00:00:00Z");
export const QUARTER = 15 * MINUTE;
export const PROPERTY_NOW = BASE + 63 * DAY + 13 * 60 * MINUTE;

/** Zones whose local midnights random histories aim at: half-hour, quarter-hour and daylight-saving ones among them. */
const EDGE_ZONES = [
  "UTC",
  "Asia/Kolkata",
  "America/New_York",
  "Pacific/Chatham",
  "Asia/Kathmandu",
  "America/Los_Angeles",
];
// Clocks go forward on Sunday 8 March 2026 at 02:00 in New York (07:00 UTC) and Los Angeles (10:00 UTC).
const CLOCK_CHANGES = [at("2026-03-08T07:00:00Z"), at("2026-03-08T10:00:00Z")];
// 08:00–10:15 UTC on 28 December 2025 is Sunday in every zone the tests report in, from Chatham to Los Angeles.
const OPENING_SUNDAY = at("2025-12-28T08:00:00Z");

/**
 * A random history and the writes that make it, in random order, with replays. Given campaigns, its
 * registered messages and its clicks are spread over them, their variants and none.
 */
export function randomHistory(
  r: Random,
  workspaceId: string,
  key: string,
  campaigns: { id: string; variants: string[] }[] = [],
): { sim: Sim; writes: (() => Promise<void>)[] } {
  const none: Scope = { campaign: null, variant: null };
  const scope = (): Scope => {
    if (campaigns.length === 0) return none;
    const campaign = r.pick([...campaigns, null]);
    if (!campaign) return none;
    return { campaign: campaign.id, variant: r.pick([...campaign.variants, null]) };
  };
  const w = historyWriter(workspaceId, key);
  const contacts = Array.from({ length: 14 }, (_, i) => phone(100 + i));
  // Some events fall exactly where a local day or week turns (or a second before: the last moment of a
  // Sunday), or where clocks change; many near midnight UTC, where UTC days and the zones' days disagree.
  const edge = () => {
    const zone = r.pick(EDGE_ZONES);
    const turn = r.pick([
      () => bruteStart(bruteIndex(BASE, "day", zone) + r.between(1, 62), "day", zone),
      () => bruteStart(bruteIndex(BASE, "week", zone) + r.between(1, 9), "week", zone),
      () => r.pick(CLOCK_CHANGES),
    ])();
    return turn - r.pick([0, 0, 1000, QUARTER]);
  };
  const time = () => {
    const roll = r.next();
    if (roll < 0.12) return edge();
    if (roll < 0.27) return BASE + r.between(1, 61) * DAY + r.between(-6 * 60, 6 * 60) * MINUTE;
    return BASE + r.between(0, 63 * 24 * 60 - 1) * MINUTE;
  };
  const sim: Sim = { messages: new Map(), clicks: [], replies: [], conversions: [] };
  const ops: (() => Promise<void>)[] = [];
  const add = (op: () => Promise<void>) => ops.push(...(r.chance(0.3) ? [op, op] : [op]));
  // The history opens on a Sunday, a week before everything else: the first message and the first
  // click each start a cohort whose week began the Monday before.
  const opener = { id: "wamid.sunday", contact: r.pick(contacts), sentAt: OPENING_SUNDAY + r.between(0, 134) * MINUTE };
  sim.messages.set(opener.id, { contact: opener.contact, times: [opener.sentAt], ...none });
  add(() => w.register([opener]));
  const firstClick = {
    contact: r.pick(contacts),
    at: OPENING_SUNDAY + r.between(0, 134) * MINUTE,
    human: true,
    ...none,
  };
  sim.clicks.push(firstClick);
  add(() => w.click("clk.sunday", firstClick.contact, firstClick.at));
  for (let i = 0; i < 26; i++) {
    const id = `wamid.p${i}`;
    const contact = r.pick(contacts);
    const sentAt = time();
    const registered = r.chance(0.8);
    const statuses = ["sent", "delivered", "read", "failed"]
      .filter((_, k) => r.chance(k === 3 ? 0.1 : 0.5) || (k === 0 && !registered))
      .map((status) => ({ status, at: Math.min(sentAt + r.between(-36 * 60, 72 * 60) * MINUTE, PROPERTY_NOW - DAY) }));
    // Only a registration names the campaign (statuses of unregistered messages carry none).
    const sent = registered ? scope() : none;
    const times = [...(registered ? [sentAt] : []), ...statuses.map((s) => s.at)];
    sim.messages.set(id, { contact, times, ...sent });
    const inCampaign = { campaignId: sent.campaign ?? undefined, variant: sent.variant ?? undefined };
    if (registered) add(() => w.register([{ id, contact, sentAt, ...inCampaign }]));
    // Now and then the statuses name another recipient: the registration's contact wins, in any order.
    const recipient = registered && r.chance(0.15) ? r.pick(contacts) : contact;
    for (const s of statuses) add(() => w.status(id, recipient, s.status, s.at));
  }
  for (let i = 0; i < 30; i++) {
    const contact = r.chance(0.1) ? null : r.pick(contacts);
    const human = r.chance(0.85);
    const earlier = sim.clicks.find((c) => c.contact === contact);
    const clickAt = earlier && r.chance(0.2) ? earlier.at + r.between(0, 20) * MINUTE : time();
    const through = scope();
    sim.clicks.push({ contact, at: clickAt, human, ...through });
    const kind = human ? "click" : r.pick(["preview", "bot"] as const);
    add(() => w.click(`clk.p${i}`, contact, clickAt, kind, through));
  }
  for (let i = 0; i < 30; i++) {
    const reply = { contact: r.pick(contacts), at: time() };
    sim.replies.push(reply);
    add(() => w.reply(`wamid.in.p${i}`, reply.contact, reply.at));
  }
  for (let i = 0; i < 12; i++) {
    const conversion = { contact: r.pick(contacts), at: time() };
    sim.conversions.push(conversion);
    add(() => w.convert(`order-p${i}`, conversion.contact, conversion.at));
  }
  for (let i = ops.length - 1; i > 0; i--) {
    const j = r.between(0, i);
    [ops[i], ops[j]] = [ops[j], ops[i]];
  }
  return { sim, writes: ops };
}

/** Writes a random history in random order, with replays; returns what was written. */
export async function writeRandomHistory(
  r: Random,
  workspaceId: string,
  key: string,
  campaigns: { id: string; variants: string[] }[] = [],
): Promise<Sim> {
  const { sim, writes } = randomHistory(r, workspaceId, key, campaigns);
  for (const write of writes) {
    await write();
    await applySomeOfOutbox(r);
  }
  return sim;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
/** Week 0 is the Monday week that holds 1970-01-01: it began on Monday 29 December 1969. */
const FIRST_MONDAY = Date.UTC(1969, 11, 29) / DAY;

/**
 * The local period number of an instant, read from the wall-clock date Intl gives: days since
 * 1970-01-01, weeks since the one holding that day, months since January 1970.
 */
export function bruteIndex(ms: number, period: Period, timeZone: string): number {
  let format = dateFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "numeric", day: "numeric" });
    dateFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, Number(p.value)]));
  if (period === "month") return (parts.year - 1970) * 12 + parts.month - 1;
  const day = Date.UTC(parts.year, parts.month - 1, parts.day) / DAY;
  if (period === "day") return day;
  // Back to the local date's Monday (getUTCDay counts from Sunday), then whole weeks from the first.
  const monday = day - ((new Date(day * DAY).getUTCDay() + 6) % 7);
  return (monday - FIRST_MONDAY) / 7;
}

/** The first quarter hour that belongs to local period `index` (found by bisection). */
export function bruteStart(index: number, period: Period, timeZone: string): number {
  const approx =
    period === "month"
      ? Date.UTC(1970 + Math.floor(index / 12), index % 12, 1)
      : (period === "week" ? FIRST_MONDAY + index * 7 : index) * DAY;
  let lo = approx / QUARTER - 2 * 96;
  let hi = approx / QUARTER + 2 * 96;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (bruteIndex(mid * QUARTER, period, timeZone) >= index) hi = mid;
    else lo = mid;
  }
  return hi * QUARTER;
}

export type RetentionCase = {
  period: Period;
  periods: number;
  start: "message" | "click";
  returnOn: "click" | "reply" | "conversion" | "any";
  timeZone: string;
  from: number;
  to: number;
  /** Contacts of these campaigns (any when empty) and of this variant (any when null) only. */
  campaignIds?: string[];
  variant?: string | null;
};

export function expectedRetention(sim: Sim, q: RetentionCase, now: number) {
  const campaignIds = q.campaignIds ?? [];
  const variant = q.variant ?? null;
  const scoped = campaignIds.length > 0 || variant !== null;
  const inScope = (s: Scope) =>
    !scoped ||
    (s.campaign !== null &&
      (campaignIds.length === 0 || campaignIds.includes(s.campaign)) &&
      (variant === null || s.variant === variant));
  const index = (ms: number) => bruteIndex(ms, q.period, q.timeZone);
  const startOf = (i: number) => bruteStart(i, q.period, q.timeZone);
  const firstStart = new Map<string, number>();
  const starts =
    q.start === "message"
      ? [...sim.messages.values()].filter(inScope).map((m) => ({ contact: m.contact, at: Math.min(...m.times) }))
      : sim.clicks.filter((c) => c.human && c.contact && inScope(c)).map((c) => ({ contact: c.contact!, at: c.at }));
  for (const s of starts) firstStart.set(s.contact, Math.min(s.at, firstStart.get(s.contact) ?? Infinity));
  const returns = [
    ...(q.returnOn === "click" || q.returnOn === "any" ? sim.clicks.filter((c) => c.human && c.contact) : []),
    ...(q.returnOn === "reply" || q.returnOn === "any" ? sim.replies : []),
    ...(q.returnOn === "conversion" || q.returnOn === "any" ? sim.conversions : []),
  ];
  const members = new Map<number, string[]>();
  for (const [contact, first] of firstStart) {
    const cohort = index(first);
    if (startOf(cohort) < q.from || startOf(cohort) >= q.to) continue;
    members.set(cohort, [...(members.get(cohort) ?? []), contact]);
  }
  const cohorts = [...members.keys()]
    .sort((a, b) => a - b)
    .map((cohort) => {
      const contacts = members.get(cohort)!;
      const values = [];
      for (let k = 0; k < q.periods && (k === 0 || startOf(cohort + k) <= now); k++) {
        const back = contacts.filter((c) => returns.some((e) => e.contact === c && index(e.at) === cohort + k));
        const count = k === 0 ? contacts.length : back.length;
        values.push({ period: k, count, rate: count / contacts.length, inProgress: now < startOf(cohort + k + 1) });
      }
      return { start: startOf(cohort), size: contacts.length, values };
    });
  const average = Array.from({ length: q.periods }, (_, k) => {
    const complete = cohorts.filter((c) => c.values[k] && !c.values[k].inProgress);
    const size = complete.reduce((n, c) => n + c.size, 0);
    return { period: k, rate: size === 0 ? null : complete.reduce((n, c) => n + c.values[k].count, 0) / size };
  });
  return { cohorts, average };
}

export function expectedRetentionRate(sim: Sim, from: number, to: number): number | null {
  const events = [...sim.clicks.filter((c) => c.human && c.contact), ...sim.replies, ...sim.conversions] as {
    contact: string;
    at: number;
  }[];
  const activeIn = (a: number, b: number) => new Set(events.filter((e) => e.at >= a && e.at < b).map((e) => e.contact));
  const previous = activeIn(from - (to - from), from);
  const current = activeIn(from, to);
  return previous.size === 0 ? null : [...previous].filter((c) => current.has(c)).length / previous.size;
}
