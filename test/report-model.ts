import { contactCountry } from "../src/lib/contact";
import type { Random } from "./random";

/**
 * Random WhatsApp campaign histories and a brute-force model of what the message reports must say
 * about them, computed from the raw events alone.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The funnel's windows: a message counts as clicked or converted within one when its delay is at most its length. */
export const FUNNEL_WINDOWS = {
  "1h": HOUR,
  "6h": 6 * HOUR,
  "1d": DAY,
  "3d": 3 * DAY,
  "7d": 7 * DAY,
  "14d": 14 * DAY,
  "30d": 30 * DAY,
} as const;
export type FunnelWindow = keyof typeof FUNNEL_WINDOWS;
const EDGES = Object.values(FUNNEL_WINDOWS);

export type SimMessage = {
  id: string;
  contact: string;
  registered: boolean;
  campaignId: string | null;
  variant: string | null;
  linkKind: "message" | "contact" | null;
  linkCode: string | null;
  category: string | null;
  sentAt: number;
  // `billable` is deprecated by Meta and must not matter: a message is charged when `type` is `regular`.
  pricing: { billable: boolean; type: string; category: string; pricing_model: string } | null;
};
export type SimStatus = {
  messageId: string;
  status: "sent" | "delivered" | "read" | "failed";
  at: number;
  errors?: { code: number; title: string }[];
};
export type SimClick = {
  id: string;
  linkCode: string;
  messageId: string | null;
  human: boolean;
  device: string | null;
  at: number;
};
export type SimConversion = { clickId: string; orderId: string; value: number; currency: string; at: number };
export type SimReply = { id: string; contact: string; contextId: string | null; at: number };

export type History = {
  messages: SimMessage[];
  statuses: SimStatus[];
  clicks: SimClick[];
  conversions: SimConversion[];
  replies: SimReply[];
};

const CONTACTS = [
  "+14155550101",
  "+14155550102",
  "+447700900123",
  "+447700900456",
  "+4915123456789",
  "+919876543210",
  "+5511987654321",
  "+34612345678",
];
const whole = (ms: number) => Math.floor(ms / SECOND) * SECOND;

/** A history of `size` messages sent from `start` over three days, with what followed them. */
export function randomHistory(
  random: Random,
  size: number,
  start: number,
  campaigns: { id: string; variants: string[] }[],
): History {
  const history: History = { messages: [], statuses: [], clicks: [], conversions: [], replies: [] };
  for (let i = 0; i < size; i++) {
    const registered = random.chance(0.85);
    const campaign = registered ? random.pick([...campaigns, null]) : null;
    const linkKind = registered ? random.pick(["message", "message", "contact", null] as const) : null;
    const m: SimMessage = {
      id: `wamid.${i}.${random.between(0, 1e9)}`,
      contact: random.pick(CONTACTS),
      registered,
      campaignId: campaign?.id ?? null,
      variant: campaign && campaign.variants.length > 0 ? random.pick(campaign.variants) : null,
      linkKind,
      linkCode: null,
      category: registered ? random.pick(["marketing", "utility", null]) : null,
      // Broadcasts send many messages in the same second: ties in time are ordered by id.
      sentAt:
        history.messages.length > 0 && random.chance(0.2)
          ? random.pick(history.messages).sentAt
          : whole(start + random.between(0, 3 * DAY)),
      pricing: random.chance(0.5)
        ? {
            billable: random.chance(0.7),
            type: random.pick(["regular", "regular", "free_customer_service", "free_entry_point"]),
            category: random.pick(["marketing", "utility", "service"]),
            pricing_model: "PMP",
          }
        : null,
    };
    history.messages.push(m);
    const status = (s: SimStatus["status"], at: number, errors?: SimStatus["errors"]) => {
      history.statuses.push({ messageId: m.id, status: s, at: whole(at), ...(errors ? { errors } : {}) });
      if (random.chance(0.2))
        history.statuses.push({ messageId: m.id, status: s, at: whole(at), ...(errors ? { errors } : {}) });
    };
    if (!registered || random.chance(0.6)) status("sent", m.sentAt + random.between(0, 5) * SECOND);
    const fails = random.chance(0.25);
    if (fails) {
      // Limited (131049) and experiment (130472) are outcomes of their own; other errors are failures.
      const code = random.pick([131049, 130472, 131026]);
      status("failed", m.sentAt + random.between(1, 60) * SECOND, [{ code, title: `Error ${code}` }]);
    }
    // Now and then a failed message is delivered after all, and counts as delivered.
    if (random.chance(fails ? 0.2 : 0.7)) status("delivered", m.sentAt + random.between(10, 600) * SECOND);
    if (random.chance(fails ? 0.1 : 0.45)) status("read", m.sentAt + random.between(1, 48 * 60) * MINUTE);
    if (linkKind && random.chance(0.5)) {
      for (let c = random.between(1, 3); c > 0; c--) {
        const click: SimClick = {
          id: `clk${i}x${c}x${random.between(0, 1e9)}`,
          linkCode: "",
          messageId: linkKind === "message" ? m.id : null,
          human: random.chance(0.85),
          device: random.pick(["mobile", "desktop", "tablet", null]),
          // A third of the clicks lie exactly on a window's edge (or a millisecond past it), where
          // "within the window" is decided.
          at: random.chance(0.35)
            ? m.sentAt + random.pick(EDGES) + random.pick([0, 0, 1])
            : m.sentAt +
              random.pick([-2 * MINUTE, 30 * SECOND, 20 * MINUTE, 5 * HOUR, 2 * DAY, 10 * DAY, 40 * DAY]) +
              random.between(0, 59) * SECOND,
        };
        history.clicks.push(click);
        if (click.human && random.chance(0.5)) {
          // Conversions on an edge too, where one can follow the click within the attribution window.
          const edges = EDGES.filter((e) => e >= click.at - m.sentAt && e - (click.at - m.sentAt) < 7 * DAY);
          history.conversions.push({
            clickId: click.id,
            orderId: `order-${click.id}`,
            value: random.between(100, 99_999) / 100,
            currency: random.chance(0.8) ? "EUR" : "USD",
            at:
              edges.length > 0 && random.chance(0.35)
                ? m.sentAt + random.pick(edges) + random.pick([0, 0, 1])
                : click.at + random.between(0, 2 * 24 * 60) * MINUTE,
          });
        }
      }
    }
    if (random.chance(0.4)) {
      history.replies.push({
        id: `wamid.in.${i}.${random.between(0, 1e9)}`,
        contact: m.contact,
        contextId: random.chance(0.5) ? m.id : null,
        // Some on a response window's edge (or a second past it), where "within the window" is decided.
        at: random.chance(0.3)
          ? m.sentAt + random.pick([1, 24, 72]) * HOUR + random.pick([0, 0, SECOND])
          : whole(m.sentAt + random.between(0, 8 * 24 * 60) * MINUTE),
      });
    }
  }
  return history;
}

