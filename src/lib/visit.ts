import type { ClickRecord } from "../db/clicks";
import type { RedirectTarget } from "../db/redirect-targets";
import type { ClickKind } from "../db/schema";
import { hmacSha256Hex } from "./crypto";
import { classifyUserAgent, describeUserAgent } from "./user-agent";

/** Human click, link preview or other bot: decided once, before anything is recorded. */
export function classifyVisit(headers: Headers): ClickKind {
  // Browsers that prefetch or prerender a link announce it; that is not a click yet.
  const purpose = headers.get("sec-purpose") ?? headers.get("purpose") ?? "";
  if (/prefetch|prerender/i.test(purpose)) return "preview";
  const kind = classifyUserAgent(headers.get("user-agent"));
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
async function visitorHash(pepper: string, ip: string, userAgent: string, at: number): Promise<string> {
  const day = new Date(at).toISOString().slice(0, 10);
  const salt = await hmacSha256Hex(pepper, `visitor-salt:${day}`);
  return hmacSha256Hex(salt, `${ip}\n${userAgent}`);
}

export type Visit = {
  id: string;
  kind: ClickKind;
  at: number;
  headers: Headers;
  country: string | null;
};

export async function buildClickRecord(pepper: string, target: RedirectTarget, visit: Visit): Promise<ClickRecord> {
  const userAgent = visit.headers.get("user-agent");
  const ip = visit.headers.get("cf-connecting-ip") ?? visit.headers.get("x-real-ip") ?? "";
  const details = describeUserAgent(userAgent);
  return {
    id: visit.id,
    workspaceId: target.workspaceId,
    linkId: target.linkId,
    campaignId: target.campaignId,
    variant: target.variant,
    messageId: target.messageId,
    contactHash: target.contactHash,
    kind: visit.kind,
    visitorHash: await visitorHash(pepper, ip, userAgent ?? "", visit.at),
    dedupSeconds: target.clickDedupSeconds,
    occurredAt: visit.at,
    country: visit.country,
    deviceType: details.deviceType,
    os: details.os,
    browser: details.browser,
    referrerHost: referrerHost(visit.headers.get("referer")),
    userAgent: userAgent ? userAgent.slice(0, 512) : null,
  };
}
