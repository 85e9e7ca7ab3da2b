import { recordConversion, type ConversionRequest } from "../conversions/record";
import { insertClicks, type ClickRecord } from "../db/clicks";
import { createDb } from "../db/client";
import { mergeEvents, writeWhatsAppEvents, type WhatsAppEvents } from "../db/messages";
import type { WorkspaceSettings } from "../db/schema";
import { WriteCoalescer } from "../lib/write-coalescer";
import type { QueueMessage } from "../schemas/queue";
import { enqueue, whatsappMessages } from "./enqueue";
import { wakeConsumer } from "./pipeline";
import { loggableError } from "../lib/loggable-error";

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
    await wakeConsumer(env);
  } catch (err) {
    console.warn(JSON.stringify({ event: "write_failed_queued", ...describe(item), error: loggableError(err) }));
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
    console.error(JSON.stringify({ event: "click_not_queued", error: loggableError(err), click }));
    throw err;
  }
}

/** Stores a webhook's statuses, inbound messages and consent records; a webhook is acknowledged once this resolves. */
export async function storeWhatsAppEvents(env: Env, events: WhatsAppEvents): Promise<void> {
  if (events.statuses.length === 0 && events.inbound.length === 0 && events.consents.length === 0) return;
  return writeOrQueue(
    env,
    whatsappWrites,
    events,
    (batches) => writeWhatsAppEvents(env.DB, mergeEvents(batches)),
    whatsappMessages,
    (item) => ({
      kind: "whatsapp",
      statuses: item.statuses.length,
      inbound: item.inbound.length,
      consents: item.consents.length,
    }),
  );
}

/**
 * Records a conversion from the site's beacon (before its 202) or pixel (after its GIF, which never waits
 * for it); if D1 fails it goes to the events queue, which retries it.
 */
export async function recordSiteConversion(
  env: Env,
  workspace: { id: string; settings: WorkspaceSettings },
  received: ConversionRequest,
  source: "beacon" | "pixel",
): Promise<void> {
  // Stamped now, so that a conversion stored later from the queue keeps the time it happened.
  const request = { ...received, occurredAt: received.occurredAt ?? Date.now() };
  try {
    await recordConversion(env, createDb(env.DB), workspace, request, source);
    await wakeConsumer(env);
  } catch (err) {
    console.warn(
      JSON.stringify({
        event: "write_failed_queued",
        kind: "conversion",
        workspaceId: workspace.id,
        error: loggableError(err),
      }),
    );
    await enqueue(env.EVENTS, [{ type: "conversion", workspaceId: workspace.id, request, source }]);
  }
}
