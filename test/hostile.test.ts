import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { snapshotRows } from "./db-snapshot";
import { callJson, callWorker, createLink, createWorkspace } from "./helpers";
import { buildWorld, type World } from "./isolation";
import { APP_SECRET, sign, statusBody } from "./whatsapp-helpers";

// Hostile requests across every route. Each names the exact status and error code it must get, and the
// whole database must be as it was afterwards: bad input writes nothing, and never gets a 5xx.

const SHOP = "https://shop.example.com";

type Setup = {
  owner: World;
  other: World;
  publishableKey: string;
  disabledCode: string;
  /** A webhook body already delivered to the owner's workspace, with its valid signature. */
  delivered: { body: string; signature: string };
  /** A workspace with an app secret of its own. */
  otherSecretWorkspace: string;
};

type HostileRequest = {
  path: string;
  method?: string;
  /** "owner" and "other" use those workspaces' admin keys; any other string is sent as it is. */
  key?: "owner" | "other" | string;
  body?: unknown;
  headers?: Record<string, string>;
};

type Hostile = {
  name: string;
  request: (s: Setup) => HostileRequest;
  status: number;
  /** The error code; null for a 2xx, "gif" for the pixel's answer. */
  code: string | null;
};

const hostile: Hostile[] = [];
const add = (status: number, code: string | null, name: string, request: (s: Setup) => HostileRequest) =>
  hostile.push({ name, request, status, code });

const LINK = { url: `${SHOP}/offer` };
// A contact of the owner's workspace who opted out (through the API) before the hostile requests.
const OPTED_OUT = "+351912000111";
const long = (n: number, ch = "x") => ch.repeat(n);
const nestedObject = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
const nestedArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

// ---- authentication: every kind of missing or wrong credential, on every kind of route ----------------------
const keyed: [string, string, unknown?][] = [
  ["GET", "/api/v1/workspace"],
  ["PATCH", "/api/v1/workspace", { name: "x" }],
  ["POST", "/api/v1/api-keys", { name: "x", scopes: ["admin"] }],
  ["POST", "/api/v1/campaigns", { name: "x" }],
  ["POST", "/api/v1/links", LINK],
  ["DELETE", "/api/v1/links/abcd"],
  ["POST", "/api/v1/conversions", { event: "purchase" }],
  ["POST", "/api/v1/statuses", statusBody()],
  ["POST", "/api/v1/contacts/consent", { contact: "+351912345678", optedIn: false, source: "api" }],
  ["GET", "/api/v1/reports/funnel"],
  ["GET", "/api/v1/export/clicks"],
];
const badCredentials: [string, Record<string, string>][] = [
  ["no Authorization header", {}],
  ["a key that does not exist", { authorization: `Bearer cf_sk_${long(32, "A")}` }],
  ["Basic instead of Bearer", { authorization: "Basic dXNlcjpwYXNz" }],
  ["the ADMIN_TOKEN in place of a key", { authorization: "Bearer test-admin-token" }],
];
for (const [method, path, body] of keyed) {
  for (const [what, headers] of badCredentials) {
    add(401, "unauthorized", `${method} ${path} with ${what}`, () => ({ method, path, body, headers }));
  }
}
add(401, "unauthorized", "POST /api/v1/workspaces with an API key", () => ({
  path: "/api/v1/workspaces",
  key: "owner",
  body: { name: "x" },
}));
add(401, "unauthorized", "POST /api/v1/workspaces with no token", () => ({
  path: "/api/v1/workspaces",
  body: { name: "x" },
}));

