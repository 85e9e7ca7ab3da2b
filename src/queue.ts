import { recordConversion, type ConversionRequest } from "./conversions/record";
import { insertClicks, type ClickRecord } from "./db/clicks";
import { createDb } from "./db/client";
import type { ConversionSource } from "./db/schema";
import { fillRetentionZones } from "./db/retention-zones";
import { findWorkspace } from "./db/workspaces";
import { mergeEvents, writeWhatsAppEvents, type WhatsAppEvents } from "./db/messages";
import { WriteCoalescer } from "./lib/write-coalescer";

/** What travels through the events queue: work that must not be lost when D1 is unavailable. */
export type QueueMessage =
  | { type: "click"; click: ClickRecord }
  | { type: "whatsapp"; events: WhatsAppEvents }
  | { type: "conversion"; workspaceId: string; request: ConversionRequest; source: ConversionSource }
  | { type: "retention-zones"; workspaceId?: string };

// Limits of one Queue.sendBatch call.
const MAX_SEND_BATCH = { messages: 100, bytes: 200_000 };

/** Sends any number of bodies to the queue, in as few sendBatch calls as its limits allow. */
export async function enqueue(queue: Queue<QueueMessage>, bodies: QueueMessage[]): Promise<void> {
  let batch: MessageSendRequest<QueueMessage>[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = JSON.stringify(body).length;
    if (batch.length === MAX_SEND_BATCH.messages || (bytes + size > MAX_SEND_BATCH.bytes && batch.length > 0)) {
      await queue.sendBatch(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ body });
    bytes += size;
  }
  if (batch.length > 0) await queue.sendBatch(batch);
}

// Concurrent clicks in this isolate share one D1 batch (see WriteCoalescer).
const clickWrites = new WriteCoalescer<ClickRecord>({ maxItems: 100, pollMs: 2, staleAfterMs: 10_000 });

/** Records a click directly; when that write fails the click is queued and retried until it lands. */
export function recordClick(env: Env, click: ClickRecord): Promise<void> {
  return clickWrites.add(click, (clicks) => writeClicksDurably(env, clicks));
}

async function writeClicksDurably(env: Env, clicks: ClickRecord[]): Promise<void> {
  try {
    await insertClicks(env.DB, clicks);
  } catch (err) {
    console.warn(JSON.stringify({ event: "click_write_failed", clicks: clicks.length, error: String(err) }));
    try {
      await enqueue(
        env.EVENTS,
        clicks.map((click) => ({ type: "click", click })),
      );
    } catch (queueErr) {
      // Last resort: the whole records go to the log, from which they can be replayed.
      console.error(JSON.stringify({ event: "clicks_not_queued", error: String(queueErr), clicks }));
      throw queueErr;
    }
  }
}

function backoffSeconds(attempts: number): number {
  return Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
}

/** Writes one kind of message together; on failure every one of them is retried with back-off. */
async function settle<M extends QueueMessage>(
  messages: Message<M>[],
  write: (bodies: M[]) => Promise<void>,
): Promise<void> {
  if (messages.length === 0) return;
  try {
    // Writes are idempotent, so a batch that is retried after a partial failure is safe.
    await write(messages.map((m) => m.body));
    for (const message of messages) message.ack();
  } catch (err) {
    console.warn(
      JSON.stringify({
        event: "queue_batch_failed",
        type: messages[0].body.type,
        size: messages.length,
        error: String(err),
      }),
    );
    for (const message of messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

export async function handleQueue(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const clicks: Message<Extract<QueueMessage, { type: "click" }>>[] = [];
  const whatsapp: Message<Extract<QueueMessage, { type: "whatsapp" }>>[] = [];
  const conversions: Message<Extract<QueueMessage, { type: "conversion" }>>[] = [];
  const zones: Message<Extract<QueueMessage, { type: "retention-zones" }>>[] = [];
  for (const message of batch.messages) {
    const type = message.body?.type;
    if (type === "click") clicks.push(message as (typeof clicks)[number]);
    else if (type === "whatsapp") whatsapp.push(message as (typeof whatsapp)[number]);
    else if (type === "conversion") conversions.push(message as (typeof conversions)[number]);
    else if (type === "retention-zones") zones.push(message as (typeof zones)[number]);
    else {
      console.error(JSON.stringify({ event: "unknown_queue_message", id: message.id }));
      message.retry(); // kept for inspection: after max_retries it moves to the dead-letter queue
    }
  }
  await settle(clicks, (bodies) =>
    insertClicks(
      env.DB,
      bodies.map((b) => b.click),
    ),
  );
  await settle(whatsapp, (bodies) => writeWhatsAppEvents(env.DB, mergeEvents(bodies.map((b) => b.events))));
  // Conversions are idempotent by (event, orderId) only when an order id is given; each is recorded once
  // per message, acknowledged only after its own write.
  for (const message of conversions) await settle([message], ([body]) => recordQueuedConversion(env, body));
  for (const message of zones) await settle([message], ([body]) => fillZonesInTurns(env, body.workspaceId));
}

// A queue consumer may run for minutes, but a turn this long leaves room for the rest of the batch.
const FILL_TURN_MS = 20_000;

/** Fills (or drops) wall-clock retention copies for a while, and queues the next turn if work is left. */
export async function fillZonesInTurns(env: Env, workspaceId?: string): Promise<void> {
  const more = await fillRetentionZones(env.DB, { workspaceId, budgetMs: FILL_TURN_MS });
  if (more) await enqueue(env.EVENTS, [{ type: "retention-zones", workspaceId }]);
}

async function recordQueuedConversion(env: Env, body: Extract<QueueMessage, { type: "conversion" }>): Promise<void> {
  const db = createDb(env.DB);
  const workspace = await findWorkspace(db, body.workspaceId);
  if (!workspace) return; // the workspace was deleted: nothing to attribute to
  await recordConversion(env, db, workspace, body.request, body.source);
}
