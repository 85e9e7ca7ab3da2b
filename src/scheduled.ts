import { deleteClicksBefore } from "./db/housekeeping";
import { listWorkspaceSettings } from "./db/workspace-settings";
import { DAY_MS } from "./lib/calendar";
import { fillZonesInTurns } from "./queue";

const DELETE_CHUNK = 5_000;

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

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const deleted = await purgeExpiredEvents(env, controller.scheduledTime);
  console.log(JSON.stringify({ event: "housekeeping", deletedEvents: deleted }));
  // Picks up retention copies whose queued turns were lost.
  await fillZonesInTurns(env);
}