// ---- bodies that are not JSON, or not JSON objects ----------------------------------------------------------
const bodyRoutes: [string, string][] = [
  ["POST", "/api/v1/links"],
  ["POST", "/api/v1/links/bulk"],
  ["POST", "/api/v1/campaigns"],
  ["PATCH", "/api/v1/workspace"],
  ["POST", "/api/v1/messages"],
  ["POST", "/api/v1/conversions"],
  ["POST", "/api/v1/events"],
  ["POST", "/api/v1/contacts/consent"],
];
for (const [method, path] of bodyRoutes) {
  add(400, "invalid_json", `${method} ${path} with truncated JSON`, () => ({
    method,
    path,
    key: "owner",
    body: '{"url":',
  }));
  add(400, "invalid_request", `${method} ${path} with a JSON array`, () => ({
    method,
    path,
    key: "owner",
    body: "[]",
  }));
  add(415, "unsupported_media_type", `${method} ${path} as text/plain`, () => ({
    method,
    path,
    key: "owner",
    body: JSON.stringify(LINK),
    headers: { "content-type": "text/plain" },
  }));
}
add(400, "invalid_json", "a body with bytes that are not UTF-8", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: '{"url":"https://shop.example.com/\xff\xfe"',
}));
add(400, "invalid_json", "a JSON body with a trailing comma", () => ({
  path: "/api/v1/campaigns",
  key: "owner",
  body: '{"name":"x",}',
}));
add(400, "invalid_json", "JSON with single quotes", () => ({
  path: "/api/v1/campaigns",
  key: "owner",
  body: "{'name':'x'}",
}));
add(400, "invalid_json", "a raw NaN in JSON", () => ({
  path: "/api/v1/conversions",
  key: "owner",
  body: '{"event":"purchase","value":NaN,"currency":"EUR"}',
}));
add(415, "unsupported_media_type", "a form-encoded link", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: "url=https%3A%2F%2Fshop.example.com",
  headers: { "content-type": "application/x-www-form-urlencoded" },
}));
add(415, "unsupported_media_type", "a multipart link", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: "--b\r\nContent-Disposition: form-data; name=url\r\n\r\nhttps://shop.example.com\r\n--b--",
  headers: { "content-type": "multipart/form-data; boundary=b" },
}));
add(415, "unsupported_media_type", "an XML campaign", () => ({
  path: "/api/v1/campaigns",
  key: "owner",
  body: "<campaign><name>x</name></campaign>",
  headers: { "content-type": "application/xml" },
}));

// ---- deeply nested, oversized, huge ---------------------------------------------------------------------------
add(400, "invalid_request", "an object nested 5,000 deep", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: nestedObject(5000),
}));
add(400, "invalid_request", "an array nested 100,000 deep", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: nestedArray(100_000),
}));
add(400, "invalid_request", "utm nested instead of text", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: `{"url":"${SHOP}/","utm":{"source":${nestedObject(2000)}}}`,
}));
add(413, "payload_too_large", "an 11 MB link body", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: { ...LINK, code: long(11 * 1024 * 1024) },
}));
add(413, "payload_too_large", "a beacon over 16 KB", (s) => ({
  path: `/t/collect?k=${s.publishableKey}`,
  body: JSON.stringify({ event: "purchase", orderId: long(17 * 1024) }),
  headers: { "content-type": "text/plain", origin: SHOP },
}));
add(413, "payload_too_large", "a webhook body over 3 MB", (s) => ({
  path: `/webhooks/whatsapp/${s.owner.workspaceId}`,
  body: JSON.stringify({ object: "whatsapp_business_account", pad: long(3 * 1024 * 1024 + 10) }),
}));
const tooLong: [string, string, (s: Setup) => unknown][] = [
  ["a campaign name of 201 characters", "/api/v1/campaigns", () => ({ name: long(201) })],
  ["a template of 513 characters", "/api/v1/campaigns", () => ({ name: "x", template: long(513) })],
  ["a variant of 65 characters", "/api/v1/campaigns", () => ({ name: "x", variants: [long(65)] })],
  ["27 variants", "/api/v1/campaigns", () => ({ name: "x", variants: Array.from({ length: 27 }, (_, i) => `v${i}`) })],
  ["a URL of 5,000 characters", "/api/v1/links", () => ({ url: `${SHOP}/${long(5000)}` })],
  ["a code of 65 characters", "/api/v1/links", () => ({ ...LINK, code: long(65) })],
  ["a code of 3 characters", "/api/v1/links", () => ({ ...LINK, code: "abc" })],
  ["a reserved code", "/api/v1/links", () => ({ ...LINK, code: "api" })],
  ["a utm value of 257 characters", "/api/v1/links", () => ({ ...LINK, utm: { source: long(257) } })],
  ["an unknown utm key", "/api/v1/links", () => ({ ...LINK, utm: { sauce: "x" } })],
  ["an externalId of 129 characters", "/api/v1/links", () => ({ ...LINK, externalId: long(129) })],
  ["a contact of 10,000 digits", "/api/v1/links", () => ({ ...LINK, contact: `+${long(10_000, "1")}` })],
  ["an orderId of 129 characters", "/api/v1/conversions", () => ({ event: "purchase", orderId: long(129) })],
  ["an event name of 41 characters", "/api/v1/conversions", () => ({ event: `e${long(40)}` })],
  [
    "a wamid of 257 characters",
    "/api/v1/messages",
    () => ({ messages: [{ id: long(257), contact: "+351912345678" }] }),
  ],
  ["an API key name of 101 characters", "/api/v1/api-keys", () => ({ name: long(101), scopes: ["admin"] })],
  ["an unknown scope", "/api/v1/api-keys", () => ({ name: "x", scopes: ["root"] })],
  [
    "10,001 bulk recipients",
    "/api/v1/links/bulk",
    (s) => ({
      ...LINK,
      campaignId: s.owner.campaignId,
      recipients: Array.from({ length: 10_001 }, () => ({ contact: "+351912345678" })),
    }),
  ],
  [
    "10,001 messages",
    "/api/v1/messages",
    () => ({
      messages: Array.from({ length: 10_001 }, (_, i) => ({ id: `wamid.${i}`, contact: "+351912345678" })),
    }),
  ],
  [
    "1,001 events",
    "/api/v1/events",
    () => ({
      events: Array.from({ length: 1001 }, () => ({ type: "escalated", contact: "+351912345678" })),
    }),
  ],
  ["no bulk recipients", "/api/v1/links/bulk", (s) => ({ ...LINK, campaignId: s.owner.campaignId, recipients: [] })],
  [
    "a consent source of 33 characters",
    "/api/v1/contacts/consent",
    () => ({ contact: "+351912345678", optedIn: false, source: long(33, "a") }),
  ],
  [
    "a consent for a contact of 10,000 digits",
    "/api/v1/contacts/consent",
    () => ({ contact: `+${long(10_000, "1")}`, optedIn: false, source: "api" }),
  ],
  [
    "a consent with optedIn as text",
    "/api/v1/contacts/consent",
    () => ({ contact: "+351912345678", optedIn: "no", source: "api" }),
  ],
];
for (const [what, path, body] of tooLong) {
  add(400, "invalid_request", `${path} with ${what}`, (s) => ({ path, key: "owner", body: body(s) }));
}
add(400, "invalid_request", "PATCH /api/v1/workspace with 101 allowed origins", () => ({
  path: "/api/v1/workspace",
  method: "PATCH",
  key: "owner",
  body: { settings: { allowedOrigins: Array.from({ length: 101 }, (_, i) => `https://s${i}.example.com`) } },
}));
add(400, "invalid_request", "a workspace name of 100,000 characters", () => ({
  path: "/api/v1/workspaces",
  key: env.ADMIN_TOKEN,
  body: { name: long(100_000) },
}));

