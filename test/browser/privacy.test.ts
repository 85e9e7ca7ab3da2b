// Nothing personal or secret in clear anywhere the service writes (SPEC §2, §11): the real Worker under
// `wrangler dev` goes through a user's day — settings with third-party secrets, an API key, links and bulk links
// for phone numbers in every format and for business-scoped user ids, registered messages, signed WhatsApp
// webhooks, clicks from a browser's address, conversions, events, reports, exports, an erasure, the crons, a
// wrong API key and a forged signature — and then every byte it left is searched: the local D1 and every other
// local store (the observability store that records requests and console lines among them), wrangler's log files
// and everything it printed. No Chromium needed.
import { createHmac, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  base64Forms,
  countBySource,
  describeFindings,
  findValues,
  listFiles,
  readDatabaseRows,
  readFiles,
  type Finding,
  type Needle,
  type Source,
} from "./leak-scan";
import { metaEnvelope } from "../meta-envelope";
import { WranglerService } from "./service";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// The client's address as Cloudflare's edge gives it. wrangler dev keeps a CF-Connecting-IP the client sent (it
// sets one from the socket only when there is none), so the Worker sees these as the visitors' addresses; it
// passes X-Forwarded-For through untouched, and the Worker never reads it.
const IPV4 = "203.0.113.77";
const IPV6 = "2001:db8:85a3::8a2e:370:7334";
// Rate limits count an IPv6 client by its /64, which is as personal as the address.
const IPV6_BLOCK = "2001:db8:85a3:0::/64";
const PROXY = "198.51.100.9";
const BROWSER_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const SHOP = "https://shop.example.com";

/** A contact as a user writes it, and the number it is (E.164), when it is one. */
interface Contact {
  label: string;
  given: string;
  e164?: string;
}

const PHONE = { label: "phone (+)", given: "+4915199887766", e164: "+4915199887766" };
const PHONE_00 = { label: "phone (00, erased)", given: "0049 151 12345678", e164: "+4915112345678" };
const PHONE_NATIONAL = { label: "phone (national)", given: "0151 23456789", e164: "+4915123456789" };
const PHONE_US = { label: "phone (bulk, webhooks)", given: "+1 (650) 555-1234", e164: "+16505551234" };
const PHONE_US_2 = { label: "phone (bulk)", given: "+1 650 555 0100", e164: "+16505550100" };
const BSUID = { label: "BSUID user.", given: "user.Q2hhdEZ1bm5lbFByaXZhY3kx" };
const BSUID_US = { label: "BSUID US.", given: "US.13491208655302741918" };
// Only in the bodies of requests that are refused for their authentication.
const PHONE_WRONG_KEY = { label: "phone (wrong API key)", given: "+447700900123", e164: "+447700900123" };
const PHONE_FORGED = { label: "phone (forged signature)", given: "+33612345678", e164: "+33612345678" };
const CONTACTS: Contact[] = [
  PHONE,
  PHONE_00,
  PHONE_NATIONAL,
  PHONE_US,
  PHONE_US_2,
  BSUID,
  BSUID_US,
  PHONE_WRONG_KEY,
  PHONE_FORGED,
];
// The name a WhatsApp user shows, which Meta sends with inbound messages.
const PROFILE_NAME = "Erika Mustermann-Privacy";

const digits = (e164: string) => e164.slice(1);

/**
 * A wamid as WhatsApp makes them: base64 of a structure that holds the recipient's number (`wamid.HBgLMTY1…` is
 * …16505551234…) and a message id.
 */
function wamid(e164: string): string {
  const number = Buffer.from(digits(e164));
  const id = Buffer.from(randomBytes(9).toString("hex").toUpperCase());
  const head = Buffer.from([0x1c, 0x18, number.length]);
  const middle = Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, id.length]);
  return `wamid.${Buffer.concat([head, number, middle, id, Buffer.from([0x00])]).toString("base64")}`;
}

