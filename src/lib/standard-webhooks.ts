import { fromBase64, toBase64 } from "./crypto";

/**
 * Signing as the Standard Webhooks specification (1.0) says: the secret is `whsec_` + base64 of the key
 * bytes; each delivery carries `webhook-id` (the same on every attempt), `webhook-timestamp` (seconds)
 * and `webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
 */

export const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

const encoder = new TextEncoder();

export async function signWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64(secret.slice(SECRET_PREFIX.length)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

export async function webhookHeaders(secret: string, id: string, timestampMs: number, body: string) {
  const timestamp = Math.floor(timestampMs / 1000);
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signWebhook(secret, id, timestamp, body),
  };
}

/**
 * The specification's retry schedule: after the first attempt (immediately), 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 14 h, 20 h and 24 h; each with jitter.
 */
export const RETRY_SCHEDULE_S = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];
export const MAX_ATTEMPTS = RETRY_SCHEDULE_S.length + 1;

/** When to try again after `attempts` failed attempts (±10 %), or at least after the receiver's Retry-After. */
export function nextAttemptDelayMs(attempts: number, retryAfterS: number | null, random = Math.random()): number {
  const base = RETRY_SCHEDULE_S[Math.min(attempts, RETRY_SCHEDULE_S.length) - 1] * 1000;
  return Math.max(base * (0.9 + 0.2 * random), (retryAfterS ?? 0) * 1000);
}
