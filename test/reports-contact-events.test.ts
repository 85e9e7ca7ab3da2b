import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventMetrics, responseTimes } from "../src/reports/contact-events";
import { reportFilter } from "../src/reports/range";
import { applied, callJson, callWorker, createCampaign, createLink, createWorkspace } from "./helpers";

const SECOND = 1000;
const MIN = 60_000;
const QUARTER = 15 * MIN;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const A = "16505550001";
const BROWSER_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const B = "16505550002";

type Range = { from?: string; to?: string; campaignId?: string[]; variant?: string; timezone?: string };

function filterOf(workspaceId: string, range: Range) {
  return reportFilter(workspaceId, { timezone: "UTC", ...range });
}

function between(workspaceId: string, from: number, to: number, more: Omit<Range, "from" | "to"> = {}) {
  return filterOf(workspaceId, { from: iso(from), to: iso(to), ...more });
}

type EventInit = { type: string; contact?: string; campaignId?: string; value?: number; at: number };

async function postEvents(key: string, events: EventInit[]) {
  const body = {
    events: events.map(({ at, contact, ...e }) => ({ ...e, contact: contact ?? `+${A}`, occurredAt: iso(at) })),
  };
  const res = await callJson("/api/v1/events", { key, body });
  expect(res).toMatchObject({ status: 201, body: { accepted: events.length } });
}

type MessageInit = { id: string; phone: string; sentAt: number };

async function register(key: string, messages: MessageInit[]) {
  const body = { messages: messages.map((m) => ({ id: m.id, contact: `+${m.phone}`, sentAt: iso(m.sentAt) })) };
  const res = await callJson("/api/v1/messages", { key, body });
  expect(res.status).toBe(200);
}

type StatusInit = { id: string; status: string; phone: string; at: number; biz?: string };
type InboundInit = { id: string; phone: string | null; at: number };

/** Relays one webhook body with statuses of business messages and contacts' messages to the business. */
async function relay(key: string, statuses: StatusInit[], inbound: InboundInit[]) {
  const value = {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
    statuses: statuses.map((s) => ({
      id: s.id,
      status: s.status,
      timestamp: String(s.at / SECOND),
      recipient_id: s.phone,
      ...(s.biz ? { biz_opaque_callback_data: s.biz } : {}),
    })),
    messages: inbound.map((m) => ({
      id: m.id,
      ...(m.phone ? { from: m.phone } : {}),
      timestamp: String(m.at / SECOND),
      type: "text",
      text: { body: "Hello?" },
    })),
  };
  const body = { object: "whatsapp_business_account", entry: [{ id: "1", changes: [{ field: "messages", value }] }] };
  const res = await callJson("/api/v1/statuses", { key, body });
  expect(res).toMatchObject({ status: 200, body: { skipped: 0 } });
}

async function respondedAt(workspaceId: string): Promise<Record<string, number | null>> {
  const { results } = await (
    await applied()
  )
    .prepare("SELECT id, responded_at FROM inbound_messages WHERE workspace_id = ?1")
    .bind(workspaceId)
    .all<{ id: string; responded_at: number | null }>();
  return Object.fromEntries(results.map((r) => [r.id, r.responded_at]));
}

async function firstClickAt(linkId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT MIN(occurred_at) AS at FROM clicks WHERE link_id = ?1 AND kind = 'click'")
    .bind(linkId)
    .first<{ at: number | null }>();
  if (!row?.at) throw new Error("the click was not recorded");
  return row.at;
}

async function reportAt(workspaceId: string, messageId: string) {
  return (await applied())
    .prepare("SELECT report_at FROM messages WHERE workspace_id = ?1 AND id = ?2")
    .bind(workspaceId, messageId)
    .first<number>("report_at");
}

