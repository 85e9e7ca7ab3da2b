import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "./client";
import { apiKeys, workspaces, type ApiKeyRow, type WorkspaceRow } from "./schema";
import { withDefaultSettings } from "./workspaces";

/** The unrevoked API key with this hash, and its workspace (settings with their defaults). */
export async function findActiveApiKey(
  db: Db,
  keyHash: string,
): Promise<{ key: ApiKeyRow; workspace: WorkspaceRow } | null> {
  const [row] = await db
    .select({ key: apiKeys, workspace: workspaces })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row
    ? { key: row.key, workspace: { ...row.workspace, settings: withDefaultSettings(row.workspace.settings) } }
    : null;
}

export async function markApiKeyUsed(db: Db, keyId: string, at: number): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, keyId));
}