export type ModelMessage = {
  id: string;
  contact: string;
  campaignId: string | null;
  variant: string | null;
  country: string | null;
  device: string | null;
  category: string | null;
  reportAt: number;
  sentObserved: boolean;
  deliveredObserved: boolean;
  readObserved: boolean;
  failed: boolean;
  engagedAt: number | null;
  convertedAt: number | null;
  repliedAt: number | null;
  revenueMicros: number;
  /** The revenue's currency when all of the message's conversions have the same one. */
  revenueCurrency: string | null;
  /** The first error code of its failed status. */
  errorCode: number | null;
  charged: boolean;
  pricingCategory: string;
};

const earliest = (times: number[]) => (times.length > 0 ? Math.min(...times) : null);

/** Every message's joined state, from the raw events and the rules of SPEC §7 and §9. */
export function modelMessages(h: History, linkContact: Map<string, string | null>): ModelMessage[] {
  const model = h.messages.map((m) => {
    const times = (s: SimStatus["status"]) =>
      h.statuses.filter((x) => x.messageId === m.id && x.status === s).map((x) => x.at);
    const sent = earliest([...(m.registered ? [m.sentAt] : []), ...times("sent")]);
    const delivered = earliest(times("delivered"));
    const read = earliest(times("read"));
    const failed = earliest(times("failed"));
    const failure = h.statuses.find((x) => x.messageId === m.id && x.status === "failed");
    const ownLink = m.linkCode !== null && linkContact.get(m.linkCode) === m.contact;
    const belongs = (c: SimClick) => c.messageId === m.id || (ownLink && c.linkCode === m.linkCode);
    const clicks = h.clicks.filter((c) => c.human && belongs(c)).sort((a, b) => a.at - b.at);
    const firstClick = clicks[0];
    const firstDevices = clicks.filter((c) => c.at === firstClick?.at).map((c) => c.device ?? "");
    const conversions = h.conversions.filter((v) => {
      const click = h.clicks.find((c) => c.id === v.clickId);
      return click?.human && belongs(click);
    });
    const clickedAt = firstClick?.at ?? null;
    const convertedAt = earliest(conversions.map((v) => v.at));
    const engagedAt = earliest([clickedAt, convertedAt].filter((t): t is number => t !== null));
    // Pricing arrives with statuses only.
    const pricing = h.statuses.some((x) => x.messageId === m.id) ? m.pricing : null;
    const reportAt = earliest([sent, delivered, read, failed, clickedAt].filter((t): t is number => t !== null))!;
    return {
      id: m.id,
      contact: m.contact,
      campaignId: m.campaignId,
      variant: m.variant,
      country: contactCountry(m.contact),
      device: firstClick ? [...firstDevices].sort()[0] : null,
      category: m.category ?? pricing?.category ?? null,
      reportAt,
      sentObserved: sent !== null,
      deliveredObserved: delivered !== null,
      readObserved: read !== null,
      failed: failed !== null,
      engagedAt,
      convertedAt,
      repliedAt: null as number | null,
      revenueMicros: conversions.reduce((sum, v) => sum + Math.round(v.value * 1e6), 0),
      revenueCurrency: new Set(conversions.map((v) => v.currency)).size === 1 ? conversions[0].currency : null,
      errorCode: failure?.errors?.[0]?.code ?? null,
      charged: pricing?.type === "regular",
      pricingCategory: pricing?.category ?? m.category ?? "",
    };
  });
  // A reply names its message, or else belongs to the contact's latest message sent before it.
  for (const reply of h.replies) {
    const owner = reply.contextId
      ? model.find((m) => m.id === reply.contextId)
      : model
          .filter((m) => m.contact === reply.contact && m.reportAt <= reply.at)
          .sort((a, b) => b.reportAt - a.reportAt || (b.id > a.id ? 1 : -1))[0];
    if (owner) owner.repliedAt = owner.repliedAt === null ? reply.at : Math.min(owner.repliedAt, reply.at);
  }
  return model;
}

