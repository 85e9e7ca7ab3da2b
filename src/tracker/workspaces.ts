import type { WorkspaceSettings } from "../db/schema";

export type TrackerWorkspace = { id: string; settings: WorkspaceSettings };

// Every page view with the snippet asks for its workspace: keep them in this isolate for a while.
const TTL_MS = 30_000;
const cache = new Map<string, { workspace: TrackerWorkspace | null; expiresAt: number }>();

export async function findWorkspaceByPublishableKey(env: Env, key: string): Promise<TrackerWorkspace | null> {
  const hit = cache.get(key);
  if (hit && hit.expiresAt > Date.now()) return hit.workspace;
  const row = await env.DB.prepare("SELECT id, settings FROM workspaces WHERE publishable_key = ?1")
    .bind(key)
    .first<{ id: string; settings: string }>();
  const workspace = row ? { id: row.id, settings: JSON.parse(row.settings) as WorkspaceSettings } : null;
  if (cache.size > 10_000) cache.clear();
  cache.set(key, { workspace, expiresAt: Date.now() + TTL_MS });
  return workspace;
}

/** Call when a workspace's settings (allowed origins, attribution window) change. */
export function forgetTrackerWorkspaces(): void {
  cache.clear();
}