// ---- control characters --------------------------------------------------------------------------------------
const controls: [string, string, unknown][] = [
  ["a NUL in a campaign name", "/api/v1/campaigns", { name: "Spring\u0000sale" }],
  ["an escape sequence in a campaign name", "/api/v1/campaigns", { name: "\u001b[2Jx" }],
  ["a bell in an API key name", "/api/v1/api-keys", { name: "key\u0007", scopes: ["admin"] }],
  ["a NUL in a URL", "/api/v1/links", { url: `${SHOP}/a\u0000b` }],
  ["a line break in a URL", "/api/v1/links", { url: `${SHOP}/a\r\nSet-Cookie: x=1` }],
  ["a tab in a utm value", "/api/v1/links", { ...LINK, utm: { source: "what\tsapp" } }],
  ["a NUL in an externalId", "/api/v1/links", { ...LINK, externalId: "crm\u0000-1" }],
  ["a carriage return in a click id", "/api/v1/conversions", { event: "purchase", clickId: "A\r1" }],
  ["a NUL in a wamid", "/api/v1/messages", { messages: [{ id: "wamid.\u0000", contact: "+351912345678" }] }],
  [
    "a NUL in a consent source",
    "/api/v1/contacts/consent",
    { contact: "+351912345678", optedIn: true, source: "api\u0000" },
  ],
  [
    "a DEL in a message category",
    "/api/v1/messages",
    { messages: [{ id: "wamid.x", contact: "+351912345678", category: "mk\u007f" }] },
  ],
];
for (const [what, path, body] of controls) add(400, "invalid_request", what, () => ({ path, key: "owner", body }));
add(400, "invalid_request", "a line break in a workspace name", () => ({
  path: "/api/v1/workspace",
  method: "PATCH",
  key: "owner",
  body: { name: "Acme\nInc" },
}));

