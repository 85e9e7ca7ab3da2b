import {
  readForwardingWorkspaces,
  readGa4Slice,
  recordGa4Slice,
  type NewGa4Event,
  type SliceClick,
  type SliceConversion,
} from "../db/ga4";
import { clickEvent, conversionEvent, isTooOld, type BuiltEvent } from "../lib/ga4-events";
import { newId } from "../lib/ids";
import { wakeSender } from "../events/deliveries";
import { forwardingOptions, ga4Target } from "./target";

/**
 * GA4's consumer of the outbox: each human click and new conversion of a workspace that forwards to
 * GA4 becomes an event waiting to be sent (ga4_events), in the same transaction that moves the
 * consumer past its outbox entry, so each is built once. An event already older than GA4 accepts is
 * counted as skipped instead. Sending is the sender's work (src/ga4/send.ts), through the deliveries queue.
 */

/** Outbox entries read at a time. */
const SLICE_ENTRIES = 500;
/** How long one call reads slices before leaving the rest to the next wake. */
const FORWARD_BUDGET_MS = 10_000;

export type ForwardResult = { events: number; skipped: number };

export async function forwardToGa4(
  env: Env,
  { now = Date.now(), budgetMs = FORWARD_BUDGET_MS }: { now?: number; budgetMs?: number } = {},
): Promise<ForwardResult> {
  const started = Date.now();
  const total: ForwardResult = { events: 0, skipped: 0 };
  for (;;) {
    const slice = await readGa4Slice(env.DB, SLICE_ENTRIES);
    if (slice.to === slice.from) break;
    const { events, skipped } = await buildSlice(env, slice.clicks, slice.conversions, now);
    const moved = await recordGa4Slice(env.DB, slice, events, skipped, now);
    if (moved) {
      total.events += events.length;
      for (const n of skipped.values()) total.skipped += n;
    }
    const full = slice.clicks.length + slice.conversions.length >= SLICE_ENTRIES;
    if (!moved || !full || Date.now() - started >= budgetMs) break;
  }
  if (total.events > 0) await wakeSender(env, "ga4");
  return total;
}

async function buildSlice(env: Env, clicks: SliceClick[], conversions: SliceConversion[], now: number) {
  const workspaceIds = [...new Set([...clicks, ...conversions].map((e) => e.workspaceId))];
  const workspaces = await readForwardingWorkspaces(env.DB, workspaceIds);
  // Only workspaces that can send: a measurement id without its secret forwards nothing.
  const options = new Map<string, ReturnType<typeof forwardingOptions>>();
  for (const [id, workspace] of workspaces) {
    if (await ga4Target(env, workspace)) options.set(id, forwardingOptions(workspace.settings));
  }
  const events: NewGa4Event[] = [];
  const skipped = new Map<string, number>();
  const add = (
    subject: { workspaceId: string; occurredAt: number; contactHash: string | null },
    kind: NewGa4Event["kind"],
    subjectId: string,
    built: BuiltEvent,
  ) => {
    if (isTooOld(subject.occurredAt, now)) {
      skipped.set(subject.workspaceId, (skipped.get(subject.workspaceId) ?? 0) + 1);
      return;
    }
    events.push({
      id: newId("ga4"),
      workspaceId: subject.workspaceId,
      kind,
      subjectId,
      contactHash: subject.contactHash,
      clientId: built.clientId,
      consent: built.consent,
      event: built.event,
      occurredAt: subject.occurredAt,
    });
  };
  for (const click of clicks) {
    const settings = options.get(click.workspaceId);
    if (settings) add(click, "click", click.clickId, await clickEvent(click, settings));
  }
  for (const conversion of conversions) {
    const settings = options.get(conversion.workspaceId);
    if (!settings) continue;
    const consent =
      conversion.adUserData && conversion.adPersonalization
        ? { adUserData: conversion.adUserData, adPersonalization: conversion.adPersonalization }
        : null;
    add(conversion, "conversion", conversion.conversionId, await conversionEvent({ ...conversion, consent }, settings));
  }
  return { events, skipped };
}
