import type { D1Handle } from "../db/client";
import { applyOutboxSlice, pendingOutbox, type Pending } from "../db/pipeline";
import { forwardToGa4 } from "../ga4/forward";
import { forwardToWebhooks } from "../webhooks/forward";
import { enqueue } from "./enqueue";
import { loggableError } from "../lib/loggable-error";

/**
 * Keeps the rollups (and everything else derived from raw events) following the outbox. Writers
 * wake the consumer through the events queue after their events are durable; the consumer applies
 * the outbox a slice at a time until it has caught up; a report first applies what little may be
 * pending, and says up to when it is complete (`asOf`) when a burst leaves more than that.
 */

/** Outbox entries applied in one transaction: large enough to group well, small enough to stay short. */
const SLICE_ENTRIES = 2_000;
/** Slices a report applies before answering; past that it answers from what is applied. */
const READ_SLICES = 3;
/** How long one queue delivery applies slices before handing over to the next. */
const DRAIN_BUDGET_MS = 20_000;
/** A wake is delivered this late, so that the writes of the next second, which skip their own, are in. */
const WAKE_DELAY_SECONDS = 1;

let lastWake = 0;

/**
 * Asks the consumer to apply the outbox soon. At most one wake per second per isolate: the writes
 * that skip theirs committed before the last wake is delivered, so it applies them too.
 */
export async function wakeConsumer(env: Env, now = Date.now()): Promise<void> {
  if (now - lastWake < WAKE_DELAY_SECONDS * 1000) return;
  lastWake = now;
  try {
    await env.EVENTS.send({ type: "outbox" }, { delaySeconds: WAKE_DELAY_SECONDS });
  } catch (err) {
    // The minute cron catches up without it.
    lastWake = 0;
    console.warn(JSON.stringify({ event: "wake_failed", error: loggableError(err) }));
  }
}

export type DrainLimits = {
  /** Time after which no further slice is started. */
  budgetMs?: number;
  /** Slices at most. */
  slices?: number;
  /** Outbox entries per slice. */
  size?: number;
};

/** Applies the outbox until it has caught up or a limit is reached; answers what is left. */
export async function drainOutbox(
  d1: D1Handle,
  { budgetMs = DRAIN_BUDGET_MS, slices = Infinity, size = SLICE_ENTRIES }: DrainLimits = {},
): Promise<Pending> {
  const started = Date.now();
  let pending = await pendingOutbox(d1);
  for (let n = 0; pending.pending > 0 && n < slices && Date.now() - started < budgetMs; n++) {
    pending = await applyOutboxSlice(d1, size);
  }
  return pending;
}

/**
 * The queue's wake: drains for the rollups, GA4 and outbound webhooks, and hands what a long burst leaves over to the
 * next delivery.
 */
export async function handleWake(env: Env): Promise<void> {
  const left = await drainOutbox(env.DB);
  await forwardToGa4(env);
  await forwardToWebhooks(env);
  if (left.pending > 0) await enqueue(env.EVENTS, [{ type: "outbox" }]);
}

/**
 * Applies what is pending before a read, within a bound, and answers the time up to which the read
 * is complete: the request's own arrival when nothing is left, else just before the oldest entry
 * not yet applied. Given the session the read goes on through, every later query of that session
 * sees what this applied.
 */
export async function readAsOf(d1: D1Handle, receivedAt: number): Promise<number> {
  const pending = await drainOutbox(d1, { budgetMs: Infinity, slices: READ_SLICES });
  if (pending.pending === 0 || pending.oldest === null) return receivedAt;
  return Math.min(receivedAt, pending.oldest - 1);
}
