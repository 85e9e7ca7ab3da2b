import { TtlCache } from "../lib/ttl-cache";
import type { WorkspaceSettings } from "./schema";
import { parseSettings } from "./workspaces";

/** A workspace as redirects, the tracker and webhooks need it: settings with their defaults, secrets still sealed. */
export type CachedWorkspace = {
  id: string;
  publishableKey: string;
  settings: WorkspaceSettings;
  sealedSecrets: string | null;
};

type WorkspaceSettingsRow = { id: string; publishable_key: string; settings: string; secrets: string | null };

// Every redirect, beacon and webhook asks for its workspace, so each isolate keeps them a while. A
// change is seen at once by the isolate that made it, by others when their entry expires.
const TTL_MS = 30_000;
const cache = new TtlCache<CachedWorkspace | null>(TTL_MS, 20_000);

function toCachedWorkspace(row: WorkspaceSettingsRow): CachedWorkspace {
  return {
    id: row.id,
    publishableKey: row.publishable_key,
    settings: parseSettings(row.settings),
    sealedSecrets: row.secrets,
  };
}

async function read(d1: D1Database, cacheKey: string, column: "id" | "publishable_key", value: string) {
  const hit = cache.get(cacheKey);
  if (hit !== undefined) return hit;
  const row = await d1
    .prepare(`SELECT id, publishable_key, settings, secrets FROM workspaces WHERE ${column} = ?1`)
    .bind(value)
    .first<WorkspaceSettingsRow>();
  const workspace = row ? toCachedWorkspace(row) : null;
  cache.set(cacheKey, workspace);
  return workspace;
}

export function readWorkspaceSettings(d1: D1Database, workspaceId: string): Promise<CachedWorkspace | null> {
  return read(d1, `id:${workspaceId}`, "id", workspaceId);
}

export function readWorkspaceSettingsByPublishableKey(d1: D1Database, key: string): Promise<CachedWorkspace | null> {
  return read(d1, `pk:${key}`, "publishable_key", key);
}

/** The workspace as this isolate has it cached, without reading D1: undefined when it has no entry. */
export function peekWorkspaceSettings(workspaceId: string): CachedWorkspace | null | undefined {
  return cache.get(`id:${workspaceId}`);
}

/** Call when a workspace's settings or secrets change: every reader of them goes through this cache. */
export function forgetWorkspaceSettings(workspaceId: string): void {
  cache.deleteWhere((workspace) => workspace?.id === workspaceId);
}

/** Every workspace's settings, uncached: for the daily housekeeping. */
export async function listWorkspaceSettings(d1: D1Database): Promise<{ id: string; settings: WorkspaceSettings }[]> {
  const { results } = await d1.prepare("SELECT id, settings FROM workspaces").all<{ id: string; settings: string }>();
  return results.map((row) => ({
    id: row.id,
    settings: parseSettings(row.settings),
  }));
}
