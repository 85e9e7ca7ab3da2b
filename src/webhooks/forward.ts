import { readWebhookSlice, recordWebhookSlice, type NewDelivery, type WebhookSlice } from "../db/webhooks";
import { newId } from "../lib/ids";
import { clickEvent, conversionEvent, MAX_BODY_BYTES, messageEvent, type WebhookEvent } from "./events";
import { wakeSender } from "../events/deliveries";

/**
 * Outbound webhooks' consumer of the outbox: each change an endpoint subscribed to becomes one delivery
 * for it (webhook_deliveries), built in the transaction that moves the consumer past its entry, so each
 * endpoint hears of each change once; sending is the sender's work (src/webhooks/send.ts). Message steps
 * come from the outbox, which records each step once per message whatever the order or repetition of
 * WhatsApp's statuses.
 */

const SLICE_ENTRIES = 500;
const FORWARD_BUDGET_MS = 10_000;

export async function forwardToWebhooks(
  env: Env,
  { now = Date.now(), budgetMs = FORWARD_BUDGET_MS }: { now?: number; budgetMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  let total = 0;
  for (;;) {
    const slice = await readWebhookSlice(env.DB, SLICE_ENTRIES);
    if (slice.to === slice.from) break;
    const deliveries = buildDeliveries(slice);
    const moved = await recordWebhookSlice(env.DB, slice, deliveries, now);
    if (moved) total += deliveries.length;
    const full = slice.clicks.length + slice.conversions.length + slice.messages.length >= SLICE_ENTRIES;
    if (!moved || !full || Date.now() - started >= budgetMs) break;
  }
  if (total > 0) await wakeSender(env, "webhooks");
  return total;
}

function buildDeliveries(slice: WebhookSlice): NewDelivery[] {
  const events: {
    seq: number;
    workspaceId: string;
    subjectId: string;
    contactHash: string | null;
    event: WebhookEvent;
  }[] = [
    ...slice.clicks.map((c) => ({ ...c, subjectId: c.id, event: clickEvent(c) })),
    ...slice.conversions.map((c) => ({ ...c, subjectId: c.id, event: conversionEvent(c) })),
    ...slice.messages.map((m) => ({ ...m, subjectId: m.id, event: messageEvent(m) })),
  ].sort((a, b) => a.seq - b.seq);
  const deliveries: NewDelivery[] = [];
  for (const { workspaceId, subjectId, contactHash, event } of events) {
    const payload = JSON.stringify(event);
    if (payload.length > MAX_BODY_BYTES) {
      console.warn(JSON.stringify({ event: "webhook_body_too_large", workspaceId, type: event.type }));
      continue;
    }
    for (const endpoint of slice.endpoints) {
      if (endpoint.workspaceId !== workspaceId || !endpoint.events.includes(event.type)) continue;
      deliveries.push({
        id: newId("msg"),
        endpointId: endpoint.id,
        workspaceId,
        type: event.type,
        subjectId,
        contactHash,
        payload,
      });
    }
  }
  return deliveries;
}
