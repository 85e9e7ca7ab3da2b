import { hmacSha256Hex } from "./crypto";
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

/**
 * Visitors are told apart by HMAC(ip + user agent) under a salt derived from PII_PEPPER and the UTC
 * day, so a visitor cannot be followed across days and the IP is never stored.
 */
export async function visitorHash(pepper: string, ip: string, userAgent: string, at: number): Promise<string> {
  const day = new Date(at).toISOString().slice(0, 10);
  const salt = await hmacSha256Hex(pepper, `visitor-salt:${day}`);
  return hmacSha256Hex(salt, `${ip}\n${userAgent}`);
}

export type VisitorDetails = UserAgentDetails & {
  visitorHash: string;
  referrerHost: string | null;
  userAgent: string | null;
};

/** What is kept of the visitor of a visit at `at`: a daily hash instead of the IP, the referrer's host only. */
export async function describeVisitor(pepper: string, request: VisitRequest, at: number): Promise<VisitorDetails> {
  const { userAgent } = request;
  return {
    ...describeUserAgent(userAgent),
    visitorHash: await visitorHash(pepper, request.ip, userAgent ?? "", at),
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