// ---- destinations: look-alike hosts and private addresses in every spelling ----------------------------------------
const refusedDestinations = [
  "https://аpple.com/login",
  "https://gοοgle.com/",
  "https://аррӏе.com/",
  "https://xn--80ak6aa92e.com/",
  "https://pаypal.example.com/",
  "http://127.0.0.1/",
  "http://2130706433/",
  "http://0x7f000001/",
  "http://0177.0.0.1/",
  "http://127.1/",
  "http://0.0.0.0/",
  "http://[::1]/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:a9fe:a9fe]/",
  "http://[64:ff9b::7f00:1]/",
  "http://169.254.169.254/latest/meta-data/",
  "http://10.0.0.1/",
  "http://172.16.0.1/",
  "http://192.168.1.1/",
  "http://100.64.0.1/",
  "http://[fe80::1]/",
  "http://[fc00::1]/",
  "http://localhost/",
  "http://shop.localhost/",
  "http://metadata.google.internal/",
  "http://LOCALHOST./",
  "javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "https://user:pass@shop.example.com/",
  "//shop.example.com/",
];
for (const url of refusedDestinations) {
  add(400, "invalid_request", `a link to ${url}`, () => ({ path: "/api/v1/links", key: "owner", body: { url } }));
}
add(400, "invalid_request", "PATCH a link to a private address", (s) => ({
  path: `/api/v1/links/${s.owner.linkCode}`,
  method: "PATCH",
  key: "owner",
  body: { url: "http://10.1.2.3/" },
}));
add(400, "invalid_request", "a bulk recipient with a look-alike host", (s) => ({
  path: "/api/v1/links/bulk",
  key: "owner",
  body: {
    ...LINK,
    campaignId: s.owner.campaignId,
    recipients: [{ contact: "+351912345678", url: "https://аpple.com/" }],
  },
}));

// ---- SQL-shaped strings --------------------------------------------------------------------------------------
const SQL = "' OR '1'='1' --";
add(400, "invalid_request", "a link code shaped like SQL", () => ({
  path: `/api/v1/links/${encodeURIComponent(SQL)}`,
  key: "owner",
}));
add(404, "not_found", "a campaign id shaped like SQL", () => ({
  path: `/api/v1/campaigns/${encodeURIComponent(SQL)}`,
  key: "owner",
}));
add(404, "not_found", "a wamid shaped like SQL", () => ({
  path: `/api/v1/messages/${encodeURIComponent("x'; DROP TABLE messages; --")}`,
  key: "owner",
}));
add(400, "invalid_request", "a campaignId shaped like SQL on a new link", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: { ...LINK, campaignId: SQL },
}));
add(400, "invalid_request", "a campaignId shaped like SQL on events", () => ({
  path: "/api/v1/events",
  key: "owner",
  body: { events: [{ type: "escalated", contact: "+351912345678", campaignId: SQL }] },
}));
add(404, "not_found", "an A/B report for a campaign id shaped like SQL", () => ({
  path: `/api/v1/reports/ab?campaignId=${encodeURIComponent(SQL)}`,
  key: "owner",
}));
add(400, "invalid_request", "a time zone shaped like SQL", () => ({
  path: `/api/v1/reports/funnel?timezone=${encodeURIComponent("UTC'); DROP TABLE clicks; --")}`,
  key: "owner",
}));
add(400, "invalid_request", "a cursor shaped like SQL", () => ({
  path: `/api/v1/links?cursor=${encodeURIComponent("1 OR 1=1")}`,
  key: "owner",
}));
add(404, "not_found", "a redirect code shaped like SQL", () => ({ path: `/${encodeURIComponent("abcd' OR 1=1")}` }));

