import { recordConversion } from "./conversions/record";
import { insertClicks } from "./db/clicks";
import { createDb, type Db } from "./db/client";
import { insertDeadLetters, type DeadLetter } from "./db/dead-letters";
import { findErasures } from "./db/erasure";
import { writeWhatsAppEvents, mergeEvents, type WhatsAppEvents } from "./db/messages";
import { fillRetentionZones } from "./db/retention-zones";
import { findWorkspace } from "./db/workspaces";
import { enqueue } from "./events/enqueue";
import { handleWake } from "./events/pipeline";
import { retainedEvents } from "./events/retained";
import { sendGa4Turn } from "./ga4/send";
import { sendWebhookTurn } from "./webhooks/send";
import { housekeepInTurns } from "./housekeeping/purge";
import { readQueueMessage } from "./events/queue-message";
import type { QueueMessage } from "./schemas/queue";
import { withoutParams } from "./lib/loggable-error";

type Body<T extends QueueMessage["type"]> = Extract<QueueMessage, { type: T }>;

// A message that has failed on its own this often is taken to be unwritable, not unlucky.
export const DEAD_LETTER_AFTER_ATTEMPTS = 5;

function backoffSeconds(attempts: number): number {
  return Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * How one kind of queued work is written: all of a batch at once when it can, and the events of a
 * message that keeps failing one by one, so that only the events that really cannot be written
 * become dead letters.
 */
type Writer<B> = {
  write(bodies: B[]): Promise<void>;
  /** The smallest parts of a body that can be written, each with what its dead letter records. */
  split(body: B): { body: B; letter: Omit<DeadLetter, "reason"> }[];
};

const failure = (err: unknown) => withoutParams(err instanceof Error ? err.message : String(err));

/**
 * Writes a batch of one kind together. When that fails, each message is written alone, so a bad
 * message delays no other; a message that fails alone is retried with back-off, and once it has
 * failed DEAD_LETTER_AFTER_ATTEMPTS times its parts are written one by one and those that still fail
 * are kept as dead letters with their reason.
 */
async function settle<B>(db: Db, messages: { message: Message; body: B }[], writer: Writer<B>): Promise<void> {
  if (messages.length === 0) return;
  try {
    await writer.write(messages.map((m) => m.body));
    for (const { message } of messages) message.ack();
    return;
  } catch (err) {
    if (messages.length === 1) return failAlone(db, messages[0], writer, err);
  }
  for (const entry of messages) {
    try {
      await writer.write([entry.body]);
      entry.message.ack();
    } catch (err) {
      await failAlone(db, entry, writer, err);
    }
  }
}

async function failAlone<B>(db: Db, { message, body }: { message: Message; body: B }, writer: Writer<B>, err: unknown) {
  console.warn(
    JSON.stringify({ event: "queue_message_failed", id: message.id, attempts: message.attempts, error: failure(err) }),
  );
  if (message.attempts < DEAD_LETTER_AFTER_ATTEMPTS) {
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    return;
  }
  try {
    const letters: DeadLetter[] = [];
    for (const part of writer.split(body)) {
      try {
        await writer.write([part.body]);
      } catch (partErr) {
        letters.push({ ...part.letter, reason: failure(partErr) });
      }
    }
    await insertDeadLetters(db, letters);
    message.ack();
  } catch (deadLetterErr) {
    // D1 itself is failing: nothing can be decided now.
    console.warn(JSON.stringify({ event: "dead_letter_failed", id: message.id, error: failure(deadLetterErr) }));
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

const clickWriter = (env: Env): Writer<Body<"click">> => ({
  write: (bodies) =>
    insertClicks(
      env.DB,
      bodies.map((b) => b.click),
    ),
  split: (body) => [{ body, letter: { workspaceId: body.click.workspaceId, kind: "click", payload: body.click } }],
});

const whatsappWriter = (env: Env): Writer<Body<"whatsapp">> => ({
  write: async (bodies) =>
    writeWhatsAppEvents(env.DB, await retainedEvents(env, mergeEvents(bodies.map((b) => b.events)))),
  split: ({ events }) => {
    const alone = (part: Partial<WhatsAppEvents>) => ({
      type: "whatsapp" as const,
      events: { statuses: [], inbound: [], consents: [], ...part } satisfies WhatsAppEvents,
    });
    return [
      ...events.statuses.map((status) => ({
        body: alone({ statuses: [status] }),
        letter: { workspaceId: status.workspaceId, kind: "status" as const, payload: status },
      })),
      ...events.inbound.map((inbound) => ({
        body: alone({ inbound: [inbound] }),
        letter: { workspaceId: inbound.workspaceId, kind: "inbound" as const, payload: inbound },
      })),
      ...events.consents.map((consent) => ({
        body: alone({ consents: [consent] }),
        letter: { workspaceId: consent.workspaceId, kind: "consent" as const, payload: consent },
      })),
    ];
  },
});

// Conversions are idempotent by (event, orderId) only when an order id is given, so each is written
// once per message and acknowledged only after its own write.
const conversionWriter = (env: Env, db: Db): Writer<Body<"conversion">> => ({
  write: async (bodies) => {
    for (const body of bodies) {
      const workspace = await findWorkspace(db, body.workspaceId);
      if (workspace) await recordConversion(env, db, workspace, body.request, body.source);
    }
  },
  split: (body) => [{ body, letter: { workspaceId: body.workspaceId, kind: "conversion", payload: body.request } }],
});

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  const clicks: { message: Message; body: Body<"click"> }[] = [];
  const whatsapp: { message: Message; body: Body<"whatsapp"> }[] = [];
  const conversions: { message: Message; body: Body<"conversion"> }[] = [];
  const zones: { message: Message; body: Body<"retention-zones"> }[] = [];
  const housekeeping: Message[] = [];
  const wakes: Message[] = [];
  const ga4Turns: Message[] = [];
  const webhookTurns: Message[] = [];
  const read = batch.messages.map((message) => ({ message, ...readQueueMessage(message.body) }));
  // Dead letters first: a message whose dead letters cannot be kept now is retried whole.
  const retried = await keepUnreadable(
    db,
    read.filter((r) => r.letters.length > 0),
  );
  for (const { message, body } of read) {
    if (retried.has(message)) continue;
    if (!body) message.ack();
    else if (body.type === "click") clicks.push({ message, body });
    else if (body.type === "whatsapp") whatsapp.push({ message, body });
    else if (body.type === "conversion") conversions.push({ message, body });
    else if (body.type === "outbox") wakes.push(message);
    else if (body.type === "housekeeping") housekeeping.push(message);
    else if (body.type === "ga4") ga4Turns.push(message);
    else if (body.type === "webhooks") webhookTurns.push(message);
    else zones.push({ message, body });
  }
  await dropErased(env, clicks, whatsapp);
  await settle(db, clicks, clickWriter(env));
  await settle(db, whatsapp, whatsappWriter(env));
  for (const conversion of conversions) await settle(db, [conversion], conversionWriter(env, db));
  // What was written above is in the outbox too: one drain applies it all, whatever woke it.
  if (wakes.length > 0 || clicks.length + whatsapp.length + conversions.length > 0) {
    try {
      await handleWake(env);
      for (const message of wakes) message.ack();
    } catch (err) {
      console.warn(JSON.stringify({ event: "outbox_apply_failed", error: failure(err) }));
      for (const message of wakes) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
  // Each turn is repeatable and queues the next itself: one turn serves all its messages.
  if (housekeeping.length > 0) {
    try {
      await housekeepInTurns(env);
      for (const message of housekeeping) message.ack();
    } catch (err) {
      console.warn(JSON.stringify({ event: "housekeeping_failed", error: failure(err) }));
      for (const message of housekeeping) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
  // One sender turn serves every wake in the batch; a turn that cannot run is retried whole. GA4 and the
  // outbound webhooks go side by side: neither's slow endpoints hold up the other.
  await Promise.all([
    senderTurn(ga4Turns, "ga4_turn_failed", () => sendGa4Turn(env)),
    senderTurn(webhookTurns, "webhook_turn_failed", () => sendWebhookTurn(env)),
  ]);
  // Filling a zone's copy is repeatable and has the daily cron as a backstop: it is only ever retried.
  for (const { message, body } of zones) {
    try {
      await fillZonesInTurns(env, body.workspaceId);
      message.ack();
    } catch (err) {
      console.warn(JSON.stringify({ event: "zone_fill_failed", error: failure(err) }));
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
}

async function senderTurn(messages: Message[], failed: string, turn: () => Promise<unknown>): Promise<void> {
  if (messages.length === 0) return;
  try {
    await turn();
    for (const message of messages) message.ack();
  } catch (err) {
    console.warn(JSON.stringify({ event: failed, error: failure(err) }));
    for (const message of messages) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

/**
 * Queued events about a contact erased after they happened are dropped (and their messages
 * acknowledged): an erasure reaches work that was still in the queue.
 */
async function dropErased(
  env: Env,
  clicks: { message: Message; body: Body<"click"> }[],
  whatsapp: { message: Message; body: Body<"whatsapp"> }[],
): Promise<void> {
  type Event = { workspaceId: string; contactHash: string | null };
  const events: Event[] = [
    ...clicks.map(({ body }) => body.click),
    ...whatsapp.flatMap(({ body }) => [...body.events.statuses, ...body.events.inbound, ...body.events.consents]),
  ];
  const contacts = events.flatMap((e) =>
    e.contactHash ? [{ workspaceId: e.workspaceId, contactHash: e.contactHash }] : [],
  );
  const erasures = await findErasures(env.DB, contacts);
  if (erasures.size === 0) return;
  const erased = (e: Event, at: number) => at <= (erasures.get(`${e.workspaceId}\n${e.contactHash}`) ?? -Infinity);
  const keep = <T>(list: T[], drop: (item: T) => boolean) => {
    const kept = list.filter((item) => !drop(item));
    list.splice(0, list.length, ...kept);
  };
  keep(clicks, ({ message, body }) => {
    const drop = erased(body.click, body.click.occurredAt);
    if (drop) message.ack();
    return drop;
  });
  for (const entry of whatsapp) {
    const { statuses, inbound, consents } = entry.body.events;
    const notErased = <T extends { at: number } & Event>(list: T[]) => list.filter((e) => !erased(e, e.at));
    entry.body = {
      ...entry.body,
      events: { statuses: notErased(statuses), inbound: notErased(inbound), consents: notErased(consents) },
    };
  }
  keep(whatsapp, ({ message, body }) => {
    const { statuses, inbound, consents } = body.events;
    const empty = statuses.length + inbound.length + consents.length === 0;
    if (empty) message.ack();
    return empty;
  });
}

/**
 * What fails validation can never be written: it is kept as dead letters at once. A message whose
 * dead letters cannot be kept now is retried whole (its valid events are idempotent), so nothing of
 * it is lost.
 */
async function keepUnreadable(
  db: Db,
  unreadable: { message: Message; letters: DeadLetter[] }[],
): Promise<Set<Message>> {
  const retried = new Set<Message>();
  if (unreadable.length === 0) return retried;
  try {
    await insertDeadLetters(
      db,
      unreadable.flatMap((u) => u.letters),
    );
  } catch (err) {
    console.warn(JSON.stringify({ event: "dead_letter_failed", error: failure(err) }));
    for (const { message } of unreadable) {
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      retried.add(message);
    }
  }
  return retried;
}

// A queue consumer may run for minutes, but a turn this long leaves room for the rest of the batch.
const FILL_TURN_MS = 20_000;

/** Fills (or drops) wall-clock retention copies for a while, and queues the next turn if work is left. */
export async function fillZonesInTurns(env: Env, workspaceId?: string): Promise<void> {
  const more = await fillRetentionZones(env.DB, { workspaceId, budgetMs: FILL_TURN_MS });
  if (more) await enqueue(env.EVENTS, [{ type: "retention-zones", workspaceId }]);
}