describe("eventMetrics", () => {
  it("averages CSAT answers and rates bot resolutions against escalations, ignoring custom events", async () => {
    const { workspace, adminKey } = await createWorkspace();
    await postEvents(adminKey, [
      { type: "csat", value: 5, at: T0 },
      { type: "csat", value: 4, at: T0 + MIN },
      { type: "csat", value: 4, at: T0 + 2 * MIN, contact: `+${B}` },
      { type: "csat", value: 1, at: T0 + 3 * MIN },
      { type: "bot_resolved", at: T0 },
      { type: "bot_resolved", at: T0 + MIN },
      { type: "bot_resolved", at: T0 + 2 * MIN },
      { type: "escalated", at: T0 + 3 * MIN },
      { type: "agent_resolved", at: T0 + 4 * MIN },
      { type: "agent_resolved", at: T0 + 5 * MIN },
      { type: "order_tracked", value: 3, at: T0 },
      { type: "csat", value: 1, at: T0 + DAY },
      { type: "escalated", at: T0 - DAY },
    ]);

    expect(await eventMetrics(await applied(), between(workspace.id, T0, T0 + QUARTER))).toEqual({
      csat: { average: 3.5, responses: 4 },
      chatbot: { selfResolutionRate: 0.75, escalationRate: 0.25, botResolved: 3, escalated: 1, agentResolved: 2 },
    });
    expect(await eventMetrics(await applied(), filterOf(workspace.id, {}))).toEqual({
      csat: { average: 3, responses: 5 },
      chatbot: { selfResolutionRate: 0.6, escalationRate: 0.4, botResolved: 3, escalated: 2, agentResolved: 2 },
    });
  });

  it("answers null averages and rates when nothing was answered or resolved", async () => {
    const { workspace, adminKey } = await createWorkspace();
    await postEvents(adminKey, [{ type: "agent_resolved", at: T0 }]);
    expect(await eventMetrics(await applied(), between(workspace.id, T0, T0 + DAY))).toEqual({
      csat: { average: null, responses: 0 },
      chatbot: { selfResolutionRate: null, escalationRate: null, botResolved: 0, escalated: 0, agentResolved: 1 },
    });
  });

  it("counts every posted event, also one sent twice (events carry no idempotency key), and no other workspace's", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const other = await createWorkspace();
    const answer = { type: "csat", value: 2, at: T0 };
    await postEvents(adminKey, [answer]);
    await postEvents(adminKey, [answer, { type: "csat", value: 5, at: T0 }]);
    await postEvents(other.adminKey, [{ type: "csat", value: 5, at: T0 }]);
    const { csat } = await eventMetrics(await applied(), between(workspace.id, T0, T0 + QUARTER));
    expect(csat).toEqual({ average: 3, responses: 3 });
  });

  it("filters by campaign: events without one match no campaign, and a variant filter does not apply", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const spring = await createCampaign(adminKey, { variants: ["A", "B"] });
    const autumn = await createCampaign(adminKey, { name: "Autumn" });
    await postEvents(adminKey, [
      { type: "csat", value: 5, campaignId: spring.id, at: T0 },
      { type: "bot_resolved", campaignId: spring.id, at: T0 },
      { type: "csat", value: 2, campaignId: autumn.id, at: T0 },
      { type: "escalated", campaignId: autumn.id, at: T0 },
      { type: "csat", value: 1, at: T0 },
      { type: "escalated", at: T0 },
    ]);
    const of = async (more: Omit<Range, "from" | "to">) =>
      eventMetrics(await applied(), between(workspace.id, T0, T0 + DAY, more));

    expect(await of({ campaignId: [spring.id] })).toEqual({
      csat: { average: 5, responses: 1 },
      chatbot: { selfResolutionRate: 1, escalationRate: 0, botResolved: 1, escalated: 0, agentResolved: 0 },
    });
    expect(await of({ campaignId: [spring.id], variant: "A" })).toEqual(await of({ campaignId: [spring.id] }));
    expect((await of({ campaignId: [spring.id, autumn.id] })).csat).toEqual({ average: 3.5, responses: 2 });
    expect((await of({ campaignId: ["cmp_unknown"] })).csat).toEqual({ average: null, responses: 0 });
    expect(await of({})).toEqual({
      csat: { average: 8 / 3, responses: 3 },
      chatbot: { selfResolutionRate: 1 / 3, escalationRate: 2 / 3, botResolved: 1, escalated: 2, agentResolved: 0 },
    });
  });
});

