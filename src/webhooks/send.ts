import {
  claimDueDeliveries,
  nextDeliveryDue,
  settleDeliveries,
  type ClaimedDelivery,
  type DeliveryOutcome,
} from "../db/webhooks";
import { MAX_QUEUE_DELAY_S, wakeSender, wakeSenderIfDue } from "../events/deliveries";
import { decryptJson } from "../lib/crypto";
import { MAX_ATTEMPTS, nextAttemptDelayMs, webhookHeaders } from "../lib/standard-webhooks";

/**
 * Sends pending deliveries to their endpoints, one turn at a time, as the Standard Webhooks
 * specification says: signed, with a 15 s timeout; a 2xx is delivered, anything else (a redirect too)
 * failed; a failure is tried again on the specification's schedule (honouring Retry-After), and after
 * the last try the delivery is kept as failed until it is replayed; a 410 disables the endpoint. Each
 * delivery stands alone: one endpoint that is down or slow delays no other's.
 */

export const TURN_DELIVERIES = 60;
/** Requests in flight at once (Workers allow six open connections per invocation). */
const CONCURRENCY = 6;
const REQUEST_TIMEOUT_MS = 15_000;

/** Wakes the sender when deliveries are due that no turn holds. */
export async function wakeWebhookSenderIfDue(env: Env, now = Date.now()): Promise<void> {
  await wakeSenderIfDue(env, "webhooks", await nextDeliveryDue(env.DB), now);
}

type Attempt = { ok: boolean; status: number | null; error: string | null; retryAfterS: number | null };

export type Poster = (url: string, headers: Record<string, string>, body: string) => Promise<Attempt>;

export const postWebhook: Poster = async (url, headers, body) => {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : "Error";
    const error = name === "TimeoutError" ? "No answer within 15 s" : `Could not connect (${name})`;
    return { ok: false, status: null, error, retryAfterS: null };
  }
  await response.body?.cancel();
  const retryAfter = Number(response.headers.get("retry-after"));
  return {
    ok: response.status >= 200 && response.status < 300,
    status: response.status,
    error: response.status >= 200 && response.status < 300 ? null : `Answered HTTP ${response.status}`,
    retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, MAX_QUEUE_DELAY_S) : null,
  };
};

export type WebhookTurn = { claimed: number; delivered: number; retried: number; failed: number };

export async function sendWebhookTurn(env: Env, now = Date.now(), post: Poster = postWebhook): Promise<WebhookTurn> {
  const claimed = await claimDueDeliveries(env.DB, now, TURN_DELIVERIES);
  const outcomes: DeliveryOutcome[] = [];
  const gone = new Map<string, string>();
  const queue = [...claimed];
  const worker = async () => {
    for (let delivery = queue.shift(); delivery; delivery = queue.shift()) {
      outcomes.push(await attempt(env, delivery, now, post, gone));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (claimed.length > 0) {
    await settleDeliveries(
      env.DB,
      outcomes,
      [...gone].map(([endpointId, reason]) => ({ endpointId, reason })),
      now,
    );
  }
  if (claimed.length >= TURN_DELIVERIES) await wakeSender(env, "webhooks");
  else if (claimed.length > 0) {
    const due = await nextDeliveryDue(env.DB);
    if (due !== null) await wakeSender(env, "webhooks", (due - Date.now()) / 1000);
  }
  const count = (kind: DeliveryOutcome["outcome"]) => outcomes.filter((o) => o.outcome === kind).length;
  return { claimed: claimed.length, delivered: count("delivered"), retried: count("retry"), failed: count("failed") };
}

async function attempt(
  env: Env,
  delivery: ClaimedDelivery,
  now: number,
  post: Poster,
  gone: Map<string, string>,
): Promise<DeliveryOutcome> {
  const { id } = delivery;
  if (!delivery.url || !delivery.secret || delivery.disabled || gone.has(delivery.endpointId)) {
    return { id, outcome: "failed", status: null, error: "The endpoint is disabled" };
  }
  let secret: string;
  try {
    secret = await decryptJson<string>(env.DATA_KEY, delivery.secret);
  } catch {
    return { id, outcome: "failed", status: null, error: "The endpoint's secret cannot be opened with DATA_KEY" };
  }
  // A fresh timestamp on every attempt, as receivers refuse old ones; the id stays the same.
  const result = await post(
    delivery.url,
    await webhookHeaders(secret, id, Date.now(), delivery.payload),
    delivery.payload,
  );
  if (result.ok) return { id, outcome: "delivered", status: result.status! };
  if (result.status === 410) {
    gone.set(delivery.endpointId, "The endpoint answered 410 Gone");
    return { id, outcome: "failed", status: 410, error: result.error };
  }
  if (delivery.attempts >= MAX_ATTEMPTS) return { id, outcome: "failed", status: result.status, error: result.error };
  const nextAt = Math.round(now + nextAttemptDelayMs(delivery.attempts, result.retryAfterS));
  return { id, outcome: "retry", status: result.status, error: result.error, nextAt };
}
