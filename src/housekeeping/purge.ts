import { ERASURE_MEMORY_DAYS } from "../contacts/erasure";
import { forgetErasuresBefore } from "../db/erasure";
import {
  deleteExpiredMessages,
  deleteExpiredRows,
  deleteOutboxBefore,
  EXPIRING_TABLES,
  type Cutoff,
  type ExpiringTable,
} from "../db/housekeeping";
import { outboxProgress } from "../db/pipeline";
import { forwardToGa4 } from "../ga4/forward";
import { forwardToWebhooks } from "../webhooks/forward";
import { listWorkspaceSettings } from "../db/workspace-settings";
import { defaultSettings } from "../db/workspaces";
import { enqueue } from "../events/enqueue";
import { drainOutbox } from "../events/pipeline";
import { DAY_MS } from "../lib/calendar";
import { deleteExpiredVisitorSalts } from "../visitors/salt";
import { loggableError } from "../lib/loggable-error";

/**
 * The daily housekeeping, in turns that fit one invocation: raw events of every kind older than their
 * workspace's `retentionDays`, outbox entries every consumer has applied, old visitor salts and old erasures. The
 * rollups keep what they counted, so reports about any period answer the same after a purge.
 */

/** Rows one DELETE removes at most: a statement must end well within D1's 30 s, and holds the database while it runs. */
export const DELETE_CHUNK = 5_000;

export type HousekeepingLimits = {
  /** Time after which no further statement is started. */
  budgetMs: number;
  /** Statements at most (an invocation may send D1 1,000 queries, and the catch-up sends its own). */
  statements: number;
  /** Rows per statement. */
  chunk: number;
};

export const HOUSEKEEPING_TURN: HousekeepingLimits = { budgetMs: 30_000, statements: 200, chunk: DELETE_CHUNK };
/** How long a turn lets the rollups' consumer catch up before it deletes anything raw. */
const CATCH_UP_MS = 20_000;
// Consumers read the outbox within minutes; two weeks covers the longest retry schedule (24 h) many times.
const OUTBOX_KEEP_DAYS = 14;

export type PurgedKind =
  | "messages"
  | "message_contacts"
  | "message_rollup_applied"
  | ExpiringTable
  | "outbox"
  | "visitor_salts"
  | "contact_erasures";

export type HousekeepingReport = {
  deleted: Record<PurgedKind, number>;
  /** The limits stopped the turn: the next one continues. */
  more: boolean;
  /** Raw events were left for the next turn: the consumer had not applied everything recorded before this one. */
  waitedForRollups: boolean;
};

/**
 * Each workspace's cutoff. Dead letters that name no workspace may hold any workspace's events, so they
 * are kept no longer than the shortest retention of any workspace.
 */
async function retentionCutoffs(d1: D1Database, now: number): Promise<Cutoff[]> {
  const workspaces = await listWorkspaceSettings(d1);
  const shortest = Math.min(defaultSettings.retentionDays, ...workspaces.map((w) => w.settings.retentionDays));
  return [
    ...workspaces.map((w) => ({ workspaceId: w.id, before: now - w.settings.retentionDays * DAY_MS })),
    { workspaceId: null, before: now - shortest * DAY_MS },
  ];
}

/**
 * Whether everything recorded in the outbox before this turn has been applied, after letting the
 * consumers catch up for a while. Raw rows are deleted only then, so that no row goes before the
 * rollups have counted it; GA4's and the webhooks' consumers read them too, and catch up first.
 */
async function rollupsCaughtUp(env: Env): Promise<boolean> {
  const { recorded } = await outboxProgress(env.DB);
  try {
    await forwardToGa4(env);
    await forwardToWebhooks(env);
    await drainOutbox(env.DB, { budgetMs: CATCH_UP_MS });
  } catch (err) {
    // The rest of the housekeeping does not need the rollups; the raw rows wait for the next turn.
    console.warn(JSON.stringify({ event: "housekeeping_catch_up_failed", error: loggableError(err) }));
  }
  return (await outboxProgress(env.DB)).applied >= recorded;
}

export async function housekeepingTurn(
  env: Env,
  now: number,
  limits: HousekeepingLimits = HOUSEKEEPING_TURN,
): Promise<HousekeepingReport> {
  const started = Date.now();
  const deleted = Object.fromEntries(
    [
      "messages",
      "message_contacts",
      "message_rollup_applied",
      ...EXPIRING_TABLES,
      "outbox",
      "visitor_salts",
      "contact_erasures",
    ].map((kind) => [kind, 0]),
  ) as Record<PurgedKind, number>;
  let statements = 0;
  const report = (more: boolean, waitedForRollups: boolean) => ({ deleted, more, waitedForRollups });

  /** Runs `step` until it deletes less than a chunk; false when the limits stopped it first. */
  async function inChunks(step: () => Promise<number>): Promise<boolean> {
    for (;;) {
      if (statements >= limits.statements || Date.now() - started >= limits.budgetMs) return false;
      statements++;
      if ((await step()) < limits.chunk) return true;
    }
  }

  deleted.visitor_salts = await deleteExpiredVisitorSalts(env, now);
  // Erasures are remembered while work about the contact may still wait in the queue, and no longer.
  deleted.contact_erasures = await forgetErasuresBefore(env.DB, now - ERASURE_MEMORY_DAYS * DAY_MS);

  const caughtUp = await rollupsCaughtUp(env);
  if (caughtUp) {
    const cutoffs = await retentionCutoffs(env.DB, now);
    // Messages go first, with what is derived from them: every click, conversion and reply a message
    // gathered is no older than the message (see appliedExpiryAt), so none of them is deleted while a
    // message that would count it again from the raw rows is still there.
    const messagesDone = await inChunks(async () => {
      const chunk = await deleteExpiredMessages(env.DB, cutoffs, limits.chunk);
      deleted.messages += chunk.messages;
      deleted.message_contacts += chunk.messageContacts;
      deleted.message_rollup_applied += chunk.messageFacts;
      return chunk.chosen;
    });
    if (!messagesDone) return report(true, false);
    for (const table of EXPIRING_TABLES) {
      const done = await inChunks(async () => {
        const changes = await deleteExpiredRows(env.DB, table, cutoffs, limits.chunk);
        deleted[table] += changes;
        return changes;
      });
      if (!done) return report(true, false);
    }
  }

  const outboxDone = await inChunks(async () => {
    const changes = await deleteOutboxBefore(env.DB, now - OUTBOX_KEEP_DAYS * DAY_MS, limits.chunk);
    deleted.outbox += changes;
    return changes;
  });
  return report(!outboxDone, !caughtUp);
}

/**
 * A turn of housekeeping, logged with its counts per kind (counts only, nothing of any row); what the
 * turn's limits left over is handed to the events queue, whose consumer runs the next turn. The next
 * day's cron picks up a turn that was lost.
 */
export async function housekeepInTurns(
  env: Env,
  now = Date.now(),
  limits: HousekeepingLimits = HOUSEKEEPING_TURN,
): Promise<HousekeepingReport> {
  const report = await housekeepingTurn(env, now, limits);
  console.log(JSON.stringify({ event: "housekeeping", ...report }));
  if (report.more) await enqueue(env.EVENTS, [{ type: "housekeeping" }]);
  return report;
}
