// A demo workspace for the dashboard, built only through the public API of a served Worker: two campaigns
// (one an A/B test), per-recipient links, registered messages over the last two weeks and one older batch,
// WhatsApp statuses with pricing (some limited by Meta), human clicks through the redirect, purchases on some
// of them, and a rate card. Deterministic: the same counts every run.
import { setTimeout as sleep } from "node:timers/promises";
import { metaEnvelope } from "../meta-envelope";
import { apiCaller } from "./service";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BROWSER_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

export interface DemoCampaign {
  id: string;
  name: string;
}

export interface DemoWorkspace {
  adminKey: string;
  /** A key with only reports:read, which is all the dashboard needs. */
  reportsKey: string;
  spring: DemoCampaign;
  winBack: DemoCampaign;
}

/** A valid mobile number in one of four countries, different for every `i`. */
function contactFor(i: number): string {
  const n = String(i).padStart(4, "0");
  switch (i % 4) {
    case 0:
      return `+49151${2000 + i}${n}`;
    case 1:
      return `+1650555${n}`;
    case 2:
      return `+4477009${String(i).padStart(5, "0")}`;
    default:
      return `+3461${String(i).padStart(7, "0")}`;
  }
}

interface Recipient {
  i: number;
  contact: string;
  variant?: string;
  sentAt: number;
  messageId: string;
}

interface Outcome {
  delivered: boolean;
  limited: boolean;
  read: boolean;
  clicked: boolean;
  converted: boolean;
}

/** What happens to recipient `i`: most are delivered, fewer read, some click, a few buy; variant B does better. */
function outcomeOf(i: number, variant?: string): Outcome {
  const limited = i % 11 === 7;
  const delivered = !limited && i % 13 !== 5;
  const read = delivered && i % 5 !== 0;
  const clicked = read && (variant === "B" ? i % 3 !== 2 : i % 3 === 0);
  const converted = clicked && i % 4 === (variant === "B" ? 1 : 0);
  return { delivered, limited, read, clicked, converted };
}