// ---- money -------------------------------------------------------------------------------------------------------
const money: [string, string][] = [
  ["a negative value", '{"event":"purchase","value":-5,"currency":"EUR"}'],
  ["1e999", '{"event":"purchase","value":1e999,"currency":"EUR"}'],
  ["-1e999", '{"event":"purchase","value":-1e999,"currency":"EUR"}'],
  ['"NaN"', '{"event":"purchase","value":"NaN","currency":"EUR"}'],
  ['"Infinity"', '{"event":"purchase","value":"Infinity","currency":"EUR"}'],
  ['"1e3"', '{"event":"purchase","value":"1e3","currency":"EUR"}'],
  ["more decimals than the currency has", '{"event":"purchase","value":"9.999","currency":"EUR"}'],
  ["decimals in a currency that has none", '{"event":"purchase","value":"10.5","currency":"JPY"}'],
  ["a value over a trillion", '{"event":"purchase","value":1e13,"currency":"EUR"}'],
  ["a boolean value", '{"event":"purchase","value":true,"currency":"EUR"}'],
  ["an unknown currency", '{"event":"purchase","value":10,"currency":"ABC"}'],
  ["a currency in lower case", '{"event":"purchase","value":10,"currency":"eur"}'],
  ["a currency symbol", '{"event":"purchase","value":10,"currency":"€"}'],
  ["a value without currency", '{"event":"purchase","value":10}'],
  ["a currency without value", '{"event":"purchase","currency":"EUR"}'],
];
for (const [what, body] of money) {
  add(400, "invalid_request", `a conversion with ${what}`, () => ({ path: "/api/v1/conversions", key: "owner", body }));
}
add(400, "invalid_request", "a beacon with a negative value", (s) => ({
  path: `/t/collect?k=${s.publishableKey}`,
  body: '{"event":"purchase","value":-1,"currency":"EUR"}',
  headers: { "content-type": "text/plain", origin: SHOP },
}));
add(400, "invalid_request", "a beacon with an unknown currency", (s) => ({
  path: `/t/collect?k=${s.publishableKey}`,
  body: '{"event":"purchase","value":1,"currency":"XYZ"}',
  headers: { "content-type": "text/plain", origin: SHOP },
}));
add(400, "invalid_request", "a CSAT answer of 6", () => ({
  path: "/api/v1/events",
  key: "owner",
  body: { events: [{ type: "csat", value: 6, contact: "+351912345678" }] },
}));
add(400, "invalid_request", "an event value of 1e999", () => ({
  path: "/api/v1/events",
  key: "owner",
  body: '{"events":[{"type":"custom_x","value":1e999,"contact":"+351912345678"}]}',
}));
for (const responseWindow of ["0h", "721h", "31d", "-1h", "1.5h", "2w", "1e999h"]) {
  add(400, "invalid_request", `a metrics report with responseWindow=${responseWindow}`, () => ({
    path: `/api/v1/reports/metrics?responseWindow=${responseWindow}`,
    key: "owner",
  }));
}

// ---- times and ranges ----------------------------------------------------------------------------------------------
const reportQueries = [
  "funnel?from=2026-13-45",
  "funnel?from=yesterday",
  "funnel?from=2026-02-30",
  "funnel?from=2026-06-01&to=2026-05-01",
  "funnel?to=%2B275760-09-13T00:00:00Z",
  "funnel?timezone=Mars%2FOlympus_Mons",
  "funnel?window=100y",
  "timeseries?interval=hour&from=2009-01-01&to=2099-01-01",
  "timeseries?metric=everything",
  "retention?periods=100000",
  "retention?period=fortnight",
  "breakdown?dimension=ip",
  "breakdown?dimension=country&limit=1e999",
  "ab",
];
for (const query of reportQueries) {
  add(400, "invalid_request", `GET /api/v1/reports/${query}`, () => ({
    path: `/api/v1/reports/${query}`,
    key: "owner",
  }));
}
add(400, "invalid_request", "an export with format=xml", () => ({
  path: "/api/v1/export/clicks?format=xml",
  key: "owner",
}));
add(400, "invalid_request", "a list with limit=1e999", () => ({ path: "/api/v1/links?limit=1e999", key: "owner" }));
add(400, "invalid_request", "a list with limit=-1", () => ({ path: "/api/v1/campaigns?limit=-1", key: "owner" }));
const badTimes: [string, string, unknown][] = [
  ["a conversion in 1999", "/api/v1/conversions", { event: "purchase", occurredAt: "1999-12-31T23:59:59Z" }],
  ["a conversion in 2999", "/api/v1/conversions", { event: "purchase", occurredAt: "2999-01-01T00:00:00Z" }],
  [
    "a conversion at an impossible time",
    "/api/v1/conversions",
    { event: "purchase", occurredAt: "2026-01-01T25:61:00Z" },
  ],
  [
    "a message sent in 1970",
    "/api/v1/messages",
    { messages: [{ id: "wamid.t", contact: "+351912345678", sentAt: "1970-01-01T00:00:00Z" }] },
  ],
  ["a link that expired yesterday", "/api/v1/links", { ...LINK, expiresAt: "2020-01-01T00:00:00Z" }],
  ["a link that expires at no date", "/api/v1/links", { ...LINK, expiresAt: "soon" }],
];
for (const [what, path, body] of badTimes) add(400, "invalid_request", what, () => ({ path, key: "owner", body }));

