import { hmacSha256HexWithKey } from "./crypto";
import { groupsOf } from "./destination";
import { classifyUserAgent, describeUserAgent, type UserAgentDetails } from "./user-agent";

/** What a request to a short link says about its visitor (the redirect reads it from the headers). */
export type VisitRequest = {
  userAgent: string | null;
  /** `Sec-Purpose` or `Purpose`: browsers that prefetch or prerender a link say so. */
  purpose: string | null;
  ip: string;
  referrer: string | null;
};

export type VisitKind = "click" | "preview" | "bot";

/** Human click, link preview or other bot: decided once, before anything is recorded. */
export function classifyVisit(request: Pick<VisitRequest, "userAgent" | "purpose">): VisitKind {
  // A prefetch or prerender is not a click yet.
  if (/prefetch|prerender/i.test(request.purpose ?? "")) return "preview";
  const kind = classifyUserAgent(request.userAgent);
  return kind === "human" ? "click" : kind;
}

function referrerHost(referrer: string | null): string | null {
  if (!referrer) return null;
  try {
    return new URL(referrer).hostname || null;
  } catch {
    return null;
  }
}

/** The UTC day whose salt hashes the visitors of a visit at `at` (YYYY-MM-DD). */
export function visitorSaltDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/**
 * Visitors are told apart by HMAC(ip + user agent) under their UTC day's salt: a random key that is
 * deleted two days later (src/visitors/salt.ts), so a visitor cannot be followed across days, the IP
 * is never stored, and an old hash can no longer be computed again from an address.
 */
export async function visitorHash(salt: CryptoKey, ip: string, userAgent: string): Promise<string> {
  return hmacSha256HexWithKey(salt, `${ip}\n${userAgent}`);
}

export type VisitorDetails = UserAgentDetails & {
  visitorHash: string | null;
  referrerHost: string | null;
  userAgent: string | null;
};

/**
 * What is kept of the visitor of a visit: a hash under the visit's daily salt instead of the IP (none
 * when the salt could not be had), the referrer's host only.
 */
export async function describeVisitor(salt: CryptoKey | null, request: VisitRequest): Promise<VisitorDetails> {
  const { userAgent } = request;
  return {
    ...describeUserAgent(userAgent),
    visitorHash: salt ? await visitorHash(salt, request.ip, userAgent ?? "") : null,
    referrerHost: referrerHost(request.referrer),
    userAgent: userAgent ? userAgent.slice(0, 512) : null,
  };
}

/**
 * The address a client is rate limited by: an IPv4 address as it is, an IPv6 one by its /64, which a
 * single subscriber holds whole and can pick addresses from at will. Null for what is not an address.
 */
export function addressBlock(ip: string): string | null {
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(ip)) return ip;
  let host: string;
  try {
    host = new URL(`http://[${ip}]/`).hostname;
  } catch {
    return null;
  }
  const prefix = groupsOf(host.slice(1, -1)).slice(0, 4);
  return `${prefix.map((group) => group.toString(16)).join(":")}::/64`;
}
