import { GA4_LIMITS } from "./ga4-rules";

/**
 * The events GA4 receives, built from chatfunnel's own rows: a human click becomes `wa_link_click`, a
 * conversion keeps its name (`purchase`, `generate_lead` or the site's own, all valid GA4 names already).
 * Nothing personal goes in: no contact, no wamid, only chatfunnel's ids, campaign and link.
 */

export type Ga4Param = string | number | boolean;
export type Ga4Event = { name: string; params: Record<string, Ga4Param>; timestamp_micros: number };
export type Ga4ConsentValue = "GRANTED" | "DENIED";
export type Ga4RequestConsent = { ad_user_data: Ga4ConsentValue; ad_personalization: Ga4ConsentValue };
export type ConsentSetting = { adUserData: "granted" | "denied"; adPersonalization: "granted" | "denied" };

/** An event with what decides the request it can travel in. */
export type BuiltEvent = { clientId: string; consent: Ga4RequestConsent; event: Ga4Event };

/** What a workspace forwarding to GA4 adds to every event. */
export type ForwardingOptions = { consent: ConsentSetting; debugMode: boolean };

/** Both denied unless the workspace says otherwise: what EEA users require by default. */
export const DEFAULT_CONSENT: ConsentSetting = { adUserData: "denied", adPersonalization: "denied" };

export const CLICK_EVENT = "wa_link_click";

export function requestConsent(consent: ConsentSetting): Ga4RequestConsent {
  return {
    ad_user_data: consent.adUserData === "granted" ? "GRANTED" : "DENIED",
    ad_personalization: consent.adPersonalization === "granted" ? "GRANTED" : "DENIED",
  };
}

const encoder = new TextEncoder();

/**
 * A client id in the shape gtag gives (`<random>.<seconds>`), derived from one of chatfunnel's own
 * random ids: the same click always gives the same id, so its conversions join the same GA4 user.
 */
export async function derivedClientId(seed: string, atMs: number): Promise<string> {
  const digest = new DataView(await crypto.subtle.digest("SHA-256", encoder.encode(`ga4-client:${seed}`)));
  const number = digest.getUint32(0) & 0x7fffffff || 1;
  return `${number}.${Math.floor(atMs / 1000)}`;
}

/** GA4 starts a session where a new session_id appears; a click starts one at its own second. */
const sessionOf = (atMs: number) => String(Math.floor(atMs / 1000));

/** Params without the empty ones, each string within GA4's length for a parameter value. */
function paramsOf(entries: Record<string, Ga4Param | null | undefined>): Record<string, Ga4Param> {
  const params: Record<string, Ga4Param> = {};
  for (const [name, value] of Object.entries(entries)) {
    if (value === null || value === undefined || value === "") continue;
    params[name] = typeof value === "string" ? value.slice(0, GA4_LIMITS.paramValueLength) : value;
  }
  return params;
}

/** DebugView shows only events marked for it, and only with a positive engagement time. */
function withDebug(params: Record<string, Ga4Param>, options: ForwardingOptions): Record<string, Ga4Param> {
  if (!options.debugMode) return params;
  return { ...params, debug_mode: true, engagement_time_msec: params.engagement_time_msec ?? 1 };
}

const micros = (atMs: number) => Math.round(atMs) * 1000;

export type ClickFacts = {
  clickId: string;
  occurredAt: number;
  linkCode: string | null;
  campaignId: string | null;
  campaignName: string | null;
  variant: string | null;
  messageCategory: string | null;
};

export async function clickEvent(click: ClickFacts, options: ForwardingOptions): Promise<BuiltEvent> {
  return {
    clientId: await derivedClientId(click.clickId, click.occurredAt),
    consent: requestConsent(options.consent),
    event: {
      name: CLICK_EVENT,
      params: withDebug(
        paramsOf({
          click_id: click.clickId,
          link_code: click.linkCode,
          campaign_id: click.campaignId,
          campaign: click.campaignName,
          variant: click.variant,
          message_category: click.messageCategory,
          source: "whatsapp",
          medium: "message",
          session_id: sessionOf(click.occurredAt),
        }),
        options,
      ),
      timestamp_micros: micros(click.occurredAt),
    },
  };
}