// ---- WhatsApp webhook: forged and replayed signatures ----------------------------------------------------------------
const webhook = (s: Setup, body: string, signature?: string, workspaceId = s.owner.workspaceId): HostileRequest => ({
  path: `/webhooks/whatsapp/${workspaceId}`,
  body,
  headers: signature === undefined ? {} : { "x-hub-signature-256": signature },
});
const fresh = () => JSON.stringify(statusBody({ id: "wamid.hostile", status: "read", at: Date.now() - 1000 }));
add(401, "unauthorized", "a webhook without signature", (s) => webhook(s, fresh()));
add(401, "unauthorized", "a webhook with a made-up signature", (s) => webhook(s, fresh(), `sha256=${long(64, "0")}`));
add(401, "unauthorized", "a webhook signed as SHA-1", (s) => webhook(s, fresh(), `sha1=${long(40, "a")}`));
add(401, "unauthorized", "a webhook with the signature of another body", (s) =>
  webhook(s, fresh(), s.delivered.signature),
);
add(401, "unauthorized", "a replayed signature on re-serialised JSON", (s) =>
  webhook(s, JSON.stringify(JSON.parse(s.delivered.body), null, 2), s.delivered.signature),
);
add(401, "unauthorized", "a replayed signature on a body with one byte changed", (s) =>
  webhook(s, s.delivered.body.replace('"read"', '"sent"'), s.delivered.signature),
);
add(401, "unauthorized", "a webhook signed with another workspace's app secret", (s) =>
  webhook(s, s.delivered.body, s.delivered.signature, s.otherSecretWorkspace),
);
add(404, "not_found", "a webhook for a workspace that does not exist", (s) =>
  webhook(s, s.delivered.body, s.delivered.signature, "ws_doesnotexist0000"),
);
add(200, null, "a replayed delivery: answered, and nothing changes", (s) =>
  webhook(s, s.delivered.body, s.delivered.signature),
);
add(403, "forbidden", "a handshake with the wrong verify token", (s) => ({
  path: `/webhooks/whatsapp/${s.owner.workspaceId}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1`,
}));
add(403, "forbidden", "a handshake without hub.challenge", (s) => ({
  path: `/webhooks/whatsapp/${s.owner.workspaceId}?hub.mode=subscribe&hub.verify_token=test-verify-token`,
}));
add(403, "forbidden", "a handshake with hub.mode=unsubscribe", (s) => ({
  path: `/webhooks/whatsapp/${s.owner.workspaceId}?hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1`,
}));
add(400, "invalid_request", "a relayed body that is not a webhook", () => ({
  path: "/api/v1/statuses",
  key: "owner",
  body: { object: "whatsapp_business_account", entry: "everything" },
}));

// ---- the pixel: every wrong parameter still gets the GIF, and records nothing -----------------------------------------
const pixelQueries = [
  "",
  "e=purchase",
  "k=cf_pk_unknown&e=purchase",
  "k={pk}",
  "k={pk}&e=1abc",
  `k={pk}&e=e${long(40)}`,
  "k={pk}&e=purchase&v=10",
  "k={pk}&e=purchase&c=EUR",
  "k={pk}&e=purchase&v=-1&c=EUR",
  "k={pk}&e=purchase&v=NaN&c=EUR",
  "k={pk}&e=purchase&v=1e999&c=EUR",
  "k={pk}&e=purchase&v=abc&c=EUR",
  "k={pk}&e=purchase&v=9.999&c=EUR",
  "k={pk}&e=purchase&v=10&c=XYZ",
  "k={pk}&e=purchase&v=10&c=eur",
  `k={pk}&e=purchase&o=${long(129)}`,
  "k={pk}&e=purchase&o=",
  `k={pk}&e=purchase&cid=${long(65)}`,
  "k={pk}&e=purchase&cid=%00",
  "k={pk}&e=purchase&cid=a%0Db",
];
for (const query of pixelQueries) {
  add(200, "gif", `the pixel with ?${query.slice(0, 60)}`, (s) => ({
    path: `/t/p.gif?${query.replace("{pk}", s.publishableKey)}`,
  }));
}

