import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import worker from "../src/index";
import type { QueueMessage } from "../src/schemas/queue";

type Table = "clicks" | "messages" | "conversions" | "consents";

/** A real failing D1 write: the database refuses every insert into `table` until it is repaired. */
export async function breakWrites(table: Table) {
  await env.DB.exec(
    `CREATE TRIGGER IF NOT EXISTS refuse_${table} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`,
  );
}

export async function repairWrites(table: Table) {
  await env.DB.exec(`DROP TRIGGER IF EXISTS refuse_${table};`);
}

/** Hands queued bodies to the Worker's queue handler, as the queue would, and says what it acked or retried. */
export async function runQueue(messages: QueueMessage[], attempts = 1) {
  const batch = createMessageBatch<QueueMessage>(
    "chatfunnel-events",
    messages.map((body, i) => ({ id: `msg-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}