export type ConversionFacts = {
  conversionId: string;
  event: string;
  occurredAt: number;
  orderId: string | null;
  value: number | null;
  currency: string | null;
  gaClientId: string | null;
  gaSessionId: string | null;
  consent: ConsentSetting | null;
  // The click it is attributed to, if any.
  clickId: string | null;
  clickAt: number | null;
  linkCode: string | null;
  campaignId: string | null;
  campaignName: string | null;
  variant: string | null;
};

/**
 * A conversion joins the site's GA4 user when the site gave its `_ga` client id; otherwise the user of
 * its click (and the click's session); otherwise a user of its own.
 */
export async function conversionEvent(conversion: ConversionFacts, options: ForwardingOptions): Promise<BuiltEvent> {
  const click =
    conversion.clickId && conversion.clickAt !== null ? { id: conversion.clickId, at: conversion.clickAt } : null;
  const clientId =
    conversion.gaClientId ??
    (click
      ? await derivedClientId(click.id, click.at)
      : await derivedClientId(conversion.conversionId, conversion.occurredAt));
  const sessionId = conversion.gaSessionId ?? (!conversion.gaClientId && click ? sessionOf(click.at) : null);
  const purchase = conversion.event === "purchase";
  return {
    clientId,
    consent: requestConsent(conversion.consent ?? options.consent),
    event: {
      name: conversion.event,
      params: withDebug(
        paramsOf({
          // GA4 counts a purchase once per transaction id: the shop's order id, else chatfunnel's.
          transaction_id: purchase ? (conversion.orderId ?? conversion.conversionId) : null,
          conversion_id: conversion.conversionId,
          value: conversion.value,
          currency: conversion.currency,
          click_id: conversion.clickId,
          link_code: conversion.linkCode,
          campaign_id: conversion.campaignId,
          campaign: conversion.campaignName,
          variant: conversion.variant,
          source: click ? "whatsapp" : null,
          medium: click ? "message" : null,
          session_id: sessionId,
        }),
        options,
      ),
      timestamp_micros: micros(conversion.occurredAt),
    },
  };
}

/** GA4 takes events back to 72 hours: one older than that when it could first be sent is skipped. */
export function isTooOld(occurredAt: number, now: number): boolean {
  return occurredAt < now - GA4_LIMITS.maxAgeMs;
}

export type Ga4Body = { client_id: string; consent: Ga4RequestConsent; events: Ga4Event[] };

/**
 * Requests for events of one workspace: one client id and consent each, at most 25 events and under
 * GA4's body size, in the order given.
 */
export function packRequests<T extends BuiltEvent>(events: T[]): { body: Ga4Body; events: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const event of events) {
    const key = `${event.clientId}\n${event.consent.ad_user_data}\n${event.consent.ad_personalization}`;
    const group = groups.get(key);
    if (group) group.push(event);
    else groups.set(key, [event]);
  }
  const requests: { body: Ga4Body; events: T[] }[] = [];
  for (const group of groups.values()) {
    const { clientId, consent } = group[0];
    let current: T[] = [];
    let bytes = 0;
    const base = bodyBytes({ client_id: clientId, consent, events: [] });
    const flush = () => {
      if (current.length === 0) return;
      requests.push({ body: { client_id: clientId, consent, events: current.map((e) => e.event) }, events: current });
      current = [];
      bytes = 0;
    };
    for (const event of group) {
      const size = bodyBytes(event.event) + 1;
      if (current.length === GA4_LIMITS.eventsPerRequest || base + bytes + size >= GA4_LIMITS.bodyBytes) flush();
      current.push(event);
      bytes += size;
    }
    flush();
  }
  return requests;
}

export const bodyBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).length;
