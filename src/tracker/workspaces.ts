import { TtlCache } from "../lib/ttl-cache";
import type { WorkspaceSettings } from "../db/schema";

export type TrackerWorkspace = { id: string; settings: WorkspaceSettings };

// Every page view with the snippet asks for its workspace: keep them in this isolate for a while.
const TTL_MS = 30_000;
const cache = new TtlCache<TrackerWorkspace | null>(TTL_MS, 10_000);

export async function findWorkspaceByPublishableKey(env: Env, key: string): Promise<TrackerWorkspace | null> {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const row = await env.DB.prepare("SELECT id, settings FROM workspaces WHERE publishable_key = ?1")
    .bind(key)
    .first<{ id: string; settings: string }>();
  const workspace = row ? { id: row.id, settings: JSON.parse(row.settings) as WorkspaceSettings } : null;
  cache.set(key, workspace);
  return workspace;
}

/** Call when a workspace's settings (allowed origins, attribution window) change. */
export function forgetTrackerWorkspace(workspaceId: string): void {
  cache.deleteWhere((workspace) => workspace?.id === workspaceId);
}
