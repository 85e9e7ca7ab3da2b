import type { WhatsAppEvents } from "../db/messages";
import { readWorkspaceSettings } from "../db/workspace-settings";
import { EARLIEST_EVENT_MS, earliestRetainedTime } from "../lib/event-bounds";

/**
 * The queued WhatsApp events still within their workspace's retention period. Each was within it when
 * it arrived, but a queued event may be written days later, after the purge took what it belongs to:
 * a status of a purged message would bring the message back, and the rollups would count it twice.
 */
export async function retainedEvents(env: Env, events: WhatsAppEvents, now = Date.now()): Promise<WhatsAppEvents> {
  const earliest = new Map<string, number>();
  for (const { workspaceId } of [...events.statuses, ...events.inbound]) {
    if (earliest.has(workspaceId)) continue;
    const workspace = await readWorkspaceSettings(env.DB, workspaceId);
    // An unknown workspace's events are written (or dead-lettered) as they were before.
    earliest.set(
      workspaceId,
      workspace ? earliestRetainedTime(now, workspace.settings.retentionDays) : EARLIEST_EVENT_MS,
    );
  }
  const kept = <T extends { workspaceId: string; at: number }>(items: T[]) =>
    items.filter((item) => item.at >= (earliest.get(item.workspaceId) ?? EARLIEST_EVENT_MS));
  // Consent records are kept past retention (an opt-out must outlive it): they pass as they are.
  const retained = { ...events, statuses: kept(events.statuses), inbound: kept(events.inbound) };
  const statuses = events.statuses.length - retained.statuses.length;
  const inbound = events.inbound.length - retained.inbound.length;
  if (statuses + inbound > 0) console.warn(JSON.stringify({ event: "queued_events_expired", statuses, inbound }));
  return retained;
}
