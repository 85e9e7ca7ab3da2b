import { insertClicks, type ClickRecord } from "./db/clicks";
import { WriteCoalescer } from "./lib/write-coalescer";

/** What travels through the events queue: work that must not be lost when D1 is unavailable. */
export type QueueMessage = { type: "click"; click: ClickRecord };

// Concurrent clicks in this isolate share one D1 batch (see WriteCoalescer); up to 100 also fit one
// queue sendBatch should D1 fail.
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
      await env.EVENTS.sendBatch(clicks.map((click) => ({ body: { type: "click", click } satisfies QueueMessage })));
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

export async function handleQueue(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const clicks = batch.messages.filter((m) => m.body?.type === "click");
  for (const message of batch.messages) {
    if (message.body?.type !== "click") {
      console.error(JSON.stringify({ event: "unknown_queue_message", id: message.id }));
      message.retry(); // kept for inspection: after max_retries it moves to the dead-letter queue
    }
  }
  if (clicks.length === 0) return;
  try {
    // Inserts are idempotent by click id, so a batch that is retried after a partial failure is safe.
    await insertClicks(
      env.DB,
      clicks.map((m) => m.body.click),
    );
    for (const message of clicks) message.ack();
  } catch (err) {
    console.warn(JSON.stringify({ event: "click_batch_failed", size: clicks.length, error: String(err) }));
    for (const message of clicks) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}