// ---- the beacon -------------------------------------------------------------------------------------------------------
const beacon = (s: Setup, body: string, headers: Record<string, string> = {}, k = s.publishableKey) => ({
  path: `/t/collect?k=${k}`,
  body,
  headers: { "content-type": "text/plain", origin: SHOP, ...headers },
});
add(401, "unauthorized", "a beacon without publishable key", (s) => ({
  ...beacon(s, '{"event":"x"}'),
  path: "/t/collect",
}));
add(401, "unauthorized", "a beacon with an unknown publishable key", (s) =>
  beacon(s, '{"event":"x"}', {}, "cf_pk_unknown"),
);
add(401, "unauthorized", "a beacon with an API key as publishable key", (s) =>
  beacon(s, '{"event":"x"}', {}, s.owner.adminKey),
);
add(403, "forbidden", "a beacon from an origin that is not allowed", (s) =>
  beacon(s, '{"event":"purchase"}', { origin: "https://evil.example.net" }),
);
add(403, "forbidden", "a beacon from a look-alike origin", (s) =>
  beacon(s, '{"event":"purchase"}', { origin: "https://shop.example.com.evil.example" }),
);
add(415, "unsupported_media_type", "a form-encoded beacon", (s) =>
  beacon(s, "event=purchase", { "content-type": "application/x-www-form-urlencoded" }),
);
add(400, "invalid_json", "a beacon that is not JSON", (s) => beacon(s, "purchase"));
add(400, "invalid_request", "a beacon that is a JSON array", (s) => beacon(s, "[]"));
add(400, "invalid_request", "a beacon with a field the snippet never sends", (s) =>
  beacon(s, '{"event":"purchase","contact":"+351912345678"}'),
);
add(400, "invalid_request", "a beacon nested 2,000 deep", (s) => beacon(s, nestedObject(2000)));

// ---- another workspace's ids ------------------------------------------------------------------------------------------
add(404, "not_found", "GET another workspace's link", (s) => ({
  path: `/api/v1/links/${s.other.linkCode}`,
  key: "owner",
}));
add(404, "not_found", "PATCH another workspace's link", (s) => ({
  path: `/api/v1/links/${s.other.linkCode}`,
  method: "PATCH",
  key: "owner",
  body: { disabled: true },
}));
add(404, "not_found", "DELETE another workspace's link", (s) => ({
  path: `/api/v1/links/${s.other.linkCode}`,
  method: "DELETE",
  key: "owner",
}));
add(404, "not_found", "GET another workspace's campaign", (s) => ({
  path: `/api/v1/campaigns/${s.other.campaignId}`,
  key: "owner",
}));
add(404, "not_found", "GET another workspace's message", (s) => ({
  path: `/api/v1/messages/${s.other.messageId}`,
  key: "owner",
}));
add(404, "not_found", "DELETE another workspace's API key", (s) => ({
  path: `/api/v1/api-keys/${s.other.apiKeyId}`,
  method: "DELETE",
  key: "owner",
}));
add(400, "invalid_request", "a link in another workspace's campaign", (s) => ({
  path: "/api/v1/links",
  key: "owner",
  body: { ...LINK, campaignId: s.other.campaignId },
}));
add(400, "invalid_request", "bulk links in another workspace's campaign", (s) => ({
  path: "/api/v1/links/bulk",
  key: "owner",
  body: { ...LINK, campaignId: s.other.campaignId, recipients: [{ contact: "+351912345678" }] },
}));
add(400, "invalid_request", "a message registered with another workspace's link", (s) => ({
  path: "/api/v1/messages",
  key: "owner",
  body: { messages: [{ id: "wamid.borrowed", contact: "+351912345678", linkCode: s.other.linkCode }] },
}));
add(400, "invalid_request", "an event in another workspace's campaign", (s) => ({
  path: "/api/v1/events",
  key: "owner",
  body: { events: [{ type: "escalated", contact: "+351912345678", campaignId: s.other.campaignId }] },
}));
add(404, "not_found", "an A/B report of another workspace's campaign", (s) => ({
  path: `/api/v1/reports/ab?campaignId=${s.other.campaignId}`,
  key: "owner",
}));
// ---- contacts who opted out: refused with nothing written ----------------------------------------------------------
add(409, "opted_out", "a link for a contact who opted out", () => ({
  path: "/api/v1/links",
  key: "owner",
  body: { ...LINK, contact: OPTED_OUT },
}));
add(409, "opted_out", "bulk links with one recipient who opted out", (s) => ({
  path: "/api/v1/links/bulk",
  key: "owner",
  body: { ...LINK, campaignId: s.owner.campaignId, recipients: [{ contact: "+351912345679" }, { contact: OPTED_OUT }] },
}));
add(409, "opted_out", "a utility message for a contact who opted out", () => ({
  path: "/api/v1/messages",
  key: "owner",
  body: { messages: [{ id: "wamid.opted-out", contact: OPTED_OUT, category: "utility" }] },
}));
add(409, "conflict", "a custom code another workspace already has", (s) => ({
  path: "/api/v1/links",
  key: "owner",
  body: { ...LINK, code: s.other.linkCode },
}));

