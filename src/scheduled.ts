import type { WorkspaceSettings } from "./db/schema";
import { fillZonesInTurns } from "./queue";

const DAY_MS = 86_400_000;
const DELETE_CHUNK = 5_000;

/**
 * Daily housekeeping: raw visit rows older than each workspace's `retentionDays` are deleted in
 * bounded chunks (one large DELETE could exceed D1's per-query time limit). Link counters stay.
 */
export async function purgeExpiredEvents(env: Env, now: number): Promise<number> {
  const { results } = await env.DB.prepare("SELECT id, settings FROM workspaces").all<{
    id: string;
    settings: string;
  }>();
  let deleted = 0;
  for (const workspace of results) {
    const { retentionDays } = JSON.parse(workspace.settings) as WorkspaceSettings;
    const cutoff = now - retentionDays * DAY_MS;
    for (;;) {
      const { meta } = await env.DB.prepare(
        `DELETE FROM clicks WHERE rowid IN (
           SELECT rowid FROM clicks WHERE workspace_id = ?1 AND occurred_at < ?2 LIMIT ?3)`,
      )
        .bind(workspace.id, cutoff, DELETE_CHUNK)
        .run();
      deleted += meta.changes;
      if (meta.changes < DELETE_CHUNK) break;
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