describe("responseTimes", () => {
  it("measures each inbound message to the business's next message to that contact, in any order of arrival", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const day = between(workspace.id, Date.UTC(2026, 5, 1), Date.UTC(2026, 5, 2));

    // The answer is registered after the message it answers, and one inbound message has no contact.
    await relay(adminKey, [], [{ id: "wamid.a1", phone: A, at: T0 }]);
    await register(adminKey, [{ id: "wamid.m1", phone: A, sentAt: T0 + 2 * MIN }]);
    await relay(adminKey, [], [{ id: "wamid.anonymous", phone: null, at: T0 + 5 * MIN }]);
    // Here the answer is known first.
    await register(adminKey, [{ id: "wamid.m2", phone: A, sentAt: T0 + 15 * MIN }]);
    await relay(adminKey, [], [{ id: "wamid.a2", phone: A, at: T0 + 10 * MIN }]);
    await relay(adminKey, [], [{ id: "wamid.a3", phone: A, at: T0 + 11 * MIN }]);
    expect(await responseTimes(await applied(), day)).toEqual({
      avgResponseTimeSeconds: 220,
      inbound: 4,
      responded: 3,
    });

    // A message first seen delivered, then registered with an earlier send time: the answer moves earlier.
    await relay(adminKey, [{ id: "wamid.m3", status: "delivered", phone: A, at: T0 + 40 * MIN }], []);
    await relay(adminKey, [], [{ id: "wamid.a4", phone: A, at: T0 + 30 * MIN }]);
    expect((await respondedAt(workspace.id))["wamid.a4"]).toBe(T0 + 40 * MIN);
    await register(adminKey, [{ id: "wamid.m3", phone: A, sentAt: T0 + 35 * MIN }]);
    expect((await respondedAt(workspace.id))["wamid.a4"]).toBe(T0 + 35 * MIN);

    // A message that turns out to have been sent before the inbound message no longer answers it.
    await relay(adminKey, [{ id: "wamid.m4", status: "read", phone: A, at: T0 + 60 * MIN }], []);
    await relay(adminKey, [], [{ id: "wamid.a5", phone: A, at: T0 + 50 * MIN }]);
    expect((await respondedAt(workspace.id))["wamid.a5"]).toBe(T0 + 60 * MIN);
    await relay(adminKey, [{ id: "wamid.m4", status: "sent", phone: A, at: T0 + 45 * MIN }], []);
    expect((await respondedAt(workspace.id))["wamid.a5"]).toBeNull();

    // A message seen by status as sent to B is registered as sent to A: B loses its answer, A gains one.
    await relay(adminKey, [], [{ id: "wamid.b1", phone: B, at: T0 + 20 * MIN }]);
    await relay(adminKey, [{ id: "wamid.m5", status: "sent", phone: B, at: T0 + 32 * MIN }], []);
    expect((await respondedAt(workspace.id))["wamid.b1"]).toBe(T0 + 32 * MIN);
    await register(adminKey, [{ id: "wamid.m5", phone: A, sentAt: T0 + 32 * MIN }]);

    // Repeated deliveries and registrations change nothing.
    await relay(adminKey, [{ id: "wamid.m3", status: "delivered", phone: A, at: T0 + 40 * MIN }], []);
    await relay(adminKey, [], [{ id: "wamid.a1", phone: A, at: T0 }]);
    await register(adminKey, [{ id: "wamid.m1", phone: A, sentAt: T0 + 2 * MIN }]);

    expect(await respondedAt(workspace.id)).toEqual({
      "wamid.a1": T0 + 2 * MIN,
      "wamid.anonymous": null,
      "wamid.a2": T0 + 15 * MIN,
      "wamid.a3": T0 + 15 * MIN,
      "wamid.a4": T0 + 32 * MIN,
      "wamid.a5": null,
      "wamid.b1": null,
    });
    expect(await responseTimes(await applied(), day)).toEqual({
      avgResponseTimeSeconds: (120 + 300 + 240 + 120) / 4,
      inbound: 7,
      responded: 4,
    });
  });

  it("places a message registered after its link was clicked at the click, which then answers", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: `+${A}`, messageId: "wamid.clicked" });
    await callWorker(`/${link.code}`, { headers: { "user-agent": BROWSER_UA } });
    const clickedAt = await firstClickAt(link.id);
    const second = Math.floor(clickedAt / SECOND) * SECOND;
    await relay(
      adminKey,
      [],
      [
        { id: "wamid.before-click", phone: A, at: second - MIN },
        { id: "wamid.after-click", phone: A, at: second + 30 * MIN },
      ],
    );
    // Registered as sent an hour after the click: the click is the message's earliest known step.
    await register(adminKey, [{ id: "wamid.clicked", phone: A, sentAt: second + 60 * MIN }]);

    expect(await reportAt(workspace.id, "wamid.clicked")).toBe(clickedAt);
    expect(await respondedAt(workspace.id)).toEqual({ "wamid.before-click": clickedAt, "wamid.after-click": null });
  });

  it("moves the answer when a registration names the contact whose own link was clicked earlier", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { contact: `+${A}` });
    await callWorker(`/${link.code}`, { headers: { "user-agent": BROWSER_UA } });
    const clickedAt = await firstClickAt(link.id);
    const second = Math.floor(clickedAt / SECOND) * SECOND;
    // Statuses name B as the recipient; the click on A's link does not belong to a message to B.
    await relay(
      adminKey,
      [{ id: "wamid.moved", status: "delivered", phone: B, at: second + 60 * MIN, biz: link.code }],
      [
        { id: "wamid.from-b", phone: B, at: second - MIN },
        { id: "wamid.a-before", phone: A, at: second - MIN },
        { id: "wamid.a-between", phone: A, at: second + 30 * MIN },
      ],
    );
    expect(await respondedAt(workspace.id)).toEqual({
      "wamid.from-b": second + 60 * MIN,
      "wamid.a-before": null,
      "wamid.a-between": null,
    });

    await register(adminKey, [{ id: "wamid.moved", phone: A, sentAt: second + 120 * MIN }]);
    expect(await reportAt(workspace.id, "wamid.moved")).toBe(clickedAt);
    expect(await respondedAt(workspace.id)).toEqual({
      "wamid.from-b": null,
      "wamid.a-before": clickedAt,
      "wamid.a-between": null,
    });
  });

  it("does not count a message sent at the same second as the inbound message as its answer", async () => {
    const { workspace, adminKey } = await createWorkspace();
    await register(adminKey, [{ id: "wamid.same", phone: A, sentAt: T0 }]);
    await relay(adminKey, [], [{ id: "wamid.in", phone: A, at: T0 }]);
    await register(adminKey, [{ id: "wamid.later", phone: A, sentAt: T0 + 1500 }]);
    expect(await responseTimes(await applied(), between(workspace.id, T0, T0 + QUARTER))).toEqual({
      avgResponseTimeSeconds: 1.5,
      inbound: 1,
      responded: 1,
    });
  });

  it("is workspace-wide: campaign and variant filters do not apply, other workspaces do not count", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const other = await createWorkspace();
    await relay(adminKey, [], [{ id: "wamid.in", phone: A, at: T0 }]);
    await register(adminKey, [{ id: "wamid.out", phone: A, sentAt: T0 + MIN }]);
    await relay(other.adminKey, [], [{ id: "wamid.in", phone: A, at: T0 }]);
    const expected = { avgResponseTimeSeconds: 60, inbound: 1, responded: 1 };
    expect(await responseTimes(await applied(), between(workspace.id, T0, T0 + DAY))).toEqual(expected);
    const filtered = between(workspace.id, T0, T0 + DAY, { campaignId: ["cmp_x"], variant: "A" });
    expect(await responseTimes(await applied(), filtered)).toEqual(expected);
    expect(await responseTimes(await applied(), between(workspace.id, T0 + QUARTER, T0 + DAY))).toEqual({
      avgResponseTimeSeconds: null,
      inbound: 0,
      responded: 0,
    });
  });
});