export type ModelTotals = {
  sent: number;
  sentInferred: number;
  delivered: number;
  deliveredInferred: number;
  read: number;
  readInferred: number;
  failed: number;
  limited: number;
  experiment: number;
  clicked: number;
  converted: number;
  replied: number;
  charged: number;
  revenueMicros: number;
  clickDelays: number[];
};

/** What a report over these messages must count, for a window in ms (and replies within `replyWindowMs`). */
export function modelTotals(messages: ModelMessage[], windowMs: number, replyWindowMs = Infinity): ModelTotals {
  const t: ModelTotals = {
    sent: 0,
    sentInferred: 0,
    delivered: 0,
    deliveredInferred: 0,
    read: 0,
    readInferred: 0,
    failed: 0,
    limited: 0,
    experiment: 0,
    clicked: 0,
    converted: 0,
    replied: 0,
    charged: 0,
    revenueMicros: 0,
    clickDelays: [],
  };
  for (const m of messages) {
    const engaged = m.engagedAt !== null;
    const read = m.readObserved || engaged;
    const delivered = m.deliveredObserved || read;
    t.sent++;
    t.sentInferred += m.sentObserved ? 0 : 1;
    t.delivered += delivered ? 1 : 0;
    t.deliveredInferred += delivered && !m.deliveredObserved ? 1 : 0;
    t.read += read ? 1 : 0;
    t.readInferred += read && !m.readObserved ? 1 : 0;
    t.failed += m.failed && !delivered ? 1 : 0;
    t.limited += m.failed && !delivered && m.errorCode === 131049 ? 1 : 0;
    t.experiment += m.failed && !delivered && m.errorCode === 130472 ? 1 : 0;
    if (m.engagedAt !== null && m.engagedAt - m.reportAt <= windowMs) {
      t.clicked++;
      t.clickDelays.push((m.engagedAt - m.reportAt) / SECOND);
    }
    t.converted += m.convertedAt !== null && m.convertedAt - m.reportAt <= windowMs ? 1 : 0;
    t.replied += m.repliedAt !== null && m.repliedAt - m.reportAt <= replyWindowMs ? 1 : 0;
    t.charged += m.charged ? 1 : 0;
    t.revenueMicros += m.revenueMicros;
  }
  return t;
}

export function lowerMedian(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1];
}

export const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

export function modelSteps(t: ModelTotals) {
  const counts = [t.sent, t.delivered, t.read, t.clicked, t.converted];
  const inferred = [t.sentInferred, t.deliveredInferred, t.readInferred];
  return ["sent", "delivered", "read", "clicked", "converted"].map((name, i) => ({
    name,
    count: counts[i],
    ...(i < 3 ? { inferred: inferred[i] } : {}),
    rateFromPrevious: ratio(counts[i], counts[Math.max(0, i - 1)]),
    rateFromFirst: ratio(counts[i], counts[0]),
  }));
}

/** Failures apart, as the funnel shows them: other errors, limited and experiment. */
export const modelOutcomes = (t: ModelTotals) => ({
  failed: t.failed - t.limited - t.experiment,
  limited: t.limited,
  experiment: t.experiment,
});

export type ModelRateCard = { currency: string; rates: { category: string; country?: string; price: string }[] };

/** A decimal price as an exact count of millionths, by its digits. */
function micros(price: string): bigint {
  const [whole, fraction = ""] = price.split(".");
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
}

/**
 * What the messages cost with this rate card: each charged message at the price for its pricing
 * category in its country, else for its category, else nothing; roas from the revenue of messages
 * whose conversions were all in the card's currency.
 */
export function modelCost(messages: ModelMessage[], card: ModelRateCard, windowMs: number) {
  let total = 0n;
  let revenue = 0;
  for (const m of messages) {
    if (m.charged) {
      const rate =
        card.rates.find((r) => r.category === m.pricingCategory && r.country === (m.country ?? "")) ??
        card.rates.find((r) => r.category === m.pricingCategory && r.country === undefined);
      total += rate ? micros(rate.price) : 0n;
    }
    if (m.revenueCurrency === card.currency) revenue += m.revenueMicros;
  }
  const t = modelTotals(messages, windowMs);
  const amount = Number(total) / 1e6;
  return {
    currency: card.currency,
    total: amount,
    perDelivered: ratio(amount, t.delivered),
    perClick: ratio(amount, t.clicked),
    perConversion: ratio(amount, t.converted),
    roas: ratio(revenue / 1e6, amount),
  };
}
