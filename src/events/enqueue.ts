import type { WhatsAppEvents } from "../db/messages";
import type { QueueMessage } from "../schemas/queue";

// Limits of one Queue.sendBatch call, and of one message (128 KB, with room to spare).
const MAX_SEND_BATCH = { messages: 100, bytes: 200_000 };
const MAX_MESSAGE_BYTES = 100_000;

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

/** WhatsApp events as queue messages, each under the size limit: a large webhook body becomes several. */
export function whatsappMessages(events: WhatsAppEvents): QueueMessage[] {
  const messages: QueueMessage[] = [];
  const empty = (): WhatsAppEvents => ({ statuses: [], inbound: [], consents: [] });
  let current = empty();
  let size = 0;
  const push = <K extends keyof WhatsAppEvents>(kind: K, event: WhatsAppEvents[K][number]) => {
    const bytes = JSON.stringify(event).length;
    if (size + bytes > MAX_MESSAGE_BYTES && size > 0) {
      messages.push({ type: "whatsapp", events: current });
      current = empty();
      size = 0;
    }
    (current[kind] as WhatsAppEvents[K][number][]).push(event);
    size += bytes;
  };
  for (const status of events.statuses) push("statuses", status);
  for (const inbound of events.inbound) push("inbound", inbound);
  for (const consent of events.consents) push("consents", consent);
  if (size > 0) messages.push({ type: "whatsapp", events: current });
  return messages;
}