describe("report ranges", () => {
  // Times on both sides of quarter-hour and day edges; inbound times are whole seconds, as in webhooks.
  const D = Date.UTC(2026, 5, 2);
  const TIMES = [D - QUARTER - SECOND, D - SECOND, D, D + QUARTER - SECOND, D + QUARTER, D + DAY - SECOND, D + DAY];

  it.each([
    ["one quarter hour", D, D + QUARTER],
    ["the quarter hour before midnight", D - QUARTER, D],
    ["one whole day", D, D + DAY],
    ["a day and the quarter hours around it", D - QUARTER, D + DAY + QUARTER],
    ["a day without its first quarter hour", D + QUARTER, D + DAY],
    ["two days", D - DAY, D + DAY],
  ])("counts what happened in %s, from included, to excluded", async (_, from, to) => {
    const { workspace, adminKey } = await createWorkspace();
    await postEvents(
      adminKey,
      TIMES.map((at, i) => ({ type: "csat", value: (i % 5) + 1, at })),
    );
    await relay(
      adminKey,
      [],
      TIMES.map((at, i) => ({ id: `wamid.in-${i}`, phone: A, at })),
    );
    await register(adminKey, [{ id: "wamid.out", phone: A, sentAt: D + 2 * DAY }]);

    const inside = TIMES.map((at, i) => ({ at, value: (i % 5) + 1 })).filter(({ at }) => at >= from && at < to);
    const filter = between(workspace.id, from, to);
    expect(await eventMetrics(await applied(), filter)).toMatchObject({
      csat: { average: inside.reduce((sum, e) => sum + e.value, 0) / inside.length, responses: inside.length },
    });
    expect(await responseTimes(await applied(), filter)).toEqual({
      avgResponseTimeSeconds: inside.reduce((sum, e) => sum + (D + 2 * DAY - e.at), 0) / 1000 / inside.length,
      inbound: inside.length,
      responded: inside.length,
    });
  });

  it("cuts a date-only range at local midnight of the time zone", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const localMidnight = D - (5 * 60 + 45) * MIN;
    await postEvents(adminKey, [
      { type: "bot_resolved", at: localMidnight - SECOND },
      { type: "bot_resolved", at: localMidnight },
      { type: "escalated", at: localMidnight + DAY - SECOND },
      { type: "escalated", at: localMidnight + DAY },
    ]);
    const filter = filterOf(workspace.id, { from: "2026-06-02", to: "2026-06-02", timezone: "Asia/Kathmandu" });
    expect((await eventMetrics(await applied(), filter)).chatbot).toEqual({
      selfResolutionRate: 0.5,
      escalationRate: 0.5,
      botResolved: 1,
      escalated: 1,
      agentResolved: 0,
    });
  });
});

