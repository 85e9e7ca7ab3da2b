import { createMiddleware } from "hono/factory";
import { ApiError, errorBody } from "../errors";
import { hmacSha256Hex } from "../lib/crypto";
import { addressBlock, visitorHash } from "../lib/visit";
import type { AppEnv } from "../types";
import { visitorSaltOrNull } from "../visitors/salt";
import { loggableError } from "../lib/loggable-error";

// The binding does not say when a window ends; its period is 10 or 60 seconds, so a minute always is enough.
export const RETRY_AFTER_SECONDS = 60;
const RETRY_AFTER = { "Retry-After": String(RETRY_AFTER_SECONDS) };

export function rateLimited(message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError("rate_limited", message, undefined, { ...headers, ...RETRY_AFTER });
}

/**
 * Counts one request against `key` and says whether the key is still within the limit. A limiter that
 * fails lets the request through: an outage of rate limiting is no reason to refuse real traffic.
 */
export async function withinLimit(limiter: RateLimit, key: string): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success;
  } catch (err) {
    console.error(JSON.stringify({ event: "rate_limit_unavailable", error: loggableError(err) }));
    return true;
  }
}

/**
 * The client's address block (see addressBlock), or null when the request did not come through
 * Cloudflare's edge, which always sets CF-Connecting-IP (and replaces a client's own). Client-set headers
 * such as X-Forwarded-For are never read: a client could send a new one with every request.
 */
function clientAddress(headers: Headers): string | null {
  const ip = headers.get("cf-connecting-ip");
  return ip ? addressBlock(ip.trim()) : null;
}

/** The key of a client's rate limits: a keyed hash of its address block, so that no address leaves the Worker. */
async function clientKey(pepper: string, headers: Headers): Promise<string | null> {
  const address = clientAddress(headers);
  return address ? hmacSha256Hex(pepper, `rate-limit-client\n${address}`) : null;
}

/**
 * The key of a visitor's rate limits in a workspace: the daily visitor hash that clicks are told apart by,
 * or null without a client address (or without the day's salt, as when the limiter itself fails).
 */
export async function visitorKey(env: Env, headers: Headers, workspaceId: string): Promise<string | null> {
  const address = clientAddress(headers);
  if (!address) return null;
  const salt = await visitorSaltOrNull(env, Date.now());
  if (!salt) return null;
  return `${workspaceId}:${await visitorHash(salt, address, headers.get("user-agent") ?? "")}`;
}

/**
 * Failed authentication, per client: every 401 (a missing or wrong API key, admin token, webhook signature or
 * publishable key) counts, and a client past the limit gets 429 instead until its window has passed.
 */
export function limitFailedAuthentication() {
  return createMiddleware<AppEnv>(async function limitFailedAuthentication(c, next) {
    await next();
    if (c.res.status !== 401) return;
    const key = await clientKey(c.env.PII_PEPPER, c.req.raw.headers);
    if (!key || (await withinLimit(c.env.AUTH_FAILURE_LIMITER, key))) return;
    const message = "Too many failed attempts to authenticate from this client; try again after Retry-After seconds.";
    c.res = undefined;
    c.res = c.json(errorBody("rate_limited", message, c.get("requestId") ?? "unknown"), 429, RETRY_AFTER);
  });
}
