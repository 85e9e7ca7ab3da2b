import { deleteClicksBefore, deleteOutboxBefore } from "./db/housekeeping";
import { listWorkspaceSettings } from "./db/workspace-settings";
import { DAY_MS } from "./lib/calendar";
import { fillZonesInTurns } from "./queue";

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

/** Outbox entries older than OUTBOX_KEEP_DAYS, deleted in bounded chunks. */
export async function purgeOutbox(env: Env, now: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const changes = await deleteOutboxBefore(env.DB, now - OUTBOX_KEEP_DAYS * DAY_MS, DELETE_CHUNK);
    deleted += changes;
    if (changes < DELETE_CHUNK) return deleted;
  }
}

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const deleted = await purgeExpiredEvents(env, controller.scheduledTime);
  const outbox = await purgeOutbox(env, controller.scheduledTime);
  console.log(JSON.stringify({ event: "housekeeping", deletedEvents: deleted, deletedOutboxEntries: outbox }));
  // Picks up retention copies whose queued turns were lost.
  await fillZonesInTurns(env);
}