/** mulberry32: a small seeded PRNG, so that a failing history can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Write =
  | { kind: "events"; events: EventInit[] }
  | { kind: "register"; message: MessageInit }
  | { kind: "webhook"; statuses: StatusInit[]; inbound: InboundInit[] };

type MessageState = { phone: string | null; registered: boolean; reportAt: number };

/** A message's contact and report time after the writes, by the rules of registration and statuses. */
function applyToMessages(writes: Write[]): Map<string, MessageState> {
  const messages = new Map<string, MessageState>();
  const stateOf = (id: string) => {
    let state = messages.get(id);
    if (!state) messages.set(id, (state = { phone: null, registered: false, reportAt: Infinity }));
    return state;
  };
  for (const write of writes) {
    // The first registration names the contact and the send time; a repeated one changes nothing.
    if (write.kind === "register" && !stateOf(write.message.id).registered) {
      const state = stateOf(write.message.id);
      state.registered = true;
      state.phone = write.message.phone;
      state.reportAt = Math.min(state.reportAt, write.message.sentAt);
    }
    // A status only fills a contact that is not known yet; each can move the message earlier.
    for (const status of write.kind === "webhook" ? write.statuses : []) {
      const state = stateOf(status.id);
      state.phone ??= status.phone;
      state.reportAt = Math.min(state.reportAt, status.at);
    }
  }
  return messages;
}

