import { insertClicks, type ClickRecord } from "./db/clicks";

/** What travels through the events queue: work that must not be lost when D1 is unavailable. */
export type QueueMessage = { type: "click"; click: ClickRecord };

/** Records a click directly; when that write fails the click is queued and retried until it lands. */
export async function recordClick(env: Env, click: ClickRecord): Promise<void> {
  try {
    await insertClicks(env.DB, [click]);
  } catch (err) {
    console.warn(JSON.stringify({ event: "click_write_failed", clickId: click.id, error: String(err) }));
    try {
      await env.EVENTS.send({ type: "click", click } satisfies QueueMessage);
    } catch (queueErr) {
      // Last resort: the whole record goes to the log, from which it can be replayed.
      console.error(JSON.stringify({ event: "click_not_queued", error: String(queueErr), click }));
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