/** The cron expressions in wrangler.toml. */
async function configuredCrons(): Promise<string[]> {
  const toml = await readFile(path.join(ROOT, "wrangler.toml"), "utf8");
  const list = toml.match(/^crons\s*=\s*\[(.*)\]/m)?.[1] ?? "";
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

const VERIFY_TOKEN = "WhatsApp verify token";

/** Whether a finding is the verify token in the query string of Meta's handshake (GET /webhooks/whatsapp/…). */
function inHandshakeUrl(finding: Finding): boolean {
  return finding.label === VERIFY_TOKEN && /\/webhooks\/whatsapp\/\w+\?[^\s"]*hub\.verify_token=$/.test(finding.before);
}

/** What the scenario leaves for the scan to look for. */
interface Values {
  /** Must be found nowhere: secrets, contacts in every form, addresses, a name. */
  secret: Needle[];
  /** The numbers inside the wamids, in the base64 forms they take there. */
  inWamids: Needle[];
  /** Stored in clear by design, so the scan must find them. */
  stored: Needle[];
}

interface Scan {
  sources: Source[];
  files: string[];
  bytes: number;
  d1Files: string[];
  d1Rows: number;
}

/** Reads every file wrangler left under its state and log directories, every database's rows, and its output. */
async function readEverything(service: WranglerService): Promise<Scan> {
  const root = path.dirname(service.stateDir);
  const files = [...(await listFiles(service.stateDir)), ...(await listFiles(service.logDir))];
  const sources = await readFiles(files, root);
  const databases = files.filter((file) => file.endsWith(".sqlite"));
  const d1Files = databases.filter((file) => file.includes(`${path.sep}d1${path.sep}`));
  let d1Rows = 0;
  for (const file of databases) {
    const { source, rows } = await readDatabaseRows(file, root);
    sources.push(source);
    if (d1Files.includes(file)) d1Rows += rows;
  }
  sources.push({ name: "wrangler's output (stdout and stderr)", text: service.log });
  const bytes = sources.reduce((sum, s) => sum + s.text.length, 0);
  return { sources, files, bytes, d1Files, d1Rows };
}

describe("nothing personal or secret in clear where the service writes", () => {
  const service = new WranglerService({
    // Every console line of the Worker (and wrangler's own debug lines) is printed, so every one is searched.
    logLevel: "debug",
    // Kept off the network should the Worker forward to GA4: nothing listens on the discard port.
    vars: { GA4_ENDPOINT: "http://127.0.0.1:9" },
  });
  let startup: Promise<unknown> | undefined;
  let values: Values;
  let scan: Scan;

  beforeAll(async () => {
    startup = (async () => {
      await service.start();
      values = await runScenario(service);
      // Stopped before reading, so that what wrangler and workerd buffered is on disk.
      await service.halt();
      scan = await readEverything(service);
    })();
    await startup;
  }, 150_000);

  afterAll(async () => {
    await startup?.catch(() => {});
    await service.stop();
  });

  it("reads the local D1, the other local stores, wrangler's log files and its output", () => {
    expect(scan.d1Files.length, `files: ${scan.files.join(", ")}`).toBeGreaterThan(0);
    expect(scan.d1Rows).toBeGreaterThan(0);
    expect(scan.files.some((file) => file.includes(`${path.sep}observability${path.sep}`))).toBe(true);
    expect(scan.files.some((file) => file.startsWith(service.logDir))).toBe(true);
    expect(scan.bytes).toBeGreaterThan(100_000);
    // Values that are stored in clear are found where they belong, so the search does see what is there.
    const found = findValues(scan.sources, values.stored);
    for (const needle of values.stored) {
      const inD1 = found.filter((f) => f.label === needle.label && f.source.includes(`${path.sep}d1${path.sep}`));
      const where = inD1.map((f) => (f.source.endsWith("(rows)") ? "rows" : "bytes"));
      expect(new Set(where), `${needle.label} in D1's bytes and rows`).toEqual(new Set(["bytes", "rows"]));
    }
    // The daily cron ran, and the Worker's console lines are in the output searched.
    expect(service.log).toContain('{"event":"housekeeping"');
  });

  it("finds no secret, phone number, business-scoped user id, name or IP address in clear", () => {
    const findings = findValues(scan.sources, values.secret).filter((f) => !inHandshakeUrl(f));
    expect(findings, `found in clear:\n${describeFindings(findings)}`).toEqual([]);
  });

  it("has the platform drop query strings from the URLs it logs, where Meta's handshake puts the verify token", async () => {
    // Meta's subscription handshake sends the verify token in the query string (SPEC §7), and the platform logs
    // request URLs. Deployed, wrangler.toml has them logged without their query strings; the local
    // observability store of `wrangler dev` ignores that setting and keeps the whole URL, which is the one
    // place the token may be found above.
    const toml = await readFile(path.join(ROOT, "wrangler.toml"), "utf8");
    const redacts = /^\[observability\][^[]*^redact_query_string = true$/m.test(toml);
    expect(redacts, "wrangler.toml's [observability] has redact_query_string = true").toBe(true);
    const handshake = findValues(scan.sources, values.secret).filter(inHandshakeUrl);
    console.info(`the verify token in the handshake's URL, found in:\n${countBySource(handshake)}`);
    for (const finding of handshake) expect(finding.source).toMatch(/[/\\]observability[/\\]/);
  });

  it("finds the wamids, which hold their recipients' numbers in base64, only where they are stored or named", () => {
    // A known limit: a wamid is WhatsApp's id of a message, base64 of a structure that holds the recipient's
    // number. The service keeps it as it is (it joins statuses to messages, and exports and
    // GET /api/v1/messages/{id} show it), so whoever decodes a stored or logged wamid reads the number. This
    // pins down where it travels: D1, the link cache (a redirect target names its message), and the request
    // URLs of GET /api/v1/messages/{id}, which the platform logs.
    const findings = findValues(scan.sources, values.inWamids);
    console.info(`numbers inside wamids, found in:\n${countBySource(findings)}`);
    expect(findings.some((f) => f.source.includes(`${path.sep}d1${path.sep}`))).toBe(true);
    const stored = (f: Finding) => /[/\\](d1|cache)[/\\]/.test(f.source);
    const inMessageUrl = (f: Finding) => /\/api\/v1\/messages\/wamid\.[A-Za-z0-9+/]*$/.test(f.before);
    const elsewhere = findings.filter((f) => !stored(f) && !inMessageUrl(f));
    expect(elsewhere, describeFindings(elsewhere)).toEqual([]);
    // The erased contact's wamid is in no row and no cache entry any more: only in the bytes of pages SQLite
    // has freed or superseded (it does not overwrite them) until they are reused.
    const erased = findings.filter((f) => f.label.startsWith(PHONE_00.label));
    const left = erased.filter((f) => !/\.sqlite(-wal)?$/.test(f.source));
    expect(left, describeFindings(left)).toEqual([]);
  });
});

/** A user's day with the service; answers the values the scan looks for. */
async function runScenario(service: WranglerService): Promise<Values> {
  const base = service.base;
  const call = async <T>(
    method: string,
    route: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string>; expected?: number } = {},
  ): Promise<T> => {
    const res = await fetch(base + route, {
      method,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
      redirect: "manual",
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const expected = init.expected ?? 200;
    if (res.status !== expected) {
      throw new Error(`${method} ${route} answered ${res.status} (expected ${expected}): ${text.slice(0, 1000)}`);
    }
    const type = res.headers.get("content-type") ?? "";
    return (type.includes("application/json") ? JSON.parse(text) : text) as T;
  };

  const appSecret = randomBytes(20).toString("hex");
  const verifyToken = `verify-${randomBytes(12).toString("hex")}`;
  const ga4Secret = randomBytes(16).toString("base64url");
  const campaignName = `Privacy spring sale ${randomBytes(4).toString("hex")}`;

  // A workspace, its WhatsApp and GA4 secrets, national numbers read in Germany, and a narrower key.
  const workspace = await call<{ id: string; apiKey: string; publishableKey: string }>("POST", "/api/v1/workspaces", {
    token: service.adminToken,
    body: { name: "Privacy check shop", settings: { allowedOrigins: [SHOP] } },
    expected: 201,
  });
  const admin = workspace.apiKey;
  await call("PATCH", "/api/v1/workspace", {
    token: admin,
    body: {
      settings: {
        whatsapp: { appSecret, verifyToken },
        ga4: { measurementId: "G-PRIVACY123", apiSecret: ga4Secret },
        defaultCountry: "DE",
      },
    },
  });
  const { key } = await call<{ key: string }>("POST", "/api/v1/api-keys", {
    token: admin,
    body: { name: "CRM sync", scopes: ["links:write", "events:write", "reports:read"] },
    expected: 201,
  });
  // A CRM's webhook (on the discard port, so deliveries fail and are retried and logged), whose signing secret
  // is shown once and must then be found nowhere.
  const { secret: webhookSecret } = await call<{ secret: string }>("POST", "/api/v1/webhooks", {
    token: admin,
    body: { url: "http://127.0.0.1:9/crm", events: ["link.clicked", "conversion.created", "message.delivered"] },
    expected: 201,
  });
  const campaign = await call<{ id: string }>("POST", "/api/v1/campaigns", {
    token: key,
    body: { name: campaignName, variants: ["A", "B"] },
    expected: 201,
  });

  // Links for one recipient each, in every format a contact comes in, and a bulk send.
  const wamids = new Map<Contact, string>(
    [PHONE, PHONE_00, PHONE_NATIONAL, PHONE_US].map((c) => [c, wamid(c.e164)] as const),
  );
  const link = async (contact: Contact, variant: string) =>
    (
      await call<{ code: string }>("POST", "/api/v1/links", {
        token: key,
        body: {
          url: `${SHOP}/deals`,
          campaignId: campaign.id,
          variant,
          contact: contact.given,
          messageId: wamids.get(contact),
          utm: { source: "whatsapp", campaign: "spring" },
        },
        expected: 201,
      })
    ).code;
  const codes = new Map<Contact, string>();
  for (const contact of [PHONE, PHONE_00, PHONE_NATIONAL, BSUID]) codes.set(contact, await link(contact, "A"));
  const bulk = await call<{ links: { code: string }[] }>("POST", "/api/v1/links/bulk", {
    token: key,
    body: {
      url: `${SHOP}/bulk`,
      campaignId: campaign.id,
      variant: "B",
      recipients: [
        { contact: PHONE_US.given, messageId: wamids.get(PHONE_US), externalId: "crm-1001" },
        { contact: PHONE_US_2.given },
      ],
    },
    expected: 201,
  });
  codes.set(PHONE_US, bulk.links[0].code);

  // The messages those links went out in.
  const sentAt = new Date(Date.now() - 60 * 60_000).toISOString();
  await call("POST", "/api/v1/messages", {
    token: key,
    body: {
      messages: [PHONE, PHONE_00, PHONE_NATIONAL, PHONE_US].map((contact) => ({
        id: wamids.get(contact),
        contact: contact.given,
        campaignId: campaign.id,
        variant: contact === PHONE_US ? "B" : "A",
        linkCode: codes.get(contact),
        sentAt,
        category: "marketing",
      })),
    },
  });

  // Meta checks the webhook's address before its first delivery.
  const challenge = String(1_000_000_000 + Math.floor(Math.random() * 1e9));
  const hub = new URLSearchParams({
    "hub.mode": "subscribe",
    "hub.verify_token": verifyToken,
    "hub.challenge": challenge,
  });
  expect(await call("GET", `/webhooks/whatsapp/${workspace.id}?${hub}`)).toBe(challenge);

  // WhatsApp's deliveries, signed with the app secret over the raw body.
  const at = (minutesAgo: number) => String(Math.floor((Date.now() - minutesAgo * 60_000) / 1000));
  const status = (id: string, name: string, minutesAgo: number, recipient: Record<string, string>) => ({
    id,
    status: name,
    timestamp: at(minutesAgo),
    ...recipient,
  });
  const deliver = (value: Record<string, unknown>, secret = appSecret, expected = 200) => {
    const body = JSON.stringify(metaEnvelope(value));
    const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    return call("POST", `/webhooks/whatsapp/${workspace.id}`, {
      body,
      headers: { "x-hub-signature-256": signature },
      expected,
    });
  };
  const pricing = { billable: true, pricing_model: "PMP", category: "marketing", type: "regular" };
  await deliver({
    statuses: [
      status(wamids.get(PHONE)!, "sent", 59, { recipient_id: digits(PHONE.e164) }),
      status(wamids.get(PHONE)!, "delivered", 58, { recipient_id: digits(PHONE.e164) }),
      status(wamids.get(PHONE_US)!, "sent", 59, { recipient_id: digits(PHONE_US.e164) }),
      { ...status(wamids.get(PHONE_US)!, "delivered", 57, { recipient_id: digits(PHONE_US.e164) }), pricing },
      status(wamids.get(PHONE_00)!, "read", 50, { recipient_id: digits(PHONE_00.e164) }),
      {
        ...status(wamids.get(PHONE_NATIONAL)!, "failed", 58, { recipient_id: digits(PHONE_NATIONAL.e164) }),
        errors: [{ code: 131049, title: "This message was not delivered to maintain healthy ecosystem engagement." }],
      },
    ],
  });
  // A user with a username: statuses and replies name them by their business-scoped user id only.
  const usernameWamid = `wamid.${randomBytes(27).toString("base64")}`;
  await deliver({ statuses: [status(usernameWamid, "read", 40, { recipient_user_id: BSUID_US.given })] });
  await deliver({
    contacts: [{ profile: { name: PROFILE_NAME }, user_id: BSUID.given }],
    messages: [
      {
        from_user_id: BSUID.given,
        id: `wamid.${randomBytes(27).toString("base64")}`,
        timestamp: at(35),
        type: "text",
        text: { body: "Is this still available?" },
        context: { id: usernameWamid },
      },
    ],
  });
  // A reply from a number, which quotes the number and carries the sender's name.
  await deliver({
    contacts: [{ profile: { name: PROFILE_NAME }, wa_id: digits(PHONE.e164) }],
    messages: [
      {
        from: digits(PHONE.e164),
        id: wamid(PHONE.e164),
        timestamp: at(30),
        type: "text",
        text: { body: `Yes please, call me on ${PHONE.e164}` },
        context: { from: "15550783881", id: wamids.get(PHONE) },
      },
    ],
  });
  // The same body relayed by a BSP, with an API key instead of a signature.
  await call("POST", "/api/v1/statuses", {
    token: key,
    body: {
      object: "whatsapp_business_account",
      entry: [
        {
          changes: [
            {
              field: "messages",
              value: { statuses: [status(wamids.get(PHONE)!, "read", 45, { recipient_id: digits(PHONE.e164) })] },
            },
          ],
        },
      ],
    },
  });

  // People click, from a browser, through Cloudflare's edge; WhatsApp fetches a preview first.
  const visit = async (code: string, userAgent: string, ip: string) => {
    const res = await fetch(`${base}/${code}`, {
      headers: { "user-agent": userAgent, "cf-connecting-ip": ip, "x-forwarded-for": `${ip}, ${PROXY}` },
      redirect: "manual",
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    if (res.status !== 302) throw new Error(`GET /${code} answered ${res.status}`);
    return new URL(res.headers.get("location")!).searchParams.get("wa_cid");
  };
  await visit(codes.get(PHONE)!, "WhatsApp/2.24.6.77 A", IPV4);
  const clickIds = new Map<Contact, string | null>();
  for (const [contact, code] of codes) {
    clickIds.set(contact, await visit(code, BROWSER_UA, contact === PHONE_NATIONAL ? IPV6 : IPV4));
  }
  // Clicks are recorded after the redirect has been answered: wait until every link counts its own.
  const deadline = Date.now() + 30_000;
  for (const code of codes.values()) {
    for (;;) {
      const counters = await call<{ clicks: number }>("GET", `/api/v1/links/${code}`, { token: key });
      if (counters.clicks >= 1) break;
      if (Date.now() > deadline) throw new Error(`the click on ${code} was not recorded:\n${service.log.slice(-4000)}`);
      await sleep(200);
    }
  }

  // Conversions from the shop's server, by contact and by click id; the site's beacon; CSAT and a bot's outcome.
  await call("POST", "/api/v1/conversions", {
    token: key,
    body: { contact: PHONE.given, event: "purchase", value: 49.9, currency: "EUR", orderId: "order-1001" },
    expected: 201,
  });
  await call("POST", "/api/v1/conversions", {
    token: key,
    body: { clickId: clickIds.get(BSUID), event: "generate_lead" },
    expected: 201,
  });
  await call("POST", `/t/collect?k=${workspace.publishableKey}`, {
    body: JSON.stringify({
      clickId: clickIds.get(PHONE_US),
      event: "purchase",
      value: 10,
      currency: "EUR",
      orderId: "o-2",
    }),
    headers: { "content-type": "text/plain", origin: SHOP, "user-agent": BROWSER_UA, "cf-connecting-ip": IPV4 },
    expected: 202,
  });
  await call("POST", "/api/v1/events", {
    token: key,
    body: {
      events: [
        { type: "csat", contact: PHONE_NATIONAL.given, campaignId: campaign.id, value: 5 },
        { type: "bot_resolved", contact: BSUID.given },
      ],
    },
    expected: 201,
  });

  // An analyst reads the reports and exports, and one message's state.
  const reports = [
    `/api/v1/reports/funnel?campaignId=${campaign.id}&groupBy=variant`,
    `/api/v1/reports/metrics?campaignId=${campaign.id}`,
    `/api/v1/reports/retention?period=week&periods=4`,
    `/api/v1/reports/breakdown?dimension=device&metric=clicks`,
    `/api/v1/export/clicks?format=csv`,
    `/api/v1/export/conversions?format=ndjson`,
    `/api/v1/export/messages?format=csv`,
    `/api/v1/messages/${encodeURIComponent(wamids.get(PHONE)!)}`,
  ];
  for (const route of reports) await call("GET", route, { token: key });

  // One contact asks to be forgotten.
  const erased = await call<{ erased: { links: number; clicks: number } }>("POST", "/api/v1/contacts/erase", {
    token: admin,
    body: { contact: PHONE_00.given },
  });
  expect(erased.erased).toMatchObject({ links: 1, clicks: 1 });

  // A wrong API key and a forged signature, each with a number in its body.
  const wrongKey = `cf_sk_${randomBytes(24).toString("base64url")}`;
  await call("POST", "/api/v1/links", {
    token: wrongKey,
    body: { url: `${SHOP}/deals`, contact: PHONE_WRONG_KEY.given },
    headers: { "cf-connecting-ip": IPV4 },
    expected: 401,
  });
  await deliver(
    { statuses: [status(wamid(PHONE_FORGED.e164), "read", 5, { recipient_id: digits(PHONE_FORGED.e164) })] },
    "not-the-app-secret",
    401,
  );

  // The crons, as the platform runs them: the daily housekeeping and the minute's catch-up.
  const crons = await configuredCrons();
  expect(crons).toContain("* * * * *");
  for (const cron of crons) await service.runCron(cron);

  const secret: Needle[] = [
    { label: "admin token", value: service.adminToken },
    { label: "PII pepper", value: service.piiPepper },
    { label: "data key", value: service.dataKey },
    { label: "admin API key", value: admin },
    { label: "created API key", value: key },
    { label: "wrong API key", value: wrongKey },
    { label: "WhatsApp app secret", value: appSecret },
    { label: VERIFY_TOKEN, value: verifyToken },
    { label: "GA4 API secret", value: ga4Secret },
    { label: "webhook signing secret", value: webhookSecret },
    { label: "webhook signing key (base64, without whsec_)", value: webhookSecret.slice("whsec_".length) },
    { label: "IPv4 address", value: IPV4 },
    { label: "IPv6 address", value: IPV6 },
    { label: "IPv6 /64", value: IPV6_BLOCK },
    { label: "X-Forwarded-For address", value: PROXY },
    { label: "WhatsApp profile name", value: PROFILE_NAME },
    ...CONTACTS.flatMap((c) => [
      { label: `${c.label} as given`, value: c.given },
      ...(c.e164
        ? [
            { label: `${c.label} E.164`, value: c.e164 },
            { label: `${c.label} digits`, value: digits(c.e164) },
            { label: `${c.label} digits as given`, value: c.given.replace(/\D/g, "") },
          ]
        : []),
    ]),
  ];
  const inWamids = [PHONE, PHONE_00, PHONE_NATIONAL, PHONE_US].flatMap((c) =>
    base64Forms(Buffer.from(digits(c.e164))).map((form, i) => ({ label: `${c.label} in base64 (${i})`, value: form })),
  );
  const stored = [
    { label: "campaign name", value: campaignName },
    { label: "link code", value: codes.get(PHONE)! },
  ];
  return { secret, inWamids, stored };
}