export async function seedDashboardDemo(base: string, adminToken: string): Promise<DemoWorkspace> {
  const api = apiCaller(base);
  const now = Date.now();
  const { apiKey: adminKey } = await api<{ apiKey: string }>(
    "POST",
    "/api/v1/workspaces",
    adminToken,
    { name: "Demo shop" },
    201,
  );
  await api("PATCH", "/api/v1/workspace", adminKey, {
    settings: {
      rateCard: {
        currency: "USD",
        rates: [
          { category: "marketing", price: 0.025 },
          { category: "marketing", country: "DE", price: "0.1365" },
          { category: "marketing", country: "GB", price: "0.0529" },
        ],
      },
    },
  });
  const { key: reportsKey } = await api<{ key: string }>(
    "POST",
    "/api/v1/api-keys",
    adminKey,
    { name: "dashboard", scopes: ["reports:read"] },
    201,
  );
  const spring = await api<DemoCampaign>(
    "POST",
    "/api/v1/campaigns",
    adminKey,
    { name: "Spring sale", variants: ["A", "B"], template: "spring_sale_2026" },
    201,
  );
  const winBack = await api<DemoCampaign>(
    "POST",
    "/api/v1/campaigns",
    adminKey,
    { name: "Win-back", template: "we_miss_you" },
    201,
  );

  // Spring sale: 64 recipients over the last 10 days at varied hours; Win-back: 24 recipients 20 to 24 days ago.
  const springRecipients: Recipient[] = Array.from({ length: 64 }, (_, i) => ({
    i,
    contact: contactFor(i),
    variant: i % 2 ? "B" : "A",
    sentAt: now - (i % 10) * DAY - (1 + ((i * 7) % 12)) * HOUR,
    messageId: `wamid.demo.spring.${i}`,
  }));
  const winBackRecipients: Recipient[] = Array.from({ length: 24 }, (_, j) => ({
    i: 100 + j,
    contact: contactFor(100 + j),
    sentAt: now - (20 + (j % 5)) * DAY - ((j * 5) % 10) * HOUR,
    messageId: `wamid.demo.winback.${j}`,
  }));

  const codes = new Map<string, string>();
  for (const [campaign, recipients] of [
    [spring, springRecipients],
    [winBack, winBackRecipients],
  ] as const) {
    const { links } = await api<{ links: { code: string; messageId: string }[] }>(
      "POST",
      "/api/v1/links/bulk",
      adminKey,
      {
        url: "https://shop.example.com/offer",
        campaignId: campaign.id,
        utm: { source: "whatsapp", campaign: campaign.name },
        recipients: recipients.map((r) => ({
          contact: r.contact,
          messageId: r.messageId,
          externalId: `crm-${r.i}`,
          ...(r.variant ? { variant: r.variant } : {}),
        })),
      },
      201,
    );
    for (const link of links) codes.set(link.messageId, link.code);
    await api("POST", "/api/v1/messages", adminKey, {
      messages: recipients.map((r) => ({
        id: r.messageId,
        contact: r.contact,
        campaignId: campaign.id,
        ...(r.variant ? { variant: r.variant } : {}),
        linkCode: codes.get(r.messageId),
        sentAt: new Date(r.sentAt).toISOString(),
        category: "marketing",
      })),
    });
  }

  const all = [...springRecipients, ...winBackRecipients];
  const pricing = { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" };
  const statuses = all.flatMap((r) => {
    const o = outcomeOf(r.i, r.variant);
    const base = { id: r.messageId, recipient_id: r.contact.slice(1) };
    const at = (ms: number) => String(Math.floor((r.sentAt + ms) / 1000));
    const list: Record<string, unknown>[] = [{ ...base, status: "sent", timestamp: at(1000), pricing }];
    if (o.limited) {
      list.push({
        ...base,
        status: "failed",
        timestamp: at(60_000),
        errors: [{ code: 131049, title: "This message was not delivered to maintain healthy ecosystem engagement." }],
      });
    }
    if (o.delivered) list.push({ ...base, status: "delivered", timestamp: at(30_000), pricing });
    if (o.read) list.push({ ...base, status: "read", timestamp: at(((r.i % 9) + 1) * 7 * 60_000) });
    return list;
  });
  await api("POST", "/api/v1/statuses", adminKey, metaEnvelope({ statuses }));

  // Human clicks through the redirect, then purchases attributed to their click ids. They happen now, so only
  // the messages sent within the funnel's default window (7 days) get them, as they would in real life.
  let expectedClicks = 0;
  for (const r of all) {
    const o = outcomeOf(r.i, r.variant);
    if (!o.clicked || now - r.sentAt > 6 * DAY) continue;
    const res = await fetch(`${base}/${codes.get(r.messageId)}`, {
      redirect: "manual",
      headers: { "user-agent": BROWSER_UA, accept: "text/html" },
      signal: AbortSignal.timeout(15_000),
    });
    if (res.status !== 302) throw new Error(`the link of ${r.messageId} answered ${res.status}`);
    expectedClicks++;
    const clickId = new URL(res.headers.get("location")!).searchParams.get("wa_cid");
    if (!o.converted) continue;
    await api(
      "POST",
      "/api/v1/conversions",
      adminKey,
      { clickId, event: "purchase", value: 20 + (r.i % 5) * 12.5, currency: "USD", orderId: `order-${r.i}` },
      201,
    );
  }

  // Clicks are recorded after the redirect answers: wait until the links count them all.
  const deadline = Date.now() + 60_000;
  for (;;) {
    let clicks = 0;
    for (const campaign of [spring, winBack]) {
      const { links } = await api<{ links: { clicks: number }[] }>(
        "GET",
        `/api/v1/links?campaignId=${campaign.id}&limit=1000`,
        adminKey,
      );
      clicks += links.reduce((sum, l) => sum + l.clicks, 0);
    }
    if (clicks === expectedClicks) break;
    if (Date.now() > deadline) throw new Error(`only ${clicks} of ${expectedClicks} clicks were recorded`);
    await sleep(250);
  }
  return { adminKey, reportsKey, spring, winBack };
}
