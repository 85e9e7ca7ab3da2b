// WhatsApp webhook bodies as Meta sends them, signed before any load starts so that signing costs the
// load nothing, and the state GET /api/v1/messages/:id must then show for each message.
import { createHmac } from "node:crypto";

export const STATUSES = ["sent", "delivered", "read"];
// Unix seconds, as Meta sends them: two days before the run, so that every status, a day apart at most,
// lies within a workspace's retention period and before its arrival.
const FIRST_STATUS_TIME = Math.floor(Date.now() / 1000) - 2 * 86_400;
const SECONDS_AFTER_SEND = { sent: 0, delivered: 3, read: 40 };
// Meta's envelope around the statuses of one business number.
const ENVELOPE_HEAD =
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[';
const ENVELOPE_TAIL = "]}}]}]}";

/** A wamid as long as Meta's; `kind` keeps apart the messages of each phase (H, B) and of the checks (C). */
export function wamid(kind, n) {
  return `wamid.HBgL${kind}${String(n).padStart(9, "0")}FQIAERgSNUUzRjk0MDNFNjdBQzE0RkE2AA`;
}

function statusTime(n, status) {
  return FIRST_STATUS_TIME + (n % 86_400) + SECONDS_AFTER_SEND[status];
}

/** One status object as Meta serialises it; each message has a recipient of its own. */
export function statusJson(kind, n, status) {
  return `{"id":"${wamid(kind, n)}","status":"${status}","timestamp":"${statusTime(n, status)}","recipient_id":"1650${String(n % 10_000_000).padStart(7, "0")}","pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"}}`;
}

/** A webhook body and its X-Hub-Signature-256, computed over the exact bytes sent. */
export function signedWebhook(appSecret, statuses) {
  const body = Buffer.from(ENVELOPE_HEAD + statuses.join(",") + ENVELOPE_TAIL);
  return { body, signature: `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}` };
}

/**
 * One status per body: body i carries status s = i mod 3 (sent, delivered, read) of wamid
 * (⌊i/3⌋ − s·lag) mod wamids, so neighbouring bodies name different wamids, a wamid's later statuses
 * follow its earlier ones by about 3·lag bodies, and each of the 3 × wamids (wamid, status) pairs is
 * sent once.
 */
export function singleStatusPool(appSecret, wamids, lag) {
  return Array.from({ length: 3 * wamids }, (_, i) => {
    const status = STATUSES[i % 3];
    const n = (Math.floor(i / 3) - (i % 3) * lag + wamids) % wamids;
    return { n, status, ...signedWebhook(appSecret, [statusJson("H", n, status)]) };
  });
}

/** `bodies` bodies of `size` statuses of distinct wamids; status j of body b is of wamid b·size + j. */
export function largeBodyPool(appSecret, bodies, size) {
  return Array.from({ length: bodies }, (_, b) => {
    const statuses = Array.from({ length: size }, (_, j) => statusJson("B", b * size + j, STATUSES[j % 3]));
    return { first: b * size, ...signedWebhook(appSecret, statuses) };
  });
}

/**
 * How the state GET /api/v1/messages/:id answered for wamid (kind, n) differs from what it must be
 * once the `acked` statuses were stored; "" when it does not.
 */
export function stateMismatch(kind, n, acked, state) {
  const iso = (status) => new Date(statusTime(n, status) * 1000).toISOString();
  const latest = STATUSES.filter((status) => acked.has(status)).at(-1);
  const problems = [];
  if (state.id !== wamid(kind, n)) problems.push(`id ${state.id}`);
  if (state.status !== latest) problems.push(`status ${state.status}, expected ${latest}`);
  for (const status of STATUSES) {
    const at = state[`${status}At`];
    if (acked.has(status) ? at !== iso(status) : at !== null && !state.inferred.includes(status)) {
      problems.push(`${status}At ${at}${acked.has(status) ? `, expected ${iso(status)}` : ""}`);
    }
  }
  return problems.join("; ");
}
