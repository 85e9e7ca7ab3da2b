import { deleteClicksBefore, deleteOutboxBefore } from "./db/housekeeping";
import { listWorkspaceSettings } from "./db/workspace-settings";
import { DAY_MS } from "./lib/calendar";
import { drainOutbox } from "./events/pipeline";
import { fillZonesInTurns } from "./queue";
import { deleteExpiredVisitorSalts } from "./visitors/salt";

const DELETE_CHUNK = 5_000;
// Consumers read the outbox within minutes; two weeks covers the longest retry schedule (24 h) many times.
const OUTBOX_KEEP_DAYS = 14;

/**
 * Daily housekeeping: raw visit rows older than each workspace's `retentionDays` are deleted in
 * bounded chunks. Link counters stay.
 */
export async function purgeExpiredEvents(env: Env, now: number): Promise<number> {
  let deleted = 0;
  for (const workspace of await listWorkspaceSettings(env.DB)) {
    const cutoff = now - workspace.settings.retentionDays * DAY_MS;
    for (;;) {
      const changes = await deleteClicksBefore(env.DB, workspace.id, cutoff, DELETE_CHUNK);
      deleted += changes;
      if (changes < DELETE_CHUNK) break;
    }
  }
  return deleted;
}

/** Outbox entries older than OUTBOX_KEEP_DAYS that every consumer has applied, deleted in bounded chunks. */
export async function purgeOutbox(env: Env, now: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const changes = await deleteOutboxBefore(env.DB, now - OUTBOX_KEEP_DAYS * DAY_MS, DELETE_CHUNK);
    deleted += changes;
    if (changes < DELETE_CHUNK) return deleted;
  }
}

/** The cron that runs every minute; the other is the daily housekeeping. */
export const EVERY_MINUTE = "* * * * *";

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  // The outbox is applied within seconds through the queue; this catches up if a wake was lost.
  if (controller.cron === EVERY_MINUTE) {
    await drainOutbox(env, { budgetMs: 20_000 });
    return;
  }
  const deleted = await purgeExpiredEvents(env, controller.scheduledTime);
  const outbox = await purgeOutbox(env, controller.scheduledTime);
  const salts = await deleteExpiredVisitorSalts(env, controller.scheduledTime);
  console.log(
    JSON.stringify({
      event: "housekeeping",
      deletedEvents: deleted,
      deletedOutboxEntries: outbox,
      deletedVisitorSalts: salts,
    }),
  );
  // Picks up retention copies whose queued turns were lost.
  await fillZonesInTurns(env);
}