// ---- the redirect and unknown routes ----------------------------------------------------------------------------------------
add(404, "not_found", "a code that no link has", () => ({ path: "/zzzzzzzzzzzz" }));
add(404, "not_found", "a code of 65 characters", () => ({ path: `/${long(65, "a")}` }));
add(404, "not_found", "a path that climbs out", () => ({ path: "/..%2f..%2fetc%2fpasswd" }));
add(404, "not_found", "HEAD of a code that no link has", () => ({ path: "/zzzzzzzzzzzz", method: "HEAD" }));
add(410, "gone", "a disabled link", (s) => ({ path: `/${s.disabledCode}`, headers: { accept: "application/json" } }));
add(404, "not_found", "PUT on a collection", () => ({
  path: "/api/v1/links",
  method: "PUT",
  key: "owner",
  body: LINK,
}));
add(404, "not_found", "an unknown API route", () => ({ path: "/api/v1/admin/users", key: "owner" }));

async function setUp(): Promise<Setup> {
  const [owner, other] = await Promise.all([buildWorld(), buildWorld()]);
  const patched = await callJson("/api/v1/workspace", {
    method: "PATCH",
    key: owner.adminKey,
    body: { settings: { allowedOrigins: [SHOP] } },
  });
  const optOut = await callJson("/api/v1/contacts/consent", {
    key: owner.adminKey,
    body: { contact: OPTED_OUT, optedIn: false, source: "api" },
  });
  expect(optOut.status).toBe(201);
  const disabled = await createLink(owner.adminKey);
  await callJson(`/api/v1/links/${disabled.code}`, { method: "DELETE", key: owner.adminKey });
  const body = JSON.stringify(statusBody({ id: owner.messageId, status: "read", at: Date.now() - 30_000 }));
  const signature = await sign(APP_SECRET, body);
  const first = await callJson(`/webhooks/whatsapp/${owner.workspaceId}`, {
    body,
    headers: { "x-hub-signature-256": signature },
  });
  expect(first.status).toBe(200);
  const otherSecret = await createWorkspace({ whatsapp: { appSecret: "another-app-secret", verifyToken: "t" } });
  return {
    owner,
    other,
    publishableKey: patched.body.publishableKey,
    disabledCode: disabled.code,
    delivered: { body, signature },
    otherSecretWorkspace: otherSecret.workspace.id,
  };
}

function keyFor(s: Setup, key: HostileRequest["key"]): string | undefined {
  if (key === "owner") return s.owner.adminKey;
  if (key === "other") return s.other.adminKey;
  return key;
}

describe("hostile requests", () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp();
  });

  it("are at least 150, each with a name of its own", () => {
    expect(hostile.length).toBeGreaterThanOrEqual(150);
    expect(new Set(hostile.map((h) => h.name)).size).toBe(hostile.length);
  });

  it.each(hostile.map((h) => [`${h.name} → ${h.status} ${h.code ?? ""}`, h] as const))("%s", async (_, h) => {
    const before = await snapshotRows();
    // The comparison below means something only while the database holds the worlds' data.
    expect(before.links.length).toBeGreaterThanOrEqual(3);
    const request = h.request(setup);
    const res = await callWorker(request.path, {
      method: request.method,
      key: keyFor(setup, request.key),
      body: request.body,
      headers: request.headers,
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(h.status);
    if (h.code === "gif") {
      expect(res.headers.get("content-type")).toBe("image/gif");
    } else if (h.code !== null && request.method !== "HEAD") {
      const body = JSON.parse(text);
      expect(body.error).toEqual(
        expect.objectContaining({ code: h.code, message: expect.any(String), requestId: expect.any(String) }),
      );
    }
    expect(await snapshotRows()).toEqual(before);
  });
});
