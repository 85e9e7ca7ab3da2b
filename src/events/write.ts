import { insertClicks, type ClickRecord } from "../db/clicks";
import { mergeEvents, writeWhatsAppEvents, type WhatsAppEvents } from "../db/messages";
import { WriteCoalescer } from "../lib/write-coalescer";
import type { QueueMessage } from "../schemas/queue";
import { enqueue, whatsappMessages } from "./enqueue";

/**
 * The way clicks and WhatsApp events reach D1. Requests in flight at the same time share one D1
 * batch (see WriteCoalescer); a batch that fails is written again request by request, so one
 * request's bad event costs no other request anything; what fails on its own goes to the events
 * queue, whose consumer retries it and keeps what can never be written as a dead letter. Each call
 * resolves once its events are durable, in D1 or in the queue.
 */
async function writeOrQueue<T>(
  env: Env,
  coalescer: WriteCoalescer<T>,
  item: T,
  write: (items: T[]) => Promise<void>,
  toQueue: (item: T) => QueueMessage[],
  describe: (item: T) => Record<string, unknown>,
): Promise<void> {
  try {
    await coalescer.add(item, write);
  } catch (err) {
    console.warn(JSON.stringify({ event: "write_failed_queued", ...describe(item), error: String(err) }));
    await enqueue(env.EVENTS, toQueue(item));
  }
}

// One local D1 write per request caps near 1,000/s; batches of concurrent requests lift that.
const clickWrites = new WriteCoalescer<ClickRecord>({ maxItems: 100, pollMs: 2, staleAfterMs: 10_000 });
const whatsappWrites = new WriteCoalescer<WhatsAppEvents>({ maxItems: 64, pollMs: 1, staleAfterMs: 10_000 });

/** Records one visit to a short link (after the redirect has been answered). */
export async function recordClick(env: Env, click: ClickRecord): Promise<void> {
  try {
    await writeOrQueue(
      env,
      clickWrites,
      click,
      (clicks) => insertClicks(env.DB, clicks),
      (item) => [{ type: "click", click: item }],
      (item) => ({ kind: "click", workspaceId: item.workspaceId }),
    );
  } catch (err) {
    // Last resort, with D1 and the queue both down: the record (hashes only) goes to the log for replay.
    console.error(JSON.stringify({ event: "click_not_queued", error: String(err), click }));
    throw err;
  }
}

/** Stores a webhook's statuses and inbound messages; a webhook is acknowledged once this resolves. */
export async function storeWhatsAppEvents(env: Env, events: WhatsAppEvents): Promise<void> {
  if (events.statuses.length === 0 && events.inbound.length === 0) return;
  return writeOrQueue(
    env,
    whatsappWrites,
    events,
    (batches) => writeWhatsAppEvents(env.DB, mergeEvents(batches)),
    whatsappMessages,
    (item) => ({ kind: "whatsapp", statuses: item.statuses.length, inbound: item.inbound.length }),
  );
}
