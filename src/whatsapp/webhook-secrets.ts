import { readSecrets } from "../db/workspaces";

export type WebhookSecrets = { appSecret: string | null; verifyToken: string | null };

// Webhooks arrive in bursts: the decrypted secrets are kept in this isolate for a short while.
const TTL_MS = 30_000;
const cache = new Map<string, { secrets: WebhookSecrets | null; expiresAt: number }>();

export async function findWebhookSecrets(env: Env, workspaceId: string): Promise<WebhookSecrets | null> {
  const hit = cache.get(workspaceId);
  if (hit && hit.expiresAt > Date.now()) return hit.secrets;
  const row = await env.DB.prepare("SELECT secrets FROM workspaces WHERE id = ?1")
    .bind(workspaceId)
    .first<{ secrets: string | null }>();
  let secrets: WebhookSecrets | null = null;
  if (row) {
    const stored = await readSecrets(env.DATA_KEY, row);
    secrets = { appSecret: stored.whatsappAppSecret ?? null, verifyToken: stored.whatsappVerifyToken ?? null };
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(workspaceId, { secrets, expiresAt: Date.now() + TTL_MS });
  return secrets;
}

/** Call when a workspace's WhatsApp secrets change. */
export function forgetWebhookSecrets(workspaceId: string): void {
  cache.delete(workspaceId);
}