describe("eventMetrics and responseTimes on random histories", () => {
  const START = Date.UTC(2026, 5, 1);
  const PHONES = ["16505550001", "16505550002", "16505550003", "16505550004"];

  function randomHistory(random: () => number, campaigns: string[]): Write[] {
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T>(items: T[]) => items[int(items.length)];
    // A few moments on a five-minute grid over three days: many times fall on quarter-hour edges,
    // and inbound messages often tie with business messages to the same contact.
    const moments = Array.from({ length: 40 }, () => START + int((3 * DAY) / (5 * MIN)) * 5 * MIN);
    const time = () => pick(moments) + (random() < 0.3 ? int(300) * SECOND : 0);
    const writes: Write[] = [];
    for (let i = 0; i < 15; i++) {
      const events = Array.from({ length: 1 + int(4) }, () => {
        const type = pick(["csat", "csat", "bot_resolved", "escalated", "agent_resolved", "order_tracked"]);
        const campaignId = pick([...campaigns, undefined]);
        const value = type === "csat" ? 1 + int(5) : type === "order_tracked" ? 2.5 : undefined;
        return { type, at: time() + (random() < 0.3 ? int(1000) : 0), campaignId, value };
      });
      writes.push({ kind: "events", events });
    }
    const items: ({ status: StatusInit } | { inbound: InboundInit })[] = [];
    for (let i = 0; i < 40; i++) {
      items.push({ inbound: { id: `wamid.in-${i}`, phone: random() < 0.1 ? null : pick(PHONES), at: time() } });
    }
    for (let i = 0; i < 30; i++) {
      const id = `wamid.out-${i}`;
      const phone = pick(PHONES);
      const registered = random() < 0.7;
      if (registered) writes.push({ kind: "register", message: { id, phone, sentAt: time() } });
      for (let s = registered ? int(3) : 1 + int(3); s > 0; s--) {
        const status = pick(["sent", "delivered", "read", "failed"]);
        items.push({ status: { id, status, phone: random() < 0.15 ? pick(PHONES) : phone, at: time() } });
      }
    }
    for (let i = 0; i < items.length;) {
      const size = 1 + int(3);
      const batch = items.slice(i, i + size);
      i += size;
      writes.push({
        kind: "webhook",
        statuses: batch.flatMap((item) => ("status" in item ? [item.status] : [])),
        inbound: batch.flatMap((item) => ("inbound" in item ? [item.inbound] : [])),
      });
    }
    for (let i = writes.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [writes[i], writes[j]] = [writes[j], writes[i]];
    }
    // Replays of earlier writes, at later positions.
    for (let n = Math.floor(writes.length * 0.15); n > 0; n--) {
      const at = 1 + int(writes.length - 1);
      writes.splice(at, 0, writes[int(at)]);
    }
    return writes;
  }

  async function write(key: string, w: Write) {
    if (w.kind === "events") await postEvents(key, w.events);
    if (w.kind === "register") await register(key, [w.message]);
    if (w.kind === "webhook") await relay(key, w.statuses, w.inbound);
  }

  function expectedEvents(writes: Write[], from: number, to: number, campaignIds: string[]) {
    const events = writes
      .flatMap((w) => (w.kind === "events" ? w.events : []))
      .filter((e) => e.at >= from && e.at < to)
      .filter((e) => campaignIds.length === 0 || (e.campaignId !== undefined && campaignIds.includes(e.campaignId)));
    const count = (type: string) => events.filter((e) => e.type === type).length;
    const answers = events.filter((e) => e.type === "csat");
    const [botResolved, escalated] = [count("bot_resolved"), count("escalated")];
    const rated = botResolved + escalated;
    return {
      csat: {
        average: answers.length ? answers.reduce((sum, e) => sum + (e.value ?? 0), 0) / answers.length : null,
        responses: answers.length,
      },
      chatbot: {
        selfResolutionRate: rated ? botResolved / rated : null,
        escalationRate: rated ? escalated / rated : null,
        botResolved,
        escalated,
        agentResolved: count("agent_resolved"),
      },
    };
  }

  /** Each inbound message's answer: the earliest message to its contact strictly after it. */
  function expectedAnswers(writes: Write[]): Map<string, { at: number; respondedAt: number | null }> {
    const messages = [...applyToMessages(writes).values()];
    const answers = new Map<string, { at: number; respondedAt: number | null }>();
    for (const m of writes.flatMap((w) => (w.kind === "webhook" ? w.inbound : []))) {
      if (answers.has(m.id)) continue;
      const later = messages.filter((s) => m.phone !== null && s.phone === m.phone && s.reportAt > m.at);
      answers.set(m.id, { at: m.at, respondedAt: later.length ? Math.min(...later.map((s) => s.reportAt)) : null });
    }
    return answers;
  }

  function expectedResponses(
    answers: Map<string, { at: number; respondedAt: number | null }>,
    from: number,
    to: number,
  ) {
    const inside = [...answers.values()].filter((a) => a.at >= from && a.at < to);
    const delays = inside.flatMap((a) => (a.respondedAt === null ? [] : [a.respondedAt - a.at]));
    return {
      avgResponseTimeSeconds: delays.length ? delays.reduce((sum, ms) => sum + ms, 0) / 1000 / delays.length : null,
      inbound: inside.length,
      responded: delays.length,
    };
  }

  it.each([1, 2, 3, 4])("matches a brute-force count over the written history (seed %i)", async (seed) => {
    const random = prng(seed);
    const { workspace, adminKey } = await createWorkspace();
    const campaigns = [(await createCampaign(adminKey)).id, (await createCampaign(adminKey)).id];
    const writes = randomHistory(random, campaigns);
    for (const w of writes) await write(adminKey, w);

    const answers = expectedAnswers(writes);
    expect(await respondedAt(workspace.id)).toEqual(
      Object.fromEntries([...answers].map(([id, a]) => [id, a.respondedAt])),
    );
    const busy = Math.floor([...answers.values()][0].at / QUARTER) * QUARTER;
    const firstEvent = writes.flatMap((w) => (w.kind === "events" ? w.events : []))[0];
    const eventQuarter = Math.floor(firstEvent.at / QUARTER) * QUARTER;
    const ranges: [string, Range][] = [
      ["everything", {}],
      ["the quarter hour of an inbound message", { from: iso(busy), to: iso(busy + QUARTER) }],
      ["quarter hours around a day", { from: iso(START + 75 * MIN), to: iso(START + DAY + 165 * MIN) }],
      ["one UTC day", { from: iso(START + DAY), to: iso(START + 2 * DAY) }],
      ["the quarter hour of an event", { from: iso(eventQuarter), to: iso(eventQuarter + QUARTER) }],
      ["a local day", { from: "2026-06-02", to: "2026-06-02", timezone: "Asia/Kathmandu" }],
    ];
    for (const [name, range] of ranges) {
      const filter = filterOf(workspace.id, range);
      for (const campaignIds of [[], [campaigns[0]], campaigns]) {
        const filtered = { ...filter, campaignIds, variant: campaignIds.length ? "A" : null };
        expect(await eventMetrics(await applied(), filtered), `${name}, campaigns ${campaignIds}`).toEqual(
          expectedEvents(writes, filter.from, filter.to, campaignIds),
        );
      }
      expect(await responseTimes(await applied(), filter), name).toEqual(
        expectedResponses(answers, filter.from, filter.to),
      );
    }
  });
});
