import { loggableError } from "../lib/loggable-error";
/** The deliveries queue's work: turns of the GA4 sender and of the outbound webhooks' sender. */
export type Sender = "ga4" | "webhooks";

/** The queue delays a message at most this long. */
export const MAX_QUEUE_DELAY_S = 43_200;

/** Asks the deliveries queue for a turn of `sender`, now or after `delaySeconds`. */
export async function wakeSender(env: Env, sender: Sender, delaySeconds = 0): Promise<void> {
  try {
    const delay = Math.min(MAX_QUEUE_DELAY_S, Math.max(0, Math.ceil(delaySeconds)));
    await env.DELIVERIES.send({ type: sender }, delay > 0 ? { delaySeconds: delay } : undefined);
  } catch (err) {
    // The minute cron wakes the sender when work is due and no turn holds it.
    console.warn(JSON.stringify({ event: "sender_wake_failed", sender, error: loggableError(err) }));
  }
}

/** Wakes `sender` when its earliest pending work (`due`) is due now: a lost wake delays it a minute at most. */
export async function wakeSenderIfDue(env: Env, sender: Sender, due: number | null, now = Date.now()): Promise<void> {
  if (due !== null && due <= now) await wakeSender(env, sender);
}
